//! Offline mailboxes: which queued envelopes are held by mailbox hosts,
//! and how far each contact's mailboxes were polled.

use rusqlite::{OptionalExtension, params};

use crate::{OutboxItem, Result, Store};

/// Queued envelopes not yet with mailbox hosts, of every contact whose
/// oldest queued envelope was tried at least once and was created no later
/// than `?1`; oldest first. Reads only the queues (`outbox_queue`), not
/// the history of delivered messages.
pub(crate) const MAILBOX_SQL: &str =
    "SELECT o.id, o.message_id, o.contact_id, o.envelope, o.attempts FROM contacts c
     JOIN outbox o ON o.contact_id = c.id AND o.state = 'queued'
     WHERE o.mailboxed = 0
       AND EXISTS (
         SELECT 1 FROM outbox h JOIN messages m ON m.id = h.message_id
         WHERE h.id = (SELECT id FROM outbox WHERE contact_id = c.id AND state = 'queued'
                       ORDER BY id LIMIT 1)
           AND h.attempts >= 1 AND m.created_at <= ?1)
     ORDER BY o.id";

impl Store {
    /// Queued envelopes not yet in any mailbox, oldest first, of contacts
    /// that look unreachable at `now` (Unix seconds): the contact's oldest
    /// queued envelope was accepted at least `after_secs` ago and at least
    /// one direct attempt at it failed.
    pub fn outbox_for_mailboxes(
        &self,
        now: i64,
        after_secs: i64,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        let mut stmt = self.conn.prepare_cached(MAILBOX_SQL)?;
        let rows = stmt.query_map(params![now - after_secs], OutboxItem::from_row)?;
        Ok(rows.take(limit).collect::<rusqlite::Result<_>>()?)
    }

    /// Marks a queued envelope as held by mailbox hosts (direct delivery
    /// goes on; the contact's acknowledgement still ends it).
    pub fn outbox_mailboxed(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET mailboxed = 1 WHERE id = ?1 AND state = 'queued'",
                [id],
            )?;
            Ok(())
        })
    }

    /// The UTC day of the last successful mailbox poll for a contact.
    pub fn mailbox_polled_day(&self, contact_id: i64) -> Result<Option<u64>> {
        let day: Option<Option<i64>> = self
            .conn
            .prepare_cached("SELECT mailbox_polled_day FROM contacts WHERE id = ?1")?
            .query_row([contact_id], |r| r.get(0))
            .optional()?;
        Ok(day.flatten().map(|d| d.max(0) as u64))
    }

    /// Records a successful mailbox poll for a contact on UTC day `day`.
    pub fn set_mailbox_polled_day(&mut self, contact_id: i64, day: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE contacts SET mailbox_polled_day = ?2 WHERE id = ?1",
                params![contact_id, day as i64],
            )?;
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
            mode: "pad".into(),
            kind: "text".into(),
            body: body.into(),
            chain_hash: None,
            round: None,
            transfer: None,
            ..NewMessage::default()
        }
    }

    #[test]
    fn only_unreachable_contacts_envelopes_go_to_mailboxes_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let (a, b) = (test_paired(&mut store, "a"), test_paired(&mut store, "b"));
        let now = crate::now();
        let later = now + 1_000;
        let (m1, o1) = store.record_outgoing(a, None, &msg("1"), b"e1").unwrap();
        let (_, o2) = store.record_outgoing(a, None, &msg("2"), b"e2").unwrap();
        let (_, o3) = store.record_outgoing(b, None, &msg("3"), b"e3").unwrap();
        // No direct attempt failed yet: nothing goes to a mailbox.
        assert!(store.outbox_for_mailboxes(later, 5, 10).unwrap().is_empty());
        store.outbox_retry(o1, later, "unreachable").unwrap();
        store.outbox_retry(o3, later, "unreachable").unwrap();
        // Too recent: accepted less than 5 s ago.
        assert!(store.outbox_for_mailboxes(now, 5, 10).unwrap().is_empty());
        let ids: Vec<i64> = store
            .outbox_for_mailboxes(later, 5, 10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(
            ids,
            vec![o1, o2, o3],
            "all of each unreachable contact's, in order"
        );
        store.outbox_mailboxed(o1).unwrap();
        assert_eq!(
            store.delivery_state(m1).unwrap(),
            Some(("mailbox".into(), Some("unreachable".into())))
        );
        let ids: Vec<i64> = store
            .outbox_for_mailboxes(later, 5, 10)
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, vec![o2, o3]);
        // A direct acknowledgement later still ends it.
        store.outbox_delivered(o1).unwrap();
        assert_eq!(store.delivery_state(m1).unwrap().unwrap().0, "delivered");
        assert_eq!(store.mailbox_polled_day(a).unwrap(), None);
        store.set_mailbox_polled_day(a, 20_425).unwrap();
        assert_eq!(store.mailbox_polled_day(a).unwrap(), Some(20_425));
        assert_eq!(store.mailbox_polled_day(b).unwrap(), None);
    }
}
