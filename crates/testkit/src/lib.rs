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
