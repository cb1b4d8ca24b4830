//! A received timelocked file opened at its round (decision 0070): the age
//! file that arrived whole is streamed through `zks_tlock` into a
//! temporary file next to where the file lands, synced, and only when the
//! whole file authenticated given its name (never replacing a file); then
//! the transfer records the file and the age file goes. A file that does
//! not open (damaged, or locked to another round than its offer said)
//! fails its transfer with the reason and leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use zks_beacon::{ChainInfo, VerifiedBeacon};
use zks_store::TransferRecord;

use super::placement::place_file;
use super::record::parse_id;
use crate::{Node, NodeEvent};

/// Why a timelocked file did not open.
enum Unlock {
    /// It never will: the transfer fails with this reason.
    Refused(String),
    /// Reading or writing here failed (a full disk): it stays locked.
    Io(String),
}

impl Node {
    /// Opens received timelocked file `t` with its round's verified
    /// `beacon` of `chain`. Returns whether it opened; a file that cannot
    /// be opened fails its transfer (an event says so), one that hit an
    /// I/O error stays locked until the next start. Blocking.
    pub(crate) fn open_locked_file(
        &self,
        t: &TransferRecord,
        chain: &ChainInfo,
        beacon: &VerifiedBeacon,
    ) -> bool {
        match self.unlock(t, chain, beacon) {
            Ok(Some(path)) => {
                tracing::info!(transfer = %hex::encode(&t.transfer_id), path = %path.display(), "timelocked file opened");
                self.emit(NodeEvent::TransferOpened {
                    transfer_id: hex::encode(&t.transfer_id),
                });
                true
            }
            Ok(None) => false,
            Err(Unlock::Refused(why)) => {
                self.fail_locked_file(t, &why);
                false
            }
            Err(Unlock::Io(why)) => {
                tracing::warn!(transfer = %hex::encode(&t.transfer_id), "a timelocked file cannot be opened now: {why}");
                self.transfers_state()
                    .unlock_failures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(t.transfer_id.clone());
                false
            }
        }
    }

    /// Whether opening transfer `id` hit an I/O error in this process.
    pub(crate) fn unlock_failed(&self, id: &[u8]) -> bool {
        self.transfers_state()
            .unlock_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    /// Fails received timelocked file `t`, which will never open, with
    /// `why`; its age file goes.
    pub(crate) fn fail_locked_file(&self, t: &TransferRecord, why: &str) {
        let reason = format!("the timelocked file cannot be opened: {why}");
        tracing::warn!(transfer = %hex::encode(&t.transfer_id), "{reason}");
        let failed = self
            .with_store_mut(|s| Ok(s.fail_locked_transfer(&t.transfer_id, &reason)?))
            .unwrap_or(false);
        if !failed {
            return;
        }
        if !t.path.is_empty() {
            let _ = std::fs::remove_file(&t.path);
        }
        self.emit(NodeEvent::TransferFinished {
            transfer_id: hex::encode(&t.transfer_id),
            state: zks_store::TransferState::Failed,
            error: Some(reason),
        });
    }

    /// The file opened and in place (`None`: another process got there
    /// first).
    fn unlock(
        &self,
        t: &TransferRecord,
        chain: &ChainInfo,
        beacon: &VerifiedBeacon,
    ) -> Result<Option<PathBuf>, Unlock> {
        let lock = t
            .timelock
            .as_ref()
            .ok_or_else(|| Unlock::Refused("it is not timelocked".into()))?;
        let id = parse_id(&t.transfer_id).map_err(|e| Unlock::Refused(e.to_string()))?;
        let source = Path::new(&t.path);
        let input = File::open(source).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Unlock::Refused("its age file is gone".into()),
            _ => Unlock::Io(format!("cannot read {}: {e}", source.display())),
        })?;
        let locked = zks_tlock::read_header(BufReader::with_capacity(1 << 20, input))
            .map_err(|e| tlock_failure(&e))?;
        if locked.round() != lock.round || locked.chain().0[..] != lock.chain_hash[..] {
            return Err(Unlock::Refused(
                "it is locked to another round than its offer named".into(),
            ));
        }
        let dir = self.downloads_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Unlock::Io(format!("cannot create {}: {e}", dir.display())))?;
        let opening = dir.join(format!(".zks-{}.opening", hex::encode(id)));
        let opened = (|| {
            let out = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&opening)
                .map_err(|e| Unlock::Io(format!("cannot create {}: {e}", opening.display())))?;
            let mut writer = BufWriter::with_capacity(1 << 20, out);
            locked
                .open(chain, beacon, &mut writer)
                .map_err(|e| tlock_failure(&e))?;
            let out = writer
                .into_inner()
                .map_err(|e| Unlock::Io(format!("cannot write the file: {}", e.error())))?;
            out.sync_all()
                .map_err(|e| Unlock::Io(format!("cannot sync the file: {e}")))?;
            drop(out);
            place_file(&opening, &dir, &t.name).map_err(|e| Unlock::Io(e.to_string()))
        })();
        let _ = std::fs::remove_file(&opening);
        let target = opened?;
        let path = target.to_string_lossy().into_owned();
        let recorded = self
            .with_store_mut(|s| Ok(s.open_locked_transfer(&t.transfer_id, &path)?))
            .map_err(|e| {
                let _ = std::fs::remove_file(&target);
                Unlock::Io(e.to_string())
            })?;
        if !recorded {
            let _ = std::fs::remove_file(&target);
            return Ok(None);
        }
        let _ = std::fs::remove_file(source);
        Ok(Some(target))
    }
}

/// An error of the timelock layer: reading or writing failed here (try
/// again later), or the file itself is at fault (it never opens).
fn tlock_failure(e: &zks_tlock::TlockError) -> Unlock {
    match e {
        zks_tlock::TlockError::Io(io) => Unlock::Io(io.to_string()),
        other => Unlock::Refused(other.to_string()),
    }
}
