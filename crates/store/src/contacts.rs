//! Paired contacts with their session state. A pairing completes in one
//! transaction: the invite is marked used and the contact (and, for the
//! responder, its queued pairing reply) is added.

use rusqlite::{OptionalExtension, Row, params};
use zeroize::Zeroizing;

use crate::history::{NewMessage, insert_message};
use crate::{Result, Store, StoreError, now};

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
    /// The disappearing-messages timer: seconds a message lives, 0 = off.
    pub timer_secs: u32,
    /// When the timer was last changed (the changer's clock; 0 = never).
    pub timer_set_at: i64,
    /// Whether we changed it last.
    pub timer_set_by_me: bool,
    /// Another device of a person: the person's identity key (decision
    /// 0072); `None` for a person's own row.
    pub person_key: Option<Vec<u8>>,
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
    /// The pairing's rendezvous secret (32 bytes, secret).
    pub rendezvous: Option<Vec<u8>>,
    /// The responder's pairing reply, queued for delivery to the contact
    /// over the network (before anything else sent to them).
    pub reply: Option<Vec<u8>>,
}

pub(crate) const CONTACT_COLUMNS: &str =
    "id, name, peer_id, identity_key, addresses, safety_code, verified,
     role, session_id, created_at, timer_secs, timer_set_at, timer_set_by_me, person_key";

pub(crate) fn contact_from_row(row: &Row<'_>) -> rusqlite::Result<ContactRecord> {
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
        timer_secs: row.get(10)?,
        timer_set_at: row.get(11)?,
        timer_set_by_me: row.get(12)?,
        person_key: row.get(13)?,
    })
}

impl Store {
    /// Completes a pairing in one transaction: marks the invite used (refusing
    /// a second use), drops its pending secrets, adds the contact and its
    /// session. Returns the contact's id.
    pub fn complete_pairing(&mut self, invite_hash: &[u8], contact: &NewContact) -> Result<i64> {
        self.write(|tx| {
            let used = tx
                .prepare_cached("SELECT 1 FROM used_invites WHERE invite_hash = ?1")?.query_row(
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
                .prepare_cached("SELECT id FROM contacts WHERE peer_id = ?1")?.query_row(
                    [&contact.peer_id],
                    |r| r.get(0),
                )
                .optional()?;
            let taken: Option<String> = tx
                .prepare_cached("SELECT name FROM contacts WHERE name = ?1 AND peer_id != ?2")?.query_row(
                    params![contact.name, contact.peer_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = taken {
                return Err(StoreError::Conflict(format!(
                    "the name {existing:?} is taken by another contact; choose another name"
                )));
            }
            tx.prepare_cached("INSERT INTO used_invites (invite_hash, used_at) VALUES (?1, ?2)")?.execute(
                params![invite_hash, now()],
            )?;
            tx.prepare_cached("DELETE FROM pending_invites WHERE invite_hash = ?1")?.execute(
                [invite_hash],
            )?;
            let addresses =
                serde_json::to_string(&contact.addresses).unwrap_or_else(|_| "[]".into());
            if let Some(id) = restored {
                tx.prepare_cached("UPDATE contacts SET identity_key = ?1, addresses = ?2, safety_code = ?3,
                        verified = 0, role = ?4, session_id = ?5, session = ?6, rendezvous = ?7
                     WHERE id = ?8")?.execute(
                    params![
                        contact.identity_key,
                        addresses,
                        contact.safety_code,
                        contact.role,
                        contact.session_id,
                        contact.session,
                        contact.rendezvous,
                        id
                    ],
                )?;
            } else {
                tx.prepare_cached("INSERT INTO contacts (name, peer_id, identity_key, addresses, safety_code,
                                           role, session_id, session, created_at, rendezvous)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?.execute(
                    params![
                        contact.name,
                        contact.peer_id,
                        contact.identity_key,
                        addresses,
                        contact.safety_code,
                        contact.role,
                        contact.session_id,
                        contact.session,
                        now(),
                        contact.rendezvous
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
                    ..NewMessage::default()
                };
                let message_id = insert_message(tx, id, &message)?;
                tx.prepare_cached("INSERT INTO outbox (message_id, contact_id, envelope, state) VALUES (?1, ?2, ?3, 'queued')")?.execute(
                    params![message_id, id, reply],
                )?;
            }
            Ok(id)
        })
    }

    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<ContactRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY name"
        ))?;
        let rows = stmt.query_map([], contact_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The contact with this name.
    pub fn contact(&self, name: &str) -> Result<ContactRecord> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE name = ?1"
            ))?
            .query_row([name], contact_from_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no contact named {name:?}")))
    }

    /// The contact with this row id.
    pub fn contact_by_id(&self, id: i64) -> Result<ContactRecord> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"
            ))?
            .query_row([id], contact_from_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no contact with id {id}")))
    }

    /// A contact's rendezvous secret (secret; `None` for a pairing made
    /// before there were any).
    pub fn rendezvous_secret(&self, contact_id: i64) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let secret: Option<Option<Vec<u8>>> = self
            .conn
            .prepare_cached("SELECT rendezvous FROM contacts WHERE id = ?1")?
            .query_row([contact_id], |r| r.get(0))
            .optional()?;
        match secret {
            None => Err(StoreError::NotFound(format!(
                "no contact with id {contact_id}"
            ))),
            Some(secret) => Ok(secret.map(Zeroizing::new)),
        }
    }

    /// The contact whose session has this identifier.
    pub fn contact_by_session(&self, session_id: &[u8]) -> Result<Option<ContactRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE session_id = ?1"
            ))?
            .query_row([session_id], contact_from_row)
            .optional()?)
    }

    /// Marks a contact's safety code as compared and confirmed.
    pub fn set_verified(&mut self, contact_id: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE contacts SET verified = 1 WHERE id = ?1")?
                .execute([contact_id])?;
            Ok(())
        })
    }

    /// The contact's serialized session state.
    pub fn session_state(&self, contact_id: i64) -> Result<Vec<u8>> {
        Ok(self
            .conn
            .prepare_cached("SELECT session FROM contacts WHERE id = ?1")?
            .query_row([contact_id], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_contact as contact;

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
}
