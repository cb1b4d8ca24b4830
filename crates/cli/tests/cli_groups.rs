//! Groups through the real binary (decision 0071): four daemons, all paired
//! with each other, Alice and Bob also sharing a true pad. A group of the
//! four exchanges 100 messages from all of them at once; each arrives once
//! at every member and every member shows them in the same order, Alice's
//! copies to Bob under the pad. A removed member receives nothing sent
//! after its removal; two admins changing the group at the same moment end
//! with the same group on every member. Bad commands exit 2 and change
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Running, daemon, fails, json_lines, ok, pair_as, quicknet, run, until};

const NAMES: [&str; 4] = ["Alice", "Bob", "Carol", "Dan"];

fn groups(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["groups", "--json"])))
}

fn messages(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["group", "show", "Team", "--json"])))
}

/// A group's state as one member sees it: name, epoch, members' PeerIds.
fn state(home: &Path) -> (String, u64, Vec<String>) {
    let g = &groups(home)[0];
    let mut members: Vec<String> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["peer_id"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    (
        g["name"].as_str().unwrap().to_owned(),
        g["epoch"].as_u64().unwrap(),
        members,
    )
}

#[test]
fn four_daemons_share_a_group_in_one_order_and_its_changes_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let homes: Vec<PathBuf> = NAMES
        .iter()
        .map(|n| tmp.path().join(n.to_lowercase()))
        .collect();
    let _daemons: Vec<Running> = homes.iter().map(|h| daemon(h, &[])).collect();
    for i in 0..4 {
        for j in i + 1..4 {
            pair_as(tmp.path(), (&homes[i], NAMES[i]), (&homes[j], NAMES[j]));
        }
    }
    for h in &homes {
        ok(&run(
            h,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
    let (a, b, c, d) = (&homes[0], &homes[1], &homes[2], &homes[3]);
    // Alice and Bob also share a true pad.
    let pad = tmp.path().join("pad");
    let pad = pad.to_str().unwrap();
    ok(&run(a, &["pad", "new", "--size", "256KiB", "--out", pad]));
    ok(&run(a, &["pad", "import", "--contact", "Bob", pad]));
    ok(&run(b, &["pad", "import", "--contact", "Alice", pad]));

    // Bad commands change nothing.
    fails(
        &run(a, &["group", "create", "Team", "Nobody"]),
        "unknown member",
    );
    fails(&run(a, &["group", "create", " ", "Bob"]), "empty name");
    fails(
        &run(a, &["group", "create", "Team", "Bob", "Bob"]),
        "named twice",
    );
    fails(&run(a, &["group", "send", "Team", "hi"]), "no such group");
    fails(&run(a, &["group", "show", "Team"]), "no such group");
    assert!(groups(a).is_empty());

    ok(&run(a, &["group", "create", "Team", "Bob", "Carol", "Dan"]));
    for h in &homes {
        until("every member knows the group", 30, || {
            groups(h)
                .first()
                .is_some_and(|g| g["members"].as_array().unwrap().len() == 4)
        });
    }
    // Only admins change it.
    fails(
        &run(b, &["group", "rename", "Team", "Mine"]),
        "not an admin",
    );

    // 100 messages, all four sending at once.
    std::thread::scope(|s| {
        for (i, h) in homes.iter().enumerate() {
            s.spawn(move || {
                for k in 0..25 {
                    ok(&run(
                        h,
                        &["group", "send", "Team", &format!("{} {k}", NAMES[i])],
                    ));
                }
            });
        }
    });
    for h in &homes {
        until("all 100 messages everywhere", 90, || {
            messages(h).len() >= 100
        });
    }
    let order = |h: &Path| -> Vec<(String, String)> {
        messages(h)
            .iter()
            .map(|m| {
                (
                    m["author_peer_id"].as_str().unwrap().to_owned(),
                    m["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let first = order(a);
    assert_eq!(first.len(), 100, "each message once");
    let mut texts: Vec<&String> = first.iter().map(|(_, t)| t).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 100, "no message twice");
    for h in &homes[1..] {
        assert_eq!(order(h), first, "the same order at {}", h.display());
    }
    // Each sender's own messages keep their order.
    for n in NAMES {
        let mine: Vec<&String> = first
            .iter()
            .map(|(_, t)| t)
            .filter(|t| t.starts_with(n))
            .collect();
        let want: Vec<String> = (0..25).map(|k| format!("{n} {k}")).collect();
        assert_eq!(mine, want.iter().collect::<Vec<_>>());
    }
    // Alice's copies: Bob's under the pad, the others' under the grid pad,
    // all delivered; Bob got Alice's under the pad.
    until("Alice's copies delivered", 30, || {
        messages(a)
            .iter()
            .filter(|m| m["outgoing"] == true)
            .all(|m| {
                m["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|d| d["state"] == "delivered")
            })
    });
    for m in messages(a).iter().filter(|m| m["outgoing"] == true) {
        let modes: Vec<(&str, &str)> = m["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["name"].as_str().unwrap(), d["mode"].as_str().unwrap()))
            .collect();
        assert!(modes.contains(&("Bob", "pad")), "{modes:?}");
        assert!(modes.contains(&("Carol", "grid")) && modes.contains(&("Dan", "grid")));
    }
    assert!(
        messages(b)
            .iter()
            .filter(|m| m["text"].as_str().unwrap().starts_with("Alice"))
            .all(|m| m["mode"] == "pad")
    );
    // Bob reacts to Alice's first message, Alice edits it: every member
    // sees both.
    let first_of_alice = |h: &Path| {
        messages(h)
            .into_iter()
            .find(|m| m["text"].as_str().unwrap().starts_with("Alice 0"))
            .unwrap()
    };
    let at_bob = first_of_alice(b)["id"].as_i64().unwrap().to_string();
    ok(&run(b, &["group", "react", &at_bob, "🎉"]));
    let at_alice = first_of_alice(a)["id"].as_i64().unwrap().to_string();
    ok(&run(a, &["group", "edit", &at_alice, "Alice 0 (edited)"]));
    fails(
        &run(b, &["group", "edit", &at_bob, "not mine"]),
        "an edit of another's message",
    );
    for h in &homes {
        until("the reaction and the edit everywhere", 30, || {
            messages(h).iter().any(|m| {
                m["text"] == "Alice 0 (edited)"
                    && m["edited"] == true
                    && m["reactions"][0]["emoji"] == "🎉"
            })
        });
    }
    let line = ok(&run(a, &["group", "send", "Team", "one more"]));
    assert!(
        line.contains("perfect secrecy for 1 of 3 members"),
        "{line}"
    );
    assert!(!line.contains("perfect secrecy for 3"), "{line}");

    // Alice removes Dan: what Bob sends after he knows reaches Dan no more.
    ok(&run(a, &["group", "remove", "Team", "Dan"]));
    until("Dan learns he was removed", 30, || {
        groups(d)[0]["member"] == false
    });
    until("Bob learns Dan was removed", 30, || {
        groups(b)[0]["members"].as_array().unwrap().len() == 3
    });
    let dan_had = messages(d).len();
    ok(&run(b, &["group", "send", "Team", "after Dan left"]));
    until("Carol gets it", 30, || {
        messages(c).iter().any(|m| m["text"] == "after Dan left")
    });
    until("Alice gets it", 30, || {
        messages(a).iter().any(|m| m["text"] == "after Dan left")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(messages(d).len(), dan_had, "Dan got nothing new");
    fails(
        &run(d, &["group", "send", "Team", "let me in"]),
        "a removed member sends",
    );

    // Two admins at once: Alice removes Carol while Bob renames the group.
    ok(&run(a, &["group", "admin", "Team", "Bob"]));
    until("Bob is an admin", 30, || {
        groups(b)[0]["admin"] == true && groups(c)[0]["epoch"] == groups(a)[0]["epoch"]
    });
    std::thread::scope(|s| {
        s.spawn(|| ok(&run(a, &["group", "remove", "Team", "Carol"])));
        s.spawn(|| ok(&run(b, &["group", "rename", "Team", "Renamed"])));
    });
    until("Alice, Bob and Carol end the same", 30, || {
        let (sa, sb, sc) = (state(a), state(b), state(c));
        sa == sb && sb == sc && sa.0 == "Renamed" && sa.2.len() == 2
    });
    assert_eq!(groups(c)[0]["member"], false);
}

#[test]
fn members_who_are_not_contacts_are_introduced_through_the_group_and_files_reach_all() {
    let tmp = tempfile::tempdir().unwrap();
    let homes: Vec<PathBuf> = NAMES[..3]
        .iter()
        .map(|n| tmp.path().join(n.to_lowercase()))
        .collect();
    let _daemons: Vec<Running> = homes
        .iter()
        .map(|h| daemon(h, &["--auto-accept-files"]))
        .collect();
    let (a, b, c) = (&homes[0], &homes[1], &homes[2]);
    // Bob and Carol only know Alice.
    pair_as(tmp.path(), (a, "Alice"), (b, "Bob"));
    pair_as(tmp.path(), (a, "Alice"), (c, "Carol"));
    for h in &homes {
        ok(&run(
            h,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
    let contacts = |h: &Path| -> Vec<serde_json::Value> {
        serde_json::from_str(&ok(&run(h, &["contacts", "--json"]))).unwrap()
    };
    assert_eq!(contacts(b).len(), 1);

    ok(&run(a, &["group", "create", "Team", "Bob", "Carol"]));
    // The one with the smaller key invites the other through Alice; the
    // other accepts by itself and its reply comes back over the network.
    for (h, other) in [(b, "Carol"), (c, "Bob")] {
        until("introduced", 60, || {
            contacts(h).iter().any(|x| x["name"] == other)
                && groups(h).first().is_some_and(|g| {
                    g["members"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|m| m["contact"] == true)
                })
        });
    }
    // A file shared with the group reaches both as a transfer, whole.
    let notes = tmp.path().join("notes.txt");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&notes, &content).unwrap();
    ok(&run(a, &["group", "file", "Team", notes.to_str().unwrap()]));
    for h in [b, c] {
        until("the file arrives whole", 60, || {
            let shared = messages(h)
                .into_iter()
                .find(|m| m["file"]["name"] == "notes.txt");
            shared.is_some_and(|m| {
                let tid = m["file"]["transfer"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                json_lines(&ok(&run(h, &["transfers", "--json"])))
                    .iter()
                    .any(|t| t["id"] == tid.as_str() && t["state"] == "completed")
            })
        });
        let got = json_lines(&ok(&run(h, &["transfers", "--json"])))
            .into_iter()
            .find(|t| t["state"] == "completed")
            .unwrap();
        assert_eq!(
            std::fs::read(got["path"].as_str().unwrap()).unwrap(),
            content
        );
    }
    ok(&run(
        b,
        &["group", "send", "Team", "hello Carol, via nobody"],
    ));
    until("Carol reads Bob", 30, || {
        messages(c)
            .iter()
            .any(|m| m["text"] == "hello Carol, via nobody" && m["author"] == "Bob")
    });
    let sent = messages(b);
    let deliveries = sent.iter().find(|m| m["outgoing"] == true).unwrap()["deliveries"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        deliveries.iter().all(|d| d["state"] != "not_sent"),
        "{deliveries:?}"
    );
}
