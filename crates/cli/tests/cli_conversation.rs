//! Replies, reactions, edits, deletes and the disappearing-messages timer
//! through the real binary: two daemons pair, and what one side does
//! reaches the other's inbox and search; a 5-second timer removes a
//! message, and its words from the search index, on both sides. Bad
//! arguments exit 2 with a clear message and change nothing.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{daemon, json_lines, ok, pair, run};

fn inbox(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["inbox", "--json"])))
}

/// Waits until `check` holds for `home`'s inbox; returns it.
fn wait_until(
    home: &Path,
    what: &str,
    check: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = inbox(home);
        if check(&lines) {
            return lines;
        }
        assert!(Instant::now() < deadline, "{what}: {lines:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn by_text<'a>(lines: &'a [serde_json::Value], text: &str) -> Option<&'a serde_json::Value> {
    lines.iter().find(|l| l["text"] == text)
}

fn id_of(lines: &[serde_json::Value], text: &str) -> String {
    by_text(lines, text).expect(text)["id"].to_string()
}

fn search(home: &Path, words: &str) -> usize {
    json_lines(&ok(&run(home, &["search", words, "--json"]))).len()
}

fn fails(out: &std::process::Output, words: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(words), "{words:?} not in {err}");
}

#[test]
fn replies_reactions_edits_deletes_and_the_timer_reach_the_other_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _da = daemon(&a, &[]);
    let _db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);

    ok(&run(&b, &["send", "Alice", "lunch at the harbour?"]));
    let at_a = wait_until(&a, "Bob's question", |l| {
        by_text(l, "lunch at the harbour?").is_some()
    });
    let question = id_of(&at_a, "lunch at the harbour?");

    // Alice replies quoting it, and reacts.
    ok(&run(
        &a,
        &["send", "Bob", "yes, at one", "--reply-to", &question],
    ));
    ok(&run(&a, &["react", &question, "👍"]));
    let at_b = wait_until(&b, "Alice's reply and reaction", |l| {
        by_text(l, "yes, at one").is_some()
            && by_text(l, "lunch at the harbour?").is_some_and(|m| {
                m["reactions"] == serde_json::json!([{"emoji": "👍", "mine": false}])
            })
    });
    let reply = by_text(&at_b, "yes, at one").unwrap();
    assert_eq!(reply["reply_to"]["excerpt"], "lunch at the harbour?");
    assert_eq!(reply["reply_to"]["outgoing"], true);
    assert_eq!(
        reply["reply_to"]["message_id"].to_string(),
        id_of(&at_b, "lunch at the harbour?")
    );

    // Bob edits his question: Alice's inbox and search show the new text only.
    let mine = id_of(&at_b, "lunch at the harbour?");
    ok(&run(&b, &["edit", &mine, "lunch at the station?"]));
    let at_a = wait_until(&a, "Bob's edit", |l| {
        by_text(l, "lunch at the station?").is_some_and(|m| !m["edited_at"].is_null())
    });
    assert!(by_text(&at_a, "lunch at the harbour?").is_none());
    assert_eq!(search(&a, "harbour"), 0);
    assert_eq!(search(&a, "station"), 1);
    let human = ok(&run(&a, &["inbox"]));
    assert!(
        human.contains("lunch at the station? (edited) [👍 you]"),
        "{human}"
    );
    assert!(human.contains("↪ reply to"), "{human}");

    // Alice cannot edit or delete Bob's message for everyone; nothing changes.
    fails(&run(&a, &["edit", &question, "mine now"]), "not yours");
    fails(
        &run(&a, &["delete", &question, "--for-everyone"]),
        "not yours",
    );

    // Bob deletes it for everyone.
    ok(&run(&b, &["delete", &mine, "--for-everyone"]));
    let at_a = wait_until(&a, "Bob's delete", |l| {
        l.iter()
            .any(|m| m["id"] == question.parse::<i64>().unwrap() && m["deleted"] == true)
    });
    assert!(by_text(&at_a, "lunch at the station?").is_none());
    assert_eq!(search(&a, "station"), 0);
    let human = ok(&run(&a, &["inbox"]));
    assert!(human.contains("(deleted)"), "{human}");

    // A 5-second timer: Alice sets it, Bob's side says she did, and a
    // message sent then disappears from both sides with its words.
    ok(&run(&a, &["contacts", "timer", "Bob", "5s"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let contacts: serde_json::Value =
            serde_json::from_str(&ok(&run(&b, &["contacts", "--json"]))).unwrap();
        if contacts[0]["timer_secs"] == 5 {
            assert_eq!(contacts[0]["timer_set_by_me"], false);
            break;
        }
        assert!(Instant::now() < deadline, "the timer did not arrive");
        std::thread::sleep(Duration::from_millis(200));
    }
    ok(&run(&a, &["send", "Bob", "a fleeting albatross"]));
    wait_until(&b, "the fleeting message", |l| {
        by_text(l, "a fleeting albatross").is_some_and(|m| !m["expires_at"].is_null())
    });
    assert_eq!(search(&b, "albatross"), 1);
    for home in [&a, &b] {
        wait_until(home, "the message disappears", |l| {
            by_text(l, "a fleeting albatross").is_none()
        });
        assert_eq!(search(home, "albatross"), 0);
    }
    let human = ok(&run(&b, &["contacts"]));
    assert!(
        human.contains("disappearing  after 5 seconds (set by Alice)"),
        "{human}"
    );
    ok(&run(&a, &["contacts", "timer", "Bob", "off"]));
}

#[test]
fn bad_conversation_arguments_exit_2_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    pair(tmp.path(), &a, &b);
    let sent = json_lines(&ok(&run(
        &a,
        &["send", "Bob", "hello", "--json", "--wait", "0"],
    )));
    let id = sent[0]["message_id"].to_string();
    let before = inbox(&a);
    for (args, words) in [
        (vec!["react", "999999", "👍"], "there is no message 999999"),
        (vec!["react", &id, "ok"], "one emoji"),
        (vec!["react", &id, "👍 👍"], "one emoji"),
        (vec!["edit", "999999", "x"], "there is no message 999999"),
        (vec!["edit", &id, ""], "empty"),
        (vec!["delete", "999999"], "there is no message 999999"),
        (
            vec!["send", "Bob", "hi", "--reply-to", "999999"],
            "there is no message 999999",
        ),
        (vec!["contacts", "timer", "Bob", "2s"], "between 5 seconds"),
        (vec!["contacts", "timer", "Bob", "1y"], "not a duration"),
        (vec!["contacts", "timer", "Bob", "9999999w"], "out of range"),
        (vec!["contacts", "timer", "Nobody", "1h"], "Nobody"),
    ] {
        fails(&run(&a, &args), words);
    }
    // Clap refuses what it can on its own (exit 2 as well).
    fails(&run(&a, &["react", "abc", "👍"]), "invalid value");
    fails(
        &run(&a, &["react", &id, "👍", "--remove"]),
        "cannot be used",
    );
    assert_eq!(inbox(&a), before, "nothing changed");
}
