//! Offline mailboxes through the real binary: seeders (seeding on, a
//! declared public address) hold Alice's messages while Bob is offline;
//! Alice goes offline too; Bob comes online and gets every message once, in
//! order, and the seeders delete them after his acknowledgement. One
//! seeder is at its cap (0 MiB) and refuses; another is killed mid-way.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use common::{Running, free_port, ok, pair, run, until, zks};

/// A daemon on its own loopback port; with `public`, declared reachable
/// there (as `--external` does on the Internet). Returns it with its full
/// address (`…/p2p/<peer id>`).
fn daemon(home: &Path, public: bool, bootstrap: Option<&str>) -> (Running, String) {
    let addr = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let mut args = vec!["daemon", "--listen", &addr, "--run-for", "900"];
    if public {
        args.extend(["--external", &addr]);
    }
    if let Some(b) = bootstrap {
        args.extend(["--bootstrap", b]);
    }
    let mut child = zks()
        .arg("--home")
        .arg(home)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the daemon");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut peer = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("daemon ") {
            peer = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let peer = peer.expect("the daemon names its peer id");
    (Running(child), format!("{addr}/p2p/{peer}"))
}

fn inbox(home: &Path) -> Vec<serde_json::Value> {
    ok(&run(home, &["inbox", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Envelope files a seeder holds in its mailboxes.
fn held(home: &Path) -> usize {
    let Ok(boxes) = std::fs::read_dir(home.join("mailboxes")) else {
        return 0;
    };
    boxes
        .flatten()
        .filter(|d| d.file_name() != "tmp")
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flat_map(Iterator::flatten)
        .filter(|f| f.path().extension().is_some_and(|e| e == "env"))
        .count()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn messages_wait_in_mailboxes_while_both_are_offline_and_arrive_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = |n: &str| -> PathBuf { t.join(n) };
    // Seeders: s1..s3 host mailboxes; full is at a 0 MiB cap and refuses.
    let seeders = ["s1", "s2", "s3", "full"];
    for s in seeders {
        ok(&run(&home(s), &["settings", "set", "seeding", "true"]));
    }
    ok(&run(
        &home("full"),
        &["settings", "set", "mailbox_cap_mb", "0"],
    ));
    let (d1, s1) = daemon(&home("s1"), true, None);
    let (d2, _) = daemon(&home("s2"), true, Some(&s1));
    let (d3, _) = daemon(&home("s3"), true, Some(&s1));
    let (dfull, _) = daemon(&home("full"), true, Some(&s1));

    let (a, b) = (home("alice"), home("bob"));
    pair(t, &a, &b);
    let pad = t.join("pad.bin");
    ok(&run(
        t,
        &["pad", "new", "--size", "64KiB", "--out", path_str(&pad)],
    ));
    ok(&run(
        &a,
        &["pad", "import", "--contact", "Bob", path_str(&pad)],
    ));
    ok(&run(
        &b,
        &["pad", "import", "--contact", "Alice", path_str(&pad)],
    ));

    // Bob is offline; Alice sends 50 messages, half of them pad.
    let (da, _) = daemon(&a, false, Some(&s1));
    for i in 0..50 {
        let text = format!("m{i:02}");
        let mut args = vec!["send", "Bob", text.as_str()];
        if i % 2 == 1 {
            args.push("--pad");
        }
        ok(&run(&a, &args));
    }
    let in_mailbox = |n: usize| {
        inbox(&a)
            .iter()
            .filter(|l| l["direction"] == "out" && l["state"] == "mailbox")
            .count()
            >= n
    };
    // One seeder is killed mid-way through the deposits.
    until("half the messages in mailboxes", 40, || in_mailbox(25));
    drop(d3);
    until("every message in mailboxes", 40, || in_mailbox(50));
    let out = inbox(&a);
    assert!(
        out.iter().all(|l| l["state"] == "mailbox"),
        "all 50 are shown in mailbox: {out:?}"
    );
    // The seeder at its cap refused every deposit, so the two others that
    // stayed up hold every message (k = 3 among those that accept).
    assert_eq!(held(&home("full")), 0);
    assert_eq!(held(&home("s1")), 50);
    assert_eq!(held(&home("s2")), 50);

    // Alice goes offline; Bob comes online and gets all 50 from the
    // mailboxes, once each, in order.
    drop(da);
    let (_db, _) = daemon(&b, false, Some(&s1));
    until("Bob has all 50", 40, || {
        inbox(&b).iter().filter(|l| l["direction"] == "in").count() >= 50
    });
    let got: Vec<(String, String)> = inbox(&b)
        .iter()
        .filter(|l| l["direction"] == "in")
        .map(|l| {
            (
                l["text"].as_str().unwrap().to_owned(),
                l["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = (0..50)
        .map(|i| {
            let mode = if i % 2 == 1 { "pad" } else { "grid" };
            (format!("m{i:02}"), mode.to_owned())
        })
        .collect();
    assert_eq!(got, want, "exactly once, in order");
    // After Bob's acknowledgements the seeders that are up hold nothing.
    until("the seeders deleted what Bob acknowledged", 20, || {
        held(&home("s1")) == 0 && held(&home("s2")) == 0
    });
    // Alice comes back: her direct resends are answered `dup`, and each
    // message ends delivered, still once at Bob.
    let (_da, _) = daemon(&a, false, Some(&s1));
    until("Alice's messages delivered", 40, || {
        inbox(&a).iter().all(|l| l["state"] == "delivered")
    });
    assert_eq!(
        inbox(&b).iter().filter(|l| l["direction"] == "in").count(),
        50
    );
    drop((d1, d2, dfull));
}

/// Apparent size and disk blocks (512-byte units, as `du`) of a tree.
fn disk_use(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return total;
    };
    for e in entries.flatten() {
        let meta = e.metadata().unwrap();
        total.0 += meta.len();
        total.1 += meta.blocks() * 512;
        if meta.is_dir() {
            let (a, b) = disk_use(&e.path());
            total.0 += a;
            total.1 += b;
        }
    }
    total
}

/// The mailbox measurement (run by hand: `cargo nextest run -p zks-cli
/// --test cli_mailbox --run-ignored only`): 1,000 messages wait in three
/// seeders' mailboxes; the time from Bob's daemon starting to all of them
/// in his history, and each seeder's disk for them.
#[test]
#[ignore = "a measurement, not a check; minutes in a debug build"]
fn measure_a_thousand_waiting_messages() {
    let n: usize = std::env::var("ZKS_MAILBOX_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = |n: &str| -> PathBuf { t.join(n) };
    for s in ["s1", "s2", "s3"] {
        ok(&run(&home(s), &["settings", "set", "seeding", "true"]));
    }
    let (_d1, s1) = daemon(&home("s1"), true, None);
    let (_d2, _) = daemon(&home("s2"), true, Some(&s1));
    let (_d3, _) = daemon(&home("s3"), true, Some(&s1));
    let (a, b) = (home("alice"), home("bob"));
    pair(t, &a, &b);
    let (da, _) = daemon(&a, false, Some(&s1));
    let started = Instant::now();
    for i in 0..n {
        ok(&run(&a, &["send", "Bob", &format!("message {i:04}")]));
    }
    eprintln!("queued {n} in {:?}", started.elapsed());
    until("all in mailboxes", 600, || {
        inbox(&a).iter().filter(|l| l["state"] == "mailbox").count() >= n
    });
    eprintln!("all in mailboxes after {:?}", started.elapsed());
    drop(da);
    let (bytes, blocks) = disk_use(&home("s1").join("mailboxes"));
    eprintln!(
        "seeder s1 holds {} envelopes: {bytes} bytes in files, {blocks} bytes of disk blocks",
        held(&home("s1"))
    );
    let online = Instant::now();
    let (_db, _) = daemon(&b, false, Some(&s1));
    until("Bob has them all", 600, || {
        inbox(&b).iter().filter(|l| l["direction"] == "in").count() >= n
    });
    eprintln!("Bob online to all {n} delivered: {:?}", online.elapsed());
    until("the seeders deleted them", 60, || held(&home("s1")) == 0);
}
