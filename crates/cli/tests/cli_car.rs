//! `zks grid export-car` / `import-car` through the real binary, on devnet
//! beacons signed with the test key (two complete chunks and 100 rounds of
//! a third): export → import into a second home, where the rounds verify;
//! an altered byte refuses that chunk only; every class of bad argument
//! and bad file is refused with exit 2 and changes nothing; and a
//! third-party implementation (`@ipld/car` in Node.js) reads our CAR and
//! writes one we import.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_held_rounds_verify, ok, run, zks};
use zks_grid::car::{CarReader, CarWriter, RawCid};

/// Rounds per chunk (`zks_grid::CHUNK_ROUNDS`).
const CHUNK: u64 = zks_grid::CHUNK_ROUNDS;
/// Two complete chunks and 100 rounds of the third.
const LAST: u64 = 2 * CHUNK + 100;

/// The devnet's beacons 1..=LAST and its /info JSON, signed once per build
/// (about 7 s) and kept in the target's temporary folder: (beacons file,
/// info file, chain hash).
fn devnet_files() -> (PathBuf, PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_car");
    std::fs::create_dir_all(&dir).unwrap();
    // One test signs; the others, started at the same time, wait for it.
    let lock = std::fs::File::create(dir.join("sign.lock")).unwrap();
    lock.lock().unwrap();
    let info = dir.join("devnet-info.json");
    let beacons = dir.join(format!("devnet-1-{LAST}.jsonl"));
    for (path, args) in [
        (&info, vec!["devnet", "info"]),
        (
            &beacons,
            vec!["devnet", "sign", "--last", &LAST.to_string()],
        ),
    ] {
        if !path.exists() {
            let out = zks().args(&args).output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            // Written whole or not at all, should this test be killed.
            let name = path.file_name().unwrap().to_string_lossy();
            let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, &out.stdout).unwrap();
            std::fs::rename(&tmp, path).unwrap();
        }
    }
    let text = std::fs::read_to_string(&info).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    (beacons, info, json["hash"].as_str().unwrap().to_owned())
}

/// A home holding devnet rounds 1..=LAST, verified on import.
fn home_with_history(home: &Path) -> String {
    let (beacons, info, hash) = devnet_files();
    ok(&run(
        home,
        &[
            "beacon",
            "import",
            "--chain-info",
            info.to_str().unwrap(),
            beacons.to_str().unwrap(),
        ],
    ));
    hash
}

fn info_path() -> String {
    devnet_files().1.display().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rounds of chain `hash` that `home` holds (`zks status --json`).
fn held(home: &Path, hash: &str) -> u64 {
    let status: serde_json::Value =
        serde_json::from_str(&ok(&run(home, &["status", "--json"]))).unwrap();
    status["grid"]["chains"]
        .as_array()
        .map(|chains| {
            chains
                .iter()
                .filter(|c| c["hash"] == hash)
                .map(|c| c["rounds"].as_u64().unwrap())
                .sum()
        })
        .unwrap_or(0)
}

fn export(home: &Path, hash: &str, rounds: &str, out: &Path, json: bool) -> Output {
    let mut args = vec![
        "grid",
        "export-car",
        "--chain",
        hash,
        "--rounds",
        rounds,
        out.to_str().unwrap(),
    ];
    if json {
        args.push("--json");
    }
    run(home, &args)
}

fn import(home: &Path, car: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["grid", "import-car", car.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(home, &args)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

/// The blocks of a CAR, read with our reader: (offset, CID, bytes).
fn blocks(car: &Path) -> Vec<(u64, RawCid, Vec<u8>)> {
    let mut reader = CarReader::new(std::fs::File::open(car).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(b) = reader.next_block().unwrap() {
        out.push((b.offset, b.cid, b.data));
    }
    out
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect()
}

fn round_is_held(home: &Path, hash: &str, round: u64) -> bool {
    run(
        home,
        &[
            "beacon",
            "get",
            "--chain",
            hash,
            &round.to_string(),
            "--no-http",
        ],
    )
    .status
    .success()
}

#[test]
fn a_car_export_imports_into_a_second_home_where_the_rounds_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let hash = home_with_history(&a);
    let car = tmp.path().join("history.car");

    let out = export(&a, &hash, &format!("1..{LAST}"), &car, true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let chunks = report["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2, "{report}");
    assert_eq!(chunks[1]["first_round"], CHUNK + 1);
    assert_eq!(chunks[1]["last_round"], 2 * CHUNK);
    assert_eq!(report["partial"][0]["index"], 2);
    assert_eq!(report["partial"][0]["held"], 100);
    assert_eq!(report["bytes"], std::fs::metadata(&car).unwrap().len());
    assert!(files_ending(tmp.path(), ".partial").is_empty());
    // The roots: the chunk index, then each chunk; the blocks in that order.
    let blocks = blocks(&car);
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].1.to_string(), report["index_cid"]);
    assert_eq!(blocks[1].1.to_string(), chunks[0]["cid"]);
    assert!(blocks.iter().all(|(_, cid, data)| cid.matches(data)));

    // The text report says what was and was not exported, and why.
    let again = tmp.path().join("again.car");
    let text = ok(&export(&a, &hash, "20000..40000", &again, false));
    assert!(
        text.contains("wrote 1 complete chunk (rounds 16385–32768)"),
        "{text}"
    );
    assert!(
        text.contains("chunk 2 (rounds 32769–49152) is partial (100 of 16384"),
        "{text}"
    );
    assert!(text.contains("no stable CID"), "{text}");

    // A home that does not know the chain is told how to learn it.
    let b = tmp.path().join("b");
    let out = import(&b, &car, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--chain-info"), "{}", stderr(&out));
    assert_eq!(held(&b, &hash), 0);

    let out = import(&b, &car, &["--chain-info", &info_path()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2 chunks imported (rounds 1–32768), 0 refused; 32768 rounds added"),
        "{text}"
    );
    assert_eq!(held(&b, &hash), 2 * CHUNK);
    let info = std::fs::read_to_string(info_path()).unwrap();
    assert_held_rounds_verify(
        &b,
        tmp.path(),
        &hash,
        &info,
        [1, 2, CHUNK, CHUNK + 1, 2 * CHUNK].into_iter(),
    );
    assert!(
        !round_is_held(&b, &hash, 2 * CHUNK + 1),
        "partial chunks are not exported"
    );

    // Again: nothing new, nothing refused.
    let out = import(&b, &car, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["rounds_added"], 0);
    assert_eq!(report["imported"].as_array().unwrap().len(), 2);
}

#[test]
fn one_altered_byte_in_one_chunk_refuses_that_chunk_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let hash = home_with_history(&a);
    let car = tmp.path().join("history.car");
    ok(&export(&a, &hash, &format!("1..{LAST}"), &car, false));

    // One bit of the second chunk's block (not its CID): a signature byte.
    let second = &blocks(&car)[2];
    let at = usize::try_from(second.0).unwrap() + 3 + 36 + 1000;
    let mut bytes = std::fs::read(&car).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&car, &bytes).unwrap();

    let b = tmp.path().join("b");
    let out = import(&b, &car, &["--chain-info", &info_path(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let imported = report["imported"].as_array().unwrap();
    assert_eq!(imported.len(), 1, "{report}");
    assert_eq!(imported[0]["index"], 0);
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["index"], 1);
    assert_eq!(refused[0]["offset"], second.0);
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("do not hash to its CID"),
        "{report}"
    );
    assert_eq!(report["rounds_added"], CHUNK);
    assert_eq!(held(&b, &hash), CHUNK);
    assert!(!round_is_held(&b, &hash, CHUNK + 1));
    let info = std::fs::read_to_string(info_path()).unwrap();
    assert_held_rounds_verify(&b, tmp.path(), &hash, &info, [1, CHUNK].into_iter());

    // The text report names the refused chunk and its offset.
    let c = tmp.path().join("c");
    let out = import(&c, &car, &["--chain-info", &info_path()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "refused  chunk 1 {} at byte {}",
            second.1, second.0
        )),
        "{text}"
    );
    assert!(
        text.contains("1 chunk imported (rounds 1–16384), 1 refused"),
        "{text}"
    );
}

/// A CAR of the import layout built with our writer: the index of `chain`
/// naming `chunks` (index, bytes), then the chunks.
fn handmade_car(chain: &str, chunks: &[(u64, &[u8])]) -> Vec<u8> {
    let index = serde_json::json!({
        "chain": chain,
        "chunks": chunks
            .iter()
            .map(|(k, b)| (k.to_string(), RawCid::of(b).to_string().into()))
            .collect::<serde_json::Map<_, _>>(),
    });
    let index = index.to_string().into_bytes();
    let mut roots = vec![RawCid::of(&index)];
    roots.extend(chunks.iter().map(|(_, b)| RawCid::of(b)));
    let mut car = CarWriter::new(Vec::new(), &roots).unwrap();
    car.write_block(&index).unwrap();
    for (_, b) in chunks {
        car.write_block(b).unwrap();
    }
    car.into_inner()
}

#[test]
fn bad_arguments_and_bad_files_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, info, hash) = devnet_files();
    let info = info.to_str().unwrap().to_owned();
    // A home with ten rounds: no complete chunk.
    let a = tmp.path().join("a");
    let ten = tmp.path().join("ten.jsonl");
    std::fs::write(
        &ten,
        ok(&zks()
            .args(["devnet", "sign", "--last", "10"])
            .output()
            .unwrap()),
    )
    .unwrap();
    ok(&run(
        &a,
        &[
            "beacon",
            "import",
            "--chain-info",
            &info,
            ten.to_str().unwrap(),
        ],
    ));

    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let existing = out_dir.join("existing.car");
    std::fs::write(&existing, b"keep me").unwrap();
    let fresh = out_dir.join("new.car");
    let missing_dir = tmp.path().join("no-such-dir").join("x.car");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "0..5",
                fresh.to_str().unwrap(),
            ],
            "rounds start at 1",
        ),
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "9..3",
                fresh.to_str().unwrap(),
            ],
            "must not be empty",
        ),
        (
            vec!["--chain", &hash, "--rounds", "abc", fresh.to_str().unwrap()],
            "not a round range",
        ),
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "1..99999999999",
                fresh.to_str().unwrap(),
            ],
            "50 million",
        ),
        (
            vec![
                "--chain",
                "nosuch",
                "--rounds",
                "1..5",
                fresh.to_str().unwrap(),
            ],
            "unknown chain",
        ),
        (vec!["--chain", &hash, "--rounds", "1..5"], "OUT.car"),
        (vec!["--rounds", "1..5", fresh.to_str().unwrap()], "--chain"),
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "1..5",
                existing.to_str().unwrap(),
            ],
            "exists",
        ),
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "1..5",
                missing_dir.to_str().unwrap(),
            ],
            "cannot create",
        ),
        (
            vec![
                "--chain",
                &hash,
                "--rounds",
                "1..10",
                fresh.to_str().unwrap(),
            ],
            "no complete chunk",
        ),
    ];
    for (args, says) in cases {
        let mut full = vec!["grid", "export-car"];
        full.extend_from_slice(&args);
        let out = run(&a, &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
        assert_eq!(files_ending(&out_dir, ""), vec!["existing.car"], "{args:?}");
    }

    // Import: files that are not CARs of beacon chunks, wrong chains.
    let b = tmp.path().join("b");
    ok(&run(
        &b,
        &[
            "beacon",
            "import",
            "--chain-info",
            &info,
            ten.to_str().unwrap(),
        ],
    ));
    let before_home = zks_testkit::snapshot(&b);
    let before_cache = zks_testkit::snapshot(&b.join("cache").join(&hash));
    let valid = handmade_car(&hash, &[(0, b"not a chunk, but named by the index")]);
    let file = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    // A last section with a CIDv0 (a dag-pb multihash) and an empty block.
    let mut cidv0 = valid.clone();
    cidv0.extend_from_slice(&[34, 0x12, 0x20]);
    cidv0.extend_from_slice(&[0; 32]);
    let mut no_index = CarWriter::new(Vec::new(), &[RawCid::of(b"x")]).unwrap();
    no_index.write_block(b"x").unwrap();
    let quicknet = handmade_car(&hash, &[(0, b"y")]);
    let other_chain = handmade_car(&"ab".repeat(32), &[(0, b"z")]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![tmp.path().join("absent.car").display().to_string()],
            "cannot read",
        ),
        (vec![info.clone()], "not a CARv1 header"),
        (vec![file("empty.car", b"")], "truncated"),
        (
            vec![file("cut.car", &valid[..valid.len() - 5])],
            "truncated",
        ),
        (vec![file("v0.car", &cidv0)], "CIDv0"),
        (
            vec![file("noindex.car", &no_index.into_inner())],
            "not a chunk index",
        ),
        (
            vec![
                file("q.car", &quicknet),
                "--chain".into(),
                "quicknet".into(),
            ],
            "not of quicknet",
        ),
        (vec![file("other.car", &other_chain)], "does not know"),
        (
            vec![
                file("ok.car", &valid),
                "--chain-info".into(),
                file("bad-info.json", b"{}"),
            ],
            "chain",
        ),
    ];
    for (args, says) in cases {
        let mut full = vec!["grid".to_owned(), "import-car".to_owned()];
        full.extend(args.iter().cloned());
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let out = run(&b, &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        if says == "CIDv0" || says == "truncated" {
            assert!(
                stderr(&out).contains("CAR byte "),
                "the offset: {}",
                stderr(&out)
            );
        }
        assert_eq!(zks_testkit::snapshot(&b), before_home, "{args:?}");
        assert_eq!(
            zks_testkit::snapshot(&b.join("cache").join(&hash)),
            before_cache,
            "{args:?}"
        );
    }
}

#[test]
fn a_third_party_car_reader_and_writer_agree_with_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let hash = home_with_history(&a);
    let car = tmp.path().join("history.car");
    let report = json(&ok_out(export(
        &a,
        &hash,
        &format!("1..{LAST}"),
        &car,
        true,
    )));

    // @ipld/car reads our file; every block hashes to its CID.
    let out = zks_testkit::interop_command("car-read.mjs")
        .arg(&car)
        .output()
        .expect("node runs (scripts/deps.sh test installs it)");
    let said = stdout(&out);
    assert!(out.status.success(), "{said} {}", stderr(&out));
    let roots: Vec<String> = std::iter::once(report["index_cid"].as_str().unwrap().to_owned())
        .chain(
            report["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["cid"].as_str().unwrap().to_owned()),
        )
        .collect();
    assert_eq!(
        said.trim(),
        format!("ok blocks=3 roots={}", roots.join(","))
    );

    // @ipld/car writes a CAR of three chunks from block files: chunk 0 as
    // exported, chunk 1 with two signatures swapped (valid points, wrong
    // rounds: its CID matches, its signatures do not), and 100 bytes that
    // are no chunk at all.
    let ours = blocks(&car);
    let chunk0 = tmp.path().join("chunk0.bin");
    std::fs::write(&chunk0, &ours[1].2).unwrap();
    let mut forged = ours[2].2.clone();
    let (x, y) = (5 * 48, 6 * 48);
    let five = forged[x..x + 48].to_vec();
    forged.copy_within(y..y + 48, x);
    forged[y..y + 48].copy_from_slice(&five);
    let chunk1 = tmp.path().join("chunk1.bin");
    std::fs::write(&chunk1, &forged).unwrap();
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, [7u8; 100]).unwrap();
    let theirs = tmp.path().join("theirs.car");
    let out = zks_testkit::interop_command("car-write.mjs")
        .arg(&theirs)
        .arg(&hash)
        .arg(format!("0={}", chunk0.display()))
        .arg(format!("1={}", chunk1.display()))
        .arg(format!("2={}", junk.display()))
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{} {}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("ok blocks=4 "), "{}", stdout(&out));

    let b = tmp.path().join("b");
    let out = import(&b, &theirs, &["--chain-info", &info_path(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["imported"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["imported"][0]["index"], 0);
    assert_eq!(report["rounds_added"], CHUNK);
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{report}");
    assert_eq!(refused[0]["index"], 1);
    let why = refused[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("2 of its 16384 beacons do not verify"),
        "{why}"
    );
    assert_eq!(refused[1]["index"], 2);
    assert!(
        refused[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not a chunk"),
        "{report}"
    );
    assert_eq!(held(&b, &hash), CHUNK);
    let info = std::fs::read_to_string(info_path()).unwrap();
    assert_held_rounds_verify(&b, tmp.path(), &hash, &info, [1, 777, CHUNK].into_iter());
}

fn ok_out(out: Output) -> Output {
    assert!(out.status.success(), "{}", stderr(&out));
    out
}
