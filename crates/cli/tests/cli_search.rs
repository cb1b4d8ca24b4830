//! `zks search` through the real binary: two daemons pair and exchange
//! messages; each side finds them by words, with and without a contact,
//! newest first; bad arguments exit 2 with a clear message.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{daemon, json_lines, ok, pair, run};

fn search(home: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["search"];
    all.extend(args);
    all.push("--json");
    json_lines(&ok(&run(home, &all)))
}

/// Waits until `home` has received `count` messages.
fn received(home: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let inbox = json_lines(&ok(&run(home, &["inbox", "--json"])));
        if inbox.iter().filter(|l| l["direction"] == "in").count() >= count {
            return;
        }
        assert!(Instant::now() < deadline, "only {inbox:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn texts(hits: &[serde_json::Value]) -> Vec<&str> {
    hits.iter()
        .map(|h| h["snippet"].as_str().expect("snippet"))
        .collect()
}

#[test]
fn search_finds_exchanged_messages_and_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _da = daemon(&a, &[]);
    let _db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);

    ok(&run(
        &a,
        &["send", "Bob", "Dinner at the harbour on Friday?"],
    ));
    received(&b, 1);
    ok(&run(
        &b,
        &["send", "Alice", "Yes! The harbour café at eight."],
    ));
    received(&a, 1);
    ok(&run(&a, &["send", "Bob", "He said \"NEAR\" (twice) * ok"]));
    received(&b, 2);

    // Both sides find both messages about the harbour, newest first.
    for home in [&a, &b] {
        let hits = search(home, &["harbour"]);
        assert_eq!(
            texts(&hits),
            vec![
                "Yes! The «harbour» café at eight.",
                "Dinner at the «harbour» on Friday?"
            ],
            "{hits:?}"
        );
        assert!(hits[0]["message_id"].as_i64() > hits[1]["message_id"].as_i64());
    }
    let at_a = search(&a, &["harbour"]);
    assert_eq!(at_a[0]["contact"], "Bob");
    assert_eq!(at_a[0]["outgoing"], false);
    assert_eq!(at_a[1]["outgoing"], true);
    assert_eq!(at_a[1]["kind"], "text");
    // All words must match, the last as a prefix; case and accents do not matter.
    assert_eq!(
        texts(&search(&a, &["HARBOUR cafe eig"])),
        vec!["Yes! The «harbour» «café» at «eight»."]
    );
    assert!(search(&a, &["harbour lunch"]).is_empty());
    // The contact filter, and the limit keeps the newest.
    assert_eq!(search(&b, &["harbour", "--contact", "Alice"]).len(), 2);
    assert_eq!(
        texts(&search(&b, &["harbour", "--limit", "1"])),
        vec!["Yes! The «harbour» café at eight."]
    );
    // FTS5 syntax typed in is just text.
    for hostile in ["\"NEAR\"", "NEAR(", "(twice)", "twice*", "\""] {
        let out = run(&b, &["search", hostile, "--json"]);
        assert_eq!(
            out.status.code(),
            Some(if hostile == "\"" { 2 } else { 0 }),
            "{hostile:?}"
        );
    }
    assert_eq!(
        texts(&search(&b, &["said NEAR twice"])),
        vec!["He «said» \"«NEAR»\" («twice») * ok"]
    );

    // Human output: one line per message.
    let plain = ok(&run(&a, &["search", "harbour"]));
    assert_eq!(plain.lines().count(), 2, "{plain}");
    assert!(
        plain.lines().next().unwrap().contains("<- Bob ("),
        "{plain}"
    );
    assert_eq!(
        ok(&run(&a, &["search", "zebra"])).trim(),
        "no message matches"
    );

    // Bad arguments: a clear message and exit 2.
    for (args, says) in [
        (&["search", ""][..], "empty"),
        (&["search", "   "], "empty"),
        (&["search", "* \" ( )"], "no letter or digit"),
        (
            &["search", "harbour", "--contact", "Nobody"],
            "no contact named \"Nobody\"",
        ),
        (&["search", "harbour", "--limit", "0"], "--limit"),
        (&["search"], "TEXT"),
    ] {
        let out = run(&a, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let long = "word ".repeat(20);
    let out = run(&a, &["search", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 16"));
}
