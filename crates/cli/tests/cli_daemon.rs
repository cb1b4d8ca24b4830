//! Messaging through the real binary: two daemons pair through files (the
//! codes carry their addresses) and exchange messages, each delivered
//! exactly once; `zks send` without a daemon brings the network up itself
//! and leaves an unreachable contact's message queued.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{daemon, ok, pair, run};

fn inbox(home: &Path) -> Vec<serde_json::Value> {
    ok(&run(home, &["inbox", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(home: &Path, count: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = inbox(home);
        let done = lines.iter().filter(|l| l["direction"] == "in").count() >= count
            && lines
                .iter()
                .filter(|l| l["direction"] == "out")
                .all(|l| l["state"] == "delivered");
        if done || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_daemons_exchange_messages_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _da = daemon(&a, &[]);
    let _db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);
    let contacts: serde_json::Value =
        serde_json::from_str(&ok(&run(&a, &["contacts", "--json"]))).unwrap();
    assert!(
        !contacts[0]["addresses"].as_array().unwrap().is_empty(),
        "the reply carried Bob's daemon address"
    );

    for i in 0..10 {
        ok(&run(&a, &["send", "Bob", &format!("a{i}")]));
        ok(&run(&b, &["send", "Alice", &format!("b{i}")]));
    }
    let at_b = wait_for(&b, 10);
    let at_a = wait_for(&a, 10);
    let texts = |lines: &[serde_json::Value], dir: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["direction"] == dir)
            .map(|l| l["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts(&at_b, "in"),
        (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(&at_a, "in"),
        (0..10).map(|i| format!("b{i}")).collect::<Vec<_>>()
    );
    assert!(
        at_a.iter()
            .filter(|l| l["direction"] == "out")
            .all(|l| l["state"] == "delivered")
    );
}

#[test]
fn send_without_a_daemon_delivers_itself_or_leaves_the_message_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);
    // Alice has no daemon: `send` goes online itself and delivers.
    let report: serde_json::Value =
        serde_json::from_str(&ok(&run(&a, &["send", "Bob", "direct", "--json"]))).unwrap();
    assert_eq!(report["state"], "delivered", "{report}");
    assert_eq!(report["protection"], "Post-quantum encrypted");
    // Bob goes offline: the message is accepted and stays queued.
    drop(db);
    let report: serde_json::Value = serde_json::from_str(&ok(&run(
        &a,
        &["send", "Bob", "later", "--wait", "2", "--json"],
    )))
    .unwrap();
    assert_eq!(report["state"], "queued", "{report}");
    let lines = inbox(&a);
    assert_eq!(lines.last().unwrap()["state"], "queued");
    // Each grid-pad message says when it was sealed at the earliest: its
    // binding round's time (quicknet round 30663002 here).
    assert_eq!(lines.last().unwrap()["round"], 30_663_002);
    assert_eq!(lines.last().unwrap()["sealed_after"], 1_784_792_370);
    let plain = ok(&run(&a, &["inbox", "--with", "Bob"]));
    assert!(
        plain
            .lines()
            .all(|l| l.contains("(sealed after 2026-07-23 07:39 UTC): ")),
        "{plain}"
    );
    // Bad arguments and unknown contacts exit 2.
    for args in [
        &["send", "Nobody", "x"][..],
        &["send", "Bob"],
        &["inbox", "--with", "Nobody"],
    ] {
        assert_eq!(run(&a, args).status.code(), Some(2), "{args:?}");
    }
}
