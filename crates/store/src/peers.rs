//! Identity, pending invites, contacts with their session state, and the
//! message history. A session's state is always written in the same
//! transaction as the message that advanced it.

use rusqlite::{OptionalExtension, Row, params};

use crate::{Result, Store, StoreError};

/// A paired contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Row id.
    pub id: i64,
    /// Local name (unique).
    pub name: String,
    /// The contact's libp2p PeerId.
    pub peer_id: String,
    /// The contact's Ed25519 identity key.
    pub identity_key: Vec<u8>,
    /// Addresses the contact gave when pairing.
    pub addresses: Vec<String>,
    /// The safety code of the pairing (digit groups).
    pub safety_code: String,
    /// Whether the user compared the safety code and confirmed it.
    pub verified: bool,
    /// This side's role in the pairing: `initiator` or `responder`.
    pub role: String,
    /// The session identifier envelopes carry.
    pub session_id: Vec<u8>,
    /// Unix time of pairing.
    pub created_at: i64,
}

/// A contact to add when a pairing completes.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Local name (unique).
    pub name: String,
    /// The contact's PeerId.
    pub peer_id: String,
    /// The contact's identity key.
    pub identity_key: Vec<u8>,
    /// Addresses the contact gave.
    pub addresses: Vec<String>,
    /// The safety code.
    pub safety_code: String,
    /// This side's role.
    pub role: String,
    /// The session identifier.
    pub session_id: Vec<u8>,
    /// Serialized session state (secret).
    pub session: Vec<u8>,
    /// The responder's pairing reply, queued for delivery to the contact
    /// over the network (before anything else sent to them).
    pub reply: Option<Vec<u8>>,
}

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

const CONTACT_COLUMNS: &str = "id, name, peer_id, identity_key, addresses, safety_code, verified,
     role, session_id, created_at";

fn contact_from_row(row: &Row<'_>) -> rusqlite::Result<ContactRecord> {
    let addresses: String = row.get(4)?;
    Ok(ContactRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        peer_id: row.get(2)?,
        identity_key: row.get(3)?,
        addresses: serde_json::from_str(&addresses).unwrap_or_default(),
        safety_code: row.get(5)?,
        verified: row.get(6)?,
        role: row.get(7)?,
        session_id: row.get(8)?,
        created_at: row.get(9)?,
    })
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// The identity seed and display name, if one was created.
    pub fn identity(&self) -> Result<Option<(Vec<u8>, String)>> {
        Ok(self
            .conn
            .query_row("SELECT seed, name FROM identity WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// Stores the identity unless one exists; returns the stored one.
    pub fn create_identity(&mut self, seed: &[u8], name: &str) -> Result<(Vec<u8>, String)> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO identity (id, seed, name, created_at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO NOTHING",
                params![seed, name, now()],
            )?;
            Ok(
                tx.query_row("SELECT seed, name FROM identity WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
    }

    /// Changes the display name shown in new invites.
    pub fn set_display_name(&mut self, name: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE identity SET name = ?1 WHERE id = 1", [name])?;
            Ok(())
        })
    }

    /// Keeps an invite's secrets until its reply arrives.
    pub fn add_pending_invite(
        &mut self,
        invite_hash: &[u8],
        state: &[u8],
        expires_at: u64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO pending_invites (invite_hash, state, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![invite_hash, state, expires_at as i64, now()],
            )?;
            Ok(())
        })
    }

    /// The secrets of the pending invite with this hash, with its expiry.
    pub fn pending_invite(&self, invite_hash: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT state, expires_at FROM pending_invites WHERE invite_hash = ?1",
                [invite_hash],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )
            .optional()?)
    }

    /// Whether a pairing already used the invite with this hash.
    pub fn invite_used(&self, invite_hash: &[u8]) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM used_invites WHERE invite_hash = ?1",
                [invite_hash],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Completes a pairing in one transaction: marks the invite used (refusing
    /// a second use), drops its pending secrets, adds the contact and its
    /// session. Returns the contact's id.
    pub fn complete_pairing(&mut self, invite_hash: &[u8], contact: &NewContact) -> Result<i64> {
        self.write(|tx| {
            let used = tx
                .query_row(
                    "SELECT 1 FROM used_invites WHERE invite_hash = ?1",
                    [invite_hash],
                    |_| Ok(()),
                )
                .optional()?;
            if used.is_some() {
                return Err(StoreError::Conflict(
                    "this invite was already used for a pairing".into(),
                ));
            }
            // The same device paired again (a contact restored from a backup,
            // or new keys on purpose) keeps its row, name and history; its
            // keys and safety code are replaced and must be verified again.
            let restored: Option<i64> = tx
                .query_row(
                    "SELECT id FROM contacts WHERE peer_id = ?1",
                    [&contact.peer_id],
                    |r| r.get(0),
                )
                .optional()?;
            let taken: Option<String> = tx
                .query_row(
                    "SELECT name FROM contacts WHERE name = ?1 AND peer_id != ?2",
                    params![contact.name, contact.peer_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = taken {
                return Err(StoreError::Conflict(format!(
                    "the name {existing:?} is taken by another contact; choose another name"
                )));
            }
            tx.execute(
                "INSERT INTO used_invites (invite_hash, used_at) VALUES (?1, ?2)",
                params![invite_hash, now()],
            )?;
            tx.execute(
                "DELETE FROM pending_invites WHERE invite_hash = ?1",
                [invite_hash],
            )?;
            let addresses =
                serde_json::to_string(&contact.addresses).unwrap_or_else(|_| "[]".into());
            if let Some(id) = restored {
                tx.execute(
                    "UPDATE contacts SET identity_key = ?1, addresses = ?2, safety_code = ?3,
                        verified = 0, role = ?4, session_id = ?5, session = ?6
                     WHERE id = ?7",
                    params![
                        contact.identity_key,
                        addresses,
                        contact.safety_code,
                        contact.role,
                        contact.session_id,
                        contact.session,
                        id
                    ],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO contacts (name, peer_id, identity_key, addresses, safety_code,
                                           role, session_id, session, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        contact.name,
                        contact.peer_id,
                        contact.identity_key,
                        addresses,
                        contact.safety_code,
                        contact.role,
                        contact.session_id,
                        contact.session,
                        now()
                    ],
                )?;
            }
            let id = match restored {
                Some(id) => id,
                None => tx.last_insert_rowid(),
            };
            if let Some(reply) = &contact.reply {
                let message = NewMessage {
                    outgoing: true,
                    mode: "grid".into(),
                    kind: "control".into(),
                    body: b"pairing reply".to_vec(),
                    chain_hash: None,
                    round: None,
                    transfer: None,
                };
                let message_id = insert_message(tx, id, &message)?;
                tx.execute(
                    "INSERT INTO outbox (message_id, contact_id, envelope, state) VALUES (?1, ?2, ?3, 'queued')",
                    params![message_id, id, reply],
                )?;
            }
            Ok(id)
        })
    }

    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<ContactRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY name"
        ))?;
        let rows = stmt.query_map([], contact_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The contact with this name.
    pub fn contact(&self, name: &str) -> Result<ContactRecord> {
        self.conn
            .query_row(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE name = ?1"),
                [name],
                contact_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no contact named {name:?}")))
    }

    /// The contact whose session has this identifier.
    pub fn contact_by_session(&self, session_id: &[u8]) -> Result<Option<ContactRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE session_id = ?1"),
                [session_id],
                contact_from_row,
            )
            .optional()?)
    }

    /// Marks a contact's safety code as compared and confirmed.
    pub fn set_verified(&mut self, contact_id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE contacts SET verified = 1 WHERE id = ?1",
                [contact_id],
            )?;
            Ok(())
        })
    }

    /// The contact's serialized session state.
    pub fn session_state(&self, contact_id: i64) -> Result<Vec<u8>> {
        Ok(self.conn.query_row(
            "SELECT session FROM contacts WHERE id = ?1",
            [contact_id],
            |r| r.get(0),
        )?)
    }

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
                tx.execute(
                    "UPDATE contacts SET session = ?1 WHERE id = ?2",
                    params![state, contact_id],
                )?;
            }
            if let Some(received) = pad_received {
                crate::pads::write_received(tx, received.pad_id, received.ranges)?;
            }
            insert_message(tx, contact_id, message)
        })
    }

    /// The history with a contact, oldest first.
    pub fn messages(&self, contact_id: i64) -> Result<Vec<MessageRecord>> {
        let mut stmt = self.conn.prepare(
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
    tx.execute(
        "INSERT INTO messages (contact_id, outgoing, mode, body, chain_hash, round, created_at, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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

    fn contact(name: &str, peer: &str) -> NewContact {
        NewContact {
            name: name.into(),
            peer_id: peer.into(),
            identity_key: vec![1; 32],
            addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
            safety_code: "00000 11111".into(),
            role: "initiator".into(),
            session_id: peer.as_bytes().to_vec(),
            session: vec![9; 10],
            reply: None,
        }
    }

    #[test]
    fn a_pairing_is_stored_once_and_its_invite_cannot_be_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        store.add_pending_invite(b"h1", b"secret", 100).unwrap();
        assert_eq!(
            store.pending_invite(b"h1").unwrap(),
            Some((b"secret".to_vec(), 100))
        );
        let id = store
            .complete_pairing(b"h1", &contact("bob", "p1"))
            .unwrap();
        assert!(store.invite_used(b"h1").unwrap());
        assert_eq!(store.pending_invite(b"h1").unwrap(), None);
        let err = store
            .complete_pairing(b"h1", &contact("carol", "p2"))
            .unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");
        let err = store
            .complete_pairing(b"h2", &contact("bob", "p3"))
            .unwrap_err();
        assert!(
            err.to_string().contains("taken by another contact"),
            "{err}"
        );
        assert_eq!(store.contacts().unwrap().len(), 1);
        assert_eq!(store.contact("bob").unwrap().id, id);
        assert!(matches!(
            store.contact("nobody"),
            Err(StoreError::NotFound(_))
        ));
        store.set_verified(id).unwrap();
        assert!(store.contact("bob").unwrap().verified);
        // The same device pairs again: same row, new keys, to be verified anew.
        let mut again = contact("robert", "p1");
        again.session = vec![7; 10];
        again.safety_code = "22222 33333".into();
        assert_eq!(store.complete_pairing(b"h3", &again).unwrap(), id);
        let bob = store.contact("bob").unwrap();
        assert_eq!(
            (bob.safety_code.as_str(), bob.verified),
            ("22222 33333", false)
        );
        assert_eq!(store.session_state(id).unwrap(), vec![7; 10]);
        assert_eq!(store.contacts().unwrap().len(), 1);
    }

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
