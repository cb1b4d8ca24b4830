//! Backup and restore: a home's identity, contacts and history come back
//! on a second machine under the same PeerId, but no message key or pad
//! byte does — restored contacts must be paired again, after which the
//! conversation continues with fresh keys. Wrong passphrases, damaged files
//! and non-empty homes are refused and change nothing.

use std::time::Duration;

use zks_node::Mode;
use zks_scenarios::{QUICKNET, go_online, paired, share_pad, start_test_node};

fn texts(n: &zks_scenarios::TestNode, contact: &str) -> Vec<(bool, String)> {
    n.node
        .history(contact)
        .unwrap()
        .into_iter()
        .map(|m| (m.outgoing, String::from_utf8(m.body).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_home_keeps_identity_and_history_but_no_key_until_paired_again() {
    let (alice, bob) = paired().await;
    let dir = tempfile::tempdir().unwrap();
    share_pad(&alice, &bob, 64 * 1024);
    for (i, mode) in [Mode::Grid, Mode::Pad, Mode::Grid].into_iter().enumerate() {
        let sealed = alice
            .node
            .seal("Bob", format!("hello {i}").as_bytes(), mode)
            .unwrap();
        bob.node.open(&sealed.envelope).unwrap();
        let back = bob
            .node
            .seal("Alice", format!("reply {i}").as_bytes(), mode)
            .unwrap();
        alice.node.open(&back.envelope).unwrap();
    }
    let backup = dir.path().join("alice.zksbackup");
    alice
        .node
        .write_backup(&backup, b"long enough passphrase")
        .unwrap();
    assert!(
        alice.node.write_backup(&backup, b"x").is_err(),
        "an existing file is never overwritten"
    );
    let raw = std::fs::read(&backup).unwrap();
    for secret in [&b"hello 0"[..], b"reply 2", b"Bob"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "the file is encrypted"
        );
    }

    // A second machine.
    let restored = start_test_node().await;
    let err = restored
        .node
        .restore_backup(&backup, b"wrong passphrase")
        .unwrap_err();
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    let mut damaged = raw.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 1;
    let damaged_path = dir.path().join("damaged");
    std::fs::write(&damaged_path, &damaged).unwrap();
    assert!(
        restored
            .node
            .restore_backup(&damaged_path, b"long enough passphrase")
            .is_err()
    );
    // Nothing changed: the real restore still finds an empty home.
    let report = restored
        .node
        .restore_backup(&backup, b"long enough passphrase")
        .unwrap();
    assert_eq!(
        report.peer_id,
        alice.node.whoami().unwrap().0,
        "same identity"
    );
    assert_eq!(report.contacts, ["Bob"]);
    assert_eq!(texts(&restored, "Bob"), texts(&alice, "Bob"));
    let contact = &restored.node.contacts().unwrap()[0];
    assert!(
        contact.needs_pairing && contact.pad.is_none(),
        "{contact:?}"
    );
    // No key: nothing can be sealed for Bob, in either mode.
    for mode in [Mode::Grid, Mode::Pad] {
        assert!(restored.node.seal("Bob", b"from the copy", mode).is_err());
    }
    let err = restored.node.seal("Bob", b"x", Mode::Grid).unwrap_err();
    assert!(err.to_string().contains("pair with them again"), "{err}");
    // A home with an identity refuses a restore.
    let err = bob
        .node
        .restore_backup(&backup, b"long enough passphrase")
        .unwrap_err();
    assert!(err.to_string().contains("new, empty home"), "{err}");

    // Pairing again gives fresh keys on both sides; the history stays.
    restored.node.import_beacons("quicknet", QUICKNET).unwrap();
    let invite = restored.node.create_invite(Some("Alice"), 600).unwrap();
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), None)
        .unwrap();
    assert_eq!(
        accepted.contact.name, "Alice",
        "Bob's contact is re-keyed in place"
    );
    restored
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), None)
        .unwrap();
    let contact = &restored.node.contacts().unwrap()[0];
    assert!(
        !contact.needs_pairing && !contact.verified,
        "a new code to compare: {contact:?}"
    );
    let sealed = restored
        .node
        .seal("Bob", b"back again", Mode::Grid)
        .unwrap();
    assert_eq!(
        bob.node.open(&sealed.envelope).unwrap().plaintext,
        b"back again"
    );
    assert_eq!(texts(&restored, "Bob").len(), 7);
    let _ = (go_online, Duration::ZERO);
}
