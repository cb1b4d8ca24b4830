//! True pads through the real `zks` binary: no pad byte and no grid-pad
//! message key is ever used twice — across a restore from backup, pairing
//! again the other way round, a second contact, a replaced pad, and
//! several processes sealing on one home at once. Every envelope made here
//! either opens at the peer or was refused before it was sealed, and no two
//! of them share keystream bytes (checked from the ciphertexts alone).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ok, pair, run, zks};
use zks_pad::envelope::Body;
use zks_pad::{Envelope, Mode};

/// One sealed envelope and the letter its plaintext repeats.
struct Made {
    bytes: Vec<u8>,
    letter: u8,
    what: String,
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn fail(out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    assert_eq!(out.status.code(), Some(2), "a clear refusal exits 2");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Seals `letter` × 64 from `home` to `to` and has `peer` open it.
fn sealed_and_opened(
    dir: &Path,
    home: &Path,
    to: &str,
    peer: &Path,
    letter: u8,
    pad: bool,
) -> Made {
    let file = dir.join(format!("env-{}", letter as char));
    let text = String::from_utf8(vec![letter; 64]).unwrap();
    let mut args = vec!["seal", "--to", to, "--out", path_str(&file)];
    if pad {
        args.push("--pad");
    }
    args.push(&text);
    ok(&run(home, &args));
    let opened = ok(&run(peer, &["open", path_str(&file), "--json"]));
    let opened: serde_json::Value = serde_json::from_str(&opened).expect("json");
    assert_eq!(opened["text"].as_str(), Some(text.as_str()), "{opened}");
    Made {
        bytes: std::fs::read(&file).unwrap(),
        letter,
        what: format!(
            "{} to {to} ({})",
            letter as char,
            if pad { "pad" } else { "grid" }
        ),
    }
}

/// The ciphertext of an envelope.
fn ciphertext(bytes: &[u8]) -> Vec<u8> {
    Envelope::parse(bytes)
        .expect("an envelope")
        .ciphertext
        .clone()
}

/// Fails if two envelopes share keystream (pad) bytes: at some alignment
/// their ciphertexts XOR to the XOR of their one-letter plaintexts for 12
/// bytes in a row (by chance: 2^-96 per window).
fn assert_no_shared_keystream(made: &[Made]) {
    const WINDOW: usize = 12;
    for (i, a) in made.iter().enumerate() {
        for b in &made[i + 1..] {
            let (ca, cb) = (ciphertext(&a.bytes), ciphertext(&b.bytes));
            let x = a.letter ^ b.letter;
            for shift in -(cb.len() as isize) + 1..ca.len() as isize {
                let mut run_len = 0;
                for (j, &byte) in cb.iter().enumerate() {
                    let k = j as isize + shift;
                    if k < 0 || k >= ca.len() as isize {
                        continue;
                    }
                    if ca[k as usize] ^ byte == x {
                        run_len += 1;
                        assert!(
                            run_len < WINDOW,
                            "{} and {} share keystream bytes",
                            a.what,
                            b.what
                        );
                    } else {
                        run_len = 0;
                    }
                }
            }
        }
    }
}

/// `inviter` invites (calling itself `inviter_name`), `joiner` accepts;
/// each names the other as given.
fn pair_as(tmp: &Path, inviter: &Path, inviter_name: &str, joiner: &Path, joiner_name: &str) {
    let inv = tmp.join(format!("inv-{inviter_name}-{joiner_name}"));
    let rep = tmp.join(format!("rep-{inviter_name}-{joiner_name}"));
    ok(&run(
        inviter,
        &[
            "pair",
            "invite",
            "--name",
            inviter_name,
            "--out",
            path_str(&inv),
        ],
    ));
    ok(&run(
        joiner,
        &[
            "pair",
            "accept",
            path_str(&inv),
            "--as",
            inviter_name,
            "--out",
            path_str(&rep),
        ],
    ));
    ok(&run(
        inviter,
        &["pair", "finish", path_str(&rep), "--as", joiner_name],
    ));
}

fn new_pad(tmp: &Path, name: &str, size: &str) -> PathBuf {
    let pad = tmp.join(name);
    let out = run(
        tmp,
        &["pad", "new", "--size", size, "--out", path_str(&pad)],
    );
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("destroy every copy"), "{said}");
    pad
}

#[test]
fn a_pad_is_never_used_twice_across_restore_pairing_again_and_other_contacts() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b, c) = (t.join("alice"), t.join("bob"), t.join("carol"));
    pair(t, &a, &b);
    let pad = new_pad(t, "pad.bin", "64KiB");
    ok(&run(
        &a,
        &["pad", "import", "--contact", "Bob", path_str(&pad)],
    ));
    let imported = run(&b, &["pad", "import", "--contact", "Alice", path_str(&pad)]);
    assert!(
        String::from_utf8_lossy(&imported.stderr).contains("now destroy"),
        "the user is told to destroy the clear file"
    );
    // Bob uses more of the pad than Alice, so that a side that swapped
    // halves would land on bytes the other one used.
    let mut made = vec![
        sealed_and_opened(t, &a, "Bob", &b, b'a', true),
        sealed_and_opened(t, &b, "Alice", &a, b'b', true),
        sealed_and_opened(t, &b, "Alice", &a, b'h', true),
        sealed_and_opened(t, &a, "Bob", &b, b'c', false),
    ];

    // The same pad for a second contact is refused, and changes nothing.
    pair_as(t, &a, "Alice", &c, "Carol");
    let err = fail(&run(
        &a,
        &["pad", "import", "--contact", "Carol", path_str(&pad)],
    ));
    assert!(err.contains("imported only once"), "{err}");
    let none = fail(&run(&a, &["pad", "status", "Carol"]));
    assert!(none.contains("no one-time pad"), "{none}");

    // Pairing again the other way round (Bob invites): each side keeps the
    // half it had, so both directions still open (before, the next pad
    // message was sealed over bytes the other side had used and wiped).
    pair_as(t, &b, "Bob", &a, "Alice");
    made.push(sealed_and_opened(t, &a, "Bob", &b, b'd', true));
    made.push(sealed_and_opened(t, &b, "Alice", &a, b'e', true));
    made.push(sealed_and_opened(t, &b, "Alice", &a, b'f', false));

    // Alice's home restored from a backup on a new machine, paired again:
    // the old pad is refused for good (before, its first bytes were reused).
    let backup = t.join("alice.zksbackup");
    let with_backup_pass = |home: &Path, args: &[&str]| {
        zks()
            .arg("--home")
            .arg(home)
            .env("ZKS_BACKUP_PASSPHRASE", "a good passphrase")
            .args(args)
            .output()
            .unwrap()
    };
    ok(&with_backup_pass(
        &a,
        &["backup", "create", path_str(&backup)],
    ));
    let a2 = t.join("alice-restored");
    ok(&with_backup_pass(
        &a2,
        &["backup", "restore", path_str(&backup)],
    ));
    ok(&run(
        &a2,
        &[
            "beacon",
            "import",
            "--chain",
            "quicknet",
            &common::quicknet(),
        ],
    ));
    pair_as(t, &a2, "Alice", &b, "Bob");
    let err = fail(&run(
        &a2,
        &["pad", "import", "--contact", "Bob", path_str(&pad)],
    ));
    assert!(err.contains("never be imported again"), "{err}");
    let err = fail(&run(
        &a2,
        &["seal", "--to", "Bob", "--pad", "--out", "/dev/null", "x"],
    ));
    assert!(err.contains("no one-time pad"), "{err}");

    // A new pad brings pad mode back; Bob replaces the old one.
    let pad2 = new_pad(t, "pad2.bin", "64KiB");
    ok(&run(
        &a2,
        &[
            "pad",
            "import",
            "--contact",
            "Bob",
            "--destroy-source",
            path_str(&pad2),
        ],
    ));
    assert!(!pad2.exists(), "--destroy-source removes the clear file");
    let pad2 = new_pad(t, "pad2-bob.bin", "64KiB");
    let refused = fail(&run(
        &b,
        &["pad", "import", "--contact", "Alice", path_str(&pad2)],
    ));
    assert!(refused.contains("--replace"), "{refused}");
    ok(&run(
        &b,
        &[
            "pad",
            "import",
            "--contact",
            "Alice",
            "--replace",
            path_str(&pad2),
        ],
    ));
    // Bob's copy is a different file, so the two pads differ: Alice's
    // envelope is refused as sealed with another pad, before any byte of
    // Bob's new pad is used.
    let file = t.join("env-mismatch");
    ok(&run(
        &a2,
        &[
            "seal",
            "--to",
            "Bob",
            "--pad",
            "--out",
            path_str(&file),
            "hello",
        ],
    ));
    let err = fail(&run(&b, &["open", path_str(&file)]));
    assert!(err.contains("different one-time pad"), "{err}");
    made.push(sealed_and_opened(t, &b, "Alice", &a2, b'g', false));
    assert_no_shared_keystream(&made);
}

/// How many seals each of the four processes makes (`ZKS_SOAK=N` for N
/// times more).
fn seals_per_process() -> usize {
    250 * zks_testkit::soak() as usize
}

#[test]
fn four_processes_sealing_on_one_home_at_once_never_share_a_range_or_key() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (a, b) = (t.join("alice"), t.join("bob"));
    pair(t, &a, &b);
    let per = seals_per_process();
    let pad = new_pad(
        t,
        "pad.bin",
        &format!("{}", (per * 4 * 48 * 2 + 4096) as u64),
    );
    ok(&run(
        &a,
        &["pad", "import", "--contact", "Bob", path_str(&pad)],
    ));
    ok(&run(
        &b,
        &["pad", "import", "--contact", "Alice", path_str(&pad)],
    ));
    let out = t.join("out");
    std::fs::create_dir(&out).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (a, out) = (a.clone(), out.clone());
            std::thread::spawn(move || {
                for i in 0..per {
                    let file = out.join(format!("{w}-{i}"));
                    let text = format!("process {w} message {i:05}");
                    let mut args = vec!["seal", "--to", "Bob", "--out", path_str(&file)];
                    // Alternate: pad and grid seals race each other too.
                    if (w + i) % 2 == 0 {
                        args.push("--pad");
                    }
                    args.push(&text);
                    ok(&run(&a, &args));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a sealing process failed");
    }
    let mut pad_ranges = Vec::new();
    let mut grid_keys = std::collections::HashSet::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let envelope = Envelope::parse(&bytes).unwrap();
        match (&envelope.body, envelope.mode()) {
            (Body::Pad(_), Mode::Pad) => {
                pad_ranges.push(zks_pad::truepad::claimed_range(&envelope).unwrap());
            }
            (Body::Grid(h), Mode::Grid) => {
                assert!(
                    grid_keys.insert((h.epoch, h.n)),
                    "message key ({}, {}) used twice",
                    h.epoch,
                    h.n
                );
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(pad_ranges.len() + grid_keys.len(), 4 * per);
    assert_eq!(pad_ranges.len(), 2 * per);
    pad_ranges.sort_by_key(|r| r.start);
    for pair in pad_ranges.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "pad bytes {:?} and {:?} overlap",
            pair[0],
            pair[1]
        );
    }
    // Bob opens a sample from each process and mode: the ledger and the
    // session on Alice's side moved as one.
    for w in 0..4 {
        for i in [0, 1, per - 2, per - 1] {
            let file = out.join(format!("{w}-{i}"));
            let opened = ok(&run(&b, &["open", path_str(&file), "--json"]));
            assert!(
                opened.contains(&format!("process {w} message {i:05}")),
                "{opened}"
            );
        }
    }
}
