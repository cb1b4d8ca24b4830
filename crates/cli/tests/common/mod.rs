//! Helpers shared by the CLI tests that run homes and daemons through the
//! real `zks` binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The `zks` binary under test, with the environment cleared of our vars
/// and nodes kept on loopback.
pub(crate) fn zks() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zks"));
    c.env_remove("ZKS_HOME")
        .env_remove("RUST_LOG")
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
    format!(
        "{}/../../tests/data/quicknet.jsonl",
        env!("CARGO_MANIFEST_DIR")
    )
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
