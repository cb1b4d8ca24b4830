//! The outbox: sealed envelopes waiting for the contact's acknowledgement.
//! A message is written here in the same transaction as the message itself
//! and the session state that sealed it, so a crash never loses an accepted
//! message and never sends one twice with different keys.

use rusqlite::{OptionalExtension, params};

use crate::{NewMessage, Result, Store};

/// An envelope due for (re)sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Outbox row id (increasing: the sending order).
    pub id: i64,
    /// The message it carries.
    pub message_id: i64,
    /// The contact it goes to.
    pub contact_id: i64,
    /// The sealed envelope.
    pub envelope: Vec<u8>,
    /// How many sends failed so far.
    pub attempts: u32,
}

impl OutboxItem {
    /// An item from a row of `id, message_id, contact_id, envelope,
    /// attempts` (the columns every outbox query selects).
    pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
        Ok(OutboxItem {
            id: r.get(0)?,
            message_id: r.get(1)?,
            contact_id: r.get(2)?,
            envelope: r.get(3)?,
            attempts: r.get::<_, i64>(4)? as u32,
        })
    }
}

// The outbox's hot queries, kept here so a test can check their plans.
// No `LIMIT ?`: SQLite re-prepares a statement whose LIMIT is a bound
// parameter every time it is bound; the callers stop reading instead.

/// Each contact's oldest queued envelope, if due (`?1`: now): one indexed
/// step per contact (`outbox_queue`), however long the queues are.
pub(crate) const DUE_SQL: &str =
    "SELECT o.id, o.message_id, o.contact_id, o.envelope, o.attempts FROM contacts c
     JOIN outbox o ON o.id = (SELECT id FROM outbox
                              WHERE contact_id = c.id AND state = 'queued'
                              ORDER BY id LIMIT 1)
     WHERE o.next_attempt_at <= ?1
     ORDER BY o.id";

/// One contact's (`?1`) queue in sending order.
pub(crate) const RUN_SQL: &str = "SELECT id, message_id, contact_id, envelope, attempts FROM outbox
     WHERE contact_id = ?1 AND state = 'queued' ORDER BY id";

/// A message's (`?1`) delivery state and last error.
pub(crate) const STATE_SQL: &str =
    "SELECT CASE WHEN state = 'queued' AND mailboxed = 1 THEN 'mailbox' ELSE state END,
            last_error FROM outbox WHERE message_id = ?1";

impl Store {
    /// Records an outgoing message, the session state (grid mode) that
    /// sealed it, and its envelope in the outbox, atomically.
    pub fn record_outgoing(
        &mut self,
        contact_id: i64,
        session: Option<&[u8]>,
        message: &NewMessage,
        envelope: &[u8],
    ) -> Result<(i64, i64)> {
        self.write(|tx| {
            if let Some(state) = session {
                tx.prepare_cached("UPDATE contacts SET session = ?1 WHERE id = ?2")?.execute( params![state, contact_id])?;
            }
            let message_id = crate::history::insert_message(tx, contact_id, message)?;
            tx.prepare_cached("INSERT INTO outbox (message_id, contact_id, envelope, state) VALUES (?1, ?2, ?3, 'queued')")?.execute(
                params![message_id, contact_id, envelope],
            )?;
            Ok((message_id, tx.last_insert_rowid()))
        })
    }

    /// How many envelopes wait for an acknowledgement.
    pub fn queued_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE state = 'queued'")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Queued envelopes due at `now` (Unix seconds), oldest first, at most
    /// one per contact so that each contact receives them in order.
    pub fn due_outbox(&self, now: i64, limit: usize) -> Result<Vec<OutboxItem>> {
        // One indexed step per contact (the `outbox_queue` index), however
        // long the queues are.
        let mut stmt = self.conn.prepare_cached(DUE_SQL)?;
        let rows = stmt.query_map(params![now], OutboxItem::from_row)?;
        Ok(rows.take(limit).collect::<rusqlite::Result<_>>()?)
    }

    /// A contact's queued envelopes in sending order, from the oldest: at
    /// most `limit` of them and, past the first, no more than `max_bytes`
    /// of envelopes together (a batch sent at once).
    pub fn queued_run(
        &self,
        contact_id: i64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<OutboxItem>> {
        let mut stmt = self.conn.prepare_cached(RUN_SQL)?;
        let rows = stmt.query_map(params![contact_id], OutboxItem::from_row)?;
        let mut run = Vec::new();
        let mut bytes = 0;
        for row in rows.take(limit) {
            let item = row?;
            bytes += item.envelope.len();
            if !run.is_empty() && bytes > max_bytes {
                break;
            }
            run.push(item);
        }
        Ok(run)
    }

    /// Marks an envelope delivered (acknowledged).
    pub fn outbox_delivered(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE outbox SET state = 'delivered', envelope = x'' WHERE id = ?1",
            )?
            .execute([id])?;
            Ok(())
        })
    }

    /// Marks an envelope failed for good (the contact refused it).
    pub fn outbox_failed(&mut self, id: i64, reason: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1")?
                .execute(params![id, reason])?;
            Ok(())
        })
    }

    /// Schedules another attempt at `next_at` (Unix seconds).
    pub fn outbox_retry(&mut self, id: i64, next_at: i64, reason: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1")?.execute(
                params![id, next_at, reason],
            )?;
            Ok(())
        })
    }

    /// Makes a contact's queued envelopes due at `now` (the contact just
    /// came online, so the backoff wait is over); returns how many moved.
    pub fn outbox_retry_now(&mut self, contact_id: i64, now: i64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE outbox SET next_attempt_at = ?2
                 WHERE contact_id = ?1 AND state = 'queued' AND next_attempt_at > ?2",
                )?
                .execute(params![contact_id, now])?)
        })
    }

    /// The delivery state of a message (`queued`, `mailbox` — queued and
    /// held by mailbox hosts —, `delivered`, `failed`), if it went through
    /// the outbox, with the last error.
    pub fn delivery_state(&self, message_id: i64) -> Result<Option<(String, Option<String>)>> {
        Ok(self
            .conn
            .prepare_cached(STATE_SQL)?
            .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Replaces the addresses a contact is reachable at.
    pub fn set_contact_addresses(&mut self, contact_id: i64, addresses: &[String]) -> Result<()> {
        let text = serde_json::to_string(addresses).unwrap_or_else(|_| "[]".into());
        self.write(|tx| {
            tx.prepare_cached("UPDATE contacts SET addresses = ?1 WHERE id = ?2")?
                .execute(params![text, contact_id])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewMessage, Store, test_paired};

    fn msg(body: &str) -> NewMessage {
        NewMessage {
            outgoing: true,
            mode: "grid".into(),
            kind: "text".into(),
            body: body.into(),
            chain_hash: None,
            round: Some(1),
            transfer: None,
            ..NewMessage::default()
        }
    }

    #[test]
    fn the_outbox_hands_out_one_message_per_contact_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let (a, b) = (test_paired(&mut store, "a"), test_paired(&mut store, "b"));
        let (m1, o1) = store
            .record_outgoing(a, Some(b"s1"), &msg("1"), b"e1")
            .unwrap();
        let (_, o2) = store
            .record_outgoing(a, Some(b"s2"), &msg("2"), b"e2")
            .unwrap();
        let (_, o3) = store.record_outgoing(b, None, &msg("3"), b"e3").unwrap();
        assert_eq!(
            store.session_state(a).unwrap(),
            b"s2",
            "state stored with the message"
        );
        let due: Vec<i64> = store
            .due_outbox(0, 10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(due, vec![o1, o3], "one per contact, oldest first");
        store.outbox_retry(o1, 100, "unreachable").unwrap();
        assert_eq!(
            store.due_outbox(50, 10).unwrap().len(),
            1,
            "a's head waits for its retry time"
        );
        assert_eq!(store.due_outbox(100, 10).unwrap()[0].attempts, 1);
        store.outbox_delivered(o1).unwrap();
        assert_eq!(
            store.delivery_state(m1).unwrap(),
            Some(("delivered".into(), Some("unreachable".into())))
        );
        let due: Vec<i64> = store
            .due_outbox(100, 10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(due, vec![o2, o3]);
        store.outbox_failed(o3, "refused").unwrap();
        assert_eq!(store.due_outbox(100, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_run_is_one_contacts_queue_in_order_within_its_caps() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let (a, b) = (test_paired(&mut store, "a"), test_paired(&mut store, "b"));
        let mut ids = Vec::new();
        for i in 0..5 {
            let body = format!("{i}");
            ids.push(
                store
                    .record_outgoing(a, None, &msg(&body), &[i; 10])
                    .unwrap()
                    .1,
            );
            store
                .record_outgoing(b, None, &msg(&body), b"other")
                .unwrap();
        }
        let run: Vec<i64> = store
            .queued_run(a, 10, 1 << 20)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(run, ids, "only a's envelopes, oldest first");
        assert_eq!(
            store.queued_run(a, 3, 1 << 20).unwrap().len(),
            3,
            "at most limit"
        );
        assert_eq!(
            store.queued_run(a, 10, 25).unwrap().len(),
            2,
            "at most max_bytes"
        );
        assert_eq!(
            store.queued_run(a, 10, 1).unwrap().len(),
            1,
            "the first goes even if larger"
        );
        store.outbox_delivered(ids[0]).unwrap();
        store.outbox_failed(ids[1], "refused").unwrap();
        let run: Vec<i64> = store
            .queued_run(a, 10, 1 << 20)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(
            run,
            ids[2..],
            "delivered and failed ones are not sent again"
        );
    }

    /// The outbox's queries read only what they return: no scan of the
    /// outbox, however many messages were ever sent.
    #[test]
    fn outbox_queries_use_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        for sql in [
            super::DUE_SQL,
            super::RUN_SQL,
            super::STATE_SQL,
            crate::mailbox::MAILBOX_SQL,
        ] {
            let plan = crate::test_query_plan(&store, sql, [rusqlite::types::Null]);
            assert!(
                !plan
                    .iter()
                    .any(|step| step.starts_with("SCAN o") || step.starts_with("SCAN outbox")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn a_contact_coming_online_ends_only_its_own_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let (a, b) = (test_paired(&mut store, "a"), test_paired(&mut store, "b"));
        let (_, o1) = store.record_outgoing(a, None, &msg("1"), b"e1").unwrap();
        let (_, o2) = store.record_outgoing(b, None, &msg("2"), b"e2").unwrap();
        store.outbox_retry(o1, 3600, "unreachable").unwrap();
        store.outbox_retry(o2, 3600, "unreachable").unwrap();
        assert!(store.due_outbox(10, 10).unwrap().is_empty());
        assert_eq!(store.outbox_retry_now(a, 10).unwrap(), 1);
        let due = store.due_outbox(10, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].id, due[0].attempts), (o1, 1), "attempts are kept");
        // Nothing waits any more: a second call moves nothing, and a
        // delivered envelope is never made due again.
        assert_eq!(store.outbox_retry_now(a, 10).unwrap(), 0);
        store.outbox_delivered(o1).unwrap();
        assert_eq!(store.outbox_retry_now(a, 0).unwrap(), 0);
    }
}
