//! What the desktop app remembers about itself in the home, beside the
//! node's database: the newest message read in each conversation (for the
//! unread counts) and whether the "keeps running in the tray" hint was shown.
//!
//! It is the window's bookkeeping, not the node's (the CLI has no inbox to
//! mark read), so it lives in a small JSON file of its own,
//! `<home>/desktop-state.json`, next to the database whose message ids it
//! names. It is written whole (a temporary file, then a rename), so a crash
//! leaves the old or the new version, never half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::IpcError;

/// The file's name in the home.
pub(crate) const FILE_NAME: &str = "desktop-state.json";

/// The file's contents.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct LocalState {
    /// Per contact, keyed by PeerId (a contact keeps it for life), the id of
    /// the newest message of the conversation that was shown in the window.
    #[serde(default)]
    pub(crate) read: BTreeMap<String, i64>,
    /// The first close of the window said that the app keeps running.
    #[serde(default)]
    pub(crate) tray_hint_shown: bool,
}

/// Read-modify-write cycles of the file happen one at a time in this process.
static LOCK: Mutex<()> = Mutex::new(());

/// The file of the home at `home`.
pub(crate) fn path_in(home: &Path) -> PathBuf {
    home.join(FILE_NAME)
}

/// The file's contents, or `None` if there is no file yet. A damaged file
/// is logged and read as no file (the next update writes a good one).
fn load(path: &Path) -> Option<LocalState> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("cannot read {}: {e}; starting it over", path.display());
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(state) => Some(state),
        Err(e) => {
            tracing::warn!("{} is damaged ({e}); starting it over", path.display());
            None
        }
    }
}

fn save(path: &Path, state: &LocalState) -> Result<(), IpcError> {
    let io =
        |e: std::io::Error| IpcError::new("io", format!("cannot write {}: {e}", path.display()));
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| IpcError::new("internal", format!("cannot encode the app's state: {e}")))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Runs `change` on the file's contents (a fresh default when there is no
/// file, with `existed` false) and writes them back if they changed or the
/// file did not exist. Returns what `change` returns.
pub(crate) fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut LocalState, bool) -> T,
) -> Result<T, IpcError> {
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let loaded = load(path);
    let existed = loaded.is_some();
    let before = loaded.unwrap_or_default();
    let mut state = before.clone();
    let result = change(&mut state, existed);
    if !existed || state != before {
        save(path, &state)?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_home(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "zks-desktop-local-state-{}-{label}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_missing_file_is_created_and_changes_persist() {
        let home = temp_home("persist");
        let path = path_in(&home);
        let existed = update(&path, |state, existed| {
            assert_eq!(*state, LocalState::default());
            state.read.insert("peer-a".into(), 7);
            existed
        })
        .unwrap();
        assert!(!existed);
        assert!(path.is_file());
        let seen = update(&path, |state, existed| {
            assert!(existed);
            state.clone()
        })
        .unwrap();
        assert_eq!(seen.read.get("peer-a"), Some(&7));
        assert!(!seen.tray_hint_shown);
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn a_damaged_file_reads_as_none_and_is_rewritten() {
        let home = temp_home("damaged");
        let path = path_in(&home);
        std::fs::write(&path, b"{not json").unwrap();
        let existed = update(&path, |state, existed| {
            state.tray_hint_shown = true;
            existed
        })
        .unwrap();
        assert!(!existed);
        let state: LocalState = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(state.tray_hint_shown);
        // Fields added later read as their defaults from an older file.
        std::fs::write(&path, br#"{"read": {"p": 3}}"#).unwrap();
        let state = update(&path, |state, _| state.clone()).unwrap();
        assert_eq!(state.read.get("p"), Some(&3));
        assert!(!state.tray_hint_shown);
        std::fs::remove_dir_all(&home).unwrap();
    }
}
