//! Linked devices (decision 0072), on the paths a user runs, with real
//! nodes online on loopback in one process:
//!
//! 1. **Sending to a person with a linked device.** Bob writes to Alice,
//!    who has her desk and her laptop: `Node::send` seals the copy to the
//!    desk and, in the same transaction, a copy to the laptop. Reference:
//!    two plain `Node::send` calls from Bob to Dan, who has one device
//!    (two envelopes sealed and queued as well).
//! 2. **History sync.** Alice's desk holds N messages with Bob; her laptop
//!    joins and the desk confirms it: the time from the confirmation until
//!    the laptop stores all N (contacts and history queued in one
//!    transaction, delivered over `/zks/msg`, stored part by part).
//!    Reference: the same N texts as N ordinary messages between two
//!    other people without linked devices (Dan to Fresh), from the moment
//!    they are queued until all arrived (the same transport, one envelope
//!    per message).
//!
//!     cargo bench -p zks-scenarios --bench device_fanout [-- REPEATS [N]]
//!
//! Prints medians and spreads (min–max) over REPEATS sends (default 30) and
//! the sync of N messages (default 10,000) once each side.

use std::time::{Duration, Instant};

use zks_node::{Mode, Node, OnlineConfig};
use zks_scenarios::{QUICKNET, TestNode, start_test_node};

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn online(n: &TestNode) {
    n.node.import_beacons("quicknet", QUICKNET).unwrap();
    n.node
        .serve_home(OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap: Vec::new(),
            mdns: false,
            auto_accept_files: false,
            grid: false,
        })
        .await
        .unwrap();
}

/// Pairs `a` (inviting, named `a_name` by `b`) and `b` (named `b_name`).
fn pair(a: &Node, a_name: &str, b: &Node, b_name: &str) {
    a.set_display_name(a_name).unwrap();
    let invite = a.create_invite(None, 600).unwrap();
    let accepted = b
        .accept_invite(invite.text.as_bytes(), Some(a_name))
        .unwrap();
    a.finish_pairing(accepted.reply_text.as_bytes(), Some(b_name))
        .unwrap();
}

async fn until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let repeats = args.next().unwrap_or(30);
    let n = args.next().unwrap_or(10_000);
    let (desk, laptop, bob, dan, fresh) = (
        start_test_node().await,
        start_test_node().await,
        start_test_node().await,
        start_test_node().await,
        start_test_node().await,
    );
    for node in [&desk, &laptop, &bob, &dan, &fresh] {
        online(node).await;
    }
    pair(&desk.node, "Alice", &bob.node, "Bob");
    pair(&bob.node, "Bob", &dan.node, "Dan");
    pair(&dan.node, "Dan", &fresh.node, "Fresh");

    // The history: N texts, alternating directions, each opened by the
    // other side (so both sessions stay in step).
    let seeding = Instant::now();
    for i in 0..n {
        let text = format!("history message {i} with some ordinary length to it");
        if i % 2 == 0 {
            let sealed = desk.node.seal("Bob", text.as_bytes(), Mode::Grid).unwrap();
            bob.node.open(&sealed.envelope).unwrap();
        } else {
            let sealed = bob.node.seal("Alice", text.as_bytes(), Mode::Grid).unwrap();
            desk.node.open(&sealed.envelope).unwrap();
        }
    }
    eprintln!(
        "seeded {n} messages in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    // Reference: the same texts as N plain messages from Dan to Fresh.
    let texts: Vec<Vec<u8>> = desk
        .node
        .history("Bob")
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    let t = Instant::now();
    for text in &texts {
        dan.node.send("Fresh", text, Mode::Grid).unwrap();
    }
    let ref_queued = t.elapsed();
    until("the plain messages at the fresh contact", 1200, || {
        fresh.node.history("Dan").map_or(0, |h| h.len()) >= n
    })
    .await;
    let reference = t.elapsed();
    // Link the laptop and time the sync.
    let code = desk.node.link_device(600).unwrap();
    laptop
        .node
        .join_device(code.text.as_bytes(), "Laptop")
        .unwrap();
    let mut id = String::new();
    until("the laptop joining", 30, || {
        match desk
            .node
            .devices()
            .unwrap()
            .devices
            .into_iter()
            .find(|d| d.state == "pending")
        {
            Some(d) => {
                id = d.id;
                true
            }
            None => false,
        }
    })
    .await;
    let t = Instant::now();
    desk.node.confirm_device(&id).unwrap();
    let queued = t.elapsed();
    until("the history on the laptop", 600, || {
        laptop.node.history("Bob").map_or(0, |h| h.len()) >= n
    })
    .await;
    let sync = t.elapsed();

    let ref_delivery = reference - ref_queued;
    println!(
        "history sync of {n} messages: {:.2} s ({:.0} messages/s; {:.0} ms of it queueing)   \
         {n} plain messages: {:.2} s ({:.0} messages/s; {:.2} s queueing, {:.2} s delivering)   \
         ratio {:.3} (to delivering alone {:.3})",
        sync.as_secs_f64(),
        n as f64 / sync.as_secs_f64(),
        ms(queued),
        reference.as_secs_f64(),
        n as f64 / reference.as_secs_f64(),
        ref_queued.as_secs_f64(),
        ref_delivery.as_secs_f64(),
        sync.as_secs_f64() / reference.as_secs_f64(),
        sync.as_secs_f64() / ref_delivery.as_secs_f64()
    );

    // The laptop meets Bob through the desk; then Bob's sends fan out.
    until("Bob knowing the laptop", 180, || {
        bob.node.contacts().unwrap()[0].devices == ["Laptop"]
    })
    .await;
    let text = b"see you at the station at eight";
    let (mut fan, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let t = Instant::now();
        bob.node.send("Alice", text, Mode::Grid).unwrap();
        fan.push(t.elapsed());
        let t = Instant::now();
        bob.node.send("Dan", text, Mode::Grid).unwrap();
        bob.node.send("Dan", text, Mode::Grid).unwrap();
        plain.push(t.elapsed());
    }
    let spread = |s: &[Duration]| (ms(*s.iter().min().unwrap()), ms(*s.iter().max().unwrap()));
    let ((fmin, fmax), (pmin, pmax)) = (spread(&fan), spread(&plain));
    let (f, p) = (ms(median(&mut fan)), ms(median(&mut plain)));
    println!(
        "send to a person with 2 devices: {f:.2} ms ({fmin:.2}–{fmax:.2})   2 plain sends: {p:.2} ms ({pmin:.2}–{pmax:.2})   ratio {:.2}   ({repeats} sends)",
        f / p
    );
}
