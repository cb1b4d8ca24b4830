//! A full disk, for real: each test mounts a small tmpfs on a temporary
//! directory and puts a home on it. Filling it makes writes fail with
//! ENOSPC; every failure must be a clear error that loses nothing already
//! acknowledged and leaves nothing half-written, and once space is freed
//! the same home carries on.
//!
//! Mounting needs root: real root (CI), or root of a user namespace
//! (`scripts/root-tests.sh`, which `scripts/test.sh` uses for other users);
//! without it the test fails loudly, it never skips. The mount is lazily
//! unmounted on drop.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{daemon, devnet, json_lines, ok, pair, run};

/// A tmpfs of a fixed size, unmounted on drop.
struct SmallDisk {
    root: PathBuf,
}

impl SmallDisk {
    fn new(at: &Path, size_kib: u64) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_kib}k"),
                "zks-small-disk",
            ])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            mounted.success(),
            "cannot mount a small tmpfs here (needs root: run as root, or through \
             scripts/test.sh, which gives this test root in a user namespace)"
        );
        SmallDisk {
            root: at.to_owned(),
        }
    }

    /// Writes zeros into a filler file until the disk is full, then gives
    /// `slack_kib` back (so a home can still open, and fills up as it works).
    fn fill(&self, slack_kib: u64) {
        let filler = self.root.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while std::io::Write::write_all(&mut file, &block).is_ok() {}
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(slack_kib * 1024)).unwrap();
    }

    fn free(&self) {
        std::fs::remove_file(self.root.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.root).status();
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn is_disk_full(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("no space left") || m.contains("is full")
}

/// Messages sent while the disk fills up, with both daemons running: a
/// send either lands whole or fails with a clear "disk is full" error
/// (exit 2); once space is freed the history holds exactly the sends that
/// succeeded, and every one of them reaches the contact exactly once, in
/// order (the sender's daemon lives through the episode).
#[test]
fn a_full_disk_refuses_new_messages_clearly_and_loses_none() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(&tmp.path().join("disk"), 6 * 1024);
    let (a, b) = (disk.root.join("alice"), tmp.path().join("bob"));
    let _da = daemon(&a, &[]);
    let _db = daemon(&b, &[]);
    pair(tmp.path(), &a, &b);
    let started = Instant::now();
    disk.fill(256);
    let text = "x".repeat(4000);
    let (mut sent, mut refused) = (0usize, None);
    for i in 0..400 {
        let out = run(&a, &["send", "Bob", &format!("{i} {text}")]);
        if out.status.success() {
            sent += 1;
        } else {
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            refused = Some(stderr(&out));
            break;
        }
    }
    let refused = refused.expect("a full disk never refused a message");
    assert!(is_disk_full(&refused), "unclear error: {refused}");
    assert!(sent > 0, "the slack took no message at all");
    let filled = started.elapsed();
    // Once there is space: exactly what was acknowledged, nothing more.
    disk.free();
    ok(&run(&a, &["send", "Bob", "after"]));
    let outgoing = json_lines(&ok(&run(&a, &["inbox", "--json"])));
    assert_eq!(outgoing.len(), sent + 1, "{refused}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = json_lines(&ok(&run(&b, &["inbox", "--json"])));
        if got.len() > sent {
            let texts: Vec<&str> = got.iter().map(|m| m["text"].as_str().unwrap()).collect();
            assert_eq!(texts.len(), sent + 1, "duplicates arrived");
            for (i, t) in texts[..sent].iter().enumerate() {
                assert!(t.starts_with(&format!("{i} ")), "out of order at {i}");
            }
            assert_eq!(texts[sent], "after");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "delivered {} of {}",
            got.len(),
            sent + 1
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "full disk: {sent} messages stored in {filled:?}, then refused with: {}",
        refused.trim()
    );
}

/// A true pad larger than the space left is refused with a clear error and
/// leaves no partial copy and no ledger.
#[test]
fn a_pad_import_on_a_full_disk_leaves_no_partial_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = SmallDisk::new(&tmp.path().join("disk"), 6 * 1024);
    let (a, b) = (disk.root.join("alice"), tmp.path().join("bob"));
    pair(tmp.path(), &a, &b);
    let pad = tmp.path().join("pad.bin");
    ok(&run(
        &b,
        &[
            "pad",
            "new",
            "--size",
            "16MiB",
            "--out",
            pad.to_str().unwrap(),
        ],
    ));
    let out = run(
        &a,
        &["pad", "import", "--contact", "Bob", pad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(is_disk_full(&stderr(&out)), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(a.join("pads"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "partial pad files left: {left:?}");
    let out = run(&a, &["pad", "status", "Bob"]);
    assert_eq!(out.status.code(), Some(2), "no pad may be recorded");
}

/// A beacon fetch that fills the disk stops with a clear error; what it
/// kept verifies, and after freeing space the same fetch completes.
#[test]
fn a_fetch_on_a_full_disk_stops_clearly_and_resumes_after() {
    let tmp = tempfile::tempdir().unwrap();
    let rounds = 20_000u64;
    let (_devnet, hash, url, info) = devnet(rounds);
    let disk = SmallDisk::new(&tmp.path().join("disk"), 6 * 1024);
    let home = disk.root.join("node");
    ok(&run(&home, &["status"]));
    disk.fill(512);
    let range = format!("1..{rounds}");
    let fetch = || {
        common::fetch_from(&home, &hash, &range, &url)
            .arg("--json")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let full = fetch();
    assert_ne!(
        full.status.code(),
        Some(0),
        "a fetch into a full disk succeeded"
    );
    assert!(is_disk_full(&stderr(&full)), "{}", stderr(&full));
    eprintln!(
        "full disk: the fetch stopped with: {}",
        stderr(&full).trim()
    );
    disk.free();
    let again = fetch();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    common::assert_held_rounds_verify(
        &home,
        tmp.path(),
        &hash,
        &info,
        [1, 2, 16_383, 16_384, 16_385, rounds].into_iter(),
    );
}
