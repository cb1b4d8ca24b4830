//! The SQLite database of one install: identity, contacts, sessions,
//! messages, transfers, pad ledgers and settings.
//!
//! Owns every SQL statement of the project; nothing else opens the database.
//! Writes run in `BEGIN IMMEDIATE` transactions so that a crash leaves either
//! the old or the new state, never a mix. The file is encrypted with
//! SQLCipher under a [`StoreKey`] (see `cipher`). The beacon cache is not
//! kept here.

mod backup;
mod chains;
mod cipher;
mod contacts;
mod conversation;
mod devices;
mod error;
mod groups;
mod history;
mod identity;
mod mailbox;
mod migrations;
mod outbox;
mod pads;
mod search;
mod settings;
mod transfers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use backup::{
    BACKUP_VERSION, BackupContact, BackupData, BackupGroup, BackupGroupMessage, BackupMessage,
    BackupPad, BackupTimelock, PADS_UNKNOWN_SETTING,
};
pub use chains::LegacyBeacon;
pub use cipher::{StoreKey, encrypt_plaintext, is_plaintext, replace_database, sibling};
pub use contacts::{ContactRecord, NewContact};
pub use conversation::{ConversationChange, Reaction};
pub use devices::{DeviceInvite, SyncedMessage};
pub use error::StoreError;
pub use groups::{
    GroupChange, GroupCopy, GroupMessageRecord, GroupReaction, GroupRecord, NewGroupText,
    PendingCopy,
};
pub use history::{LockedMessage, MessageRecord, NewMessage, Timelock};
pub use identity::NAME_CHOSEN_SETTING;
pub use outbox::OutboxItem;
pub use pads::{PadLedger, PadReceived};
pub use search::{
    MAX_SEARCH_BYTES, MAX_SEARCH_WORDS, SNIPPET_CLOSE, SNIPPET_OPEN, SearchHit, fts_query,
};
pub use transfers::{
    NewTransfer, TransferChange, TransferLock, TransferRecord, TransferState, UnknownTransferState,
};

/// Helpers for tests of other crates (feature `test-support`).
#[cfg(feature = "test-support")]
pub mod test_support {
    use std::path::Path;

    /// Creates an unencrypted database at schema `version`, as a release
    /// from before encryption with that schema left it (the node encrypts
    /// and migrates it on its first start), and returns it open, to fill.
    pub fn plaintext_database_at(path: &Path, version: u32) -> crate::Result<rusqlite::Connection> {
        crate::migrations::plaintext_at(path, version)
    }
}

/// The schema version this release migrates every database to.
pub const SCHEMA_VERSION: u32 = migrations::LATEST_VERSION;

/// Result type of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Unix time now, in seconds, as the database stores it.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "zks.sqlite3";

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open, migrated database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Rows of the old `beacons` table this open dropped, for the node.
    legacy_beacons: Vec<chains::LegacyBeacon>,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` with `key` and
    /// migrates it to the newest schema.
    pub fn open_in(data_dir: &Path, key: &StoreKey) -> Result<Store> {
        Store::open(&data_dir.join(DATABASE_FILE), key)
    }

    /// Opens (creating if needed) the database at `path` with `key` and
    /// migrates it to the newest schema. A wrong key is
    /// [`StoreError::WrongKey`] and leaves the file untouched.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Store> {
        Store::open_inner(path, key).map_err(|e| explain_full(e, path))
    }

    fn open_inner(path: &Path, key: &StoreKey) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        // Before the key check's first read: another process may be
        // creating or migrating the database at this moment.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        cipher::unlock(&conn, key, path)?;
        // WAL lets a running daemon and a short-lived CLI command read and
        // write the same database at once; NORMAL sync is durable in WAL mode
        // across process crashes (only a power loss may drop the last commit).
        let mode = wal_mode(&conn).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal {
                path: path.to_owned(),
                mode,
            });
        }
        // secure_delete: superseded session states, ledgers and message
        // keys are overwritten with zeros when their pages are freed,
        // instead of lingering in the file's free pages.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .map_err(open_err)?;
        // Every statement of a message's path stays prepared (parsing SQL
        // was a sixth of the CPU time of a busy conversation).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let legacy_beacons = migrations::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            legacy_beacons,
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Schema version the database is at (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// Version of the SQLite library linked into this build.
    pub fn sqlite_version() -> &'static str {
        rusqlite::version()
    }

    /// Runs `f` inside a `BEGIN IMMEDIATE` transaction: all of its writes land
    /// together or none do. Inside [`Store::atomically`] it is a savepoint of
    /// that transaction instead, committed with it.
    fn write<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // Our own cached statements rather than rusqlite's transactions,
        // which parse their BEGIN / SAVEPOINT text on every call.
        let outer = self.conn.is_autocommit();
        let (begin, commit) = if outer {
            ("BEGIN IMMEDIATE", "COMMIT")
        } else {
            ("SAVEPOINT write", "RELEASE write")
        };
        let written = (|| {
            self.exec(begin)?;
            match f(&self.conn).and_then(|value| Ok((value, self.exec(commit)?))) {
                Ok((value, ())) => Ok(value),
                Err(e) => {
                    if outer {
                        let _ = self.exec("ROLLBACK");
                    } else {
                        let _ = self.exec("ROLLBACK TO write");
                        let _ = self.exec("RELEASE write");
                    }
                    Err(e)
                }
            }
        })();
        written.map_err(|e| explain_full(e, &self.path))
    }

    /// Runs one statement without results through the statement cache
    /// (transaction control on every message's path).
    fn exec(&self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Runs `f` as one step of the transaction [`Store::atomically`] opened:
    /// on `Err` the step's writes are undone and the transaction goes on,
    /// so one bad item of a batch does not undo the others.
    pub fn savepoint<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.conn.is_autocommit() {
            return Err(
                StoreError::Conflict("a savepoint needs an open transaction".into()).into(),
            );
        }
        self.exec("SAVEPOINT step")
            .map_err(|e| explain_full(e, &self.path))?;
        match f(self) {
            Ok(value) => {
                self.exec("RELEASE step")
                    .map_err(|e| explain_full(e, &self.path))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.exec("ROLLBACK TO step");
                let _ = self.exec("RELEASE step");
                Err(e)
            }
        }
    }

    /// The handle that makes every transaction committed so far (by any
    /// process) survive a power loss ([`Durability::sync`]): commits are
    /// durable across process crashes as soon as they return (WAL,
    /// `synchronous = NORMAL`), and the sync writes the write-ahead log to
    /// the disk. One sync covers any number of commits, so a batch of
    /// messages costs one. Used before sealed bytes leave the device (their
    /// session state or pad reservation must not be lost, or a key or pad
    /// range could be used again) and before a received batch is
    /// acknowledged; the handle lets the sync run without holding the store
    /// (other threads go on sealing and opening; the sync covers every
    /// commit made before it starts).
    pub fn durability(&self) -> Durability {
        Durability {
            db: self.path.clone(),
        }
    }

    /// Runs `f` on this store inside one `BEGIN IMMEDIATE` transaction:
    /// from its first read to its last write no other process or
    /// connection can change the database, so a read-modify-write of a
    /// session state or a pad ledger cannot race another process's. All of
    /// `f`'s writes commit together when it returns `Ok`; on `Err` nothing
    /// is changed. Not reentrant.
    pub fn atomically<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if !self.conn.is_autocommit() {
            return Err(StoreError::Conflict("a transaction is already open".into()).into());
        }
        self.exec("BEGIN IMMEDIATE")
            .map_err(|e| explain_full(e, &self.path))?;
        match f(self) {
            Ok(value) => match self.exec("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.exec("ROLLBACK");
                    Err(explain_full(e, &self.path).into())
                }
            },
            Err(e) => {
                let _ = self.exec("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// The write-ahead log of a store, to make its commits durable
/// ([`Store::durability`]).
#[derive(Debug, Clone)]
pub struct Durability {
    db: PathBuf,
}

impl Durability {
    /// Syncs the write-ahead log to the disk.
    pub fn sync(&self) -> Result<()> {
        let mut wal = self.db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        match std::fs::File::open(&wal) {
            Ok(file) => file.sync_data().map_err(|e| {
                explain_full(
                    StoreError::Io(format!("syncing {}: {e}", wal.display())),
                    &self.db,
                )
            }),
            // No log: everything is in the database file, synced by the
            // checkpoint that removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io(format!("opening {}: {e}", wal.display()))),
        }
    }
}

/// Prepared statements kept per connection (the store has fewer).
const STATEMENT_CACHE: usize = 128;

/// Switches to write-ahead logging. The switch needs the database to
/// itself for a moment and SQLite answers "busy" at once, without its busy
/// handler, while another process is opening the same new database; so
/// this waits and tries again, up to [`BUSY_TIMEOUT`].
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Turns SQLite's "disk is full" and the I/O errors a full disk causes
/// (e.g. growing the shared-memory index) into [`StoreError::DiskFull`],
/// after checking that the disk really is full; other errors pass as they
/// are. SQLite rolls the transaction back, so nothing was changed.
fn explain_full(e: StoreError, path: &Path) -> StoreError {
    let sqlite = match &e {
        StoreError::Sql(s) | StoreError::Open { source: s, .. } => s,
        _ => return e,
    };
    let suspicious = matches!(
        sqlite.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
    );
    if suspicious && disk_is_full(path.parent().unwrap_or(Path::new("."))) {
        return StoreError::DiskFull {
            path: path.to_owned(),
        };
    }
    e
}

/// Whether `dir`'s file system refuses a small write for lack of space.
fn disk_is_full(dir: &Path) -> bool {
    let probe = dir.join(".zks-space-probe");
    let result = std::fs::write(&probe, [0u8; 64 * 1024]);
    let _ = std::fs::remove_file(&probe);
    matches!(result, Err(e) if e.kind() == std::io::ErrorKind::StorageFull)
}

#[cfg(test)]
pub(crate) fn test_key() -> StoreKey {
    StoreKey::from_bytes([5; 32])
}

/// Unlocks a raw connection to a test database with [`test_key`].
#[cfg(test)]
pub(crate) fn test_unlock(conn: &Connection, path: &Path) {
    cipher::unlock(conn, &test_key(), path).unwrap();
}

/// Pairs a test contact named `name` (its PeerId `peer-<name>`) and
/// returns its row id.
#[cfg(test)]
pub(crate) fn test_paired(store: &mut Store, name: &str) -> i64 {
    store
        .complete_pairing(
            name.as_bytes(),
            &test_contact(name, &format!("peer-{name}")),
        )
        .unwrap()
}

/// The steps of SQLite's plan for `sql` run with `params` (the `detail`
/// column of `EXPLAIN QUERY PLAN`), for tests that pin a query's plan.
#[cfg(test)]
pub(crate) fn test_query_plan(
    store: &Store,
    sql: &str,
    params: impl rusqlite::Params,
) -> Vec<String> {
    store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(params, |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A contact to add in tests.
#[cfg(test)]
pub(crate) fn test_contact(name: &str, peer: &str) -> NewContact {
    NewContact {
        name: name.into(),
        peer_id: peer.into(),
        identity_key: vec![1; 32],
        addresses: vec!["/ip4/127.0.0.1/tcp/1".into()],
        safety_code: "00000 11111".into(),
        role: "initiator".into(),
        session_id: peer.as_bytes().to_vec(),
        session: vec![9; 10],
        rendezvous: Some(vec![5; 32]),
        reply: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairings_rendezvous_secret_is_kept_and_replaced_by_a_new_pairing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &test_key()).unwrap();
        let id = store
            .complete_pairing(b"first", &test_contact("bob", "peer-b"))
            .unwrap();
        assert_eq!(
            store.rendezvous_secret(id).unwrap().as_deref(),
            Some(&vec![5u8; 32])
        );
        let again = NewContact {
            rendezvous: Some(vec![6; 32]),
            ..test_contact("bob", "peer-b")
        };
        assert_eq!(store.complete_pairing(b"second", &again).unwrap(), id);
        assert_eq!(
            store.rendezvous_secret(id).unwrap().as_deref(),
            Some(&vec![6u8; 32])
        );
        let legacy = NewContact {
            rendezvous: None,
            ..test_contact("carol", "peer-c")
        };
        let carol = store.complete_pairing(b"third", &legacy).unwrap();
        assert_eq!(store.rendezvous_secret(carol).unwrap(), None);
        assert!(matches!(
            store.rendezvous_secret(9_999),
            Err(StoreError::NotFound(_))
        ));
        // A secret of the wrong length never gets in.
        let bad = NewContact {
            rendezvous: Some(vec![1; 31]),
            ..test_contact("dave", "peer-d")
        };
        assert!(store.complete_pairing(b"fourth", &bad).is_err());
    }

    #[test]
    fn open_creates_a_migrated_wal_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &test_key()).unwrap();
        assert_eq!(store.schema_version().unwrap(), migrations::LATEST_VERSION);
        assert!(dir.path().join(DATABASE_FILE).exists());
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn freed_pages_are_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &test_key()).unwrap();
        let on: i64 = store
            .conn
            .query_row("PRAGMA secure_delete", [], |row| row.get(0))
            .unwrap();
        assert_eq!(on, 1, "superseded session states must not linger");
    }

    #[test]
    fn reopening_keeps_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open_in(dir.path(), &test_key()).unwrap());
        let store = Store::open_in(dir.path(), &test_key()).unwrap();
        assert_eq!(store.schema_version().unwrap(), migrations::LATEST_VERSION);
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            cipher::unlock(&conn, &test_key(), &path).unwrap();
            conn.execute_batch("PRAGMA user_version = 999;").unwrap();
        }
        let err = Store::open(&path, &test_key()).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer"), "{err}");
        let conn = Connection::open(&path).unwrap();
        cipher::unlock(&conn, &test_key(), &path).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 999);
    }

    #[test]
    fn a_file_that_is_not_a_database_gives_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        std::fs::write(
            &path,
            b"this is certainly not an sqlite file, it is much too chatty",
        )
        .unwrap();
        let err = Store::open(&path, &test_key()).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is certainly not an sqlite file, it is much too chatty"
        );
    }
}
