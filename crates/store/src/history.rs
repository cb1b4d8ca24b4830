//! The message history. A message is recorded in the same transaction as
//! the session state (grid pad) or pad ranges (true pad) it used, and the
//! transfer change it carries.

use rusqlite::params;

use crate::{Result, Store, now};

/// A message to record in the history.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// Sent by us.
    pub outgoing: bool,
    /// `grid` or `pad`.
    pub mode: String,
    /// `text` (chat), `file` (a file offer) or `control` (file-transfer
    /// bookkeeping, not shown in the conversation).
    pub kind: String,
    /// The plaintext.
    pub body: Vec<u8>,
    /// Beacon chain the key was bound to (grid).
    pub chain_hash: Option<Vec<u8>>,
    /// Beacon round the key was bound to (grid).
    pub round: Option<u64>,
    /// A transfer created or moved by this message, in the same transaction.
    pub transfer: Option<crate::TransferChange>,
    /// The message's ref: the first 16 bytes of its envelope's BLAKE3
    /// hash, the id both sides use for it.
    pub reference: Option<Vec<u8>>,
    /// The ref of the message this one replies to.
    pub reply_to: Option<Vec<u8>>,
    /// What this (control) message changes in the conversation, in the
    /// same transaction.
    pub change: Option<crate::ConversationChange>,
    /// The round that opens it, for a timelocked message.
    pub timelock: Option<Timelock>,
    /// Our grid-pad chat text: the envelope as sent and its message key,
    /// kept for not-before proofs (`(envelope, key)`).
    pub proof: Option<(Vec<u8>, Vec<u8>)>,
    /// What this (group control) message stores of a group, in the same
    /// transaction.
    pub group: Option<crate::GroupChange>,
}

/// The drand round a timelocked message opens at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timelock {
    /// The chain's hash.
    pub chain_hash: Vec<u8>,
    /// The round.
    pub round: u64,
    /// Unix time the round is published.
    pub opens_at: i64,
    /// A received message: the timelocked file, kept until it opens (the
    /// body stays empty until then). `None` for ours.
    pub file: Option<Vec<u8>>,
}

/// A received message still waiting for its round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedMessage {
    /// Its id.
    pub id: i64,
    /// The chain's hash.
    pub chain_hash: Vec<u8>,
    /// The round that opens it.
    pub round: u64,
    /// The timelocked file.
    pub file: Vec<u8>,
}

/// A message of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Row id (increasing).
    pub id: i64,
    /// The contact.
    pub contact_id: i64,
    /// Sent by us.
    pub outgoing: bool,
    /// `grid` or `pad`.
    pub mode: String,
    /// `text`, `file` or `control`.
    pub kind: String,
    /// The plaintext.
    pub body: Vec<u8>,
    /// Beacon chain hash (grid).
    pub chain_hash: Option<Vec<u8>>,
    /// Beacon round (grid).
    pub round: Option<u64>,
    /// Unix time stored.
    pub created_at: i64,
    /// Its ref (see [`NewMessage::reference`]); `None` for messages from
    /// before refs.
    pub reference: Option<Vec<u8>>,
    /// The ref of the message it replies to.
    pub reply_to: Option<Vec<u8>>,
    /// Unix time of its last edit.
    pub edited_at: Option<i64>,
    /// Unix time it was deleted for everyone (its body is then empty).
    pub deleted_at: Option<i64>,
    /// Unix time it disappears (the conversation's timer).
    pub expires_at: Option<i64>,
    /// A timelocked message: Unix time its round is published.
    pub opens_at: Option<i64>,
    /// A timelocked message: the round that opens it.
    pub opens_round: Option<u64>,
    /// A received timelocked message that has not opened yet (its body is
    /// empty).
    pub locked: bool,
}

/// The columns [`MessageRecord::from_row`] reads, in its order.
pub(crate) const MESSAGE_COLUMNS: &str = "id, contact_id, outgoing, mode, body, chain_hash, round,
     created_at, kind, ref, reply_to, edited_at, deleted_at, expires_at, opens_at, tlock_round,
     tlock IS NOT NULL";

impl MessageRecord {
    /// A row of [`MESSAGE_COLUMNS`].
    pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
        Ok(MessageRecord {
            id: r.get(0)?,
            contact_id: r.get(1)?,
            outgoing: r.get(2)?,
            mode: r.get(3)?,
            body: r.get(4)?,
            chain_hash: r.get(5)?,
            round: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            created_at: r.get(7)?,
            kind: r.get(8)?,
            reference: r.get(9)?,
            reply_to: r.get(10)?,
            edited_at: r.get(11)?,
            deleted_at: r.get(12)?,
            expires_at: r.get(13)?,
            opens_at: r.get(14)?,
            opens_round: r.get::<_, Option<i64>>(15)?.map(|v| v as u64),
            locked: r.get(16)?,
        })
    }
}

impl Store {
    /// Records a message together with the session state it produced (grid
    /// mode) or the received ranges of the pad it used (pad mode: the pad
    /// id and the ranges), atomically.
    pub fn record_message(
        &mut self,
        contact_id: i64,
        session: Option<&[u8]>,
        pad_received: Option<crate::PadReceived<'_>>,
        message: &NewMessage,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(state) = session {
                tx.prepare_cached("UPDATE contacts SET session = ?1 WHERE id = ?2")?
                    .execute(params![state, contact_id])?;
            }
            if let Some(received) = pad_received {
                crate::pads::write_received(tx, received.pad_id, received.ranges)?;
            }
            insert_message(tx, contact_id, message)
        })
    }

    /// The history with a contact, oldest first.
    pub fn messages(&self, contact_id: i64) -> Result<Vec<MessageRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([contact_id], MessageRecord::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Received timelocked messages whose round was due by Unix time `now`,
    /// oldest round first, at most `limit`.
    pub fn locked_due(&self, now: i64, limit: usize) -> Result<Vec<LockedMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, tlock_chain, tlock_round, tlock FROM messages
             WHERE tlock IS NOT NULL AND opens_at <= ?1 ORDER BY opens_at, id",
        )?;
        let rows = stmt.query_map([now], |r| {
            Ok(LockedMessage {
                id: r.get(0)?,
                chain_hash: r.get(1)?,
                round: r.get::<_, i64>(2)? as u64,
                file: r.get(3)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows.take(limit) {
            out.push(row?);
        }
        Ok(out)
    }

    /// What a not-before proof of message `id` discloses: the envelope as
    /// sent and its message key (our grid-pad chat text only, not since
    /// edited or deleted).
    pub fn message_proof(&self, id: i64) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let row = self
            .conn
            .prepare_cached("SELECT proof_envelope, proof_key FROM messages WHERE id = ?1")?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Option<Vec<u8>>>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                ))
            });
        match row {
            Ok((Some(envelope), Some(key))) => Ok(Some((envelope, key))),
            Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Puts the opened text of timelocked message `id` in place and drops
    /// the locked file; false when it was not locked (already opened, or
    /// gone). The search index follows in the same transaction.
    pub fn open_locked(&mut self, id: i64, body: &[u8]) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE messages SET body = ?2, tlock = NULL WHERE id = ?1 AND tlock IS NOT NULL",
                )?
                .execute(params![id, body])?
                == 1)
        })
    }
}

/// Inserts a message and applies its transfer change; returns its id.
pub(crate) fn insert_message(
    tx: &rusqlite::Connection,
    contact_id: i64,
    message: &NewMessage,
) -> Result<i64> {
    // A message disappears `timer_secs` after it is stored when the
    // conversation's timer is on; a timelocked one `timer_secs` after it
    // opens.
    let at = now();
    let lock = message.timelock.as_ref();
    tx.prepare_cached(
        "INSERT INTO messages (contact_id, outgoing, mode, body, chain_hash, round, created_at,
                               kind, ref, reply_to, expires_at,
                               tlock_chain, tlock_round, opens_at, tlock,
                               proof_envelope, proof_key)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
                CASE WHEN timer_secs > 0 THEN max(?7, coalesce(?13, 0)) + timer_secs END,
                ?11, ?12, ?13, ?14, ?15, ?16
         FROM contacts WHERE id = ?1",
    )?
    .execute(params![
        contact_id,
        message.outgoing,
        message.mode,
        message.body,
        message.chain_hash,
        message.round.map(|r| r as i64),
        at,
        message.kind,
        message.reference,
        message.reply_to,
        lock.map(|l| &l.chain_hash),
        lock.map(|l| l.round as i64),
        lock.map(|l| l.opens_at),
        lock.and_then(|l| l.file.as_ref()),
        message.proof.as_ref().map(|p| &p.0),
        message.proof.as_ref().map(|p| &p.1),
    ])
    .and_then(|n| {
        if n == 1 {
            Ok(())
        } else {
            Err(rusqlite::Error::QueryReturnedNoRows)
        }
    })
    .map_err(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => {
            crate::StoreError::NotFound(format!("no contact with id {contact_id}"))
        }
        e => e.into(),
    })?;
    let id = tx.last_insert_rowid();
    if let Some(change) = &message.transfer {
        crate::transfers::apply(tx, contact_id, id, change)?;
    }
    if let Some(change) = &message.change {
        crate::conversation::apply(tx, change, at)?;
    }
    if let Some(change) = &message.group {
        crate::groups::apply(tx, change, id)?;
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_contact as contact;

    #[test]
    fn a_message_and_its_session_state_land_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let id = store.complete_pairing(b"h", &contact("bob", "p1")).unwrap();
        let msg = NewMessage {
            outgoing: true,
            mode: "grid".into(),
            kind: "text".into(),
            body: b"hi".to_vec(),
            chain_hash: Some(vec![5; 32]),
            round: Some(7),
            transfer: None,
            ..NewMessage::default()
        };
        store
            .record_message(id, Some(b"new state"), None, &msg)
            .unwrap();
        assert_eq!(store.session_state(id).unwrap(), b"new state");
        let history = store.messages(id).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (history[0].body.as_slice(), history[0].round),
            (&b"hi"[..], Some(7))
        );
        // A failing write (unknown contact) changes nothing.
        assert!(store.record_message(999, Some(b"x"), None, &msg).is_err());
        assert_eq!(store.session_state(id).unwrap(), b"new state");
    }
}

#[cfg(test)]
mod timelock_tests {
    use super::*;
    use crate::test_contact as contact;

    /// A received timelocked message keeps its file until it opens, and a
    /// backup carries it (and the round) to a restored home.
    #[test]
    fn a_locked_message_waits_opens_once_and_survives_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        store.create_identity(&[1; 32], "Alice").unwrap();
        let id = store.complete_pairing(b"h", &contact("bob", "p1")).unwrap();
        let lock = Timelock {
            chain_hash: vec![3; 32],
            round: 77,
            opens_at: 1_000,
            file: Some(b"age-encryption.org/v1 ...".to_vec()),
        };
        let msg = NewMessage {
            mode: "pad".into(),
            kind: "text".into(),
            timelock: Some(lock.clone()),
            ..NewMessage::default()
        };
        let m = store.record_message(id, None, None, &msg).unwrap();
        let record = store.message(m).unwrap();
        assert!(record.locked && record.body.is_empty());
        assert_eq!(
            (record.opens_at, record.opens_round),
            (Some(1_000), Some(77))
        );
        assert!(store.locked_due(999, 10).unwrap().is_empty());

        let backup = store.export_backup().unwrap();
        let restored_dir = tempfile::tempdir().unwrap();
        let mut restored = Store::open_in(restored_dir.path(), &crate::test_key()).unwrap();
        restored.import_backup(&backup).unwrap();
        for s in [&mut store, &mut restored] {
            let due = s.locked_due(1_000, 10).unwrap();
            assert_eq!(due.len(), 1);
            assert_eq!(
                (due[0].round, &due[0].chain_hash, &due[0].file),
                (77, &lock.chain_hash, lock.file.as_ref().unwrap())
            );
            assert!(s.open_locked(due[0].id, b"opened").unwrap());
            assert!(!s.open_locked(due[0].id, b"again").unwrap(), "once");
            let opened = s.message(due[0].id).unwrap();
            assert!(!opened.locked);
            assert_eq!(opened.body, b"opened");
            assert!(s.locked_due(i64::MAX, 10).unwrap().is_empty(), "none waits");
        }
    }
}
