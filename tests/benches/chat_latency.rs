//! Chat round-trip latency on loopback: two paired nodes online over TCP;
//! Alice sends a message and the clock stops when Bob's acknowledgement
//! (sent after Bob opened and stored the message) has been recorded on
//! Alice's side. One message at a time, so each figure is a full round trip
//! through seal, outbox, swarm, open, store and acknowledgement.
//!
//!     cargo bench -p zks-scenarios --bench chat_latency [-- COUNT]

use std::time::{Duration, Instant};

use zks_node::{Mode, NodeEvent};
use zks_scenarios::{go_online, paired};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let (alice, bob) = paired().await;
    let (_a, a_addr) = go_online(&alice).await;
    let (_b, b_addr) = go_online(&bob).await;
    alice.node.set_contact_addresses("Bob", &[b_addr]).unwrap();
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    let mut events = alice.node.subscribe();

    for mode in [Mode::Grid, Mode::Pad] {
        if mode == Mode::Pad {
            let dir = tempfile::tempdir().unwrap();
            let pad = dir.path().join("pad");
            zks_node::create_pad_file(&pad, 4 << 20).unwrap();
            alice.node.import_pad("Bob", &pad, false).unwrap();
            bob.node.import_pad("Alice", &pad, false).unwrap();
        }
        // Warm the connection up first.
        let mut samples = Vec::with_capacity(count);
        for i in 0..count + 20 {
            let started = Instant::now();
            let id = alice
                .node
                .send("Bob", format!("ping {i}").as_bytes(), mode)
                .unwrap()
                .message_id;
            loop {
                match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                    Ok(Ok(NodeEvent::MessageDelivered { message_id })) if message_id == id => break,
                    Ok(_) => {}
                    Err(_) => panic!("message {id} was not delivered within 10 s"),
                }
            }
            if i >= 20 {
                samples.push(started.elapsed());
            }
        }
        samples.sort();
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        println!(
            "chat round trip, {:?} mode, {count} messages: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms",
            mode,
            percentile(&samples, 0.5).as_secs_f64() * 1e3,
            percentile(&samples, 0.99).as_secs_f64() * 1e3,
            mean.as_secs_f64() * 1e3,
            samples.last().unwrap().as_secs_f64() * 1e3,
        );
    }
}
