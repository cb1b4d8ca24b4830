//! Helpers shared by the CLI tests that run homes and daemons through the
//! real `zks` binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The passphrase test homes are locked with.
pub(crate) use zks_testkit::PASSPHRASE;

/// The `zks` binary under test, with the environment cleared of our vars,
/// nodes kept on loopback, and homes locked with [`PASSPHRASE`] (sealed
/// with the cheap test Argon2id, or hundreds of processes would each spend
/// 64 MiB and a few hundred milliseconds unlocking).
pub(crate) fn zks() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zks"));
    c.env_remove("ZKS_HOME")
        .env_remove("RUST_LOG")
        .env_remove("ZKS_NEW_PASSPHRASE")
        .env_remove("ZKS_BACKUP_PASSPHRASE")
        .env("ZKS_PASSPHRASE", PASSPHRASE)
        .env("ZKS_TEST_WEAK_KDF", "1")
        .env("ZKS_LOOPBACK_ONLY", "1");
    c
}

/// Runs `zks --home HOME ARGS…` to completion.
pub(crate) fn run(home: &Path, args: &[&str]) -> Output {
    zks()
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run zks")
}

/// Stdout of a command that must have succeeded.
pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child process killed (SIGKILL) and reaped on drop.
pub(crate) struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `zks daemon` for `home` on loopback (with `extra` arguments) and
/// waits until it listens.
pub(crate) fn daemon(home: &Path, extra: &[&str]) -> Running {
    daemon_on(home, 0, extra)
}

/// A loopback TCP port free right now (for a daemon that keeps its port
/// across restarts, as a real one does).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// [`daemon`] listening on `port` (0: any).
pub(crate) fn daemon_on(home: &Path, port: u16, extra: &[&str]) -> Running {
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let mut child = zks()
        .arg("--home")
        .arg(home)
        .args(["daemon", "--listen", &listen, "--run-for", "180"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the daemon");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut listening = false;
    for line in lines.by_ref() {
        if line.expect("line").starts_with("listening on") {
            listening = true;
            break;
        }
    }
    assert!(listening, "the daemon did not start");
    std::thread::spawn(move || for _ in lines {});
    Running(child)
}

/// The recorded quicknet beacons.
pub(crate) fn quicknet() -> String {
    zks_testkit::quicknet_path().display().to_string()
}

/// Pairs home `a` (Alice, inviting) with home `b` (Bob) through code files
/// in `tmp`, and gives both the recorded beacons to bind messages to.
pub(crate) fn pair(tmp: &Path, a: &Path, b: &Path) {
    let inv = tmp.join("inv.txt");
    let rep = tmp.join("rep.txt");
    let (inv, rep) = (inv.to_str().expect("path"), rep.to_str().expect("path"));
    ok(&run(
        a,
        &["pair", "invite", "--name", "Alice", "--out", inv],
    ));
    ok(&run(
        b,
        &["pair", "accept", inv, "--as", "Alice", "--out", rep],
    ));
    ok(&run(a, &["pair", "finish", rep, "--as", "Bob"]));
    for home in [a, b] {
        ok(&run(
            home,
            &["beacon", "import", "--chain", "quicknet", &quicknet()],
        ));
    }
}

/// Pairs `a` (named `an`) with `b` (named `bn`) through code files in
/// `tmp` (no beacons given).
#[allow(dead_code)]
pub(crate) fn pair_as(tmp: &Path, (a, an): (&Path, &str), (b, bn): (&Path, &str)) {
    let inv = tmp.join(format!("inv-{an}-{bn}.txt"));
    let rep = tmp.join(format!("rep-{an}-{bn}.txt"));
    let (inv, rep) = (inv.to_str().expect("path"), rep.to_str().expect("path"));
    ok(&run(a, &["pair", "invite", "--name", an, "--out", inv]));
    ok(&run(b, &["pair", "accept", inv, "--as", an, "--out", rep]));
    ok(&run(a, &["pair", "finish", rep, "--as", bn]));
}

/// Waits (polling) until `check` holds, failing the test after `secs`.
pub(crate) fn until(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Asserts a command failed as bad input does: exit 2 and a message on
/// stderr, never a panic.
pub(crate) fn fails(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.trim().is_empty() && !err.contains("panicked"),
        "{what}: {err}"
    );
}

/// `zks … --json` output, one JSON value per line.
pub(crate) fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Starts a long-running command and returns it with the first stdout line
/// containing `marker`, plus every line before it.
pub(crate) fn start(mut cmd: Command, marker: &str) -> (Running, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout).lines();
    for line in reader.by_ref() {
        let line = line.expect("line");
        let done = line.contains(marker);
        lines.push(line);
        if done {
            break;
        }
    }
    assert!(
        lines.last().is_some_and(|l| l.contains(marker)),
        "no {marker:?} in {lines:?}"
    );
    std::thread::spawn(move || for _ in reader {});
    (Running(child), lines)
}

/// The first `http://…` word of a line a server printed.
pub(crate) fn url_in(line: &str) -> String {
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_owned()
}

/// A devnet server with `history` rounds: (process, chain hash, base URL,
/// info JSON).
pub(crate) fn devnet(history: u64) -> (Running, String, String, String) {
    let mut cmd = zks();
    cmd.args([
        "devnet",
        "--http",
        "127.0.0.1:0",
        "--history",
        &history.to_string(),
        "--run-for",
        "120",
    ]);
    let (child, lines) = start(cmd, "serving the drand HTTP API");
    let info: serde_json::Value = serde_json::from_str(&lines[0]).expect("info JSON first");
    let hash = info["hash"].as_str().expect("hash").to_owned();
    (
        child,
        hash,
        url_in(lines.last().expect("a line")),
        lines[0].clone(),
    )
}

/// `zks --home HOME fetch --chain HASH --rounds ROUNDS --drand-url URL`,
/// ready to add arguments, run or spawn.
pub(crate) fn fetch_from(home: &Path, hash: &str, rounds: &str, url: &str) -> Command {
    let mut cmd = zks();
    cmd.arg("--home").arg(home).args([
        "fetch",
        "--chain",
        hash,
        "--rounds",
        rounds,
        "--drand-url",
        url,
    ]);
    cmd
}

/// Reads `rounds` of chain `hash` back from `home`'s cache alone (`zks beacon
/// get --no-http`) and checks them all with `zks beacon verify` against the
/// chain's `info` JSON; `tmp` holds the files for that.
pub(crate) fn assert_held_rounds_verify(
    home: &Path,
    tmp: &Path,
    hash: &str,
    info: &str,
    rounds: impl Iterator<Item = u64>,
) {
    let mut sample = Vec::new();
    for round in rounds {
        let out = run(
            home,
            &[
                "beacon",
                "get",
                "--chain",
                hash,
                &round.to_string(),
                "--no-http",
            ],
        );
        assert!(out.status.success(), "round {round}");
        sample.extend_from_slice(&out.stdout);
    }
    let info_path = tmp.join("info.json");
    std::fs::write(&info_path, info).expect("info file");
    let input = tmp.join("sample.jsonl");
    std::fs::write(&input, &sample).expect("sample file");
    let out = zks()
        .args([
            "beacon",
            "verify",
            "--chain-info",
            info_path.to_str().expect("path"),
            input.to_str().expect("path"),
        ])
        .output()
        .expect("run zks");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
