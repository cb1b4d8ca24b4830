//! Pairing from the small QR code through the real binary: Alice's daemon
//! is online, `zks pair invite --link-qr` writes a QR code of version ≤ 10;
//! Bob's `zks pair accept` takes that image, fetches the full invite from
//! Alice's daemon over the network, checks it against the link, and both
//! end with the same safety code (Alice's daemon finishes by itself when
//! Bob's reply arrives). A link whose invite is gone is refused clearly.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{daemon, ok, run};

fn contacts(home: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&ok(&run(home, &["contacts", "--json"])))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The version of the QR code in a PNG image, read back from the image.
fn qr_version(png: &Path) -> u8 {
    let text = zks_qr::decode_png(&std::fs::read(png).unwrap()).unwrap();
    zks_qr::version_of(&text).unwrap()
}

#[test]
fn a_small_qr_code_pairs_two_daemons_over_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _da = daemon(&a, &[]);
    let _db = daemon(&b, &[]);
    let small = tmp.path().join("small.png");
    let full = tmp.path().join("full.png");
    let invite: serde_json::Value = serde_json::from_str(&ok(&run(
        &a,
        &[
            "pair",
            "invite",
            "--name",
            "Alice",
            "--qr",
            full.to_str().unwrap(),
            "--link-qr",
            small.to_str().unwrap(),
            "--json",
        ],
    )))
    .unwrap();
    let link = invite["link_text"].as_str().unwrap();
    let version = qr_version(&small);
    assert!(version <= 10, "version {version}");
    assert!(qr_version(&full) > 30);
    eprintln!(
        "invite link: {} characters, QR version {version}; full invite: {} characters, QR version {}",
        link.len(),
        invite["text"].as_str().unwrap().len(),
        qr_version(&full)
    );

    let accepted: serde_json::Value = serde_json::from_str(&ok(&run(
        &b,
        &["pair", "accept", small.to_str().unwrap(), "--json"],
    )))
    .unwrap();
    assert_eq!(accepted["contact"]["name"], "Alice");
    let code = accepted["contact"]["safety_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Alice's daemon finishes when Bob's reply arrives over the network.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let at_a = contacts(&a);
        if let Some(bob) = at_a.first() {
            assert_eq!(bob["safety_code"], code.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "Alice never finished");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The invite is used: its link is refused, and nothing changes.
    let out = run(&b, &["pair", "accept", link]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already accepted") || err.contains("no such invite"),
        "{err}"
    );
    assert_eq!(contacts(&b).len(), 1);
}

#[test]
fn a_link_needs_the_daemon_that_made_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // No daemon: no addresses, so no link to write.
    let small = tmp.path().join("small.png");
    let out = run(
        &a,
        &[
            "pair",
            "invite",
            "--name",
            "Alice",
            "--link-qr",
            small.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("running daemon"));
    assert!(!small.exists());
    // A link made while the daemon ran, used after it stopped.
    let link = {
        let _da = daemon(&a, &[]);
        let invite: serde_json::Value = serde_json::from_str(&ok(&run(
            &a,
            &["pair", "invite", "--name", "Alice", "--json"],
        )))
        .unwrap();
        invite["link_text"].as_str().unwrap().to_owned()
    };
    let out = run(&b, &["pair", "accept", &link]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach the device"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(contacts(&b).is_empty());
}
