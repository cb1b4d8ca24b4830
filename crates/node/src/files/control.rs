//! The control messages of a transfer (offer arriving, accept, pause,
//! decline, cancel, done) and closing a transfer. Offers, declines, cancels
//! and dones travel sealed through the outbox like chat messages, each
//! moving the stored state in the same transaction.

use std::sync::PoisonError;

use zks_pad::Mode;
use zks_pad::file::{self as padfile, FileMessage, TransferId};
use zks_store::{TransferChange, TransferRecord, TransferState};

use super::info::TransferInfo;
use super::record::{live_contact_of, parse_id};
use crate::content::{FileNotice, Outgoing};
use crate::pads::wipe_range;
use crate::{Node, NodeError, NodeEvent};

impl Node {
    /// Accepts an offered file: the receiver starts pulling it.
    pub fn accept_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing || !matches!(t.state, TransferState::Offered | TransferState::Paused) {
            return Err(NodeError::BadInput(format!(
                "transfer {} is {} and cannot be accepted",
                hex::encode(&t.transfer_id),
                if t.outgoing {
                    "one we send"
                } else {
                    t.state.as_str()
                }
            )));
        }
        self.with_store_mut(|store| {
            Ok(store.set_transfer_state(&t.transfer_id, TransferState::Accepted, None)?)
        })?;
        self.transfers_state().wake.notify_one();
        self.transfer(&hex::encode(&t.transfer_id))
    }

    /// Pauses a file being received (it resumes with [`Node::accept_transfer`]).
    pub fn pause_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing
            || !matches!(
                t.state,
                TransferState::Accepted | TransferState::Transferring
            )
        {
            return Err(NodeError::BadInput(format!(
                "only a file being received can be paused; this one is {}",
                t.state
            )));
        }
        self.with_store_mut(|store| {
            Ok(store.set_transfer_state(&t.transfer_id, TransferState::Paused, None)?)
        })?;
        self.stop_receiver(&t);
        self.transfer(&hex::encode(&t.transfer_id))
    }

    /// Declines an offered file and tells the sender.
    pub fn decline_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing || t.state != TransferState::Offered {
            return Err(NodeError::BadInput(format!(
                "only an incoming offer can be declined; this transfer is {}",
                t.state
            )));
        }
        let tid = parse_id(&t.transfer_id)?;
        self.send_control(
            &t,
            &FileMessage::Decline(tid),
            TransferState::Declined,
            None,
        )?;
        self.transfer(&hex::encode(tid))
    }

    /// Cancels a transfer from either side and tells the other.
    pub fn cancel_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if !t.is_open() {
            return Err(NodeError::BadInput(format!(
                "transfer {} is already {}",
                hex::encode(&t.transfer_id),
                t.state
            )));
        }
        let tid = parse_id(&t.transfer_id)?;
        self.send_control(
            &t,
            &FileMessage::Cancel(tid),
            TransferState::Cancelled,
            Some("cancelled by you"),
        )?;
        self.close_transfer(&t);
        self.transfer(&hex::encode(tid))
    }

    /// Queues a sealed control message and moves the transfer to `state` in
    /// the same transaction.
    pub(super) fn send_control(
        &self,
        t: &TransferRecord,
        message: &FileMessage,
        state: TransferState,
        error: Option<&str>,
    ) -> Result<(), NodeError> {
        let contact = self.with_store(|store| Ok(live_contact_of(store, t)?.name))?;
        self.seal_inner(&contact, Mode::Grid, true, |_, _| {
            Ok(Outgoing {
                plaintext: message.encode(),
                kind: "control",
                body: state.as_str().as_bytes().to_vec(),
                transfer: Some(TransferChange::State {
                    transfer_id: t.transfer_id.clone(),
                    state,
                    error: error.map(Into::into),
                }),
                change: None,
                reply_to: None,
                timelock: None,
                group: None,
            })
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    /// After a control message from the contact was stored.
    pub(crate) fn after_file_message(&self, from: &str, notice: &FileNotice) {
        match notice {
            FileNotice::Offered(id) => {
                if let Ok(t) = self.transfer(&hex::encode(id)) {
                    self.emit(NodeEvent::TransferOffered {
                        transfer_id: t.id.clone(),
                        from: from.to_owned(),
                        name: t.name.clone(),
                        size: t.size,
                    });
                    if t.state == TransferState::Accepted {
                        self.transfers_state().wake.notify_one();
                    }
                }
            }
            FileNotice::Closed(id) => {
                if let Ok(t) = self.find_transfer(&hex::encode(id)) {
                    self.close_transfer(&t);
                    self.emit(NodeEvent::TransferFinished {
                        transfer_id: hex::encode(id),
                        state: t.state,
                        error: t.error.clone(),
                    });
                }
            }
        }
    }

    /// Writes what this node served of an outgoing transfer (bytes of
    /// distinct chunks and in total) to `store`. Called in the transaction
    /// that records the receiver's closing message, so a reader never sees
    /// a transfer completed with the figures of an earlier, periodic save.
    pub(crate) fn keep_sent_figures(
        &self,
        store: &mut zks_store::Store,
        id: &TransferId,
    ) -> Result<(), NodeError> {
        let served = self
            .transfers_state()
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        if let Some(served) = served {
            let (distinct, total) = {
                let sent = served.sent.lock().unwrap_or_else(PoisonError::into_inner);
                (sent.distinct, sent.total)
            };
            store.set_transfer_sent(id, distinct, total)?;
        }
        Ok(())
    }

    /// Forgets a closed transfer's in-memory state and wipes the pad bytes it
    /// reserved (they are never used again either way).
    pub(super) fn close_transfer(&self, t: &TransferRecord) {
        self.stop_receiver(t);
        if let Ok(id) = parse_id(&t.transfer_id) {
            // Keep the sender's final figures.
            let _ = self.with_store_mut(|s| self.keep_sent_figures(s, &id));
            self.transfers_state()
                .serving
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        }
        if let Err(e) = self.wipe_transfer_pad(t) {
            tracing::warn!("cannot wipe a finished transfer's pad bytes: {e}");
        }
        if !t.outgoing && t.state != TransferState::Completed && !t.path.is_empty() {
            let _ = std::fs::remove_file(&t.path);
        }
        // A timelocked file's sealed copy is not needed once it ended.
        if t.outgoing && t.timelock.is_some() {
            let _ = std::fs::remove_file(self.sealed_copy(&t.transfer_id));
        }
    }

    pub(super) fn wipe_transfer_pad(&self, t: &TransferRecord) -> Result<(), NodeError> {
        let Some(offset) = t.pad_offset else {
            return Ok(());
        };
        let Some(pad_id) = &t.pad_id else {
            return Ok(());
        };
        let pad = self.with_store(|store| Ok(store.pad_ledger(pad_id)?));
        // A retired pad's copy was wiped whole when it was replaced.
        let Some(pad) = pad?.filter(|p| p.is_active() && !p.file.is_empty()) else {
            return Ok(());
        };
        let range = offset..offset + padfile::pad_bytes_needed(t.size, t.chunk_size);
        if range.end <= pad.size {
            wipe_range(&self.pad_file(&pad)?, &range)?;
        }
        Ok(())
    }
}
