//! Two homes pair offline (text, files and QR images), show the same safety
//! code, and exchange messages both ways in both modes, with real recorded
//! quicknet beacons binding the grid-pad keys. Every bad input is refused
//! without changing state, and pad bytes are never used twice, including
//! after a failure between the ledger commit and the envelope leaving.

use std::path::PathBuf;

use zks_node::{Mode, NodeError};
use zks_scenarios::{TestNode, start_in, start_test_node};

use zks_beacon::{DevnetSigner, Scheme};
use zks_testkit::QUICKNET;

/// The quicknet round shipped with the release (crates/node/data).
const SHIPPED_ROUND: u64 = 30_663_002;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Alice invites, Bob accepts, Alice finishes; both know quicknet rounds.
async fn paired() -> (TestNode, TestNode) {
    let alice = start_test_node().await;
    let bob = start_test_node().await;
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), None)
        .unwrap();
    let bob_as_seen_by_alice = alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .unwrap();
    assert_eq!(accepted.contact.name, "Alice");
    assert_eq!(
        accepted.contact.safety_code,
        bob_as_seen_by_alice.safety_code
    );
    for node in [&alice, &bob] {
        let report = node.node.import_beacons("quicknet", QUICKNET).unwrap();
        assert_eq!(report.valid, 164);
    }
    (alice, bob)
}

#[tokio::test]
async fn pairing_through_qr_images_gives_both_sides_the_same_safety_code() {
    let alice = start_test_node().await;
    let bob = start_test_node().await;
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let png = zks_qr::render_png(&invite.text, 4).unwrap();
    let accepted = bob.node.accept_invite(&png, Some("alice")).unwrap();
    let reply_png = zks_qr::render_png(&accepted.reply_text, 4).unwrap();
    let contact = alice.node.finish_pairing(&reply_png, None).unwrap();
    assert_eq!(contact.safety_code, accepted.contact.safety_code);
    assert_eq!(contact.safety_code.split(' ').count(), 8);
    assert!(!contact.verified);
    let verified = alice
        .node
        .verify_contact(&contact.name, Some(&accepted.contact.safety_code), false)
        .unwrap();
    assert!(verified.verified);
    let wrong = "00000 00000 00000 00000 00000 00000 00000 00000";
    assert!(bob.node.verify_contact("alice", Some(wrong), true).is_err());
    assert!(!bob.node.contacts().unwrap()[0].verified);
}

#[tokio::test]
async fn grid_pad_messages_flow_both_ways_bound_to_a_verified_round() {
    let (alice, bob) = paired().await;
    for i in 0..40 {
        let text = format!("message {i} to Bob");
        let sealed = alice.node.seal("Bob", text.as_bytes(), Mode::Grid).unwrap();
        assert_eq!(
            sealed.round,
            Some(30663002),
            "bound to the newest verified round"
        );
        let opened = bob.node.open(&sealed.envelope).unwrap();
        assert_eq!(opened.plaintext, text.as_bytes());
        assert_eq!(opened.from, "Alice");
        assert_eq!(opened.protection.label(), "Post-quantum encrypted");
        let back = bob.node.seal("Alice", b"ok", Mode::Grid).unwrap();
        assert_eq!(alice.node.open(&back.envelope).unwrap().plaintext, b"ok");
    }
}

/// A receiver without the round a message is bound to verifies the
/// signature hint the message carries and keeps the round: its own next
/// message binds to it (the contact's messages are a source of rounds).
/// Before that, a sender whose binding chain (here a live devnet both know)
/// has no round held falls back to the quicknet round shipped with the
/// release, and the receiver accepts that older round.
#[tokio::test]
async fn a_receiver_without_the_round_verifies_the_signature_hint() {
    let alice = start_test_node().await;
    let bob = start_test_node().await;
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), Some("Alice"))
        .unwrap();
    alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, now - 300);
    let devnet = signer.chain().hash.to_hex();
    for n in [&alice, &bob] {
        n.node.add_chain(&signer.chain().to_info_json()).unwrap();
        n.node.set_binding_chain(&devnet).unwrap();
    }
    // Only Alice holds devnet rounds.
    let lines: String = signer
        .sign_range(90, 95)
        .unwrap()
        .iter()
        .map(|b| b.to_json() + "\n")
        .collect();
    assert_eq!(alice.node.import_beacons(&devnet, &lines).unwrap().added, 6);
    // Bob has none: his message binds to the shipped quicknet round, which
    // Alice verifies from the hint and accepts, old as it is.
    let first = bob.node.seal("Alice", b"first", Mode::Grid).unwrap();
    assert_eq!(first.round, Some(SHIPPED_ROUND));
    assert_eq!(
        alice.node.open(&first.envelope).unwrap().plaintext,
        b"first"
    );
    // Bob checks the round's signature carried in Alice's message, and
    // keeps the now verified round: he answers bound to it.
    let sealed = alice.node.seal("Bob", b"hint", Mode::Grid).unwrap();
    assert_eq!(sealed.round, Some(95));
    let opened = bob.node.open(&sealed.envelope).unwrap();
    assert_eq!(opened.plaintext, b"hint");
    assert_eq!(opened.chain_hash.as_deref(), Some(devnet.as_str()));
    let back = bob.node.seal("Alice", b"answer", Mode::Grid).unwrap();
    assert_eq!(back.round, Some(95));
    assert_eq!(
        alice.node.open(&back.envelope).unwrap().plaintext,
        b"answer"
    );
}

/// Our pad copies are stored encrypted (header, then pad XOR keystream), and
/// a clear copy left by a release before encryption at rest is encrypted
/// when the node starts, and still works.
#[tokio::test]
async fn pad_copies_are_encrypted_at_rest_including_old_clear_ones() {
    let (alice, bob) = paired().await;
    let dir = tempfile::tempdir().unwrap();
    let pad = dir.path().join("pad.bin");
    zks_node::create_pad_file(&pad, 8192).unwrap();
    let clear = std::fs::read(&pad).unwrap();
    let status = alice.node.import_pad("Bob", &pad, false).unwrap();
    bob.node.import_pad("Alice", &pad, false).unwrap();
    let copy = alice
        .home
        .path()
        .join("pads")
        .join(format!("{}.pad", status.pad_id));
    let encrypted = |bytes: &[u8]| {
        let same = bytes[16..]
            .iter()
            .zip(&clear)
            .filter(|(a, b)| a == b)
            .count();
        bytes.starts_with(b"ZKS pad at rest1") && bytes.len() == 16 + clear.len() && same < 128
    };
    assert!(encrypted(&std::fs::read(&copy).unwrap()));

    // An old clear copy (no header) is encrypted when the node starts.
    alice.node.stop().await;
    let TestNode { node, home } = alice;
    drop(node);
    std::fs::write(&copy, &clear).unwrap();
    let alice = start_in(home).await;
    assert!(encrypted(&std::fs::read(&copy).unwrap()));
    let sealed = alice.node.seal("Bob", b"still works", Mode::Pad).unwrap();
    assert_eq!(
        bob.node.open(&sealed.envelope).unwrap().plaintext,
        b"still works"
    );
}

#[tokio::test]
async fn true_pad_messages_flow_both_ways_and_never_reuse_pad_bytes() {
    let (alice, bob) = paired().await;
    let dir = tempfile::tempdir().unwrap();
    let pad = dir.path().join("pad.bin");
    zks_node::create_pad_file(&pad, 8192).unwrap();
    assert!(
        zks_node::create_pad_file(&pad, 8192).is_err(),
        "never overwrites"
    );
    alice.node.import_pad("Bob", &pad, false).unwrap();
    bob.node.import_pad("Alice", &pad, false).unwrap();

    let a1 = alice.node.seal("Bob", b"first", Mode::Pad).unwrap();
    // Alice's half starts after the 32-byte prefix that names the pad.
    assert_eq!(a1.pad_left, Some(4096 - 32 - 37));
    let opened = bob.node.open(&a1.envelope).unwrap();
    assert_eq!(opened.plaintext, b"first");
    assert_eq!(opened.protection.label(), "Perfect secrecy (one-time pad)");
    let b1 = bob.node.seal("Alice", b"reply", Mode::Pad).unwrap();
    assert_eq!(alice.node.open(&b1.envelope).unwrap().plaintext, b"reply");
    assert!(bob.node.open(&a1.envelope).is_err(), "a replay is refused");

    // A failure after the ledger commit and before the envelope leaves (the
    // pad copy vanished): the reserved bytes are burned, never handed out again.
    let status = alice.node.pad_status("Bob").unwrap();
    let copy = alice
        .home
        .path()
        .join("pads")
        .join(format!("{}.pad", status.pad_id));
    let saved = std::fs::read(&copy).unwrap();
    std::fs::remove_file(&copy).unwrap();
    let err = alice.node.seal("Bob", b"lost", Mode::Pad).unwrap_err();
    assert_eq!(err.code(), "io");
    std::fs::write(&copy, &saved).unwrap();
    let after = alice.node.pad_status("Bob").unwrap();
    assert_eq!(
        after.send_left,
        status.send_left - (4 + 32),
        "the failed attempt's bytes are burned"
    );
    let a2 = alice.node.seal("Bob", b"second", Mode::Pad).unwrap();
    assert_eq!(bob.node.open(&a2.envelope).unwrap().plaintext, b"second");

    // Exhaustion is refused with the numbers, with no fallback.
    let left = alice.node.pad_status("Bob").unwrap().send_left;
    let too_big = vec![b'x'; left as usize];
    match alice.node.seal("Bob", &too_big, Mode::Pad) {
        Err(NodeError::Pad(e)) => assert!(e.to_string().contains("used up"), "{e}"),
        other => panic!("expected exhaustion, got {other:?}"),
    }
    assert_eq!(alice.node.pad_status("Bob").unwrap().send_left, left);
}

#[tokio::test]
async fn every_class_of_bad_input_is_refused_and_changes_nothing() {
    let (alice, bob) = paired().await;
    let sealed = alice
        .node
        .seal("Bob", b"payload", Mode::Grid)
        .unwrap()
        .envelope;
    let carol = start_test_node().await;

    let bad_envelopes: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"hello world, not an envelope".to_vec()),
        ("truncated", sealed[..sealed.len() / 2].to_vec()),
        ("extended", [sealed.as_slice(), b"x"].concat()),
        ("tampered", {
            let mut t = sealed.clone();
            let n = t.len();
            t[n - 40] ^= 1;
            t
        }),
    ];
    for (what, bytes) in &bad_envelopes {
        assert!(bob.node.open(bytes).is_err(), "{what}");
    }
    assert!(
        carol.node.open(&sealed).is_err(),
        "a stranger cannot open it"
    );
    assert!(
        alice.node.open(&sealed).is_err(),
        "the sender cannot open its own message"
    );
    // None of that disturbed the session: the real message still opens.
    assert_eq!(bob.node.open(&sealed).unwrap().plaintext, b"payload");

    for bad_code in [
        &b""[..],
        b"ZKS1:",
        b"ZKS1:%%%%",
        b"hello",
        b"\x89PNG\r\n\x1a\nbroken",
    ] {
        assert!(
            carol.node.accept_invite(bad_code, None).is_err(),
            "{bad_code:?}"
        );
        assert!(
            carol.node.finish_pairing(bad_code, None).is_err(),
            "{bad_code:?}"
        );
    }
    assert!(carol.node.contacts().unwrap().is_empty());
    assert!(bob.node.import_beacons("quicknet", "not json").is_err());
    let tampered = std::fs::read_to_string(data("quicknet.jsonl"))
        .unwrap()
        .replace("\"round\":123,", "\"round\":124,");
    let report = bob.node.import_beacons("quicknet", &tampered).unwrap();
    assert_eq!(
        report.invalid.len(),
        1,
        "the bad round is reported and not stored"
    );
}

#[tokio::test]
async fn invites_are_single_use_and_expire() {
    let alice = start_test_node().await;
    let bob = start_test_node().await;
    let carol = start_test_node().await;
    let invite = alice.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), Some("A"))
        .unwrap();
    assert!(
        bob.node
            .accept_invite(invite.text.as_bytes(), Some("A2"))
            .is_err(),
        "accepted twice"
    );
    alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("B"))
        .unwrap();
    // The same reply again (as when it also came over the network): the
    // pairing it made, unchanged.
    let again = alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("B2"))
        .unwrap();
    assert_eq!(again.name, "B", "finishing twice changes nothing");
    // Carol accepts the same (now used) invite: Alice refuses her reply.
    let late = carol
        .node
        .accept_invite(invite.text.as_bytes(), Some("A"))
        .unwrap();
    let err = alice
        .node
        .finish_pairing(late.reply_text.as_bytes(), Some("C"))
        .unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert_eq!(alice.node.contacts().unwrap().len(), 1);
}
