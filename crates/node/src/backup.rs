//! Encrypted backup and restore of a home (identity, contacts, history,
//! settings), sealed under a passphrase with Argon2id. Message keys and
//! pads are never in a backup: restored contacts must be paired again (see
//! `zks_store::BackupData` for the rule), so a restored device can never
//! reuse a key or pad byte the original used.

use std::io::Write;
use std::path::Path;

use crate::{Node, NodeError};

/// What a restore brought back.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct RestoreReport {
    /// The identity's PeerId (the same as the original device's).
    pub peer_id: String,
    /// Contacts restored; each must be paired again before messaging.
    pub contacts: Vec<String>,
    /// Messages of the history restored.
    pub messages: usize,
}

impl Node {
    /// Writes an encrypted backup of this home to `path`, which must not
    /// exist. Takes a second or so (Argon2id, 64 MiB).
    pub fn write_backup(&self, path: &Path, passphrase: &[u8]) -> Result<usize, NodeError> {
        let data = self.with_store(|store| Ok(store.export_backup()?))?;
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&data).map_err(|e| NodeError::Io(e.to_string()))?,
        );
        let sealed = zks_pad::backup::seal(passphrase, &json, &mut rand_core::OsRng)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| NodeError::Io(format!("cannot create {}: {e}", path.display())))?;
        file.write_all(&sealed)
            .and_then(|()| file.sync_all())
            .map_err(|e| NodeError::Io(format!("cannot write {}: {e}", path.display())))?;
        Ok(sealed.len())
    }

    /// Restores a backup into this home, which must be empty (no identity).
    /// A wrong passphrase, a damaged file or a non-empty home change nothing.
    pub fn restore_backup(
        &self,
        path: &Path,
        passphrase: &[u8],
    ) -> Result<RestoreReport, NodeError> {
        let bytes = std::fs::read(path)
            .map_err(|e| NodeError::Io(format!("cannot read {}: {e}", path.display())))?;
        let json = zks_pad::backup::open(passphrase, &bytes)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let data: zks_store::BackupData = serde_json::from_slice(&json)
            .map_err(|e| NodeError::BadInput(format!("the backup's contents are damaged: {e}")))?;
        self.with_store_mut(|store| Ok(store.import_backup(&data)?))?;
        let (peer_id, _) = self.whoami()?;
        Ok(RestoreReport {
            peer_id,
            contacts: data.contacts.iter().map(|c| c.name.clone()).collect(),
            messages: data.messages.len(),
        })
    }
}
