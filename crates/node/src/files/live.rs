//! In-memory state of the transfers of this process: what is served, what
//! is being received, which receivers were asked to stop, and the
//! auto-accept and fault-injection knobs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use zks_pad::file::TransferId;
use zks_store::TransferRecord;

use super::record::parse_id;
use super::serve::Serving;
use crate::Node;

/// In-memory state of transfers: what is served, what is being received.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    pub(super) serving: Mutex<HashMap<TransferId, Arc<Serving>>>,
    pub(super) receiving: Mutex<HashSet<TransferId>>,
    /// Receivers asked to stop (pause or cancel in this process).
    pub(super) stopping: Mutex<HashSet<TransferId>>,
    /// Wakes the loop that starts receivers.
    pub(crate) wake: tokio::sync::Notify,
    /// Received timelocked files whose opening hit an I/O error in this
    /// process (a full disk): left locked, tried again after a restart.
    pub(super) unlock_failures: Mutex<HashSet<Vec<u8>>>,
    /// Accept every offer as it arrives (`zks daemon --auto-accept-files`).
    pub(crate) auto_accept: std::sync::atomic::AtomicBool,
    /// Fault injection for tests: flip a bit in this many served chunks.
    #[cfg(feature = "test-hooks")]
    pub(super) corrupt_next: std::sync::atomic::AtomicU32,
}

impl Node {
    pub(super) fn transfers_state(&self) -> &Transfers {
        &self.inner.transfers
    }

    pub(crate) fn auto_accepts_files(&self) -> bool {
        self.transfers_state()
            .auto_accept
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Accept every file offer as it arrives (for scripts and tests).
    pub fn set_auto_accept_files(&self, on: bool) {
        self.transfers_state()
            .auto_accept
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fault injection for tests: the next `n` chunks this node serves have
    /// one bit flipped after sealing, as a damaged network or a hostile
    /// sender would deliver them.
    ///
    /// Only with the `test-hooks` feature (off by default; test crates turn
    /// it on in their `[dev-dependencies]`).
    #[cfg(feature = "test-hooks")]
    pub fn inject_corrupt_chunks(&self, n: u32) {
        self.transfers_state()
            .corrupt_next
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the chunk being served is to be damaged (counts one down).
    #[cfg(feature = "test-hooks")]
    pub(super) fn take_corrupt_chunk(&self) -> bool {
        self.transfers_state()
            .corrupt_next
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| n.checked_sub(1),
            )
            .is_ok()
    }

    /// Tells a receiver running in this process to stop after the chunk at
    /// hand (one in another process sees the stored state within 300 ms).
    pub(super) fn stop_receiver(&self, t: &TransferRecord) {
        if let Ok(id) = parse_id(&t.transfer_id)
            && self.is_receiving(&id)
        {
            self.transfers_state()
                .stopping
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id);
        }
    }

    pub(super) fn is_receiving(&self, id: &TransferId) -> bool {
        self.transfers_state()
            .receiving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    pub(super) fn must_stop(&self, id: &TransferId) -> bool {
        self.transfers_state()
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }
}
