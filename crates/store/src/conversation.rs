//! What control messages change in a conversation (migration 12): a
//! message's reactions, its text after an edit or a delete for everyone,
//! and the conversation's disappearing-messages timer; and the removal of
//! messages whose time is up.
//!
//! A change is applied in the transaction that records the control message
//! carrying it ([`crate::NewMessage::change`]), so a crash leaves either
//! both or neither. An edit or a delete overwrites the message's row (and,
//! by the FTS triggers of migration 11, its words in the search index);
//! with `secure_delete` on, SQLite overwrites the freed cells too.

use rusqlite::{OptionalExtension, params};

use crate::history::MESSAGE_COLUMNS;
use crate::{MessageRecord, Result, Store, StoreError};

/// A change a control message makes, applied with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChange {
    /// Sets (or, with `None`, removes) one side's reaction to a message.
    React {
        /// The message reacted to.
        message_id: i64,
        /// Our reaction (`true`) or the contact's.
        outgoing: bool,
        /// The emoji; `None` removes the reaction.
        emoji: Option<String>,
    },
    /// Replaces a message's text.
    Edit {
        /// The message edited.
        message_id: i64,
        /// Its new text.
        body: Vec<u8>,
    },
    /// Deletes a message for everyone: its text and reactions are gone,
    /// the row stays as "deleted".
    Delete {
        /// The message deleted.
        message_id: i64,
    },
    /// Sets the conversation's disappearing-messages timer.
    Timer {
        /// The contact.
        contact_id: i64,
        /// Seconds a message lives; 0 is off.
        secs: u32,
        /// When the change was made (the sender's clock), which orders
        /// changes made on both sides.
        set_at: i64,
        /// Made by us.
        by_me: bool,
    },
}

/// One side's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The message.
    pub message_id: i64,
    /// Ours (`true`) or the contact's.
    pub outgoing: bool,
    /// The emoji.
    pub emoji: String,
}

/// Applies `change` inside the transaction of its control message, at
/// Unix time `at`.
pub(crate) fn apply(tx: &rusqlite::Connection, change: &ConversationChange, at: i64) -> Result<()> {
    match change {
        ConversationChange::React {
            message_id,
            outgoing,
            emoji: Some(emoji),
        } => {
            tx.prepare_cached(
                "INSERT INTO reactions (message_id, outgoing, emoji, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (message_id, outgoing) DO UPDATE SET emoji = ?3, at = ?4",
            )?
            .execute(params![message_id, outgoing, emoji, at])?;
        }
        ConversationChange::React {
            message_id,
            outgoing,
            emoji: None,
        } => {
            tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1 AND outgoing = ?2")?
                .execute(params![message_id, outgoing])?;
        }
        ConversationChange::Edit { message_id, body } => {
            tx.prepare_cached(
                "UPDATE messages SET body = ?2, edited_at = ?3,
                                     proof_envelope = NULL, proof_key = NULL
                 WHERE id = ?1 AND deleted_at IS NULL",
            )?
            .execute(params![message_id, body, at])?;
        }
        ConversationChange::Delete { message_id } => {
            tx.prepare_cached(
                "UPDATE messages SET body = x'', deleted_at = ?2, edited_at = NULL,
                                     proof_envelope = NULL, proof_key = NULL
                 WHERE id = ?1",
            )?
            .execute(params![message_id, at])?;
            tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?
                .execute([message_id])?;
        }
        ConversationChange::Timer {
            contact_id,
            secs,
            set_at,
            by_me,
        } => {
            tx.prepare_cached(
                "UPDATE contacts SET timer_secs = ?2, timer_set_at = ?3, timer_set_by_me = ?4
                 WHERE id = ?1",
            )?
            .execute(params![contact_id, secs, set_at, by_me])?;
        }
    }
    Ok(())
}

/// Whether any message's time is up at `?1`.
const ANY_EXPIRED_SQL: &str = "SELECT 1 FROM messages WHERE expires_at <= ?1 LIMIT 1";
/// Deletes the messages whose time is up at `?1` that the contact has.
const EXPIRE_SQL: &str = "DELETE FROM messages WHERE expires_at <= ?1
     AND NOT EXISTS (SELECT 1 FROM outbox
                     WHERE outbox.message_id = messages.id AND outbox.state = 'queued')";

impl Store {
    /// The message with this id.
    pub fn message(&self, id: i64) -> Result<MessageRecord> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
            ))?
            .query_row([id], MessageRecord::from_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("there is no message {id}")))
    }

    /// The message of a conversation with this ref.
    pub fn message_by_ref(
        &self,
        contact_id: i64,
        reference: &[u8],
    ) -> Result<Option<MessageRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact_id = ?1 AND ref = ?2"
            ))?
            .query_row(params![contact_id, reference], MessageRecord::from_row)
            .optional()?)
    }

    /// Every reaction in a conversation, by message.
    pub fn reactions(&self, contact_id: i64) -> Result<Vec<Reaction>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT reactions.message_id, reactions.outgoing, reactions.emoji
             FROM messages JOIN reactions ON reactions.message_id = messages.id
             WHERE messages.contact_id = ?1 ORDER BY reactions.message_id, reactions.at",
        )?;
        let rows = stmt.query_map([contact_id], |r| {
            Ok(Reaction {
                message_id: r.get(0)?,
                outgoing: r.get(1)?,
                emoji: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes one message from this history only (the contact keeps
    /// theirs). A message still waiting to be sent is not sent.
    pub fn delete_message(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM messages WHERE id = ?1")?
                .execute([id])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("there is no message {id}")));
            }
            Ok(())
        })
    }

    /// Whether any message's time is up at `now` (a read, to skip the
    /// write of [`Store::expire_messages`] when there is nothing to do).
    pub fn any_expired(&self, now: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(ANY_EXPIRED_SQL)?
            .query_row([now], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Deletes the messages whose time is up at `now` (with their reactions,
    /// search-index rows and delivered outbox rows), except those still
    /// waiting to be delivered: a message's time runs out only once the
    /// contact has it. Returns how many went.
    pub fn expire_messages(&mut self, now: i64) -> Result<usize> {
        if !self.any_expired(now)? {
            return Ok(0);
        }
        self.write(|tx| Ok(tx.prepare_cached(EXPIRE_SQL)?.execute([now])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewMessage, test_contact as contact};

    fn text(outgoing: bool, body: &str, reference: u8) -> NewMessage {
        NewMessage {
            outgoing,
            mode: "grid".into(),
            kind: "text".into(),
            body: body.as_bytes().to_vec(),
            reference: Some(vec![reference; 16]),
            ..NewMessage::default()
        }
    }

    fn control(change: ConversationChange) -> NewMessage {
        NewMessage {
            outgoing: false,
            mode: "grid".into(),
            kind: "control".into(),
            change: Some(change),
            ..NewMessage::default()
        }
    }

    fn search_ids(store: &mut Store, words: &str) -> Vec<i64> {
        store
            .search(words, None, 10)
            .unwrap()
            .iter()
            .map(|h| h.message_id)
            .collect()
    }

    /// Finding a message by its ref and the sweep of expired messages read
    /// their indexes, never the whole history (the expiry index is partial:
    /// the sweep's comparison implies `expires_at IS NOT NULL`).
    #[test]
    fn ref_lookups_and_the_sweep_use_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let by_ref =
            format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact_id = ?1 AND ref = ?2");
        let plan = crate::test_query_plan(&store, &by_ref, [1, 2]);
        assert!(
            plan.iter().any(|s| s.contains("messages_by_ref")),
            "{plan:?}"
        );
        for sql in [ANY_EXPIRED_SQL, EXPIRE_SQL] {
            let plan = crate::test_query_plan(&store, sql, [1]);
            assert!(
                plan.iter().any(|s| s.contains("messages_expiring")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|s| s.starts_with("SCAN messages")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn edits_deletes_and_reactions_change_the_message_and_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = store.complete_pairing(b"h", &contact("bob", "p1")).unwrap();
        let first = store
            .record_message(bob, None, None, &text(false, "meet at the harbour", 1))
            .unwrap();
        let found = store.message_by_ref(bob, &[1; 16]).unwrap().unwrap();
        assert_eq!(found.id, first);
        assert!(store.message_by_ref(bob, &[9; 16]).unwrap().is_none());
        assert_eq!(search_ids(&mut store, "harbour"), vec![first]);

        // An edit replaces the text in the row and in the index.
        store
            .record_message(
                bob,
                None,
                None,
                &control(ConversationChange::Edit {
                    message_id: first,
                    body: b"meet at the station".to_vec(),
                }),
            )
            .unwrap();
        let edited = store.message(first).unwrap();
        assert_eq!(edited.body, b"meet at the station");
        assert!(edited.edited_at.is_some());
        assert!(search_ids(&mut store, "harbour").is_empty());
        assert_eq!(search_ids(&mut store, "station"), vec![first]);

        // One reaction per side, replaced, then removed.
        for (outgoing, emoji) in [(true, "👍"), (false, "❤️"), (true, "😂")] {
            let change = ConversationChange::React {
                message_id: first,
                outgoing,
                emoji: Some(emoji.into()),
            };
            store
                .record_message(bob, None, None, &control(change))
                .unwrap();
        }
        let emojis = |store: &Store| -> Vec<(bool, String)> {
            store
                .reactions(bob)
                .unwrap()
                .into_iter()
                .map(|r| (r.outgoing, r.emoji))
                .collect()
        };
        assert_eq!(
            emojis(&store),
            vec![(false, "❤️".to_owned()), (true, "😂".to_owned())]
        );
        let remove = ConversationChange::React {
            message_id: first,
            outgoing: false,
            emoji: None,
        };
        store
            .record_message(bob, None, None, &control(remove))
            .unwrap();
        assert_eq!(emojis(&store), vec![(true, "😂".to_owned())]);

        // A delete for everyone leaves an empty row, no reactions, no words.
        store
            .record_message(
                bob,
                None,
                None,
                &control(ConversationChange::Delete { message_id: first }),
            )
            .unwrap();
        let deleted = store.message(first).unwrap();
        assert!(deleted.body.is_empty() && deleted.deleted_at.is_some());
        assert!(emojis(&store).is_empty());
        assert!(search_ids(&mut store, "station").is_empty());
        // An edit after the delete changes nothing.
        store
            .record_message(
                bob,
                None,
                None,
                &control(ConversationChange::Edit {
                    message_id: first,
                    body: b"back".to_vec(),
                }),
            )
            .unwrap();
        assert!(store.message(first).unwrap().body.is_empty());

        // A local delete removes the row; a second one is an error.
        store.delete_message(first).unwrap();
        assert!(store.message(first).is_err());
        assert!(matches!(
            store.delete_message(first),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn messages_disappear_once_their_time_is_up_but_not_before_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = store.complete_pairing(b"h", &contact("bob", "p1")).unwrap();
        let before = store
            .record_message(bob, None, None, &text(false, "kept forever", 1))
            .unwrap();
        store
            .record_message(
                bob,
                None,
                None,
                &control(ConversationChange::Timer {
                    contact_id: bob,
                    secs: 60,
                    set_at: 100,
                    by_me: false,
                }),
            )
            .unwrap();
        let record = store.contact("bob").unwrap();
        assert_eq!((record.timer_secs, record.timer_set_at), (60, 100));
        assert!(!record.timer_set_by_me);
        let received = store
            .record_message(bob, None, None, &text(false, "gone soon", 2))
            .unwrap();
        let (queued, outbox) = store
            .record_outgoing(bob, None, &text(true, "gone once delivered", 3), b"env")
            .unwrap();
        let expires = store.message(received).unwrap().expires_at.unwrap();
        assert!(store.message(before).unwrap().expires_at.is_none());
        assert_eq!(store.expire_messages(expires - 1).unwrap(), 0);
        assert_eq!(search_ids(&mut store, "gone"), vec![queued, received]);

        // Time is up: the received message goes, the queued one waits.
        assert_eq!(store.expire_messages(expires + 10).unwrap(), 1);
        assert!(store.message(received).is_err());
        assert!(store.message(queued).is_ok());
        assert_eq!(search_ids(&mut store, "gone"), vec![queued]);
        store.outbox_delivered(outbox).unwrap();
        assert_eq!(store.expire_messages(expires + 10).unwrap(), 1);
        assert!(search_ids(&mut store, "gone").is_empty());
        assert!(store.message(before).is_ok());
        assert!(!store.any_expired(i64::MAX - 1).unwrap());
    }
}
