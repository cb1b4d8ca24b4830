//! Offline pairing and messaging through the real `zks` binary: files, QR
//! images, both modes, and clear failures with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zks(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zks"))
        .env("ZKS_PASSPHRASE", "test passphrase")
        .env("ZKS_TEST_WEAK_KDF", "1")
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("ZKS_HOME")
        .env_remove("RUST_LOG")
        .output()
        .expect("run zks")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("zks: error: ") && stderr.contains(needle),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

use zks_testkit::quicknet_path as quicknet;

fn contacts(home: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(&zks(home, &["contacts", "--json"]))).unwrap()
}

#[test]
fn two_homes_pair_with_qr_images_and_exchange_messages_in_both_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("alice"), tmp.path().join("bob"));
    let f = |name: &str| tmp.path().join(name);
    let s = |p: &PathBuf| p.to_str().unwrap().to_owned();

    ok(&zks(
        &a,
        &[
            "pair",
            "invite",
            "--name",
            "Alice",
            "--qr",
            &s(&f("invite.png")),
            "--out",
            &s(&f("invite.txt")),
        ],
    ));
    assert!(
        std::fs::read_to_string(f("invite.txt"))
            .unwrap()
            .starts_with("ZKS1:")
    );
    ok(&zks(
        &b,
        &[
            "pair",
            "accept",
            &s(&f("invite.png")),
            "--qr",
            &s(&f("reply.png")),
        ],
    ));
    ok(&zks(
        &a,
        &["pair", "finish", &s(&f("reply.png")), "--as", "Bob"],
    ));
    let (ca, cb) = (contacts(&a), contacts(&b));
    assert_eq!(ca[0]["safety_code"], cb[0]["safety_code"]);
    assert_eq!(cb[0]["name"], "Alice");
    ok(&zks(
        &a,
        &[
            "contacts",
            "verify",
            "Bob",
            "--code",
            cb[0]["safety_code"].as_str().unwrap(),
        ],
    ));
    assert_eq!(contacts(&a)[0]["verified"], true);

    // A contact's addresses are hints the user may replace; a bad list is
    // refused whole and changes nothing.
    let bob = ca[0]["peer_id"].as_str().unwrap().to_owned();
    let alice = cb[0]["peer_id"].as_str().unwrap().to_owned();
    let good = format!("/ip4/192.0.2.7/tcp/4001/p2p/{bob}");
    ok(&zks(
        &a,
        &[
            "contacts",
            "addresses",
            "Bob",
            &good,
            "/ip4/192.0.2.8/udp/4001/quic-v1",
        ],
    ));
    let stored = serde_json::json!([good, "/ip4/192.0.2.8/udp/4001/quic-v1"]);
    assert_eq!(contacts(&a)[0]["addresses"], stored);
    let alices = format!("/ip4/192.0.2.9/tcp/1/p2p/{alice}");
    let nine: Vec<String> = (0..9).map(|i| format!("/ip4/192.0.2.{i}/tcp/1")).collect();
    let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
    for (args, needle) in [
        (vec!["not an address"], "is not a multiaddress"),
        (
            vec![good.as_str(), alices.as_str()],
            "another peer's address",
        ),
        (nine, "at most 8"),
    ] {
        let mut all = vec!["contacts", "addresses", "Bob"];
        all.extend(args);
        fails(&zks(&a, &all), needle);
        assert_eq!(contacts(&a)[0]["addresses"], stored, "nothing changed");
    }
    fails(
        &zks(&a, &["contacts", "addresses", "nobody", &good]),
        "no contact named",
    );

    for home in [&a, &b] {
        ok(&zks(
            home,
            &["beacon", "import", "--chain", "quicknet", &s(&quicknet())],
        ));
    }
    ok(&zks(
        &a,
        &["seal", "--to", "Bob", "grid hello", "--out", &s(&f("m1"))],
    ));
    let out = zks(&b, &["open", &s(&f("m1"))]);
    assert_eq!(ok(&out), "grid hello");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Post-quantum encrypted"));
    ok(&zks(
        &b,
        &["seal", "--to", "Alice", "back", "--out", &s(&f("m2"))],
    ));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&zks(&a, &["open", "--json", &s(&f("m2"))]))).unwrap();
    assert_eq!(json["text"], "back");
    assert_eq!(json["label"], "Post-quantum encrypted");
    assert_eq!(json["round"], 30663002);

    ok(&zks(
        &a,
        &["pad", "new", "--size", "4KiB", "--out", &s(&f("pad"))],
    ));
    ok(&zks(
        &a,
        &["pad", "import", "--contact", "Bob", &s(&f("pad"))],
    ));
    ok(&zks(
        &b,
        &["pad", "import", "--contact", "Alice", &s(&f("pad"))],
    ));
    // A file larger than the pad half left is refused with the numbers.
    fails(
        &zks(
            &b,
            &[
                "seal",
                "--pad",
                "--to",
                "Alice",
                "--file",
                &s(&quicknet()),
                "--out",
                &s(&f("p0")),
            ],
        ),
        "used up in this direction",
    );
    ok(&zks(
        &b,
        &[
            "seal",
            "--pad",
            "--to",
            "Alice",
            "secret",
            "--out",
            &s(&f("p1")),
        ],
    ));
    let out = zks(&a, &["open", &s(&f("p1"))]);
    assert_eq!(ok(&out), "secret");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Perfect secrecy"));
    let status: serde_json::Value =
        serde_json::from_str(&ok(&zks(&b, &["pad", "status", "Alice", "--json"]))).unwrap();
    assert_eq!(status["send_left"], 2048 - 6 - 32);
}

#[test]
fn bad_codes_envelopes_and_arguments_exit_2_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("h");
    let junk = tmp.path().join("junk");
    std::fs::write(&junk, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let junk = junk.to_str().unwrap();
    fails(
        &zks(&home, &["pair", "accept", "hello"]),
        "neither a ZKS1: code nor an existing file",
    );
    fails(&zks(&home, &["pair", "accept", "ZKS1:@@@"]), "");
    fails(&zks(&home, &["pair", "accept", junk]), "");
    fails(&zks(&home, &["pair", "finish", junk]), "");
    fails(&zks(&home, &["open", junk]), "not a ZKS message");
    fails(
        &zks(&home, &["open", "/nonexistent/envelope"]),
        "cannot read",
    );
    fails(
        &zks(&home, &["seal", "--to", "nobody", "x", "--out", junk]),
        "no contact named",
    );
    fails(
        &zks(&home, &["pad", "status", "nobody"]),
        "no contact named",
    );
    fails(
        &zks(&home, &["pad", "new", "--size", "12", "--out", junk]),
        "",
    );
    fails(
        &zks(&home, &["contacts", "verify", "nobody", "--compared"]),
        "no contact named",
    );
    let usage = zks(&home, &["seal", "--to", "x"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(contacts(&home).is_empty());
    assert_eq!(
        std::fs::read(junk).unwrap(),
        b"\x89PNG\r\n\x1a\nnot really",
        "inputs are never modified"
    );
}

#[test]
fn the_name_is_chosen_before_inviting_and_bad_names_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("alice"), tmp.path().join("bob"));
    assert!(ok(&zks(&a, &["name"])).contains("no name chosen yet"));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&zks(&a, &["name", "--json"]))).unwrap();
    assert_eq!(shown, serde_json::json!({ "name": "", "chosen": false }));
    fails(&zks(&a, &["pair", "invite"]), "`zks name NAME`");

    let long = "x".repeat(65);
    for (bad, says) in [
        ("", "empty"),
        ("   ", "empty"),
        (long.as_str(), "too long"),
        ("Al\nice", "control character"),
        ("Al\u{1b}ice", "control character"),
    ] {
        fails(&zks(&a, &["name", bad]), says);
        fails(&zks(&a, &["pair", "invite", "--name", bad]), says);
    }
    assert!(ok(&zks(&a, &["name"])).contains("no name chosen yet"));

    assert_eq!(ok(&zks(&a, &["name", "  Alice  "])), "Alice\n");
    assert_eq!(ok(&zks(&a, &["name"])), "Alice\n");
    let invite = ok(&zks(&a, &["pair", "invite", "--json"]));
    let invite: serde_json::Value = serde_json::from_str(&invite).unwrap();
    assert_eq!(invite["name"], "Alice");

    // Accepting names us when asked to; then the inviter sees that name.
    let reply = zks(
        &b,
        &[
            "pair",
            "accept",
            invite["text"].as_str().unwrap(),
            "--name",
            "Bob",
        ],
    );
    let reply = ok(&reply);
    assert_eq!(ok(&zks(&b, &["name"])), "Bob\n");
    ok(&zks(&a, &["pair", "finish", reply.trim()]));
    assert_eq!(contacts(&a)[0]["name"], "Bob");

    // Verifying needs the comparison: no flag is a usage error (exit 2),
    // a wrong code is refused, `--compared` is the person's word.
    let usage = zks(&a, &["contacts", "verify", "Bob"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--compared"));
    let wrong = "00000 00000 00000 00000 00000 00000 00000 00000";
    fails(
        &zks(&a, &["contacts", "verify", "Bob", "--code", wrong]),
        "does not match",
    );
    assert_eq!(contacts(&a)[0]["verified"], false);
    ok(&zks(&a, &["contacts", "verify", "Bob", "--compared"]));
    assert_eq!(contacts(&a)[0]["verified"], true);
}
