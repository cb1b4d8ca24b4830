//! Linked devices through the real binary (decision 0072): Alice's desk
//! (her primary) links her laptop; the laptop gets her contacts and
//! history, meets Bob through the desk, and from then on Bob's messages
//! arrive on both, and what either of Alice's devices sends shows on the
//! other. After the desk unlinks the laptop, nothing new reaches it. Bad
//! commands exit 2 and change nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{daemon, fails, json_lines, ok, pair_as, quicknet, run, until};

fn inbox(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["inbox", "--json"])))
}

/// The texts of `home`'s conversation with `with`, as (direction, text).
fn texts(home: &Path, with: &str) -> Vec<(String, String)> {
    inbox(home)
        .iter()
        .filter(|m| m["contact"] == with)
        .map(|m| {
            (
                m["direction"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(home: &Path, with: &str, direction: &str, text: &str) -> bool {
    texts(home, with)
        .iter()
        .any(|(d, t)| d == direction && t == text)
}

fn contacts(home: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(&run(home, &["contacts", "--json"]))).unwrap()
}

fn devices(home: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&run(home, &["devices", "--json"]))).unwrap()
}

#[test]
fn a_linked_device_gets_the_history_and_new_messages_until_it_is_unlinked() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = tmp.path().join("desk");
    let laptop = tmp.path().join("laptop");
    let bob = tmp.path().join("bob");
    let carol = tmp.path().join("carol");
    let _daemons = [
        daemon(&desk, &[]),
        daemon(&laptop, &[]),
        daemon(&bob, &[]),
        daemon(&carol, &[]),
    ];
    pair_as(tmp.path(), (&desk, "Alice"), (&bob, "Bob"));
    for h in [&desk, &laptop, &bob, &carol] {
        ok(&run(
            h,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
    // Some history before the laptop exists.
    for i in 0..5 {
        ok(&run(
            &desk,
            &["send", "Bob", &format!("early {i} from desk")],
        ));
        ok(&run(
            &bob,
            &["send", "Alice", &format!("early {i} from bob")],
        ));
    }
    until("the early messages", 30, || {
        texts(&desk, "Bob").len() == 10 && texts(&bob, "Alice").len() == 10
    });

    // Bad input first: nothing changes.
    fails(
        &run(
            &laptop,
            &["device", "join", "ZKS1:garbage", "--name", "Laptop"],
        ),
        "a damaged code",
    );
    fails(&run(&desk, &["device", "confirm", "zz"]), "a bad id");
    fails(
        &run(&desk, &["device", "remove", "abcdef12"]),
        "an unknown id",
    );
    fails(
        &run(&bob, &["device", "join", "ZKS1:garbage", "--name", "X"]),
        "a home with contacts",
    );
    assert_eq!(devices(&laptop)["role"], "primary");

    // A pairing invite is no link code, and a link code no pairing invite.
    let invite = tmp.path().join("invite.txt");
    ok(&run(
        &desk,
        &["pair", "invite", "--out", invite.to_str().unwrap()],
    ));
    fails(
        &run(
            &laptop,
            &[
                "device",
                "join",
                invite.to_str().unwrap(),
                "--name",
                "Laptop",
            ],
        ),
        "joining with a pairing invite",
    );
    let stranger = tmp.path().join("stranger");
    let code = tmp.path().join("link.txt");
    ok(&run(
        &desk,
        &["device", "link", "--out", code.to_str().unwrap()],
    ));
    fails(
        &run(
            &stranger,
            &["pair", "accept", code.to_str().unwrap(), "--name", "S"],
        ),
        "pairing with a link code",
    );
    assert!(contacts(&stranger).is_empty());
    assert_eq!(devices(&laptop)["role"], "primary");

    // The laptop joins with the link code.
    let joined = ok(&run(
        &laptop,
        &[
            "device",
            "join",
            code.to_str().unwrap(),
            "--name",
            "Laptop",
            "--json",
        ],
    ));
    assert!(joined.contains("\"joining\""), "{joined}");
    fails(
        &run(
            &bob,
            &["device", "join", code.to_str().unwrap(), "--name", "Bob2"],
        ),
        "a home with contacts joining",
    );
    // The desk sees it waiting, with the safety code the laptop shows.
    let mut pending = serde_json::Value::Null;
    until("the joining laptop on the desk", 30, || {
        pending = devices(&desk)["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["state"] == "pending")
            .cloned()
            .unwrap_or_default();
        !pending.is_null()
    });
    let laptop_primary_code = devices(&laptop)["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["primary"] == true)
        .unwrap()["safety_code"]
        .clone();
    assert_eq!(pending["safety_code"], laptop_primary_code);
    assert_eq!(pending["name"], "Laptop");
    // Not linked before the confirmation: Bob's messages reach the desk only.
    let id = pending["id"].as_str().unwrap()[..8].to_owned();
    ok(&run(&desk, &["device", "confirm", &id]));
    fails(&run(&desk, &["device", "confirm", &id]), "confirmed twice");

    // The laptop is linked, has Alice's contacts and the history…
    until("the laptop linked, with the history", 60, || {
        devices(&laptop)["role"] == "linked" && texts(&laptop, "Bob").len() == 10
    });
    assert!(has(&laptop, "Bob", "out", "early 4 from desk"));
    assert!(has(&laptop, "Bob", "in", "early 4 from bob"));
    let listed: Vec<String> = devices(&laptop)["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["Alice", "Laptop"], "the desk goes by Alice's name");
    // …and meets Bob through the desk: Bob's message arrives on both.
    let mut i = 0;
    until("Bob's message on both of Alice's devices", 90, || {
        i += 1;
        ok(&run(&bob, &["send", "Alice", &format!("to both {i}")]));
        std::thread::sleep(Duration::from_secs(1));
        (1..=i).any(|k| {
            let t = format!("to both {k}");
            has(&desk, "Bob", "in", &t) && has(&laptop, "Bob", "in", &t)
        })
    });
    // Bob's contact list still has one Alice, with her laptop.
    let bob_contacts = contacts(&bob);
    assert_eq!(bob_contacts.len(), 1, "{bob_contacts:?}");
    assert_eq!(bob_contacts[0]["devices"], serde_json::json!(["Laptop"]));

    ok(&run(&bob, &["send", "Alice", "hello both"]));
    until("Bob's message on both", 30, || {
        has(&desk, "Bob", "in", "hello both") && has(&laptop, "Bob", "in", "hello both")
    });
    // What Alice sends from either device shows on the other.
    ok(&run(&desk, &["send", "Bob", "from the desk"]));
    ok(&run(&laptop, &["send", "Bob", "from the laptop"]));
    until("Alice's sent messages everywhere", 30, || {
        has(&bob, "Alice", "in", "from the desk")
            && has(&bob, "Alice", "in", "from the laptop")
            && has(&laptop, "Bob", "out", "from the desk")
            && has(&desk, "Bob", "out", "from the laptop")
    });
    // A file from the laptop goes to Bob's device pairwise and shows in
    // his conversation with Alice.
    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, b"minutes of the meeting\n".repeat(1000)).unwrap();
    ok(&run(
        &laptop,
        &["file", "send", "Bob", file.to_str().unwrap()],
    ));
    until("the laptop's file offer at Bob", 30, || {
        inbox(&bob)
            .iter()
            .any(|m| m["contact"] == "Alice" && m["kind"] == "file")
    });
    let transfers = || json_lines(&ok(&run(&bob, &["transfers", "--json"])));
    let offer = transfers().pop().unwrap();
    ok(&run(
        &bob,
        &["file", "accept", &offer["id"].as_str().unwrap()[..8]],
    ));
    until("the file at Bob", 60, || {
        transfers().iter().any(|t| t["state"] == "completed")
    });

    // A reaction made on the laptop names the same message everywhere.
    let target = inbox(&laptop)
        .into_iter()
        .find(|m| m["text"] == "hello both")
        .unwrap();
    ok(&run(&laptop, &["react", &target["id"].to_string(), "👍"]));
    let reacted = |home: &Path, text: &str, mine: bool| {
        inbox(home).iter().any(|m| {
            m["text"] == text
                && m["reactions"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["emoji"] == "👍" && r["mine"] == mine))
        })
    };
    until("the laptop's reaction at Bob and on the desk", 30, || {
        reacted(&bob, "hello both", false) && reacted(&desk, "hello both", true)
    });
    // Each message once on every device.
    for home in [&desk, &laptop] {
        let all = texts(home, "Bob");
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "duplicates: {all:?}");
    }

    // A linked device pairs with nobody and makes no group: that happens
    // on the primary, and reaches it by itself.
    fails(
        &run(&laptop, &["pair", "invite", "--name", "L"]),
        "an invite from a linked device",
    );
    fails(
        &run(&laptop, &["group", "create", "Team", "Bob"]),
        "a group on a linked device",
    );
    pair_as(tmp.path(), (&desk, "Alice"), (&carol, "Carol"));
    until("Carol on the laptop, met", 60, || {
        contacts(&laptop)
            .iter()
            .any(|c| c["name"] == "Carol" && c["needs_pairing"] == false)
    });
    ok(&run(&carol, &["send", "Alice", "hi from carol"]));
    until("Carol's message on both", 30, || {
        has(&desk, "Carol", "in", "hi from carol") && has(&laptop, "Carol", "in", "hi from carol")
    });

    // Unlinking: contacts and the desk stop sealing to the laptop.
    fails(
        &run(&laptop, &["device", "remove", &id]),
        "unlinking from a linked device",
    );
    ok(&run(&desk, &["device", "remove", &id]));
    assert!(
        !devices(&desk)["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "Laptop")
    );
    until("Bob forgetting the laptop", 30, || {
        contacts(&bob)[0]["devices"] == serde_json::json!([])
    });
    ok(&run(&bob, &["send", "Alice", "after the unlink"]));
    ok(&run(&desk, &["send", "Bob", "desk after the unlink"]));
    until("Bob's message on the desk", 30, || {
        has(&desk, "Bob", "in", "after the unlink")
    });
    std::thread::sleep(Duration::from_secs(5));
    assert!(!has(&laptop, "Bob", "in", "after the unlink"));
    assert!(!has(&laptop, "Bob", "out", "desk after the unlink"));
    // The laptop's own sends no longer reach Bob.
    let _ = run(
        &laptop,
        &["send", "Bob", "laptop after the unlink", "--wait", "3"],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(!has(&bob, "Alice", "in", "laptop after the unlink"));
}
