//! Groups: the fold, and members exchanging messages in process.

use super::*;
use crate::test_support::{paired, relay};
use crate::wire::group::Change;
use zks_pad::Identity;
use zks_store::NewGroupText;

/// Alice made group "Team" with Bob, and Bob holds it.
async fn team(dir: &std::path::Path) -> (Node, Node) {
    let (alice, bob) = paired(dir).await;
    alice.create_group("Team", &["Bob".into()]).unwrap();
    assert!(relay(&alice, "Bob", &bob).iter().all(Result::is_ok));
    assert_eq!(bob.group("Team").unwrap().members.len(), 2);
    (alice, bob)
}

fn queued(node: &Node, contact: &str) -> usize {
    node.with_store(|store| {
        let id = store.contact(contact)?.id;
        Ok(store.queued_run(id, usize::MAX, usize::MAX)?.len())
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_group_messages_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = team(tmp.path()).await;
    let gid: GroupId = hex::decode(alice.group("Team").unwrap().id)
        .unwrap()
        .try_into()
        .unwrap();
    let before = (
        bob.groups().unwrap(),
        bob.group_messages("Team").unwrap().len(),
    );
    let unchanged = |bob: &Node| {
        assert_eq!(
            (
                bob.groups().unwrap(),
                bob.group_messages("Team").unwrap().len()
            ),
            before
        );
    };
    // An op whose signature was changed.
    let identity = alice
        .with_store_mut(|store| Ok(Node::identity(store)?.0))
        .unwrap();
    let mut forged = Op::sign(
        &identity,
        gid,
        9,
        Action::Rename {
            name: "Ours".into(),
        },
    )
    .unwrap();
    let last = forged.bytes.len() - 1;
    forged.bytes[last] ^= 1;
    alice
        .send_wire(
            "Bob",
            &GroupWire::Ops {
                group: gid,
                ops: vec![forged],
            },
        )
        .unwrap();
    // A text to a group Bob does not know.
    alice
        .send_wire(
            "Bob",
            &GroupWire::Text {
                group: [7; ID_LEN],
                id: [1; ID_LEN],
                lamport: 1,
                reply: None,
                text: b"hi".to_vec(),
            },
        )
        .unwrap();
    // An introduction whose invite is no member's.
    let stranger = zks_pad::PendingInvite::create(
        &Identity::from_seed(&[9; 32]).unwrap(),
        "Mallory",
        &["/ip4/127.0.0.1/tcp/1".into()],
        crate::clock::now_secs() + 60,
        &mut rand_core::OsRng,
    );
    alice
        .send_wire(
            "Bob",
            &GroupWire::Intro {
                group: gid,
                to: bob.my_key().unwrap(),
                invite: stranger.invite().as_bytes().to_vec(),
            },
        )
        .unwrap();
    // A group Bob is not in: Alice's own new group of one.
    let nonce = [8; ID_LEN];
    let other = group_id(&identity.public_key(), &nonce);
    let create = Op::sign(
        &identity,
        other,
        1,
        Action::Create {
            nonce,
            name: "Not yours".into(),
            creator: "Alice".into(),
        },
    )
    .unwrap();
    alice
        .send_wire(
            "Bob",
            &GroupWire::Ops {
                group: other,
                ops: vec![create],
            },
        )
        .unwrap();
    // A damaged one.
    alice
        .seal_inner("Bob", Mode::Grid, true, |_, _| {
            Ok(copy_outgoing(b"\0ZKG\x01\x02short".to_vec(), None))
        })
        .unwrap();
    let results = relay(&alice, "Bob", &bob);
    assert_eq!(results.len(), 5);
    for r in &results {
        let e = r.as_ref().expect_err("refused");
        assert!(matches!(e, NodeError::BadInput(_)), "{e}");
    }
    unchanged(&bob);

    // Once removed, Bob's texts are refused by Alice.
    alice.group_remove("Team", "Bob").unwrap();
    relay(&alice, "Bob", &bob);
    assert!(!bob.group("Team").unwrap().member);
    assert!(bob.group_send("Team", b"still here?", None).is_err());
    // A later change of the group Bob was in still counts at his side (a
    // concurrent one can reach him after his removal).
    let renamed = alice.group_rename("Team", "Team 2").unwrap();
    let rename = alice
        .with_store(|store| {
            let loaded = alice.find_group(store, &renamed.id)?;
            Ok(loaded
                .ops
                .iter()
                .max_by_key(|op| op.lamport)
                .unwrap()
                .clone())
        })
        .unwrap();
    alice
        .send_wire(
            "Bob",
            &GroupWire::Ops {
                group: gid,
                ops: vec![rename],
            },
        )
        .unwrap();
    assert!(relay(&alice, "Bob", &bob).iter().all(Result::is_ok));
    assert_eq!(bob.groups().unwrap()[0].name, "Team 2");
    bob.send_wire(
        "Alice",
        &GroupWire::Text {
            group: gid,
            id: [2; ID_LEN],
            lamport: 50,
            reply: None,
            text: b"still here?".to_vec(),
        },
    )
    .unwrap();
    let refused = relay(&bob, "Alice", &alice);
    assert!(refused.last().unwrap().is_err());
    assert!(alice.group_messages("Team 2").unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_edits_and_deletes_reach_every_member_and_only_authors_change_texts() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = team(tmp.path()).await;
    let sent = alice.group_send("Team", b"lunch at 12?", None).unwrap();
    let mut at_bob_events = bob.subscribe();
    relay(&alice, "Bob", &bob);
    // A member's new text is news (who sent it); a reaction is not.
    let news = |events: &mut tokio::sync::broadcast::Receiver<NodeEvent>| {
        let mut found = Vec::new();
        while let Ok(e) = events.try_recv() {
            if let NodeEvent::GroupMessage { from, .. } = e {
                found.push(from);
            }
        }
        found
    };
    assert_eq!(news(&mut at_bob_events), [Some("Alice".to_owned())]);
    let mut at_alice_events = alice.subscribe();
    let at_bob = bob.group_messages("Team").unwrap()[0].clone();
    assert_eq!(at_bob.text, "lunch at 12?");

    bob.group_react(at_bob.id, Some("👍")).unwrap();
    assert!(bob.group_react(at_bob.id, Some("not an emoji")).is_err());
    assert!(
        bob.group_edit(at_bob.id, b"mine now").is_err(),
        "only its sender"
    );
    assert!(bob.group_delete(at_bob.id).is_err(), "only its sender");
    relay(&bob, "Alice", &alice);
    assert_eq!(news(&mut at_alice_events), [None]);
    let mine = &alice.group_messages("Team").unwrap()[0];
    assert_eq!(
        mine.reactions,
        [GroupReactionInfo {
            emoji: "👍".into(),
            by: "Bob".into(),
            mine: false
        }]
    );
    // A hostile Bob sending an edit of Alice's message is refused.
    let gid: GroupId = hex::decode(alice.group("Team").unwrap().id)
        .unwrap()
        .try_into()
        .unwrap();
    let alice_key = alice.my_key().unwrap();
    let msg_id: [u8; ID_LEN] = alice
        .with_store(|store| Ok(store.group_message(sent.id)?.unwrap().msg_id))
        .unwrap()
        .try_into()
        .unwrap();
    bob.send_wire(
        "Alice",
        &GroupWire::Change {
            group: gid,
            id: [5; ID_LEN],
            lamport: 99,
            target: (alice_key, msg_id),
            change: Change::Edit(b"forged".to_vec()),
        },
    )
    .unwrap();
    assert!(relay(&bob, "Alice", &alice)[0].is_err());
    assert_eq!(
        alice.group_messages("Team").unwrap()[0].text,
        "lunch at 12?"
    );

    alice.group_edit(sent.id, b"lunch at 1?").unwrap();
    relay(&alice, "Bob", &bob);
    let edited = &bob.group_messages("Team").unwrap()[0];
    assert_eq!((edited.text.as_str(), edited.edited), ("lunch at 1?", true));
    assert_eq!(edited.reactions.len(), 1);
    bob.group_react(at_bob.id, None).unwrap();
    relay(&bob, "Alice", &alice);
    assert!(
        alice.group_messages("Team").unwrap()[0]
            .reactions
            .is_empty()
    );

    alice.group_delete(sent.id).unwrap();
    relay(&alice, "Bob", &bob);
    let gone = &bob.group_messages("Team").unwrap()[0];
    assert!(gone.deleted && gone.text.is_empty() && gone.reactions.is_empty());
    assert!(bob.group_react(at_bob.id, Some("👍")).is_err(), "deleted");
    assert_eq!(
        bob.group_messages("Team").unwrap().len(),
        1,
        "changes are not shown as messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_groups_and_their_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = team(tmp.path()).await;
    let sent = alice.group_send("Team", b"keep me", None).unwrap();
    relay(&alice, "Bob", &bob);
    let at_bob = bob.group_messages("Team").unwrap()[0].id;
    bob.group_react(at_bob, Some("👍")).unwrap();
    relay(&bob, "Alice", &alice);
    alice.group_edit(sent.id, b"keep me, edited").unwrap();
    let backup = tmp.path().join("alice.zksbackup");
    alice
        .write_backup(&backup, b"long enough passphrase")
        .unwrap();
    let restored = crate::test_support::started(&tmp.path().join("restored")).await;
    restored
        .restore_backup(&backup, b"long enough passphrase")
        .unwrap();
    let mut expected = alice.groups().unwrap();
    // Restored contacts must be paired again before anything reaches them.
    expected[0]
        .members
        .iter_mut()
        .filter(|m| !m.me)
        .for_each(|m| m.contact = false);
    assert_eq!(restored.groups().unwrap(), expected);
    let (before, after) = (
        alice.group_messages("Team").unwrap(),
        restored.group_messages("Team").unwrap(),
    );
    assert_eq!(after.len(), 1);
    assert_eq!(
        (
            after[0].text.as_str(),
            after[0].edited,
            after[0].reactions.clone()
        ),
        (before[0].text.as_str(), true, before[0].reactions.clone())
    );
    // Bob has no session with the restored home: a message is not sent.
    let m = restored.group_send("Team", b"after restore", None).unwrap();
    assert_eq!(m.deliveries[0].state, "not_sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_cut_by_a_crash_is_finished_once_even_by_two_sealers() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice, bob) = team(tmp.path()).await;
    // The text and its pending copy are stored, then the process dies
    // before sealing: nothing was queued for Bob.
    let me = alice.my_key().unwrap();
    alice
        .with_store_mut(|store| {
            let loaded = alice.find_group(store, "Team")?;
            let bob_id = store.contact("Bob")?.id;
            let bob_key = store.contact("Bob")?.identity_key;
            store.add_group_text(
                loaded.record.id,
                &NewGroupText {
                    msg_id: vec![3; ID_LEN],
                    author: me.to_vec(),
                    lamport: 10,
                    body: b"after the crash".to_vec(),
                    reply: None,
                    kind: "text".into(),
                    target: None,
                    copies: vec![(bob_key, Some(bob_id))],
                },
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(queued(&alice, "Bob"), 0);
    // Two sealers at once (the daemon's loop and a CLI) seal it once.
    let (a1, a2) = (alice.clone(), alice.clone());
    let t1 = std::thread::spawn(move || a1.seal_group_copies().unwrap());
    let t2 = std::thread::spawn(move || a2.seal_group_copies().unwrap());
    assert_eq!(t1.join().unwrap() + t2.join().unwrap(), 1);
    assert_eq!(queued(&alice, "Bob"), 1);
    assert_eq!(alice.seal_group_copies().unwrap(), 0);
    relay(&alice, "Bob", &bob);
    let got = bob.group_messages("Team").unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].text, "after the crash");
    let sent = &alice.group_messages("Team").unwrap()[0];
    assert_eq!(sent.deliveries.len(), 1);
    assert_eq!(sent.deliveries[0].state, "delivered");
}

fn who(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32]).unwrap()
}

struct G {
    id: GroupId,
    ops: Vec<Op>,
}

impl G {
    fn new(creator: &Identity) -> G {
        let nonce = [5; ID_LEN];
        let id = group_id(&creator.public_key(), &nonce);
        let create = Op::sign(
            creator,
            id,
            1,
            Action::Create {
                nonce,
                name: "Team".into(),
                creator: "A".into(),
            },
        )
        .unwrap();
        G {
            id,
            ops: vec![create],
        }
    }

    fn op(&mut self, by: &Identity, lamport: u64, action: Action) -> Op {
        let op = Op::sign(by, self.id, lamport, action).unwrap();
        self.ops.push(op.clone());
        op
    }

    fn fold(&self) -> Fold {
        Fold::of(&self.id, self.ops.clone()).unwrap()
    }
}

fn add(who: &Identity) -> Action {
    Action::Add {
        member: who.public_key(),
        name: "m".into(),
    }
}

#[test]
fn the_fold_follows_the_rules_whatever_order_the_ops_came_in() {
    let (a, b, c, d) = (who(1), who(2), who(3), who(4));
    let mut g = G::new(&a);
    g.op(&a, 2, add(&b));
    g.op(&a, 3, add(&c));
    // B is no admin: its add and rename do not count.
    g.op(&b, 4, add(&d));
    g.op(&b, 4, Action::Rename { name: "B's".into() });
    let fold = g.fold();
    assert_eq!(fold.members.len(), 3);
    assert_eq!((fold.name.as_str(), fold.epoch), ("Team", 3));
    // Made admin, B may.
    g.op(
        &a,
        5,
        Action::Admin {
            member: b.public_key(),
        },
    );
    g.op(&b, 6, add(&d));
    assert!(g.fold().members.contains_key(&d.public_key()));
    // Nobody removes the creator; a member may leave.
    g.op(
        &b,
        7,
        Action::Remove {
            member: a.public_key(),
        },
    );
    g.op(&c, 7, Action::Leave);
    let fold = g.fold();
    assert!(fold.members.contains_key(&a.public_key()));
    assert!(!fold.members.contains_key(&c.public_key()));
    // Any order of the same ops, repeats included, folds the same.
    let mut shuffled = g.ops.clone();
    shuffled.reverse();
    shuffled.push(g.ops[2].clone());
    assert_eq!(Fold::of(&g.id, shuffled).unwrap(), fold);
    // Without the creation there is no group.
    assert!(Fold::of(&g.id, g.ops[1..].to_vec()).is_none());
}

#[test]
fn concurrent_changes_by_two_admins_end_the_same_everywhere() {
    let (a, b, c, x, y) = (who(1), who(2), who(3), who(4), who(5));
    let mut g = G::new(&a);
    g.op(&a, 2, add(&b));
    g.op(&a, 3, add(&c));
    g.op(
        &a,
        4,
        Action::Admin {
            member: b.public_key(),
        },
    );
    let base = g.ops.clone();
    // A adds X while B removes C and adds Y, neither knowing.
    let from_a = Op::sign(&a, g.id, 5, add(&x)).unwrap();
    let from_b = vec![
        Op::sign(
            &b,
            g.id,
            5,
            Action::Remove {
                member: c.public_key(),
            },
        )
        .unwrap(),
        Op::sign(&b, g.id, 6, add(&y)).unwrap(),
    ];
    let mut at_a = base.clone();
    at_a.push(from_a.clone());
    at_a.extend(from_b.clone());
    let mut at_b = base.clone();
    at_b.extend(from_b);
    at_b.push(from_a);
    let (fa, fb) = (
        Fold::of(&g.id, at_a).unwrap(),
        Fold::of(&g.id, at_b).unwrap(),
    );
    assert_eq!(fa, fb);
    let keys: Vec<Key> = fa.members.keys().copied().collect();
    let mut want = vec![
        a.public_key(),
        b.public_key(),
        x.public_key(),
        y.public_key(),
    ];
    want.sort();
    assert_eq!(keys, want);
}

#[test]
fn the_last_admin_leaving_hands_the_group_on() {
    let (a, b, c) = (who(1), who(2), who(3));
    let mut g = G::new(&a);
    g.op(&a, 2, add(&b));
    g.op(&a, 3, add(&c));
    g.op(&a, 4, Action::Leave);
    let fold = g.fold();
    assert_eq!(fold.members.len(), 2);
    assert_eq!(fold.members.values().filter(|m| m.admin).count(), 1);
    let first = *fold.members.keys().next().unwrap();
    assert!(fold.is_admin(&first));
}
