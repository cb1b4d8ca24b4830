//! Transfers as the front ends see them: [`TransferInfo`], listing and
//! lookup by id prefix.

use std::sync::PoisonError;

use serde::Serialize;
use zks_store::{Store, TransferRecord, TransferState};

use super::record::contact_of;
use crate::{Node, NodeError};

/// A transfer as the front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransferInfo {
    /// Transfer id (32 hex digits).
    pub id: String,
    /// The contact.
    pub contact: String,
    /// Sent by us.
    pub outgoing: bool,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file (hex).
    pub blake3: String,
    /// `post_quantum` or `perfect_secrecy`.
    pub protection: crate::Protection,
    /// Where it stands (serialised as its lowercase name, `offered` …).
    pub state: TransferState,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Bytes verified (receiving) or sent at least once (sending).
    pub bytes_done: u64,
    /// Sending: bytes sent in total, chunks sent again included.
    pub bytes_sent: u64,
    /// Receiving: the final file once completed. Sending: the source file.
    pub path: Option<String>,
    /// Unix time of the offer.
    pub created_at: i64,
    /// The offer's message in the conversation (`Node::history`).
    pub message_id: Option<i64>,
    /// A timelocked file (drand): Unix time its round is published and it
    /// opens for the receiver; `null` for other files. Set on both sides.
    pub opens_at: Option<i64>,
    /// A timelocked file: the drand round that opens it.
    pub opens_round: Option<u64>,
    /// Received, timelocked and not opened yet: there is no file until its
    /// round (`path` is `null`); once it arrived whole, the node opens it
    /// by itself when the round is out.
    pub locked: bool,
}

impl Node {
    pub(super) fn info_of(&self, store: &Store, t: &TransferRecord) -> TransferInfo {
        let contact = contact_of(store, t)
            .ok()
            .flatten()
            .map(|c| c.name)
            .unwrap_or_default();
        let sent = self
            .transfers_state()
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(t.transfer_id.as_slice())
            .map(|s| {
                let sent = s.sent.lock().unwrap_or_else(PoisonError::into_inner);
                (sent.distinct, sent.total)
            });
        let shown_path = t.outgoing || (t.state == TransferState::Completed && !t.locked);
        TransferInfo {
            id: hex::encode(&t.transfer_id),
            contact,
            outgoing: t.outgoing,
            name: t.name.clone(),
            size: t.size,
            blake3: hex::encode(&t.blake3),
            protection: if t.mode == "pad" {
                crate::Protection::PerfectSecrecy
            } else {
                crate::Protection::PostQuantum
            },
            state: t.state,
            error: t.error.clone(),
            bytes_done: sent.map_or(t.bytes_done, |s| s.0.max(t.bytes_done)),
            bytes_sent: sent.map_or(t.bytes_sent, |s| s.1.max(t.bytes_sent)),
            path: shown_path.then(|| t.path.clone()).filter(|p| !p.is_empty()),
            created_at: t.created_at,
            message_id: t.message_id,
            opens_at: t.timelock.as_ref().map(|l| l.opens_at),
            opens_round: t.timelock.as_ref().map(|l| l.round),
            locked: t.locked,
        }
    }

    /// Every transfer, newest first.
    pub fn transfers(&self) -> Result<Vec<TransferInfo>, NodeError> {
        self.with_store(|store| {
            Ok(store
                .transfers()?
                .iter()
                .map(|t| self.info_of(store, t))
                .collect())
        })
    }

    /// One transfer by id or unique id prefix (at least 4 hex digits).
    pub fn transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let record = self.find_transfer(id)?;
        self.with_store(|store| Ok(self.info_of(store, &record)))
    }

    pub(super) fn find_transfer(&self, id: &str) -> Result<TransferRecord, NodeError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(NodeError::BadInput(format!(
                "{id:?} is not a transfer id (hex, at least 4 digits; see `zks transfers`)"
            )));
        }
        let all = self.with_store(|store| Ok(store.transfers()?))?;
        let mut found = all
            .into_iter()
            .filter(|t| hex::encode(&t.transfer_id).starts_with(&id));
        match (found.next(), found.next()) {
            (Some(t), None) => Ok(t),
            (None, _) => Err(NodeError::BadInput(format!("no transfer {id}"))),
            (Some(_), Some(_)) => Err(NodeError::BadInput(format!(
                "{id} matches several transfers; give more digits"
            ))),
        }
    }
}
