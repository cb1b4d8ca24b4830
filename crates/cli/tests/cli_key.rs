//! The home key through the real binary: a passphrase home stays locked
//! without its passphrase, refuses a wrong one without touching a file,
//! rotates its key on `zks key change` (the old passphrase then opens
//! nothing), and refuses a change while a daemon has the home open.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{PASSPHRASE, daemon, ok, pair, run, zks};

/// `zks --home HOME ARGS…` with stdin closed and the passphrase `pass`
/// (`None`: no passphrase in the environment).
fn with(home: &Path, pass: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = zks();
    cmd.arg("--home").arg(home).args(args).stdin(Stdio::null());
    match pass {
        Some(p) => cmd.env("ZKS_PASSPHRASE", p),
        None => cmd.env_remove("ZKS_PASSPHRASE"),
    };
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

use zks_testkit::snapshot;

#[test]
fn a_locked_home_needs_its_passphrase_and_a_key_change_rotates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    pair(tmp.path(), &a, &b);
    let status: serde_json::Value =
        serde_json::from_str(&ok(&run(&a, &["key", "status", "--json"]))).unwrap();
    assert_eq!(status["protection"], "passphrase");
    let db = std::fs::read(a.join("zks.sqlite3")).unwrap();
    assert!(
        !db.starts_with(b"SQLite format 3"),
        "the database is encrypted"
    );

    // Locked: no passphrase and no terminal, then a wrong one.
    let before = snapshot(&a);
    let locked = with(&a, None, &["contacts"]);
    assert_eq!(locked.status.code(), Some(2));
    assert!(
        stderr(&locked).contains("locked with a passphrase"),
        "{}",
        stderr(&locked)
    );
    let wrong = with(&a, Some("not the passphrase"), &["contacts"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("wrong passphrase"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(snapshot(&a), before, "a failed unlock changed the home");

    // A key change while the daemon has the home open is refused.
    let running = daemon(&a, &[]);
    let busy = zks()
        .arg("--home")
        .arg(&a)
        .args(["key", "change"])
        .env("ZKS_NEW_PASSPHRASE", "a brand new passphrase")
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(2));
    assert!(
        stderr(&busy).contains("another program"),
        "{}",
        stderr(&busy)
    );
    drop(running);

    // A too short new passphrase changes nothing; a good one rotates.
    let key_file = std::fs::read(a.join("key.json")).unwrap();
    let short = zks()
        .arg("--home")
        .arg(&a)
        .args(["key", "change"])
        .env("ZKS_NEW_PASSPHRASE", "short")
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(2));
    assert_eq!(std::fs::read(a.join("key.json")).unwrap(), key_file);
    let changed = zks()
        .arg("--home")
        .arg(&a)
        .args(["key", "change", "--json"])
        .env("ZKS_NEW_PASSPHRASE", "a brand new passphrase")
        .output()
        .unwrap();
    ok(&changed);
    let old = with(&a, Some(PASSPHRASE), &["contacts"]);
    assert!(
        stderr(&old).contains("wrong passphrase"),
        "{}",
        stderr(&old)
    );
    let contacts = ok(&with(&a, Some("a brand new passphrase"), &["contacts"]));
    assert!(contacts.contains("Bob"), "{contacts}");
    // Messages still flow after the rotation.
    ok(&with(
        &a,
        Some("a brand new passphrase"),
        &["send", "Bob", "after the change"],
    ));
}

#[test]
fn a_new_home_without_keyring_or_passphrase_is_refused_and_left_without_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("new");
    let out = zks()
        .arg("--home")
        .arg(&home)
        .arg("status")
        .env_remove("ZKS_PASSPHRASE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ZKS_PASSPHRASE"), "{}", stderr(&out));
    assert!(!home.join("key.json").exists());
    assert!(!home.join("zks.sqlite3").exists());
}

/// Four processes opening one new home at once agree on one key: one of
/// them makes it, the others find it, and all of them open the home.
#[test]
fn processes_starting_a_new_home_together_agree_on_one_key() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("new");
    let children: Vec<_> = (0..4)
        .map(|_| {
            zks()
                .arg("--home")
                .arg(&home)
                .args(["status", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let key_file = std::fs::read(home.join("key.json")).unwrap();
    ok(&run(&home, &["status"]));
    assert_eq!(std::fs::read(home.join("key.json")).unwrap(), key_file);
}
