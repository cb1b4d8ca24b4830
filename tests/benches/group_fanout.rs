//! What a group message costs its sender: `Node::group_send` to a group of
//! N other members (the text and its N pending copies stored, then N
//! pairwise envelopes sealed and queued — the path `zks group send` and the
//! app run) against the reference, N separate 1:1 `Node::send` calls of the
//! same text to the same contacts (N envelopes sealed and queued). Both
//! sides seal N envelopes under the same sessions and wait for nothing on
//! the network; half the members share a true pad with the sender, and the
//! reference sends those in pad mode too, so both do the same pad work.
//!
//!     cargo bench -p zks-scenarios --bench group_fanout [-- REPEATS]
//!
//! Prints, per N, the median and the spread (min–max) of each side over
//! REPEATS messages (default 15) and their ratio.

use std::time::{Duration, Instant};

use zks_node::Mode;
use zks_scenarios::{QUICKNET, TestNode, start_test_node};

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repeats: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let alice = start_test_node().await;
    alice.node.import_beacons("quicknet", QUICKNET).unwrap();
    let mut members: Vec<(String, TestNode)> = Vec::new();
    let pads = tempfile::tempdir().unwrap();
    println!("group fan-out vs 1:1 sends, {repeats} messages each, median (min–max) ms");
    for n in [4usize, 16, 49] {
        while members.len() < n {
            let i = members.len();
            let name = format!("M{i}");
            let member = start_test_node().await;
            let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
            let accepted = member
                .node
                .accept_invite(invite.text.as_bytes(), None)
                .unwrap();
            alice
                .node
                .finish_pairing(accepted.reply_text.as_bytes(), Some(&name))
                .unwrap();
            if i.is_multiple_of(2) {
                let pad = pads.path().join(&name);
                zks_node::create_pad_file(&pad, 4 << 20).unwrap();
                alice.node.import_pad(&name, &pad, false).unwrap();
            }
            members.push((name, member));
        }
        let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
        let group = format!("G{n}");
        alice.node.create_group(&group, &names).unwrap();
        let text = b"lunch at one? the usual place";
        let (mut fan, mut one) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            let t = Instant::now();
            let sent = alice.node.group_send(&group, text, None).unwrap();
            fan.push(t.elapsed());
            assert_eq!(sent.deliveries.len(), n);
            let t = Instant::now();
            for (i, name) in names.iter().enumerate() {
                let mode = if i.is_multiple_of(2) {
                    Mode::Pad
                } else {
                    Mode::Grid
                };
                alice.node.send(name, text, mode).unwrap();
            }
            one.push(t.elapsed());
        }
        let (fmin, fmax) = (fan.iter().min().unwrap(), fan.iter().max().unwrap());
        let (omin, omax) = (one.iter().min().unwrap(), one.iter().max().unwrap());
        let (fmin, fmax, omin, omax) = (ms(*fmin), ms(*fmax), ms(*omin), ms(*omax));
        let (f, o) = (ms(median(&mut fan)), ms(median(&mut one)));
        println!(
            "N = {n:2}: group_send {f:7.1} ({fmin:.1}–{fmax:.1})   {n} × send {o:7.1} ({omin:.1}–{omax:.1})   ratio {:.2}   per member {:.2} ms",
            f / o,
            f / n as f64
        );
    }
}
