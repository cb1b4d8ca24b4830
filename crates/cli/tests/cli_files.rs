//! Files through the real binary: a transfer between two daemons survives
//! SIGKILL of the receiver half way and resumes without sending the file
//! twice; `zks file send` without a daemon serves the file itself until the
//! contact accepts and receives it; bad arguments exit 2 and change nothing.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Running, daemon, json_lines, ok, pair, run, zks};

/// Size of the file in the SIGKILL test: `ZKS_TEST_FILE_MIB` (default 1024, the 1 GiB;
/// set it lower for a quick local run).
fn file_size() -> usize {
    std::env::var("ZKS_TEST_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024usize)
        * 1024
        * 1024
}

fn write_file(path: &Path, len: usize) -> blake3::Hash {
    // Pseudo-random so that no layer can compress it away.
    let mut data = vec![0u8; len];
    blake3::Hasher::new()
        .update(b"zks cli file test")
        .finalize_xof()
        .fill(&mut data);
    std::fs::write(path, &data).unwrap();
    blake3::hash(&data)
}

fn transfers(home: &Path) -> Vec<serde_json::Value> {
    json_lines(&ok(&run(home, &["transfers", "--json"])))
}

fn wait_transfer(
    home: &Path,
    secs: u64,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(t) = transfers(home).into_iter().next()
            && done(&t)
        {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "no transfer became {what}: {:?}",
            transfers(home)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_receiver_killed_half_way_resumes_and_the_file_is_sent_about_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _da = daemon(&a, &[]);
    let db = daemon(&b, &["--auto-accept-files"]);
    pair(tmp.path(), &a, &b);
    let size = file_size();
    let src = tmp.path().join("big.bin");
    let hash = write_file(&src, size);

    let offered = &json_lines(&ok(&run(
        &a,
        &["file", "send", "Bob", src.to_str().unwrap(), "--json"],
    )))[0];
    assert_eq!(offered["state"], "offered", "{offered}");
    assert_eq!(offered["blake3"], hash.to_hex().as_str());
    let id = offered["id"].as_str().unwrap().to_owned();

    // Kill the receiver once it has about half.
    wait_transfer(&b, 120, "half received", |t| {
        t["bytes_done"].as_u64().unwrap() >= size as u64 / 2
    });
    drop(db);
    let at_kill = transfers(&b)[0].clone();
    assert_eq!(at_kill["state"], "transferring", "{at_kill}");
    let kept = at_kill["bytes_done"].as_u64().unwrap();
    assert!(kept > 0 && kept < size as u64, "{at_kill}");

    // Restarted, it asks only for what it has not verified.
    let _db = daemon(&b, &["--auto-accept-files"]);
    let done = wait_transfer(&b, 180, "completed", |t| t["state"] == "completed");
    let path = done["path"].as_str().unwrap();
    assert!(path.ends_with("downloads/big.bin"), "{path}");
    let got = std::fs::read(path).unwrap();
    assert_eq!(blake3::hash(&got), hash);
    drop(got);
    let sent = wait_transfer(&a, 30, "completed at the sender", |t| {
        t["state"] == "completed" && t["id"] == id.as_str()
    });
    let total = sent["bytes_sent"].as_u64().unwrap();
    assert!(
        total >= size as u64 && total < size as u64 * 3 / 2,
        "sent {total} bytes for a {size}-byte file"
    );
    eprintln!(
        "file of {size} bytes: receiver killed at {kept} bytes, {total} bytes sent in all ({:.3}×)",
        total as f64 / size as f64
    );
}

#[test]
fn file_send_without_a_daemon_serves_until_the_contact_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let _db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);
    let src = tmp.path().join("notes.txt");
    let hash = write_file(&src, 3 * 1024 * 1024 + 5);
    // Alice has no daemon: `file send` goes online and waits.
    let sender = Running(
        zks()
            .arg("--home")
            .arg(&a)
            .args([
                "file",
                "send",
                "Bob",
                src.to_str().unwrap(),
                "--json",
                "--wait",
                "60",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let offer = wait_transfer(&b, 30, "offered", |t| t["state"] == "offered");
    assert_eq!(
        (offer["name"].as_str(), offer["outgoing"].as_bool()),
        (Some("notes.txt"), Some(false))
    );
    let id = offer["id"].as_str().unwrap();
    // Bob's daemon runs: `accept` returns at once and the daemon fetches.
    ok(&run(&b, &["file", "accept", &id[..6]]));
    let done = wait_transfer(&b, 60, "completed", |t| t["state"] == "completed");
    assert_eq!(
        blake3::hash(&std::fs::read(done["path"].as_str().unwrap()).unwrap()),
        hash
    );
    let mut sender = sender;
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut sender.0.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(sender.0.wait().unwrap().success(), "the sender exits 0");
    let report = json_lines(&stdout);
    assert_eq!(report.last().unwrap()["state"], "completed");
    // Bob's inbox shows the offer as a file.
    let inbox = json_lines(&ok(&run(&b, &["inbox", "--json"])));
    assert_eq!(
        (inbox[0]["kind"].as_str(), inbox[0]["text"].as_str()),
        (Some("file"), Some("notes.txt"))
    );
}

#[test]
fn bad_file_arguments_exit_2_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    pair(tmp.path(), &a, &b);
    let file = tmp.path().join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let (file, dir) = (file.to_str().unwrap(), tmp.path().to_str().unwrap());
    for (args, needle) in [
        (&["file", "send", "Nobody", file][..], "Nobody"),
        (&["file", "send", "Bob", "/no/such/file"], "cannot read"),
        (&["file", "send", "Bob", dir], "not a regular file"),
        (&["file", "send", "Bob", file, "--pad"], "no one-time pad"),
        (&["file", "accept", "zz"], "not a transfer id"),
        (&["file", "accept", "0000"], "no transfer"),
        (&["file", "cancel", "abcd"], "no transfer"),
        (&["file", "send", "Bob"], "PATH"),
        (&["file", "frobnicate"], "unrecognized"),
    ] {
        let out = run(&a, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(transfers(&a).is_empty());
    assert!(ok(&run(&a, &["transfers"])).contains("no transfers"));
}
