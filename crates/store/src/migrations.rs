//! The schema, as an append-only list of migrations. Never edit a migration
//! that has shipped; add a new one.

use std::path::Path;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::{Result, StoreError};

const STEPS: &[M<'static>] = &[
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
];

/// Schema version after all migrations ran.
pub(crate) const LATEST_VERSION: u32 = STEPS.len() as u32;

/// Brings the database up to [`LATEST_VERSION`], or refuses a database from
/// a newer release without touching it.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
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
    // Two processes opening a new database at once both see the old
    // version and race; the loser's step fails (its table exists) and rolls
    // back. If the version moved on meanwhile, another process migrated:
    // look again, up to a few times.
    let mut seen = found;
    for _ in 0..5 {
        match Migrations::from_slice(STEPS).to_latest(conn) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(STEPS).validate().unwrap();
    }
}
