//! The test kit: helpers that the tests of several crates need, written
//! once. It depends on none of our crates, so `beacon` and `pad` use it as
//! freely as the node, the CLI and the desktop app; helpers that start
//! nodes live with the scenarios (`tests/support`), which may depend on
//! everything.
//!
//! - [`QUICKNET`] and [`quicknet_path`]: the recorded quicknet beacons
//!   (provenance in `tests/data/README.md`).
//! - [`soak`] and [`cases`]: the `ZKS_SOAK=N` factor of the soak runs.
//! - [`snapshot`]: every file of a home with its bytes, to show that a
//!   refused input changed nothing.
//! - [`PASSPHRASE`]: the passphrase test homes are locked with.
//! - [`JsPeer`], [`interop_command`]: the third-party implementations of
//!   `tests/interop` (js-libp2p, Helia, @ipld/car, tlock-js) the interop tests start.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Recorded quicknet beacons, one drand JSON document a line
/// (`tests/data/quicknet.jsonl`; see `tests/data/README.md`).
pub const QUICKNET: &str = include_str!("../../../tests/data/quicknet.jsonl");

/// The path of [`QUICKNET`]'s file, for tests that hand it to a command.
pub fn quicknet_path() -> PathBuf {
    data_path("quicknet.jsonl")
}

/// The path of a file under `tests/data/`.
pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

/// The passphrase test homes are locked with.
pub const PASSPHRASE: &str = "test passphrase";

/// The soak factor: `ZKS_SOAK=N` runs N times the cases or rounds (the
/// README's soak runs); 1 when unset, unparsable or 0.
pub fn soak() -> u32 {
    std::env::var("ZKS_SOAK")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// `base` cases, times the soak factor.
pub fn cases(base: u32) -> u32 {
    base.saturating_mul(soak())
}

/// Every file directly in `dir` with its bytes (lock files aside, which
/// the opening process holds): two snapshots are equal when nothing of the
/// home changed.
///
/// # Panics
/// When `dir` or one of its files cannot be read (a test helper).
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the home can be listed")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "lock"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).expect("the file can be read");
            (name, bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_beacons_are_the_file_on_disk() {
        assert_eq!(std::fs::read_to_string(quicknet_path()).unwrap(), QUICKNET);
        assert!(QUICKNET.lines().count() > 100);
    }

    #[test]
    fn a_snapshot_sees_every_change_but_lock_files() {
        let dir = std::env::temp_dir().join(format!("zks-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"one").unwrap();
        let before = snapshot(&dir);
        std::fs::write(dir.join("x.lock"), b"held").unwrap();
        assert_eq!(snapshot(&dir), before);
        std::fs::write(dir.join("a"), b"two").unwrap();
        assert_ne!(snapshot(&dir), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The folder of the third-party implementations the interop tests start
/// (`tests/interop`: js-libp2p, Helia, @ipld/car, tlock-js; `scripts/deps.sh test`
/// installs its packages).
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// `node SCRIPT` in [`interop_dir`], with [`node_program`].
pub fn interop_command(script: &str) -> std::process::Command {
    let mut command = std::process::Command::new(node_program());
    command.current_dir(interop_dir()).arg(script);
    command
}

/// The Node.js that `scripts/deps.sh` chose: `.tools/node/bin/node` when
/// the system's is too old, else `node` on `PATH`.
pub fn node_program() -> PathBuf {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/node/bin/node");
    if tools.exists() {
        tools
    } else {
        PathBuf::from("node")
    }
}

/// A running script of [`interop_dir`] that speaks a line protocol: it
/// prints `ready <peer id> <address>...` once it is up, then answers each
/// line written to its stdin with one line (`ok …` or `err …`). Closing
/// stdin stops it; dropping a `JsPeer` kills it.
#[derive(Debug)]
pub struct JsPeer {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// The addresses it listens on, each ending in `/p2p/<peer id>`.
    pub addrs: Vec<String>,
}

impl JsPeer {
    /// Starts `command` (from [`interop_command`], maybe wrapped in
    /// `ip netns exec`) and waits up to `timeout` for its `ready` line.
    ///
    /// # Panics
    /// When it cannot start, exits, or is not ready in time (a test helper).
    pub fn spawn(mut command: std::process::Command, timeout: std::time::Duration) -> JsPeer {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e} (run scripts/deps.sh test)"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut peer = JsPeer {
            child,
            stdin,
            lines,
            peer_id: String::new(),
            addrs: Vec::new(),
        };
        let ready = peer.next_line(timeout);
        let mut words = ready.split_whitespace();
        assert_eq!(words.next(), Some("ready"), "{command:?} said {ready:?}");
        peer.peer_id = words.next().expect("a peer id").to_owned();
        peer.addrs = words.map(str::to_owned).collect();
        peer
    }

    /// Writes `request` as one line and returns the answer line.
    ///
    /// # Panics
    /// When the script has stopped or does not answer within `timeout`.
    pub fn ask(&mut self, request: &str, timeout: std::time::Duration) -> String {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{request}").expect("the script reads its stdin");
        stdin.flush().expect("the script reads its stdin");
        self.next_line(timeout)
    }

    /// The first address whose text contains `needle` (e.g. `/ip4/127.`).
    ///
    /// # Panics
    /// When there is none.
    pub fn addr_with(&self, needle: &str) -> String {
        self.addrs
            .iter()
            .find(|a| a.contains(needle))
            .unwrap_or_else(|| panic!("no address with {needle:?} in {:?}", self.addrs))
            .clone()
    }

    fn next_line(&mut self, timeout: std::time::Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(e) => {
                let status = self.child.try_wait();
                panic!("no line from the interop script within {timeout:?} ({e}; exit: {status:?})")
            }
        }
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
