//! `zks status` and argument handling, through the real binary.

use std::process::{Command, Output};

fn zks(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zks"))
        .env("ZKS_PASSPHRASE", "test passphrase")
        .env("ZKS_TEST_WEAK_KDF", "1")
        .args(args)
        .env_remove("ZKS_HOME")
        .output()
        .expect("run zks")
}

#[test]
fn status_json_reports_the_schema_version() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let out = zks(&["status", "--json", "--home", home.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(json["database"]["schema_version"].as_u64().unwrap() >= 1);
    assert_eq!(json["data_dir"], home.to_str().unwrap());
    assert!(home.join("zks.sqlite3").exists());
}

#[test]
fn zks_home_environment_variable_is_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zks"))
        .env("ZKS_PASSPHRASE", "test passphrase")
        .env("ZKS_TEST_WEAK_KDF", "1")
        .args(["status", "--json"])
        .env("ZKS_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["data_dir"], tmp.path().to_str().unwrap());
}

#[test]
fn an_unwritable_home_fails_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let home = file.join("home");
    let out = zks(&["status", "--home", home.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("zks: error: cannot use data directory"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_arguments_are_refused() {
    let out = zks(&["status", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
    let out = zks(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_lists_the_commands() {
    let out = zks(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("status"));
    assert!(text.contains("--home"));
}

/// `zks beacon import` keeps the rounds in the beacon cache, so `zks
/// status` counts them and `zks beacon get` (the cascade, as the relay
/// uses it) serves them without any source.
#[test]
fn imported_beacons_show_in_status_and_are_served_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let home = home.to_str().unwrap();
    let data = format!(
        "{}/../../tests/data/quicknet.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let recorded = std::fs::read_to_string(&data).unwrap();
    let first: serde_json::Value = serde_json::from_str(recorded.lines().next().unwrap()).unwrap();
    let count = recorded.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    let out = zks(&[
        "--home", home, "beacon", "import", "--chain", "quicknet", &data,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{count} verified ({count} new)")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = zks(&["--home", home, "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let quicknet = status["grid"]["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "quicknet")
        .unwrap()
        .clone();
    assert_eq!(quicknet["rounds"], count);
    let round = first["round"].as_u64().unwrap().to_string();
    let out = zks(&[
        "--home",
        home,
        "beacon",
        "get",
        "--chain",
        "quicknet",
        "--no-http",
        &round,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(first["signature"].as_str().unwrap()),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
