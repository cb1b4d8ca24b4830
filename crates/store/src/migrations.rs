//! The schema, as an append-only list of migrations. Never edit a migration
//! that has shipped; add a new one.

use std::path::Path;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::chains::{LegacyBeacon, read_legacy_beacons};
use crate::{Result, StoreError};

pub(crate) const STEPS: &[M<'static>] = &[
    // 1: settings, one JSON value per key.
    M::up(
        "CREATE TABLE settings (
            key   TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
         ) STRICT;",
    ),
    // 2: identity, pairing, contacts, sessions, messages, pads, verified beacons.
    M::up(
        "CREATE TABLE identity (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            seed       BLOB NOT NULL,
            name       TEXT NOT NULL,
            created_at INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE pending_invites (
            invite_hash BLOB PRIMARY KEY NOT NULL,
            state       BLOB NOT NULL,
            expires_at  INTEGER NOT NULL,
            created_at  INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE used_invites (
            invite_hash BLOB PRIMARY KEY NOT NULL,
            used_at     INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE contacts (
            id           INTEGER PRIMARY KEY,
            name         TEXT NOT NULL UNIQUE,
            peer_id      TEXT NOT NULL UNIQUE,
            identity_key BLOB NOT NULL,
            addresses    TEXT NOT NULL,
            safety_code  TEXT NOT NULL,
            verified     INTEGER NOT NULL DEFAULT 0,
            role         TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),
            session_id   BLOB NOT NULL UNIQUE,
            session      BLOB NOT NULL,
            created_at   INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE messages (
            id         INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            outgoing   INTEGER NOT NULL,
            mode       TEXT NOT NULL CHECK (mode IN ('grid', 'pad')),
            body       BLOB NOT NULL,
            chain_hash BLOB,
            round      INTEGER,
            created_at INTEGER NOT NULL
         ) STRICT;
         CREATE INDEX messages_by_contact ON messages (contact_id, id);
         CREATE TABLE pads (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
            pad_id     BLOB NOT NULL,
            size       INTEGER NOT NULL,
            used       INTEGER NOT NULL,
            received   TEXT NOT NULL,
            file       TEXT NOT NULL
         ) STRICT;
         CREATE TABLE beacons (
            chain_hash BLOB NOT NULL,
            round      INTEGER NOT NULL,
            signature  BLOB NOT NULL,
            previous   BLOB,
            PRIMARY KEY (chain_hash, round)
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE chains (
            hash BLOB PRIMARY KEY NOT NULL,
            info TEXT NOT NULL
         ) STRICT;",
    ),
    // 3: the outbox of messages sent over the network, until acknowledged.
    M::up(
        "CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY,
            message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            contact_id      INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            envelope        BLOB NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT
         ) STRICT;
         CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);",
    ),
    // 4: message kinds and file transfers.
    M::up(
        "ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
            CHECK (kind IN ('text', 'file', 'control'));
         CREATE TABLE transfers (
            id           INTEGER PRIMARY KEY,
            transfer_id  BLOB NOT NULL UNIQUE,
            contact_id   INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            message_id   INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            outgoing     INTEGER NOT NULL,
            name         TEXT NOT NULL,
            size         INTEGER NOT NULL,
            blake3       BLOB NOT NULL,
            chunk_size   INTEGER NOT NULL,
            mode         TEXT NOT NULL CHECK (mode IN ('grid', 'pad')),
            secret       BLOB,
            pad_offset   INTEGER,
            path         TEXT NOT NULL,
            chunk_hashes BLOB,
            done         BLOB NOT NULL,
            bytes_done   INTEGER NOT NULL DEFAULT 0,
            bytes_sent   INTEGER NOT NULL DEFAULT 0,
            state        TEXT NOT NULL CHECK (state IN ('offered', 'accepted', 'transferring',
                            'paused', 'completed', 'declined', 'cancelled', 'failed')),
            error        TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL
         ) STRICT;",
    ),
    // 5: keys that never leave this install (e.g. the key the pad copies
    // in the data directory are encrypted with).
    M::up(
        "CREATE TABLE local_keys (
            name TEXT PRIMARY KEY NOT NULL,
            key  BLOB NOT NULL CHECK (length(key) = 32)
         ) STRICT;",
    ),
    // 6: one ledger per pad, forever. A pad's ledger (role, layout and
    // high-water marks) lives in its own row keyed by the pad id and is
    // kept after the pad is replaced (retired), so the same pad can never
    // be imported again, for any contact. Transfers name the pad they
    // reserved bytes in; every accepted envelope's hash is kept, so only
    // an identical resend counts as a duplicate.
    M::up(
        "CREATE TABLE pad_ledgers (
            pad_id      BLOB PRIMARY KEY NOT NULL CHECK (length(pad_id) = 16),
            contact_id  INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
            peer_id     TEXT NOT NULL,
            role        TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),
            layout      INTEGER NOT NULL CHECK (layout IN (1, 2)),
            size        INTEGER NOT NULL,
            used        INTEGER NOT NULL,
            received    TEXT NOT NULL,
            file        TEXT NOT NULL,
            imported_at INTEGER NOT NULL,
            retired_at  INTEGER
         ) STRICT;
         CREATE UNIQUE INDEX pad_ledgers_active ON pad_ledgers (contact_id)
            WHERE retired_at IS NULL;
         INSERT INTO pad_ledgers (pad_id, contact_id, peer_id, role, layout, size, used,
                                  received, file, imported_at, retired_at)
            SELECT pads.pad_id, pads.contact_id, contacts.peer_id, contacts.role, 1,
                   pads.size, pads.used, pads.received, pads.file,
                   CAST(strftime('%s', 'now') AS INTEGER), NULL
            FROM pads JOIN contacts ON contacts.id = pads.contact_id;
         DROP TABLE pads;
         ALTER TABLE transfers ADD COLUMN pad_id BLOB;
         UPDATE transfers SET pad_id = (SELECT pad_id FROM pad_ledgers
                                        WHERE pad_ledgers.contact_id = transfers.contact_id
                                          AND pad_ledgers.retired_at IS NULL)
            WHERE mode = 'pad';
         CREATE TABLE accepted_envelopes (
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            hash       BLOB NOT NULL CHECK (length(hash) = 32),
            PRIMARY KEY (contact_id, hash)
         ) STRICT, WITHOUT ROWID;",
    ),
    // 7: verified beacons live only in the grid's beacon cache. `migrate`
    // reads this table's rows before dropping it and hands them to the
    // opener, which verifies them into the cache.
    M::up("DROP TABLE beacons;"),
    // 8: each pairing's rendezvous secret (NULL for pairings made before:
    // the node derives a weaker one from the session id).
    M::up(
        "ALTER TABLE contacts ADD COLUMN rendezvous BLOB
            CHECK (rendezvous IS NULL OR length(rendezvous) = 32);",
    ),
    // 9: offline mailboxes: which queued envelopes went to mailbox hosts,
    // and the UTC day of each contact's last successful mailbox poll.
    M::up(
        "ALTER TABLE outbox ADD COLUMN mailboxed INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE contacts ADD COLUMN mailbox_polled_day INTEGER;",
    ),
    // 10: indexes for a busy outbox: each contact's queue in sending order
    // (without it, finding the queues' heads read every queued row once per
    // queued row), and a message's delivery state by its id (delivered rows
    // stay, so that was a scan of every message ever sent). Not a partial
    // index (`WHERE state = 'queued'`): SQLite re-prepares a statement with
    // bound parameters that may use a partial index each time they change,
    // which cost the outbox queries a parse per call.
    M::up(
        "CREATE INDEX outbox_queue ON outbox (contact_id, state, id);
         CREATE INDEX outbox_message ON outbox (message_id);",
    ),
    // 11: full-text search over the chat: an FTS5 index of the text of
    // `text` messages and the file names of `file` messages (not `control`
    // bookkeeping), filled with the rows already there. It keeps its own
    // copy of the text (for snippets) inside the encrypted database.
    // `secure-delete` makes a delete remove the row's tokens from the index
    // at once instead of leaving them until a merge; prefix indexes of 2
    // and 3 characters keep a search for a short word being typed fast.
    // A new message is not indexed as it is stored (an FTS5 segment per
    // commit cost a third of a busy conversation's throughput): its id
    // waits in `messages_fts_pending`, and a search indexes the waiting
    // ones first (`Store::index_pending`). Deletes and edits of indexed
    // messages reach the index at once, by trigger.
    M::up(
        "CREATE VIRTUAL TABLE messages_fts USING fts5 (
            body,
            tokenize = 'unicode61 remove_diacritics 2',
            prefix = '2 3'
         );
         INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
         CREATE TABLE messages_fts_pending (id INTEGER PRIMARY KEY) STRICT;
         CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
            WHEN new.kind IN ('text', 'file')
         BEGIN
            INSERT OR IGNORE INTO messages_fts_pending (id) VALUES (new.id);
         END;
         CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
         BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
            DELETE FROM messages_fts_pending WHERE id = old.id;
         END;
         CREATE TRIGGER messages_fts_update AFTER UPDATE OF id, body, kind ON messages
            WHEN old.id NOT IN (SELECT id FROM messages_fts_pending)
         BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
            INSERT INTO messages_fts (rowid, body)
               SELECT new.id, CAST(new.body AS TEXT) WHERE new.kind IN ('text', 'file');
         END;
         INSERT INTO messages_fts (rowid, body)
            SELECT id, CAST(body AS TEXT) FROM messages WHERE kind IN ('text', 'file');",
    ),
    // 12: conversations: each message's `ref` (the first 16 bytes of its
    // envelope's BLAKE3 hash, which both sides know; NULL for messages
    // from before), the message a reply quotes (`reply_to`, a ref), when
    // it was edited or deleted for everyone, when it disappears
    // (`expires_at`); one reaction per side per message; each
    // conversation's disappearing-messages timer and who set it when.
    // The expiry index is partial: most messages never expire, and an
    // index entry for each would cost every message an index write (the
    // sweep's `expires_at <= ?` implies `IS NOT NULL`, so it still uses
    // it). The ref index costs each message one (about 7% of a busy
    // conversation's rate, chat bench) and is what a reaction, edit or
    // quote finds its message by.
    M::up(
        "ALTER TABLE messages ADD COLUMN ref BLOB CHECK (ref IS NULL OR length(ref) = 16);
         ALTER TABLE messages ADD COLUMN reply_to BLOB CHECK (reply_to IS NULL OR length(reply_to) = 16);
         ALTER TABLE messages ADD COLUMN edited_at INTEGER;
         ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
         ALTER TABLE messages ADD COLUMN expires_at INTEGER;
         CREATE INDEX messages_by_ref ON messages (contact_id, ref);
         CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at IS NOT NULL;
         CREATE TABLE reactions (
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            outgoing   INTEGER NOT NULL,
            emoji      TEXT NOT NULL,
            at         INTEGER NOT NULL,
            PRIMARY KEY (message_id, outgoing)
         ) STRICT, WITHOUT ROWID;
         ALTER TABLE contacts ADD COLUMN timer_secs INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE contacts ADD COLUMN timer_set_at INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE contacts ADD COLUMN timer_set_by_me INTEGER NOT NULL DEFAULT 0;",
    ),
    // 13: messages that open at a chosen time (drand timelock, decision
    // 0069). `tlock_chain`/`tlock_round` name the round that opens it and
    // `opens_at` its time, on both sides; `tlock` is the timelocked file a
    // received message waits with (its body is empty until then), cleared
    // when it opens. The partial index is what the opener scans.
    // `proof_envelope`/`proof_key`: for our grid-pad chat text, the
    // envelope as sent and its message key, what a not-before proof
    // discloses (decision 0069); cleared by an edit or a delete.
    M::up(
        "ALTER TABLE messages ADD COLUMN proof_envelope BLOB;
         ALTER TABLE messages ADD COLUMN proof_key BLOB CHECK (proof_key IS NULL OR length(proof_key) = 32);
         ALTER TABLE messages ADD COLUMN tlock_chain BLOB CHECK (tlock_chain IS NULL OR length(tlock_chain) = 32);
         ALTER TABLE messages ADD COLUMN tlock_round INTEGER;
         ALTER TABLE messages ADD COLUMN opens_at INTEGER;
         ALTER TABLE messages ADD COLUMN tlock BLOB;
         CREATE INDEX messages_locked ON messages (opens_at) WHERE tlock IS NOT NULL;",
    ),
    // 14: files that open at a chosen time (drand timelock, decision 0070).
    // What travels is the age file `zks_tlock` made of the file; on both
    // sides `tlock_chain`/`tlock_round` name the round that opens it and
    // `opens_at` its time. `locked` is set on a received one until it
    // opened: a completed transfer whose `path` is still the age file,
    // which the opener turns into the file at its round. The partial
    // index is what the opener scans.
    M::up(
        "ALTER TABLE transfers ADD COLUMN tlock_chain BLOB CHECK (tlock_chain IS NULL OR length(tlock_chain) = 32);
         ALTER TABLE transfers ADD COLUMN tlock_round INTEGER;
         ALTER TABLE transfers ADD COLUMN opens_at INTEGER;
         ALTER TABLE transfers ADD COLUMN locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1));
         CREATE INDEX transfers_locked ON transfers (opens_at) WHERE locked = 1;",
    ),
    // 15: groups (decision 0071). A group is its signed ops (`group_ops`,
    // each as received, keyed by its id), which every member folds into the
    // same member list; `group_messages` are its texts, unique per author
    // and message id (a copy arriving twice is stored once), ordered by
    // (lamport, author, msg_id) on every member. A `file` is a file shared
    // with the group (its body describes it; the file travels as one
    // pairwise transfer per member); `react`, `edit` and `delete` change the
    // message `target_author` / `target_id` (fanned out like texts, applied
    // when stored; reactions land in `group_reactions`, keyed by the
    // message, so one arriving before its message still shows).
    // `group_copies` are the pairwise copies of our texts, one per member,
    // with the pairwise message that carries it once sealed (not sealed
    // yet, or the member is no contact of ours: `contact_id` NULL);
    // `sealed` says it was (the pairwise message may be gone later).
    // `group_intros` are our pairing invites for members who are not our
    // contacts, sent through the group: the member the reply must come
    // from and the name to give them.
    M::up(
        "CREATE TABLE groups (
            id         INTEGER PRIMARY KEY,
            group_id   BLOB NOT NULL UNIQUE CHECK (length(group_id) = 16),
            created_at INTEGER NOT NULL
         ) STRICT;
         CREATE TABLE group_ops (
            group_row INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            op_id     BLOB NOT NULL CHECK (length(op_id) = 16),
            op        BLOB NOT NULL,
            PRIMARY KEY (group_row, op_id)
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE group_messages (
            id         INTEGER PRIMARY KEY,
            group_row  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            msg_id     BLOB NOT NULL CHECK (length(msg_id) = 16),
            author     BLOB NOT NULL CHECK (length(author) = 32),
            outgoing   INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
            lamport    INTEGER NOT NULL,
            body       BLOB NOT NULL,
            reply_author BLOB CHECK (reply_author IS NULL OR length(reply_author) = 32),
            reply_id   BLOB CHECK (reply_id IS NULL OR length(reply_id) = 16),
            mode       TEXT CHECK (mode IS NULL OR mode IN ('grid', 'pad')),
            created_at INTEGER NOT NULL,
            kind       TEXT NOT NULL DEFAULT 'text'
                       CHECK (kind IN ('text', 'file', 'react', 'edit', 'delete')),
            target_author BLOB CHECK (target_author IS NULL OR length(target_author) = 32),
            target_id  BLOB CHECK (target_id IS NULL OR length(target_id) = 16),
            edited_at  INTEGER,
            deleted_at INTEGER,
            UNIQUE (group_row, author, msg_id)
         ) STRICT;
         CREATE TABLE group_reactions (
            group_row     INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            target_author BLOB NOT NULL,
            target_id     BLOB NOT NULL,
            reactor       BLOB NOT NULL,
            emoji         TEXT NOT NULL,
            PRIMARY KEY (group_row, target_author, target_id, reactor)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX group_messages_order ON group_messages (group_row, lamport, author, msg_id);
         CREATE TABLE group_copies (
            group_message INTEGER NOT NULL REFERENCES group_messages (id) ON DELETE CASCADE,
            member        BLOB NOT NULL CHECK (length(member) = 32),
            contact_id    INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
            message_id    INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            mode          TEXT CHECK (mode IS NULL OR mode IN ('grid', 'pad')),
            sealed        INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1)),
            PRIMARY KEY (group_message, member)
         ) STRICT, WITHOUT ROWID;
         CREATE INDEX group_copies_pending ON group_copies (group_message)
            WHERE sealed = 0 AND contact_id IS NOT NULL;
         CREATE TABLE group_intros (
            invite_hash BLOB PRIMARY KEY NOT NULL,
            member      BLOB NOT NULL CHECK (length(member) = 32),
            name        TEXT NOT NULL,
            created_at  INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;",
    ),
    // 16: linked devices (decision 0072). `contacts.person_key` marks a
    // row that is another device of a person (the person's identity key:
    // ours for our own linked devices); its messages belong to the
    // person's conversation, which is the row whose `identity_key` it is.
    // `device_lists` keeps each person's newest signed device list;
    // `device_invites` our invites that link a device (`link`) or
    // introduce one of our devices to a contact's device (`intro`: the
    // person and device the reply must come from). `contacts.last_seen`
    // is when a message over that row's session last arrived.
    M::up(
        "ALTER TABLE contacts ADD COLUMN person_key BLOB
            CHECK (person_key IS NULL OR length(person_key) = 32);
         ALTER TABLE contacts ADD COLUMN last_seen INTEGER;
         CREATE INDEX contacts_by_person ON contacts (person_key) WHERE person_key IS NOT NULL;
         CREATE TABLE device_lists (
            person_key BLOB PRIMARY KEY NOT NULL CHECK (length(person_key) = 32),
            seq        INTEGER NOT NULL,
            list       BLOB NOT NULL
         ) STRICT, WITHOUT ROWID;
         CREATE TABLE device_invites (
            invite_hash BLOB PRIMARY KEY NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('link', 'intro')),
            person_key  BLOB,
            device_key  BLOB,
            name        TEXT NOT NULL,
            created_at  INTEGER NOT NULL
         ) STRICT, WITHOUT ROWID;",
    ),
];

/// The migration that drops the old `beacons` table.
const DROP_BEACONS_VERSION: u32 = 7;

/// Schema version after all migrations ran.
pub(crate) const LATEST_VERSION: u32 = STEPS.len() as u32;

/// Brings the database up to [`LATEST_VERSION`], or refuses a database from
/// a newer release without touching it. Returns the rows of the old
/// `beacons` table when this call dropped it (see [`DROP_BEACONS_VERSION`]).
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<Vec<LegacyBeacon>> {
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
    if found > LATEST_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: LATEST_VERSION,
        });
    }
    let mut legacy = Vec::new();
    if found < DROP_BEACONS_VERSION {
        let before_drop = (DROP_BEACONS_VERSION - 1) as usize;
        migrate_with(conn, path, found, |conn| {
            // Never down: another process may have migrated past it.
            let at: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            if at as usize >= before_drop {
                return Ok(());
            }
            Migrations::from_slice(STEPS).to_version(conn, before_drop)
        })?;
        // Another process may have dropped the table meanwhile: then it
        // took the rows, and there are none left to hand over here.
        legacy = read_legacy_beacons(conn).map_err(|e| StoreError::Migrate {
            path: path.to_owned(),
            message: format!("cannot read the old beacons table: {e}"),
        })?;
    }
    let now: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap_or(found);
    migrate_with(conn, path, now, |conn| {
        Migrations::from_slice(STEPS).to_latest(conn)
    })?;
    Ok(legacy)
}

/// Runs `step`, tolerating a race with another process: two processes
/// opening a new database at once both see the old version and race; the
/// loser's step fails (its table exists) and rolls back. If the version
/// moved on meanwhile, another process migrated: look again, up to a few
/// times.
fn migrate_with(
    conn: &mut Connection,
    path: &Path,
    found: u32,
    step: impl Fn(&mut Connection) -> rusqlite_migration::Result<()>,
) -> Result<()> {
    let mut seen = found;
    for _ in 0..5 {
        match step(conn) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let now: u32 = conn
                    .query_row("PRAGMA user_version", [], |row| row.get(0))
                    .unwrap_or(seen);
                if now == seen {
                    return Err(StoreError::Migrate {
                        path: path.to_owned(),
                        message: e.to_string(),
                    });
                }
                seen = now;
            }
        }
    }
    Err(StoreError::Migrate {
        path: path.to_owned(),
        message: "other processes kept changing the schema".into(),
    })
}

/// Creates an unencrypted database at schema `version`, as a release from
/// before encryption with that schema left it, for tests of old homes.
#[cfg(feature = "test-support")]
pub(crate) fn plaintext_at(path: &Path, version: u32) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    Migrations::from_slice(STEPS)
        .to_version(&mut conn, version as usize)
        .map_err(|e| StoreError::Migrate {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(STEPS).validate().unwrap();
    }

    /// A database of the release before migration 7: its beacon rows are
    /// handed over once, as they were, and the table is gone afterwards.
    #[test]
    fn the_old_beacons_table_is_handed_over_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::DATABASE_FILE);
        {
            let mut conn = Connection::open(&path).unwrap();
            crate::test_unlock(&conn, &path);
            Migrations::from_slice(STEPS)
                .to_version(&mut conn, (DROP_BEACONS_VERSION - 1) as usize)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO beacons VALUES (x'0101', 7, x'07', NULL);
                 INSERT INTO beacons VALUES (x'0101', 5, x'05', x'04');",
            )
            .unwrap();
        }
        let mut store = crate::Store::open(&path, &crate::test_key()).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
        let rows = store.take_legacy_beacons();
        assert_eq!(
            rows.iter()
                .map(|b| (
                    b.chain_hash.clone(),
                    b.round,
                    b.signature.clone(),
                    b.previous.clone()
                ))
                .collect::<Vec<_>>(),
            vec![
                (vec![1, 1], 5, vec![5], Some(vec![4])),
                (vec![1, 1], 7, vec![7], None)
            ]
        );
        assert!(store.take_legacy_beacons().is_empty(), "handed over once");
        drop(store);
        let conn = Connection::open(&path).unwrap();
        crate::test_unlock(&conn, &path);
        assert!(
            read_legacy_beacons(&conn).unwrap().is_empty(),
            "the table is gone"
        );
        drop(conn);
        let mut again = crate::Store::open(&path, &crate::test_key()).unwrap();
        assert!(again.take_legacy_beacons().is_empty());
    }
}
