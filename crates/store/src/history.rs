//! The message history. A message is recorded in the same transaction as
//! the session state (grid pad) or pad ranges (true pad) it used, and the
//! transfer change it carries.

use rusqlite::params;

use crate::{Result, Store, now};

/// A message to record in the history.
#[derive(Debug, Clone)]
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
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, contact_id, outgoing, mode, body, chain_hash, round, created_at, kind
             FROM messages WHERE contact_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([contact_id], |r| {
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
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
/// Inserts a message and applies its transfer change; returns its id.
pub(crate) fn insert_message(
    tx: &rusqlite::Connection,
    contact_id: i64,
    message: &NewMessage,
) -> Result<i64> {
    tx.prepare_cached("INSERT INTO messages (contact_id, outgoing, mode, body, chain_hash, round, created_at, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(
        params![
            contact_id,
            message.outgoing,
            message.mode,
            message.body,
            message.chain_hash,
            message.round.map(|r| r as i64),
            now(),
            message.kind
        ],
    )?;
    let id = tx.last_insert_rowid();
    if let Some(change) = &message.transfer {
        crate::transfers::apply(tx, contact_id, id, change)?;
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
