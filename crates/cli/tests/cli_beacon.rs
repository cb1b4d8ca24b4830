//! `zks beacon verify` / `bench` and `zks devnet` through the real binary,
//! on the recorded real beacons in tests/data and on devnet beacons.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn zks(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zks"))
        .env("ZKS_PASSPHRASE", "test passphrase")
        .env("ZKS_TEST_WEAK_KDF", "1")
        .args(args)
        .env_remove("ZKS_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zks");
    let input = stdin.unwrap_or_default().to_vec();
    let mut pipe = child.stdin.take().expect("stdin");
    std::thread::spawn(move || pipe.write_all(&input));
    child.wait_with_output().expect("zks output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn recorded_beacons_of_both_chains_verify() {
    for (chain, file, count) in [
        ("quicknet", "quicknet.jsonl", 164),
        ("default", "default.jsonl", 8),
    ] {
        let out = zks(
            &[
                "beacon",
                "verify",
                "--chain",
                chain,
                data(file).to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("{count} beacons, {count} valid, 0 invalid")),
            "{stdout}"
        );
    }
}

#[test]
fn chains_are_named_by_hash_too() {
    let hash = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
    let out = zks(
        &[
            "beacon",
            "verify",
            "--chain",
            hash,
            data("quicknet.jsonl").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn bad_beacons_exit_1_and_are_listed_by_round() {
    let original = std::fs::read_to_string(data("quicknet.jsonl")).unwrap();
    let beacons: Vec<serde_json::Value> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let signature_of =
        |round: u64| beacons.iter().find(|b| b["round"] == round).unwrap()["signature"].clone();
    // Round 72799 carries round 72800's (valid) signature; round 123 a
    // randomness field that is not sha256 of its signature.
    let tampered: String = beacons
        .iter()
        .map(|b| {
            let mut b = b.clone();
            if b["round"] == 72799 {
                b = serde_json::json!({"round": 72799, "signature": signature_of(72800)});
            } else if b["round"] == 123 {
                b["randomness"] = serde_json::json!("00".repeat(32));
            }
            b.to_string() + "\n"
        })
        .collect();
    let out = zks(
        &["beacon", "verify", "--chain", "quicknet", "-"],
        Some(tampered.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("round 72799"), "{stdout}");
    assert!(stdout.contains("does not verify"), "{stdout}");
    assert!(stdout.contains("round 123"), "{stdout}");
    assert!(
        stdout.contains("randomness is not sha256(signature)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("164 beacons, 162 valid, 2 invalid"),
        "{stdout}"
    );

    let out = zks(
        &["beacon", "verify", "--chain", "quicknet", "--json"],
        Some(tampered.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let results: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 164);
    let bad: Vec<u64> = results
        .iter()
        .filter(|r| r["valid"] == false)
        .map(|r| r["round"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, vec![123, 72799]);

    // The reference verifier, on one thread and shared out over two, names
    // the same beacons.
    for threads in ["1", "2"] {
        let out = zks(
            &[
                "beacon",
                "verify",
                "--chain",
                "quicknet",
                "--verifier",
                "reference",
                "--threads",
                threads,
            ],
            Some(tampered.as_bytes()),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("164 beacons, 162 valid, 2 invalid")
                && stdout.contains("round 72799")
                && stdout.contains("round 123")
                && stdout.contains(&format!("by the reference verifier on {threads} thread")),
            "{stdout}"
        );
    }
}

#[test]
fn beacons_of_the_wrong_chain_are_invalid() {
    let out = zks(
        &[
            "beacon",
            "verify",
            "--chain",
            "quicknet",
            data("default.jsonl").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("another scheme"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn garbage_and_usage_errors_exit_2_with_one_line() {
    let cases: Vec<(Vec<&str>, &[u8])> = vec![
        (
            vec!["beacon", "verify", "--chain", "quicknet"],
            b"garbage\n",
        ),
        (vec!["beacon", "verify", "--chain", "quicknet"], b""),
        (vec!["beacon", "verify", "--chain", "quicknet"], b"[1,2,3]"),
        (
            vec!["beacon", "verify", "--chain", "quicknet"],
            &[0xff, 0xfe, 0x00],
        ),
        (
            vec![
                "beacon",
                "verify",
                "--chain",
                "quicknet",
                "/nonexistent/beacons.json",
            ],
            b"",
        ),
        (vec!["beacon", "verify", "--chain", "mainnet"], b""),
        (vec!["beacon", "verify"], b""),
        (
            vec!["beacon", "verify", "--chain", "quicknet", "--bogus"],
            b"",
        ),
        (
            vec!["beacon", "bench", "--chain", "quicknet", "--count", "0"],
            b"",
        ),
        (
            vec!["beacon", "bench", "--chain", "quicknet", "--runs", "0"],
            b"",
        ),
        (
            vec![
                "beacon",
                "bench",
                "--chain",
                "quicknet",
                "--invalid-percent",
                "51",
            ],
            b"",
        ),
        (
            vec!["beacon", "verify", "--chain", "quicknet", "--threads", "0"],
            b"",
        ),
        (
            vec![
                "beacon",
                "verify",
                "--chain",
                "quicknet",
                "--verifier",
                "fast",
            ],
            b"",
        ),
        (vec!["beacon", "verify", "--chain-info", "/dev/null"], b""),
    ];
    for (args, stdin) in cases {
        let out = zks(&args, Some(stdin));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {}",
            text(&out.stdout)
        );
        let stderr = text(&out.stderr);
        assert!(
            !stderr.trim().is_empty() && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn devnet_beacons_verify_against_the_devnet_info() {
    let tmp = tempfile::tempdir().unwrap();
    let info = zks(
        &[
            "devnet",
            "info",
            "--scheme",
            "pedersen-bls-chained",
            "--period",
            "30",
        ],
        None,
    );
    assert!(info.status.success());
    let info_path = tmp.path().join("info.json");
    std::fs::write(&info_path, &info.stdout).unwrap();
    let beacons = zks(
        &[
            "devnet",
            "sign",
            "--scheme",
            "pedersen-bls-chained",
            "--period",
            "30",
            "--first",
            "5",
            "--last",
            "40",
        ],
        None,
    );
    assert!(beacons.status.success(), "{}", text(&beacons.stderr));
    let out = zks(
        &[
            "beacon",
            "verify",
            "--chain-info",
            info_path.to_str().unwrap(),
        ],
        Some(&beacons.stdout),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("36 beacons, 36 valid"),
        "{}",
        text(&out.stdout)
    );

    // A forged info (hash not matching its contents) is refused.
    let forged = text(&info.stdout).replace("\"period\":30", "\"period\":29");
    std::fs::write(&info_path, forged).unwrap();
    let out = zks(
        &[
            "beacon",
            "verify",
            "--chain-info",
            info_path.to_str().unwrap(),
        ],
        Some(&beacons.stdout),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("hashes to"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_reports_both_verifiers_at_equal_threads_with_and_without_invalid_beacons() {
    let out = zks(
        &[
            "beacon",
            "bench",
            "--chain",
            "quicknet",
            "--input",
            data("quicknet.jsonl").to_str().unwrap(),
            "--count",
            "100",
            "--runs",
            "2",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["beacons"], 100);
    assert_eq!(report["runs"], 2);
    let cases = report["cases"].as_array().unwrap();
    // All valid, then 1 % invalid (1 of 100), each verifier and thread count
    // having refused exactly that one (the bench fails otherwise).
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["invalid"], 0);
    assert_eq!(cases[1]["invalid"], 1);
    for case in cases {
        let runs = case["measurements"].as_array().unwrap();
        let verifiers: Vec<&str> = runs
            .iter()
            .map(|m| m["verifier"].as_str().unwrap())
            .collect();
        assert!(
            verifiers.contains(&"reference (drand-verify)") && verifiers.contains(&"batch (blst)")
        );
        for m in runs {
            assert_eq!(m["seconds"].as_array().unwrap().len(), 2);
            let (lo, mid, hi) = (
                m["min_seconds"].as_f64().unwrap(),
                m["median_seconds"].as_f64().unwrap(),
                m["max_seconds"].as_f64().unwrap(),
            );
            assert!(0.0 < lo && lo <= mid && mid <= hi, "{m}");
        }
        // Every thread count the batch ran at has a reference at the same count.
        let batch_threads = runs
            .iter()
            .filter(|m| m["verifier"] == "batch (blst)")
            .count();
        let equal = case["ratios"]["equal_threads"].as_array().unwrap();
        assert_eq!(equal.len(), batch_threads);
        assert!(equal.iter().all(|pair| pair[1].as_f64().unwrap() > 0.0));
        assert!(case["ratios"]["best_of"].as_f64().unwrap() > 0.0);
    }
    // quicknet had published about 34.5 million rounds by December 2026.
    let rounds = report["projection"]["rounds"].as_u64().unwrap();
    assert!(rounds > 34_000_000, "{rounds}");
    assert!(report["projection"]["seconds"].as_f64().unwrap() > 0.0);
}
