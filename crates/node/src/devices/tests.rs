//! Linked devices in process: where copies land, and hostile device
//! messages refused without changing anything. (The whole flow, with the
//! network, runs through the binary in `crates/cli/tests/cli_devices.rs`.)

use zks_pad::Mode;

use super::*;
use crate::test_support::{paired, relay, started};
use crate::wire::device::Device;

/// Pairs `a` (inviting, known as `a_name`) with `b` (known as `b_name`).
fn pair(a: &Node, a_name: &str, b: &Node, b_name: &str) {
    let invite = a.create_invite(Some(a_name), 3600).unwrap();
    let accepted = b
        .accept_invite(invite.text.as_bytes(), Some(a_name))
        .unwrap();
    a.finish_pairing(accepted.reply_text.as_bytes(), Some(b_name))
        .unwrap();
}

fn key(node: &Node) -> Key {
    node.with_store_mut(|store| Ok(Node::identity(store)?.0.public_key()))
        .unwrap()
}

/// `from` seals `wire` for its contact `to_name`.
fn send_wire(from: &Node, to_name: &str, wire: DeviceWire) {
    from.send_device_wires(
        |_| Ok(()),
        |store| Ok(vec![(store.contact(to_name)?, wire)]),
    )
    .unwrap();
}

/// How many contact rows `node` holds (devices included).
fn rows(node: &Node) -> usize {
    node.with_store(|store| Ok(store.contacts()?.len()))
        .unwrap()
}

fn refused(results: &[Result<crate::OpenedMessage, NodeError>], what: &str, says: &str) {
    assert_eq!(results.len(), 1, "{what}");
    match &results[0] {
        Err(NodeError::BadInput(m)) => assert!(m.contains(says), "{what}: {m}"),
        other => panic!("{what}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_device_messages_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = paired(tmp.path()).await;
    let alice_key = key(&alice);
    let bob_key = key(&bob);
    let before = rows(&alice);
    let history = |node: &Node| node.history("Bob").unwrap().len();
    let stranger = zks_pad::Identity::generate(&mut rand_core::OsRng);
    let device = |identity: &zks_pad::Identity, name: &str| Device {
        key: identity.public_key(),
        name: name.into(),
        added_at: 1,
    };

    // A list of someone else's devices (signed by them, sent by Bob).
    let theirs = DeviceList::sign(&stranger, 1, vec![device(&stranger, "x")]).unwrap();
    send_wire(&bob, "Alice", DeviceWire::List(theirs));
    refused(
        &relay(&bob, "Alice", &alice),
        "another's list",
        "someone else",
    );
    assert!(
        alice
            .with_store(|s| Ok(s.device_list(&stranger.public_key())?))
            .unwrap()
            .is_none()
    );

    // A copy of a message we "sent", from a contact rather than our device.
    send_wire(
        &bob,
        "Alice",
        DeviceWire::Sent {
            person: bob_key,
            reference: [1; 16],
            inner: b"I never wrote this".to_vec(),
        },
    );
    refused(
        &relay(&bob, "Alice", &alice),
        "a forged sent copy",
        "not one of yours",
    );

    // Contacts and history only come from our own primary.
    send_wire(&bob, "Alice", DeviceWire::Contacts(Vec::new()));
    refused(&relay(&bob, "Alice", &alice), "contacts", "primary");
    send_wire(
        &bob,
        "Alice",
        DeviceWire::History {
            person: bob_key,
            messages: Vec::new(),
        },
    );
    refused(&relay(&bob, "Alice", &alice), "history", "primary");

    // An introduction of a device Bob's signed list does not name.
    let carol = started(&tmp.path().join("carol")).await;
    carol.create_invite(Some("Carol"), 60).unwrap();
    let invite = carol
        .with_store_mut(|store| {
            let (identity, name) = Node::identity(store)?;
            let pending = zks_pad::PendingInvite::create(
                &identity,
                &name,
                &["/ip4/127.0.0.1/tcp/9".to_owned()],
                crate::clock::now_secs() + 60,
                &mut rand_core::OsRng,
            );
            Ok(pending.invite().as_bytes().to_vec())
        })
        .unwrap();
    send_wire(
        &bob,
        "Alice",
        DeviceWire::Intro {
            to: alice_key,
            invite,
        },
    );
    refused(
        &relay(&bob, "Alice", &alice),
        "an unlisted device",
        "not in Bob's device list",
    );

    // A copy naming the ref of a message Alice holds already.
    bob.send("Alice", b"hello", Mode::Grid).unwrap();
    assert!(relay(&bob, "Alice", &alice).iter().all(Result::is_ok));
    let held = alice
        .history("Bob")
        .unwrap()
        .pop()
        .unwrap()
        .reference
        .unwrap();
    send_wire(
        &bob,
        "Alice",
        DeviceWire::Copy {
            reference: held.try_into().unwrap(),
            inner: b"a second hello".to_vec(),
        },
    );
    refused(
        &relay(&bob, "Alice", &alice),
        "a copy reusing a ref",
        "already has",
    );
    // A damaged device message.
    bob.seal_inner("Alice", Mode::Grid, true, |_, _| {
        let mut out = crate::content::Outgoing::text(b"x").unwrap();
        out.plaintext = zeroize::Zeroizing::new(b"\0ZKV\x01\x09".to_vec());
        Ok(out)
    })
    .unwrap();
    refused(
        &relay(&bob, "Alice", &alice),
        "a damaged message",
        "unknown kind 9",
    );

    assert_eq!(history(&alice), 1, "only Bob's hello");
    assert_eq!(rows(&alice), before, "no contact added");
    assert_eq!(alice.devices().unwrap().role, "primary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contacts_other_device_speaks_in_their_conversation_with_shared_refs() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = paired(tmp.path()).await;
    // Bob's laptop, paired with Alice, is in Bob's signed device list.
    let laptop = started(&tmp.path().join("laptop")).await;
    laptop
        .import_beacons("quicknet", zks_testkit::QUICKNET)
        .unwrap();
    pair(&laptop, "Bob laptop", &alice, "Alice");
    let bob_identity = bob
        .with_store_mut(|store| Ok(Node::identity(store)?.0))
        .unwrap();
    let list = DeviceList::sign(
        &bob_identity,
        1,
        vec![
            Device {
                key: bob_identity.public_key(),
                name: "desk".into(),
                added_at: 1,
            },
            Device {
                key: key(&laptop),
                name: "laptop".into(),
                added_at: 2,
            },
        ],
    )
    .unwrap();
    send_wire(&bob, "Alice", DeviceWire::List(list));
    assert!(relay(&bob, "Alice", &alice).iter().all(Result::is_ok));
    alice
        .with_store_mut(|store| {
            let row = store.contact("Bob laptop")?;
            store.set_person_key(row.id, Some(&bob_identity.public_key()))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        alice.contacts().unwrap().len(),
        1,
        "the laptop is no contact of its own"
    );
    assert_eq!(alice.contacts().unwrap()[0].devices, ["laptop"]);

    // Alice's message to Bob goes to both of his devices, under one ref.
    alice.send("Bob", b"to both", Mode::Grid).unwrap();
    assert!(relay(&alice, "Bob", &bob).iter().all(Result::is_ok));
    let on_laptop = relay(&alice, "Bob laptop", &laptop);
    assert!(on_laptop.iter().all(Result::is_ok), "{on_laptop:?}");
    let sent = alice.history("Bob").unwrap().pop().unwrap();
    let at_laptop = laptop.history("Alice").unwrap().pop().unwrap();
    assert_eq!(at_laptop.body, b"to both");
    assert_eq!(at_laptop.reference, sent.reference);
    assert_eq!(
        bob.history("Alice").unwrap().pop().unwrap().reference,
        sent.reference
    );

    // The laptop's plain message lands in Bob's conversation; its reaction
    // to Alice's message finds it by the shared ref.
    laptop
        .send("Alice", b"from the laptop", Mode::Grid)
        .unwrap();
    let id = at_laptop.id;
    laptop.react(id, Some("👍")).unwrap();
    assert!(relay(&laptop, "Alice", &alice).iter().all(Result::is_ok));
    let texts: Vec<Vec<u8>> = alice
        .history("Bob")
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(texts, [b"to both".to_vec(), b"from the laptop".to_vec()]);
    let reactions = alice
        .conversation("Bob")
        .unwrap()
        .into_iter()
        .find(|e| e.message.id == sent.id)
        .unwrap()
        .reactions;
    assert_eq!(reactions.len(), 1);
    assert!(!reactions[0].mine);

    // Bob's new list without the laptop: Alice deletes its session.
    let list = DeviceList::sign(
        &bob_identity,
        2,
        vec![Device {
            key: bob_identity.public_key(),
            name: "desk".into(),
            added_at: 1,
        }],
    )
    .unwrap();
    send_wire(&bob, "Alice", DeviceWire::List(list));
    assert!(relay(&bob, "Alice", &alice).iter().all(Result::is_ok));
    assert!(alice.contacts().unwrap()[0].devices.is_empty());
    alice.send("Bob", b"after", Mode::Grid).unwrap();
    laptop.send("Alice", b"still here?", Mode::Grid).unwrap();
    refused(
        &relay(&laptop, "Alice", &alice),
        "an unlinked device",
        "not from any of your contacts",
    );
}
