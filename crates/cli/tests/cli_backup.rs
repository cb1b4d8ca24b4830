//! `zks backup` through the real binary: create with the passphrase from
//! the environment, refuse wrong or short passphrases and existing files,
//! restore into a new home (same PeerId, contacts to pair again).

mod common;

use common::{ok, pair, run, zks};

#[test]
fn a_backup_restores_into_a_new_home_and_bad_attempts_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    pair(tmp.path(), &a, &b);
    let file = tmp.path().join("a.zksbackup");
    let file = file.to_str().unwrap();
    let with = |home: &std::path::Path, pass: &str, args: &[&str]| {
        zks()
            .arg("--home")
            .arg(home)
            .env("ZKS_BACKUP_PASSPHRASE", pass)
            .args(args)
            .output()
            .unwrap()
    };
    let short = with(&a, "short", &["backup", "create", file]);
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    ok(&with(&a, "a good passphrase", &["backup", "create", file]));
    let again = with(&a, "a good passphrase", &["backup", "create", file]);
    assert_eq!(again.status.code(), Some(2), "never overwrites");

    let wrong = with(&c, "not the passphrase", &["backup", "restore", file]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    let report: serde_json::Value = serde_json::from_str(&ok(&with(
        &c,
        "a good passphrase",
        &["backup", "restore", file, "--json"],
    )))
    .unwrap();
    let whoami = |home| -> serde_json::Value {
        serde_json::from_str(&ok(&run(home, &["contacts", "--json"]))).unwrap()
    };
    assert_eq!(report["contacts"], serde_json::json!(["Bob"]));
    let contacts = whoami(&c);
    assert_eq!(contacts[0]["needs_pairing"], true, "{contacts}");
    let send = run(&c, &["seal", "--to", "Bob", "hi"]);
    assert_eq!(send.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&send.stderr).contains("pair with them again"),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    // Restoring into a home that has an identity is refused.
    let twice = with(&b, "a good passphrase", &["backup", "restore", file]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("new, empty home"));
}
