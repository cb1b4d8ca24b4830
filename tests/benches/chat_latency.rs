//! Chat round-trip latency on loopback: two paired nodes online over TCP;
//! Alice sends a message and the clock stops when Bob's acknowledgement
//! (sent after Bob opened and stored the message) has been recorded on
//! Alice's side. One message at a time, so each figure is a full round trip
//! through seal, outbox, swarm, open, store and acknowledgement.
//!
//! Then, per mode, the same contact under load: Alice sends at 1,000
//! messages per second for [`LOADED_SECS`] seconds and each message's
//! latency (send call to the acknowledgement recorded) is measured; and
//! the sustained rate: Alice and Bob each send [`BURST`] messages to the
//! other as fast as `send` returns, and the clock stops when both sides
//! have every acknowledgement; each side's history is then checked to
//! hold every message exactly once, in order.
//!
//!     cargo bench -p zks-scenarios --bench chat_latency [-- COUNT]
//!
//! `ZKS_BENCH_OUT`, if set, is a folder for the figures as
//! `chat-<ZKS_BENCH_RUN>.json` (`scripts/bench.sh chat` runs it three
//! times for the report's medians and spreads).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use zks_node::{Mode, NodeEvent};
use zks_scenarios::{go_online, paired};

/// Seconds of the loaded case.
const LOADED_SECS: u64 = 5;
/// Messages each side sends in the sustained case.
const BURST: usize = 5000;

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
    let dir = tempfile::tempdir().unwrap();
    let pad = dir.path().join("pad");
    zks_node::create_pad_file(&pad, 8 << 20).unwrap();
    let (_a, a_addr) = go_online(&alice).await;
    let (_b, b_addr) = go_online(&bob).await;
    alice.node.set_contact_addresses("Bob", &[b_addr]).unwrap();
    bob.node.set_contact_addresses("Alice", &[a_addr]).unwrap();
    let mut events = alice.node.subscribe();
    let mut figures = serde_json::Map::new();

    for mode in [Mode::Grid, Mode::Pad] {
        if mode == Mode::Pad {
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
        let one = report("chat round trip, one at a time", mode, &mut samples);

        // Loaded: one message a millisecond, each timed.
        let mut sent_at: HashMap<i64, Instant> = HashMap::new();
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = (LOADED_SECS * 1000) as usize;
        let started = Instant::now();
        let mut sent = 0;
        while samples.len() < total {
            tokio::select! {
                _ = tick.tick(), if sent < total => {
                    let at = Instant::now();
                    let id = alice.node.send("Bob", format!("load {sent}").as_bytes(), mode).unwrap().message_id;
                    sent_at.insert(id, at);
                    sent += 1;
                }
                event = events.recv() => match event {
                    Ok(NodeEvent::MessageDelivered { message_id }) => {
                        if let Some(at) = sent_at.remove(&message_id) {
                            samples.push(at.elapsed());
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Events were missed: ask for the states instead
                        // (a little late, so those latencies are overstated).
                        sent_at.retain(|id, at| {
                            let done = alice.node.delivery_state(*id).unwrap().unwrap().0 == "delivered";
                            if done {
                                samples.push(at.elapsed());
                            }
                            !done
                        });
                    }
                    _ => {}
                },
                () = tokio::time::sleep(Duration::from_secs(10)) => panic!("no progress for 10 s"),
            }
        }
        let rate = total as f64 / started.elapsed().as_secs_f64();
        let mut loaded = report(
            &format!("latency at {rate:.0} msg/s offered"),
            mode,
            &mut samples,
        );
        loaded["rate"] = rate.into();

        // Sustained: both send as fast as they can.
        let before_a = received(&alice, "Bob").len();
        let before_b = received(&bob, "Alice").len();
        let started = Instant::now();
        let mut last = (0, 0);
        for i in 0..BURST {
            last.0 = alice
                .node
                .send("Bob", format!("a{i}").as_bytes(), mode)
                .unwrap()
                .message_id;
            last.1 = bob
                .node
                .send("Alice", format!("b{i}").as_bytes(), mode)
                .unwrap()
                .message_id;
        }
        let queued = started.elapsed();
        for (n, id) in [(&alice.node, last.0), (&bob.node, last.1)] {
            while n.delivery_state(id).unwrap().unwrap().0 != "delivered" {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "not delivered"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let took = started.elapsed();
        let got_b: Vec<String> = received(&bob, "Alice").split_off(before_b);
        let got_a: Vec<String> = received(&alice, "Bob").split_off(before_a);
        let want_b: Vec<String> = (0..BURST).map(|i| format!("a{i}")).collect();
        let want_a: Vec<String> = (0..BURST).map(|i| format!("b{i}")).collect();
        assert_eq!(
            got_b, want_b,
            "Bob got Alice's messages exactly once, in order"
        );
        assert_eq!(
            got_a, want_a,
            "Alice got Bob's messages exactly once, in order"
        );
        println!(
            "sustained, {mode:?} mode: {BURST} messages each way in {:.2} s = {:.0} msg/s each way ({:.0} msg/s sealed and queued per side while sending)",
            took.as_secs_f64(),
            BURST as f64 / took.as_secs_f64(),
            BURST as f64 / queued.as_secs_f64(),
        );
        figures.insert(
            format!("{mode:?}").to_lowercase(),
            serde_json::json!({
                "one_at_a_time": one,
                "loaded": loaded,
                "sustained": {
                    "messages": BURST,
                    "per_sec": BURST as f64 / took.as_secs_f64(),
                    "queued_per_sec": BURST as f64 / queued.as_secs_f64(),
                },
            }),
        );
    }
    if let Some(out) = std::env::var_os("ZKS_BENCH_OUT") {
        let run = std::env::var("ZKS_BENCH_RUN").unwrap_or_else(|_| "1".into());
        figures.insert("count".into(), count.into());
        figures.insert("loaded_secs".into(), LOADED_SECS.into());
        let path = std::path::Path::new(&out).join(format!("chat-{run}.json"));
        std::fs::write(&path, serde_json::Value::Object(figures).to_string()).unwrap();
        println!("figures in {}", path.display());
    }
}

fn received(n: &zks_scenarios::TestNode, from: &str) -> Vec<String> {
    n.node
        .history(from)
        .unwrap()
        .into_iter()
        .filter(|m| !m.outgoing && m.body.first() != Some(&b'p') && m.body.first() != Some(&b'l'))
        .map(|m| String::from_utf8(m.body).unwrap())
        .collect()
}

/// Prints the figures of `samples` and returns them (milliseconds).
fn report(what: &str, mode: Mode, samples: &mut [Duration]) -> serde_json::Value {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{what}, {mode:?} mode, {} messages: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms",
        samples.len(),
        percentile(samples, 0.5).as_secs_f64() * 1e3,
        percentile(samples, 0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    serde_json::json!({
        "samples": samples.len(),
        "p50_ms": ms(percentile(samples, 0.5)),
        "p99_ms": ms(percentile(samples, 0.99)),
        "mean_ms": ms(mean),
        "max_ms": ms(*samples.last().unwrap()),
    })
}
