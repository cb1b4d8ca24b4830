//! Groups (decision 0071): their signed ops, their texts and the pairwise
//! copies of ours. What the ops mean (who is a member) is the node's fold;
//! the store keeps them as received.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store, now};

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Row id.
    pub id: i64,
    /// The group's id (16 bytes).
    pub group_id: Vec<u8>,
    /// Unix time we learned of it.
    pub created_at: i64,
}

/// A text of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMessageRecord {
    /// Row id.
    pub id: i64,
    /// The group's row.
    pub group_row: i64,
    /// Its id, the same at every member.
    pub msg_id: Vec<u8>,
    /// Its author's identity key.
    pub author: Vec<u8>,
    /// Ours.
    pub outgoing: bool,
    /// Orders it.
    pub lamport: u64,
    /// The text.
    pub body: Vec<u8>,
    /// The quoted message: its author's key and id.
    pub reply: Option<(Vec<u8>, Vec<u8>)>,
    /// A received text: the mode of the copy that brought it.
    pub mode: Option<String>,
    /// Unix time stored.
    pub created_at: i64,
    /// `text`, `file` (a file shared with the group; the body describes
    /// it), or `react`, `edit`, `delete` of message `target` (its
    /// author's key and id; the body is the emoji — empty takes it back —
    /// or the new text).
    pub kind: String,
    /// The message a reaction, edit or delete is about.
    pub target: Option<(Vec<u8>, Vec<u8>)>,
    /// Unix time of its last edit.
    pub edited_at: Option<i64>,
    /// Unix time it was deleted for everyone (its body is then empty).
    pub deleted_at: Option<i64>,
}

/// A reaction to a group message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupReaction {
    /// The message's author and id.
    pub target: (Vec<u8>, Vec<u8>),
    /// Who reacted (identity key).
    pub reactor: Vec<u8>,
    /// The emoji.
    pub emoji: String,
}

/// A text of ours to store with one pending copy per member.
#[derive(Debug, Clone)]
pub struct NewGroupText {
    /// Its id.
    pub msg_id: Vec<u8>,
    /// Our identity key.
    pub author: Vec<u8>,
    /// Orders it.
    pub lamport: u64,
    /// The text.
    pub body: Vec<u8>,
    /// The quoted message.
    pub reply: Option<(Vec<u8>, Vec<u8>)>,
    /// `text`, `react`, `edit` or `delete` (see [`GroupMessageRecord`]).
    pub kind: String,
    /// The message a reaction, edit or delete is about.
    pub target: Option<(Vec<u8>, Vec<u8>)>,
    /// Each other member's key and, when they are our contact, the contact.
    pub copies: Vec<(Vec<u8>, Option<i64>)>,
}

/// A pairwise copy of one of our texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCopy {
    /// The member's identity key.
    pub member: Vec<u8>,
    /// The contact it goes to (`None`: the member is no contact of ours).
    pub contact_id: Option<i64>,
    /// Sealed and queued.
    pub sealed: bool,
    /// The mode it was sealed in.
    pub mode: Option<String>,
    /// The pairwise message's delivery state (`queued`, `delivered`,
    /// `failed`), while that message exists.
    pub state: Option<String>,
}

/// A copy still to seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCopy {
    /// The text.
    pub message: GroupMessageRecord,
    /// The group's id.
    pub group_id: Vec<u8>,
    /// The member's identity key.
    pub member: Vec<u8>,
    /// The contact it goes to.
    pub contact_id: i64,
}

/// What a group control message stores, in the transaction of its
/// pairwise message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// Ops of a group (its row is made on the first).
    Ops {
        /// The group's id.
        group_id: Vec<u8>,
        /// Each op's id and bytes.
        ops: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// A member's text (stored once, whatever the copies).
    Text {
        /// The group's id.
        group_id: Vec<u8>,
        /// The text, as [`GroupMessageRecord`] (`id`, `group_row` and
        /// `created_at` are set on storing).
        message: Box<GroupMessageRecord>,
    },
    /// This pairwise message is the copy of text `group_message` for
    /// `member`.
    Copy {
        /// The text's row.
        group_message: i64,
        /// The member's key.
        member: Vec<u8>,
    },
}

const GROUP_MESSAGE_COLUMNS: &str = "id, group_row, msg_id, author, outgoing, lamport, body,
     reply_author, reply_id, mode, created_at, kind, target_author, target_id, edited_at,
     deleted_at";

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupMessageRecord> {
    let reply_author: Option<Vec<u8>> = r.get(7)?;
    let reply_id: Option<Vec<u8>> = r.get(8)?;
    Ok(GroupMessageRecord {
        id: r.get(0)?,
        group_row: r.get(1)?,
        msg_id: r.get(2)?,
        author: r.get(3)?,
        outgoing: r.get(4)?,
        lamport: r.get::<_, i64>(5)? as u64,
        body: r.get(6)?,
        reply: reply_author.zip(reply_id),
        mode: r.get(9)?,
        created_at: r.get(10)?,
        kind: r.get(11)?,
        target: r.get::<_, Option<Vec<u8>>>(12)?.zip(r.get(13)?),
        edited_at: r.get(14)?,
        deleted_at: r.get(15)?,
    })
}

/// The row of group `group_id`, made if new.
fn group_row(tx: &rusqlite::Connection, group_id: &[u8]) -> Result<i64> {
    tx.prepare_cached("INSERT OR IGNORE INTO groups (group_id, created_at) VALUES (?1, ?2)")?
        .execute(params![group_id, now()])?;
    Ok(tx
        .prepare_cached("SELECT id FROM groups WHERE group_id = ?1")?
        .query_row([group_id], |r| r.get(0))?)
}

fn insert_text(tx: &rusqlite::Connection, group_row: i64, m: &GroupMessageRecord) -> Result<i64> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO group_messages
                (group_row, msg_id, author, outgoing, lamport, body, reply_author, reply_id,
                 mode, created_at, kind, target_author, target_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            group_row,
            m.msg_id,
            m.author,
            m.outgoing,
            m.lamport as i64,
            m.body,
            m.reply.as_ref().map(|r| &r.0),
            m.reply.as_ref().map(|r| &r.1),
            m.mode,
            now(),
            m.kind,
            m.target.as_ref().map(|t| &t.0),
            m.target.as_ref().map(|t| &t.1),
        ])?;
    if inserted != 1 {
        return Ok(0);
    }
    let id = tx.last_insert_rowid();
    apply_effect(tx, group_row, m)?;
    Ok(id)
}

/// What a reaction, edit or delete does, once, when it is stored. Edits and
/// deletes touch only a text of their own author.
fn apply_effect(tx: &rusqlite::Connection, group_row: i64, m: &GroupMessageRecord) -> Result<()> {
    let Some((target_author, target_id)) = &m.target else {
        return Ok(());
    };
    match m.kind.as_str() {
        "react" if m.body.is_empty() => {
            tx.prepare_cached(
                "DELETE FROM group_reactions WHERE group_row = ?1 AND target_author = ?2
                   AND target_id = ?3 AND reactor = ?4",
            )?
            .execute(params![group_row, target_author, target_id, m.author])?;
        }
        "react" => {
            tx.prepare_cached(
                "INSERT INTO group_reactions (group_row, target_author, target_id, reactor, emoji)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (group_row, target_author, target_id, reactor) DO UPDATE SET emoji = ?5",
            )?
            .execute(params![
                group_row,
                target_author,
                target_id,
                m.author,
                String::from_utf8_lossy(&m.body)
            ])?;
        }
        "edit" if target_author == &m.author => {
            tx.prepare_cached(
                "UPDATE group_messages SET body = ?4, edited_at = ?5
                 WHERE group_row = ?1 AND author = ?2 AND msg_id = ?3 AND kind = 'text'
                   AND deleted_at IS NULL",
            )?
            .execute(params![group_row, target_author, target_id, m.body, now()])?;
        }
        "delete" if target_author == &m.author => {
            tx.prepare_cached(
                "UPDATE group_messages SET body = x'', deleted_at = ?4, edited_at = NULL
                 WHERE group_row = ?1 AND author = ?2 AND msg_id = ?3 AND kind IN ('text', 'file')",
            )?
            .execute(params![group_row, target_author, target_id, now()])?;
            tx.prepare_cached(
                "DELETE FROM group_reactions WHERE group_row = ?1 AND target_author = ?2
                   AND target_id = ?3",
            )?
            .execute(params![group_row, target_author, target_id])?;
        }
        _ => {}
    }
    Ok(())
}

/// Applies `change` inside the transaction of pairwise message
/// `message_id`.
pub(crate) fn apply(
    tx: &rusqlite::Connection,
    change: &GroupChange,
    message_id: i64,
) -> Result<()> {
    match change {
        GroupChange::Ops { group_id, ops } => {
            let row = group_row(tx, group_id)?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO group_ops (group_row, op_id, op) VALUES (?1, ?2, ?3)",
            )?;
            for (id, op) in ops {
                insert.execute(params![row, id, op])?;
            }
        }
        GroupChange::Text { group_id, message } => {
            let row = group_row(tx, group_id)?;
            insert_text(tx, row, message)?;
        }
        GroupChange::Copy {
            group_message,
            member,
        } => {
            // Another process sealing the same copy at once: the second
            // transaction finds it sealed and fails, so no second copy
            // leaves.
            let claimed = tx
                .prepare_cached(
                    "UPDATE group_copies SET message_id = ?3, sealed = 1,
                        mode = (SELECT mode FROM messages WHERE id = ?3)
                     WHERE group_message = ?1 AND member = ?2 AND sealed = 0",
                )?
                .execute(params![group_message, member, message_id])?;
            if claimed != 1 {
                return Err(crate::StoreError::Conflict(
                    "this group copy was sealed already".into(),
                ));
            }
        }
    }
    Ok(())
}

impl Store {
    /// Every group we know, oldest first.
    pub fn groups(&self) -> Result<Vec<GroupRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, group_id, created_at FROM groups ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(GroupRecord {
                id: r.get(0)?,
                group_id: r.get(1)?,
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ops of group row `group_row`, as received.
    pub fn group_ops(&self, group_row: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT op FROM group_ops WHERE group_row = ?1")?;
        let rows = stmt.query_map([group_row], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores ops of a group we made or changed (outside any message).
    pub fn add_group_ops(&mut self, group_id: &[u8], ops: &[(Vec<u8>, Vec<u8>)]) -> Result<i64> {
        self.write(|tx| {
            apply(
                tx,
                &GroupChange::Ops {
                    group_id: group_id.to_vec(),
                    ops: ops.to_vec(),
                },
                0,
            )?;
            group_row(tx, group_id)
        })
    }

    /// The reactions in group row `group_row`.
    pub fn group_reactions(&self, group_row: i64) -> Result<Vec<GroupReaction>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT target_author, target_id, reactor, emoji FROM group_reactions
             WHERE group_row = ?1 ORDER BY target_author, target_id, reactor",
        )?;
        let rows = stmt.query_map([group_row], |r| {
            Ok(GroupReaction {
                target: (r.get(0)?, r.get(1)?),
                reactor: r.get(2)?,
                emoji: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The texts and files of group row `group_row` (not reactions, edits,
    /// deletes), in the group's order.
    pub fn group_messages(&self, group_row: i64) -> Result<Vec<GroupMessageRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {GROUP_MESSAGE_COLUMNS} FROM group_messages
             WHERE group_row = ?1 AND kind IN ('text', 'file')
             ORDER BY lamport, author, msg_id"
        ))?;
        let rows = stmt.query_map([group_row], message_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One text by row id.
    pub fn group_message(&self, id: i64) -> Result<Option<GroupMessageRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {GROUP_MESSAGE_COLUMNS} FROM group_messages WHERE id = ?1"
            ))?
            .query_row([id], message_from_row)
            .optional()?)
    }

    /// The highest lamport of group row `group_row`'s texts (0: none).
    pub fn group_lamport(&self, group_row: i64) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT coalesce(max(lamport), 0) FROM group_messages WHERE group_row = ?1",
            )?
            .query_row([group_row], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Stores a text of ours with its pending copies; returns its row.
    pub fn add_group_text(&mut self, group_row: i64, text: &NewGroupText) -> Result<i64> {
        self.write(|tx| {
            let record = GroupMessageRecord {
                id: 0,
                group_row,
                msg_id: text.msg_id.clone(),
                author: text.author.clone(),
                outgoing: true,
                lamport: text.lamport,
                body: text.body.clone(),
                reply: text.reply.clone(),
                mode: None,
                created_at: 0,
                kind: text.kind.clone(),
                target: text.target.clone(),
                edited_at: None,
                deleted_at: None,
            };
            let id = insert_text(tx, group_row, &record)?;
            if id == 0 {
                return Err(crate::StoreError::Conflict(
                    "a group message with this id exists".into(),
                ));
            }
            let mut copy = tx.prepare_cached(
                "INSERT INTO group_copies (group_message, member, contact_id) VALUES (?1, ?2, ?3)",
            )?;
            for (member, contact) in &text.copies {
                copy.execute(params![id, member, contact])?;
            }
            Ok(id)
        })
    }

    /// The copies of our text `group_message`, with their delivery state.
    pub fn group_copies(&self, group_message: i64) -> Result<Vec<GroupCopy>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT member, contact_id, sealed, mode,
                    (SELECT state FROM outbox WHERE outbox.message_id = c.message_id
                     ORDER BY id DESC LIMIT 1)
             FROM group_copies c WHERE group_message = ?1 ORDER BY member",
        )?;
        let rows = stmt.query_map([group_message], |r| {
            Ok(GroupCopy {
                member: r.get(0)?,
                contact_id: r.get(1)?,
                sealed: r.get(2)?,
                mode: r.get(3)?,
                state: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Copies still to seal, oldest text first, at most `limit`.
    pub fn pending_group_copies(&self, limit: usize) -> Result<Vec<PendingCopy>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT c.member, c.contact_id, g.group_id, {}
             FROM group_copies c
             JOIN group_messages m ON m.id = c.group_message
             JOIN groups g ON g.id = m.group_row
             WHERE c.sealed = 0 AND c.contact_id IS NOT NULL
             ORDER BY m.id, c.member LIMIT ?1",
            GROUP_MESSAGE_COLUMNS
                .split(',')
                .map(|c| format!("m.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let rows = stmt.query_map([limit as i64], |r| {
            let member: Vec<u8> = r.get(0)?;
            let contact_id: i64 = r.get(1)?;
            let group_id: Vec<u8> = r.get(2)?;
            let message = GroupMessageRecord {
                id: r.get(3)?,
                group_row: r.get(4)?,
                msg_id: r.get(5)?,
                author: r.get(6)?,
                outgoing: r.get(7)?,
                lamport: r.get::<_, i64>(8)? as u64,
                body: r.get(9)?,
                reply: r.get::<_, Option<Vec<u8>>>(10)?.zip(r.get(11)?),
                mode: r.get(12)?,
                created_at: r.get(13)?,
                kind: r.get(14)?,
                target: r.get::<_, Option<Vec<u8>>>(15)?.zip(r.get(16)?),
                edited_at: r.get(17)?,
                deleted_at: r.get(18)?,
            };
            Ok(PendingCopy {
                message,
                group_id,
                member,
                contact_id,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the copy of `group_message` for `member` was sealed.
    pub fn group_copy_sealed(&self, group_message: i64, member: &[u8]) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT sealed FROM group_copies WHERE group_message = ?1 AND member = ?2",
            )?
            .query_row(params![group_message, member], |r| r.get(0))
            .optional()?
            .unwrap_or(true))
    }

    /// Records our invite `invite_hash` for group member `member`
    /// (to be named `name` once paired).
    pub fn add_group_intro(&mut self, invite_hash: &[u8], member: &[u8], name: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO group_intros (invite_hash, member, name, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![invite_hash, member, name, now()])?;
            Ok(())
        })
    }

    /// The member and name our invite `invite_hash` was made for, when it
    /// was an introduction through a group.
    pub fn group_intro(&self, invite_hash: &[u8]) -> Result<Option<(Vec<u8>, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT member, name FROM group_intros WHERE invite_hash = ?1")?
            .query_row([invite_hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// When we last invited `member` through a group (Unix time).
    pub fn last_group_intro(&self, member: &[u8]) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT max(created_at) FROM group_intros WHERE member = ?1")?
            .query_row([member], |r| r.get(0))?)
    }

    /// Gives up on a copy (the member left, or is no contact any more): it
    /// is not sealed, and shows as not sent.
    pub fn drop_group_copy(&mut self, group_message: i64, member: &[u8]) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE group_copies SET contact_id = NULL
                 WHERE group_message = ?1 AND member = ?2 AND sealed = 0",
            )?
            .execute(params![group_message, member])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_contact as contact;

    #[test]
    fn texts_are_stored_once_in_the_groups_order_and_copies_track_their_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let bob = store.complete_pairing(b"h", &contact("bob", "p1")).unwrap();
        let gid = vec![1u8; 16];
        let row = store
            .add_group_ops(&gid, &[(vec![2; 16], b"op".to_vec())])
            .unwrap();
        // The same op again is stored once; the row is the same.
        assert_eq!(
            store
                .add_group_ops(&gid, &[(vec![2; 16], b"op".to_vec())])
                .unwrap(),
            row
        );
        assert_eq!(store.group_ops(row).unwrap(), vec![b"op".to_vec()]);

        let text = |lamport: u64, author: u8, msg: u8| GroupMessageRecord {
            id: 0,
            group_row: 0,
            msg_id: vec![msg; 16],
            author: vec![author; 32],
            outgoing: false,
            lamport,
            body: vec![msg],
            reply: None,
            mode: Some("grid".into()),
            created_at: 0,
            kind: "text".into(),
            target: None,
            edited_at: None,
            deleted_at: None,
        };
        let message = |store: &mut Store, change: GroupChange| {
            let m = crate::NewMessage {
                mode: "grid".into(),
                kind: "control".into(),
                body: b"group".to_vec(),
                group: Some(change),
                ..Default::default()
            };
            store.record_message(bob, None, None, &m).unwrap()
        };
        for (lamport, author, msg) in [(5, 9, 1), (3, 8, 2), (5, 7, 3), (3, 8, 2)] {
            message(
                &mut store,
                GroupChange::Text {
                    group_id: gid.clone(),
                    message: Box::new(text(lamport, author, msg)),
                },
            );
        }
        let order: Vec<u8> = store
            .group_messages(row)
            .unwrap()
            .iter()
            .map(|m| m.body[0])
            .collect();
        assert_eq!(
            order,
            [2, 3, 1],
            "by (lamport, author), the repeat stored once"
        );
        assert_eq!(store.group_lamport(row).unwrap(), 5);

        let ours = store
            .add_group_text(
                row,
                &NewGroupText {
                    msg_id: vec![4; 16],
                    author: vec![6; 32],
                    lamport: 6,
                    body: b"hi".to_vec(),
                    reply: None,
                    kind: "text".into(),
                    target: None,
                    copies: vec![(vec![0xb0; 32], Some(bob)), (vec![0xc0; 32], None)],
                },
            )
            .unwrap();
        let pending = store.pending_group_copies(10).unwrap();
        assert_eq!(
            pending.len(),
            1,
            "the member who is no contact waits for none"
        );
        assert_eq!(
            (pending[0].contact_id, pending[0].message.body.as_slice()),
            (bob, &b"hi"[..])
        );
        let copy = message(
            &mut store,
            GroupChange::Copy {
                group_message: ours,
                member: vec![0xb0; 32],
            },
        );
        assert!(store.pending_group_copies(10).unwrap().is_empty());
        let copies = store.group_copies(ours).unwrap();
        assert_eq!(
            copies
                .iter()
                .map(|c| (c.sealed, c.mode.clone()))
                .collect::<Vec<_>>(),
            [(true, Some("grid".into())), (false, None)]
        );
        assert!(copy > 0);
    }
}
