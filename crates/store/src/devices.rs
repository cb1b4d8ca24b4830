//! Linked devices (decision 0072): which contact rows are other devices of
//! a person, each person's newest signed device list, our pending link and
//! introduction invites, and the history a linked device is handed.

use rusqlite::{OptionalExtension, params};

use crate::contacts::{CONTACT_COLUMNS, contact_from_row};
use crate::history::insert_message;
use crate::{ContactRecord, NewMessage, PadReceived, Result, Store, now};

/// One of our invites that links a device or introduces one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInvite {
    /// `link` (a device joining us) or `intro` (one of ours meeting a
    /// contact's device).
    pub kind: String,
    /// `intro`: the person whose device answers.
    pub person_key: Option<Vec<u8>>,
    /// `intro`: the device that must answer.
    pub device_key: Option<Vec<u8>>,
    /// The name to give the new row.
    pub name: String,
}

/// A message of the history handed to a linked device.
#[derive(Debug, Clone)]
pub struct SyncedMessage {
    /// The message (its ref set).
    pub message: NewMessage,
    /// Unix time it was stored on the device that hands it over.
    pub created_at: i64,
    /// Unix time of its last edit.
    pub edited_at: Option<i64>,
    /// Unix time it was deleted for everyone.
    pub deleted_at: Option<i64>,
}

impl Store {
    /// Marks a contact row as another device of the person `person_key`
    /// (`None`: the row is a person's own).
    pub fn set_person_key(&mut self, contact_id: i64, person_key: Option<&[u8]>) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE contacts SET person_key = ?1 WHERE id = ?2")?
                .execute(params![person_key, contact_id])?;
            Ok(())
        })
    }

    /// The rows that are other devices of the person `person_key`.
    pub fn device_rows(&self, person_key: &[u8]) -> Result<Vec<ContactRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE person_key = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([person_key], contact_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The row whose identity key is `key` (a person's or a device's).
    pub fn contact_by_key(&self, key: &[u8]) -> Result<Option<ContactRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE identity_key = ?1"
            ))?
            .query_row([key], contact_from_row)
            .optional()?)
    }

    /// The person `person_key`'s newest device list: its sequence number
    /// and signed bytes.
    pub fn device_list(&self, person_key: &[u8]) -> Result<Option<(u64, Vec<u8>)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, list FROM device_lists WHERE person_key = ?1")?
            .query_row([person_key], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .optional()?)
    }

    /// Keeps a person's device list if it is newer than the one kept;
    /// whether it was.
    pub fn put_device_list(&mut self, person_key: &[u8], seq: u64, list: &[u8]) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "INSERT INTO device_lists (person_key, seq, list) VALUES (?1, ?2, ?3)
                     ON CONFLICT (person_key) DO UPDATE SET seq = excluded.seq, list = excluded.list
                     WHERE excluded.seq > device_lists.seq",
                )?
                .execute(params![person_key, seq as i64, list])?;
            Ok(n == 1)
        })
    }

    /// Keeps one of our invites for a device.
    pub fn add_device_invite(&mut self, invite_hash: &[u8], invite: &DeviceInvite) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO device_invites
                    (invite_hash, kind, person_key, device_key, name, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                invite_hash,
                invite.kind,
                invite.person_key,
                invite.device_key,
                invite.name,
                now()
            ])?;
            Ok(())
        })
    }

    /// Our invite for a device with this hash, if any.
    pub fn device_invite(&self, invite_hash: &[u8]) -> Result<Option<DeviceInvite>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT kind, person_key, device_key, name FROM device_invites WHERE invite_hash = ?1",
            )?
            .query_row([invite_hash], |r| {
                Ok(DeviceInvite {
                    kind: r.get(0)?,
                    person_key: r.get(1)?,
                    device_key: r.get(2)?,
                    name: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// When we last made an introduction invite for `device_key`.
    pub fn last_device_intro(&self, device_key: &[u8]) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT max(created_at) FROM device_invites WHERE kind = 'intro' AND device_key = ?1",
            )?
            .query_row([device_key], |r| r.get(0))?)
    }

    /// Records a message that came over the session of contact row
    /// `session_contact` (its state advanced to `session`, or pad bytes
    /// received) in the conversation of row `conversation`: another device
    /// of a person speaks in the person's conversation.
    pub fn record_routed_message(
        &mut self,
        session_contact: i64,
        session: Option<&[u8]>,
        pad_received: Option<PadReceived<'_>>,
        conversation: i64,
        message: &NewMessage,
    ) -> Result<i64> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE contacts SET session = coalesce(?1, session), last_seen = ?2 WHERE id = ?3",
            )?
            .execute(params![session, now(), session_contact])?;
            if let Some(received) = pad_received {
                crate::pads::write_received(tx, received.pad_id, received.ranges)?;
            }
            insert_message(tx, conversation, message)
        })
    }

    /// Adds a contact our primary device handed us, without a session (as
    /// a restore does: pairing with them fills the row in). A row for the
    /// same device is kept as it is. Returns the row's id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_synced_contact(
        &mut self,
        name: &str,
        peer_id: &str,
        identity_key: &[u8],
        addresses: &[String],
        safety_code: &str,
        verified: bool,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = tx
                .prepare_cached("SELECT id FROM contacts WHERE peer_id = ?1")?
                .query_row([peer_id], |r| r.get::<_, i64>(0))
                .optional()?
            {
                return Ok(id);
            }
            let addresses = serde_json::to_string(addresses).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached(
                "INSERT INTO contacts (name, peer_id, identity_key, addresses, safety_code,
                    verified, role, session_id, session, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'responder', ?7, x'', ?8)",
            )?
            .execute(params![
                name,
                peer_id,
                identity_key,
                addresses,
                safety_code,
                verified,
                // A placeholder session id no envelope can carry.
                format!("restored:{peer_id}").into_bytes(),
                now()
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Adds messages handed over by our primary device to the conversation
    /// `contact_id`, skipping any whose ref it holds already (a batch
    /// handed over twice, or a message that arrived as a copy too);
    /// returns how many were added. One transaction.
    pub fn add_synced_messages(
        &mut self,
        contact_id: i64,
        messages: &[SyncedMessage],
    ) -> Result<usize> {
        self.write(|tx| {
            let mut added = 0;
            for m in messages {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM messages WHERE contact_id = ?1 AND ref = ?2")?
                    .query_row(params![contact_id, m.message.reference], |_| Ok(()))
                    .optional()?
                    .is_some();
                if exists {
                    continue;
                }
                let id = insert_message(tx, contact_id, &m.message)?;
                tx.prepare_cached(
                    "UPDATE messages SET created_at = ?1, edited_at = ?2, deleted_at = ?3,
                        expires_at = NULL WHERE id = ?4",
                )?
                .execute(params![m.created_at, m.edited_at, m.deleted_at, id])?;
                added += 1;
            }
            Ok(added)
        })
    }

    /// When a message over contact row `contact_id`'s session last arrived.
    pub fn last_received_at(&self, contact_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT last_seen FROM contacts WHERE id = ?1")?
            .query_row([contact_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Removes a contact row (a device that was unlinked) with what was
    /// sent to it.
    pub fn delete_contact_row(&mut self, contact_id: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM contacts WHERE id = ?1")?
                .execute([contact_id])?;
            Ok(())
        })
    }
}
