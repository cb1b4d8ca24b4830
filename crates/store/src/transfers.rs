//! File transfers: the offer each side keeps, and on the receiving side the
//! bitmap of chunks already verified and synced to disk (what a resume
//! skips). A transfer row is created in the same transaction as the message
//! that carries or brought its offer, so an offer is never half-recorded.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Row, ToSql, params};
use serde::{Deserialize, Serialize};

use crate::now;
use crate::{Result, Store, StoreError};

/// Where a file transfer stands. Stored in the `transfers.state` column and
/// shown to front ends as the same lowercase names (`offered`, `accepted`,
/// `transferring`, `paused`, `completed`, `declined`, `cancelled`,
/// `failed`); [`TransferState::as_str`] and [`FromStr`] are the one mapping
/// between the two.
///
/// A transfer starts `offered` (or `accepted` when files are auto-accepted)
/// and only moves forward, except that a receiver may pause and resume:
/// `offered → accepted → transferring ⇄ paused → completed`, or at any open
/// step to `declined`, `cancelled` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    /// Offered, not yet accepted by the receiver.
    Offered,
    /// Accepted; the receiver has not started pulling yet.
    Accepted,
    /// Chunks are being pulled (or served).
    Transferring,
    /// The receiver paused; accepting it again resumes.
    Paused,
    /// The whole file arrived and matched its hash.
    Completed,
    /// The receiver declined the offer.
    Declined,
    /// One side cancelled.
    Cancelled,
    /// It failed (see the transfer's error).
    Failed,
}

impl TransferState {
    /// Every state, in the order a transfer moves through them.
    pub const ALL: [TransferState; 8] = [
        TransferState::Offered,
        TransferState::Accepted,
        TransferState::Transferring,
        TransferState::Paused,
        TransferState::Completed,
        TransferState::Declined,
        TransferState::Cancelled,
        TransferState::Failed,
    ];

    /// The name stored in the database and shown to front ends.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferState::Offered => "offered",
            TransferState::Accepted => "accepted",
            TransferState::Transferring => "transferring",
            TransferState::Paused => "paused",
            TransferState::Completed => "completed",
            TransferState::Declined => "declined",
            TransferState::Cancelled => "cancelled",
            TransferState::Failed => "failed",
        }
    }

    /// Whether the transfer can still move (not completed, declined,
    /// cancelled or failed).
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            TransferState::Offered
                | TransferState::Accepted
                | TransferState::Transferring
                | TransferState::Paused
        )
    }
}

impl fmt::Display for TransferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transfer state name that is none of [`TransferState`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a transfer state")]
pub struct UnknownTransferState(pub String);

impl FromStr for TransferState {
    type Err = UnknownTransferState;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        TransferState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownTransferState(s.to_owned()))
    }
}

/// Compares with a state's name (`state == "completed"`), for callers and
/// tests that hold the text form.
impl PartialEq<str> for TransferState {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TransferState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl ToSql for TransferState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for TransferState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// The drand round a timelocked file opens at (decision 0070).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferLock {
    /// The chain's hash (32 bytes).
    pub chain_hash: Vec<u8>,
    /// The round whose signature opens the file.
    pub round: u64,
    /// Unix time the round is published.
    pub opens_at: i64,
}

/// A transfer to create with its offer message.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    /// The transfer id both sides use.
    pub transfer_id: Vec<u8>,
    /// Sent by us.
    pub outgoing: bool,
    /// The file name (sanitised on the receiving side).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file.
    pub blake3: Vec<u8>,
    /// Chunk size.
    pub chunk_size: u32,
    /// `grid` or `pad`.
    pub mode: String,
    /// The grid-pad file key (secret), `None` in pad mode.
    pub secret: Option<Vec<u8>>,
    /// First pad byte of the file's range (pad mode).
    pub pad_offset: Option<u64>,
    /// The pad that range belongs to (pad mode).
    pub pad_id: Option<Vec<u8>>,
    /// Sender: the source file; receiver: empty until accepted.
    pub path: String,
    /// Sender: BLAKE3 of each chunk, to notice a file changed on disk.
    pub chunk_hashes: Option<Vec<u8>>,
    /// Initial state (`offered`, or `accepted` when files are auto-accepted).
    pub state: TransferState,
    /// A timelocked file: the round that opens it (what travels is the age
    /// file). A received one starts `locked`.
    pub timelock: Option<TransferLock>,
}

/// A change to a transfer made together with a message.
#[derive(Debug, Clone)]
pub enum TransferChange {
    /// A new transfer (its offer), boxed: it is far larger than a state
    /// change.
    Create(Box<NewTransfer>),
    /// A transfer's state (decline, cancel, done).
    State {
        /// The transfer.
        transfer_id: Vec<u8>,
        /// The new state.
        state: TransferState,
        /// Why, for `failed` and `cancelled`.
        error: Option<String>,
    },
}

/// A stored transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// Row id.
    pub id: i64,
    /// The transfer id both sides use.
    pub transfer_id: Vec<u8>,
    /// The contact.
    pub contact_id: i64,
    /// The offer message in the history.
    pub message_id: Option<i64>,
    /// Sent by us.
    pub outgoing: bool,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file.
    pub blake3: Vec<u8>,
    /// Chunk size.
    pub chunk_size: u32,
    /// `grid` or `pad`.
    pub mode: String,
    /// The grid-pad file key (secret).
    pub secret: Option<Vec<u8>>,
    /// First pad byte of the file's range (pad mode).
    pub pad_offset: Option<u64>,
    /// The pad that range belongs to (pad mode): a transfer never reads
    /// another pad, even if this one is replaced meanwhile.
    pub pad_id: Option<Vec<u8>>,
    /// Sender: the source file. Receiver: the partial file while receiving,
    /// the final file once completed.
    pub path: String,
    /// Sender: BLAKE3 of each chunk.
    pub chunk_hashes: Option<Vec<u8>>,
    /// Receiver: bitmap of verified, synced chunks (bit i of byte i/8).
    pub done: Vec<u8>,
    /// Bytes verified (receiver) or served at least once (sender).
    pub bytes_done: u64,
    /// Sender: bytes served in total, chunks served again included.
    pub bytes_sent: u64,
    /// Where it stands.
    pub state: TransferState,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Unix time of the offer.
    pub created_at: i64,
    /// Unix time of the last change.
    pub updated_at: i64,
    /// A timelocked file: the round that opens it.
    pub timelock: Option<TransferLock>,
    /// Received, timelocked and not opened yet: once completed, `path` is
    /// the age file, not the file.
    pub locked: bool,
}

impl TransferRecord {
    /// Whether the transfer can still move (not completed, declined,
    /// cancelled or failed).
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }
}

const COLUMNS: &str = "id, transfer_id, contact_id, message_id, outgoing, name, size, blake3,
     chunk_size, mode, secret, pad_offset, path, chunk_hashes, done, bytes_done, state, error,
     created_at, updated_at, bytes_sent, pad_id, tlock_chain, tlock_round, opens_at, locked";

fn from_row(r: &Row<'_>) -> rusqlite::Result<TransferRecord> {
    Ok(TransferRecord {
        id: r.get(0)?,
        transfer_id: r.get(1)?,
        contact_id: r.get(2)?,
        message_id: r.get(3)?,
        outgoing: r.get(4)?,
        name: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        blake3: r.get(7)?,
        chunk_size: r.get::<_, i64>(8)? as u32,
        mode: r.get(9)?,
        secret: r.get(10)?,
        pad_offset: r.get::<_, Option<i64>>(11)?.map(|v| v as u64),
        path: r.get(12)?,
        chunk_hashes: r.get(13)?,
        done: r.get(14)?,
        bytes_done: r.get::<_, i64>(15)? as u64,
        state: r.get(16)?,
        error: r.get(17)?,
        created_at: r.get(18)?,
        updated_at: r.get(19)?,
        bytes_sent: r.get::<_, i64>(20)? as u64,
        pad_id: r.get(21)?,
        timelock: match (
            r.get::<_, Option<Vec<u8>>>(22)?,
            r.get::<_, Option<i64>>(23)?,
            r.get::<_, Option<i64>>(24)?,
        ) {
            (Some(chain_hash), Some(round), Some(opens_at)) => Some(TransferLock {
                chain_hash,
                round: round as u64,
                opens_at,
            }),
            _ => None,
        },
        locked: r.get(25)?,
    })
}

/// Applies a transfer change inside a message's transaction.
pub(crate) fn apply(
    tx: &rusqlite::Connection,
    contact_id: i64,
    message_id: i64,
    change: &TransferChange,
) -> Result<()> {
    match change {
        TransferChange::Create(t) => {
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM transfers WHERE transfer_id = ?1)")?
                .query_row([&t.transfer_id], |r| r.get(0))?;
            if exists {
                return Err(StoreError::Conflict(
                    "a transfer with this id already exists".into(),
                ));
            }
            let chunks = t.size.div_ceil(u64::from(t.chunk_size.max(1)));
            let done = vec![0u8; chunks.div_ceil(8) as usize];
            tx.prepare_cached(
                "INSERT INTO transfers (transfer_id, contact_id, message_id, outgoing, name, size,
                    blake3, chunk_size, mode, secret, pad_offset, path, chunk_hashes, done, state,
                    created_at, updated_at, pad_id, tlock_chain, tlock_round, opens_at, locked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16,
                         ?17, ?18, ?19, ?20, ?21)",
            )?
            .execute(params![
                t.transfer_id,
                contact_id,
                message_id,
                t.outgoing,
                t.name,
                t.size as i64,
                t.blake3,
                i64::from(t.chunk_size),
                t.mode,
                t.secret,
                t.pad_offset.map(|v| v as i64),
                t.path,
                t.chunk_hashes,
                done,
                t.state,
                now(),
                t.pad_id,
                t.timelock.as_ref().map(|l| &l.chain_hash),
                t.timelock.as_ref().map(|l| l.round as i64),
                t.timelock.as_ref().map(|l| l.opens_at),
                !t.outgoing && t.timelock.is_some(),
            ])?;
        }
        TransferChange::State {
            transfer_id,
            state,
            error,
        } => {
            // Only a transfer with this contact that is still open moves.
            tx.prepare_cached(
                "UPDATE transfers SET state = ?1, error = ?2, updated_at = ?3
                 WHERE transfer_id = ?4 AND contact_id = ?5
                   AND state IN ('offered', 'accepted', 'transferring', 'paused')",
            )?
            .execute(params![state, error, now(), transfer_id, contact_id])?;
        }
    }
    Ok(())
}

impl Store {
    /// Every transfer, newest first.
    pub fn transfers(&self) -> Result<Vec<TransferRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM transfers ORDER BY id DESC"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Incoming transfers that should be moving (`accepted` or
    /// `transferring`), oldest first: what a receiver loop picks up.
    pub fn receiving_transfers(&self) -> Result<Vec<TransferRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM transfers
             WHERE outgoing = 0 AND state IN ('accepted', 'transferring') ORDER BY id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One transfer by its id.
    pub fn transfer(&self, transfer_id: &[u8]) -> Result<Option<TransferRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM transfers WHERE transfer_id = ?1"
            ))?
            .query_row([transfer_id], from_row)
            .optional()?)
    }

    /// Moves a transfer to `state` if it is still open; returns whether it
    /// moved.
    pub fn set_transfer_state(
        &mut self,
        transfer_id: &[u8],
        state: TransferState,
        error: Option<&str>,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx.prepare_cached("UPDATE transfers SET state = ?1, error = ?2, updated_at = ?3
                 WHERE transfer_id = ?4 AND state IN ('offered', 'accepted', 'transferring', 'paused')")?.execute(
                params![state, error, now(), transfer_id],
            )?;
            Ok(n == 1)
        })
    }

    /// Records a receiving transfer's partial file and moves it to `state`.
    pub fn set_transfer_path(
        &mut self,
        transfer_id: &[u8],
        path: &str,
        state: TransferState,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE transfers SET path = ?1, state = ?2, error = NULL, updated_at = ?3
                 WHERE transfer_id = ?4",
            )?
            .execute(params![path, state, now(), transfer_id])?;
            Ok(())
        })
    }

    /// Records progress: the bitmap of chunks verified and synced, and the
    /// byte count.
    pub fn set_transfer_progress(
        &mut self,
        transfer_id: &[u8],
        done: &[u8],
        bytes_done: u64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE transfers SET done = ?1, bytes_done = ?2, updated_at = ?3
                 WHERE transfer_id = ?4",
            )?
            .execute(params![done, bytes_done as i64, now(), transfer_id])?;
            Ok(())
        })
    }

    /// Records what a sender served: bytes of distinct chunks and in total
    /// (never lowering either: concurrent servers may report out of order).
    pub fn set_transfer_sent(
        &mut self,
        transfer_id: &[u8],
        distinct: u64,
        total: u64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE transfers SET bytes_done = max(bytes_done, ?1),
                    bytes_sent = max(bytes_sent, ?2), updated_at = ?3
                 WHERE transfer_id = ?4",
            )?
            .execute(params![distinct as i64, total as i64, now(), transfer_id])?;
            Ok(())
        })
    }

    /// A transfer's state alone (cheap; checked on every chunk served).
    pub fn transfer_state(&self, transfer_id: &[u8]) -> Result<Option<TransferState>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state FROM transfers WHERE transfer_id = ?1")?
            .query_row([transfer_id], |r| r.get(0))
            .optional()?)
    }

    /// Received timelocked files that arrived whole and whose round was due
    /// by Unix time `now`, earliest first, at most `limit`: what the opener
    /// turns into files.
    pub fn locked_transfers_due(&self, now: i64, limit: usize) -> Result<Vec<TransferRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM transfers
             WHERE locked = 1 AND opens_at <= ?1 AND state = 'completed' ORDER BY opens_at, id"
        ))?;
        let rows = stmt.query_map([now], from_row)?;
        let mut out = Vec::new();
        for row in rows.take(limit) {
            out.push(row?);
        }
        Ok(out)
    }

    /// A received timelocked file opened: `path` is now the file itself.
    /// False when it was not waiting (opened already, or failed).
    pub fn open_locked_transfer(&mut self, transfer_id: &[u8], path: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE transfers SET path = ?1, locked = 0, updated_at = ?2
                     WHERE transfer_id = ?3 AND locked = 1 AND state = 'completed'",
                )?
                .execute(params![path, now(), transfer_id])?
                == 1)
        })
    }

    /// A received timelocked file that arrived whole but cannot be opened
    /// (damaged, or not what its offer said): failed with `error`, its
    /// `path` cleared. It stays `locked` (it never opened). False when it
    /// was not waiting.
    pub fn fail_locked_transfer(&mut self, transfer_id: &[u8], error: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE transfers SET state = 'failed', error = ?1, path = '', updated_at = ?2
                     WHERE transfer_id = ?3 AND locked = 1 AND state = 'completed'",
                )?
                .execute(params![error, now(), transfer_id])?
                == 1)
        })
    }

    /// Marks a received transfer complete at its final path (unless it was
    /// closed meanwhile); returns whether it did.
    pub fn complete_transfer(
        &mut self,
        transfer_id: &[u8],
        path: &str,
        bytes: u64,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx.prepare_cached("UPDATE transfers SET path = ?1, state = 'completed', bytes_done = ?2, error = NULL,
                    secret = NULL, updated_at = ?3
                 WHERE transfer_id = ?4 AND state IN ('accepted', 'transferring', 'paused')")?.execute(
                params![path, bytes as i64, now(), transfer_id],
            )?;
            Ok(n == 1)
        })
    }
}

#[cfg(test)]
mod tests;
