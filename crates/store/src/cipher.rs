//! Encryption of the database at rest (SQLCipher with a raw 256-bit key),
//! and moving a database from one key to another.
//!
//! SQLCipher 4 encrypts every page (the write-ahead log too) with AES-256
//! and authenticates it with HMAC-SHA512; with a raw key there is no
//! password stretching inside SQLite: the key comes from the node's vault,
//! which stretches passphrases itself. Re-keying never edits the live file:
//! the whole database is exported into a new file under the new key, and the
//! caller swaps the files (see `zks-node`'s vault for the crash-safe order).

use std::fs::{self, File};
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

use crate::{Result, Store, StoreError};

/// The first 16 bytes of every unencrypted SQLite database.
const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The key a database is encrypted with. Never printed, wiped on drop.
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(Zeroizing::new(bytes))
    }

    /// The SQLCipher raw-key literal `x'…'`.
    fn literal(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(67));
        s.push_str("x'");
        for byte in self.0.iter() {
            s.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        s.push('\'');
        s
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

/// True when `path` holds an unencrypted SQLite database (one written by a
/// release before encryption at rest). A missing or short file is not.
pub fn is_plaintext(path: &Path) -> bool {
    let mut header = [0u8; 16];
    File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok_and(|()| &header == PLAINTEXT_HEADER)
}

/// Gives the connection its key; must come before any other statement.
/// A wrong key shows on the first read, as [`StoreError::WrongKey`], and
/// nothing in the file is touched.
pub(crate) fn unlock(conn: &Connection, key: &StoreKey, path: &Path) -> Result<()> {
    conn.pragma_update(None, "key", &*key.literal())
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
        row.get::<_, i64>(0)
    })
    .map(drop)
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::WrongKey {
            path: path.to_owned(),
        },
        _ => StoreError::Open {
            path: path.to_owned(),
            source: e,
        },
    })
}

/// Copies everything `conn` holds (schema, rows, `user_version`) into a new
/// database at `target`, encrypted under `key`, and syncs it to disk. A
/// leftover `target` from an interrupted run is replaced.
fn export(conn: &Connection, target: &Path, key: &StoreKey) -> Result<()> {
    remove_if_present(target)?;
    let version: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let target_text = target.to_str().ok_or_else(|| StoreError::Corrupt {
        what: "database path".into(),
        message: format!("{} is not valid UTF-8", target.display()),
    })?;
    conn.execute(
        "ATTACH DATABASE ?1 AS rekeyed KEY ?2",
        (target_text, &*key.literal()),
    )?;
    let copied = conn
        .query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))
        .and_then(|()| conn.execute_batch(&format!("PRAGMA rekeyed.user_version = {version};")));
    conn.execute_batch("DETACH DATABASE rekeyed")?;
    copied?;
    File::open(target)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(target, &e))
}

/// Encrypts the unencrypted database at `path` under `key`, in place: the
/// encrypted copy is written beside it and renamed over it, so a crash
/// leaves either the old plaintext file or the encrypted one.
pub fn encrypt_plaintext(path: &Path, key: &StoreKey) -> Result<()> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    if !is_plaintext(path) {
        return Err(StoreError::Corrupt {
            what: format!("database {}", path.display()),
            message: "not an unencrypted SQLite database".into(),
        });
    }
    // CREATE lets the attached copy be created; the main file exists.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(open_err)?;
    // Fold the log into the main file so the export sees every commit.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(open_err)?;
    let target = sibling(path, "encrypting");
    export(&conn, &target, key)?;
    drop(conn);
    replace_database(&target, path)
}

impl Store {
    /// Writes a copy of this database encrypted under `key` to `target`
    /// (for a key change; the caller swaps the files while no connection
    /// is open, with [`replace_database`]).
    pub fn export_rekeyed(&self, target: &Path, key: &StoreKey) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        export(&self.conn, target, key)
    }

    /// The install-local key called `name`, created from `fresh` the first
    /// time it is asked for (in one transaction, so two processes agree).
    pub fn local_key(
        &mut self,
        name: &str,
        fresh: impl FnOnce() -> [u8; 32],
    ) -> Result<Zeroizing<[u8; 32]>> {
        self.write(|tx| {
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT key FROM local_keys WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()?;
            let bytes = match stored {
                Some(bytes) => Zeroizing::new(bytes),
                None => {
                    let key = Zeroizing::new(fresh());
                    tx.execute(
                        "INSERT INTO local_keys (name, key) VALUES (?1, ?2)",
                        (name, &key[..]),
                    )?;
                    Zeroizing::new(key.to_vec())
                }
            };
            let key: [u8; 32] = bytes[..].try_into().map_err(|_| StoreError::Corrupt {
                what: format!("local key {name:?}"),
                message: "not 32 bytes".into(),
            })?;
            Ok(Zeroizing::new(key))
        })
    }
}

/// Moves the database file `from` over `to`, first removing `to`'s
/// write-ahead log and shared-memory files (they belong to the old file and
/// must never be replayed onto the new one), then syncing the directory.
/// No connection to `to` may be open.
pub fn replace_database(from: &Path, to: &Path) -> Result<()> {
    for suffix in ["wal", "shm"] {
        remove_if_present(&sibling(to, suffix))?;
    }
    fs::rename(from, to).map_err(|e| io_error(to, &e))?;
    sync_parent(to)
}

/// `<path>-<suffix>`, like SQLite's own `-wal` and `-shm` files.
pub fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-");
    name.push(suffix);
    name.into()
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path, &e)),
    }
}

fn sync_parent(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(parent, &e))
}

fn io_error(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DATABASE_FILE;

    fn key(byte: u8) -> StoreKey {
        StoreKey::from_bytes([byte; 32])
    }

    #[test]
    fn the_file_holds_no_plaintext_and_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        {
            let mut store = Store::open(&path, &key(1)).unwrap();
            store
                .set_setting("marker", "a-very-recognisable-marker")
                .unwrap();
        }
        let mut on_disk = fs::read(&path).unwrap();
        if let Ok(wal) = fs::read(sibling(&path, "wal")) {
            on_disk.extend(wal);
        }
        assert!(!is_plaintext(&path));
        assert!(
            !on_disk
                .windows(b"recognisable".len())
                .any(|w| w == b"recognisable")
        );
        let before = fs::read(&path).unwrap();
        let err = Store::open(&path, &key(2)).unwrap_err();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "a wrong key touched the file"
        );
        let store = Store::open(&path, &key(1)).unwrap();
        assert_eq!(
            store.setting::<String>("marker").unwrap().as_deref(),
            Some("a-very-recognisable-marker")
        );
    }

    #[test]
    fn a_plaintext_database_is_encrypted_in_place_with_everything_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
                 INSERT INTO settings VALUES ('old', '\"kept\"');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        assert!(is_plaintext(&path));
        encrypt_plaintext(&path, &key(7)).unwrap();
        assert!(!is_plaintext(&path));
        assert!(!sibling(&path, "encrypting").exists());
        let store = Store::open(&path, &key(7)).unwrap();
        assert_eq!(
            store.setting::<String>("old").unwrap().as_deref(),
            Some("kept")
        );
        assert_eq!(
            store.schema_version().unwrap(),
            crate::migrations::LATEST_VERSION
        );
    }

    #[test]
    fn an_exported_copy_opens_with_the_new_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let target = sibling(&path, "rekey");
        {
            let mut store = Store::open(&path, &key(1)).unwrap();
            store.set_setting("n", &42).unwrap();
            store.export_rekeyed(&target, &key(9)).unwrap();
        }
        replace_database(&target, &path).unwrap();
        assert!(matches!(
            Store::open(&path, &key(1)).unwrap_err(),
            StoreError::WrongKey { .. }
        ));
        let store = Store::open(&path, &key(9)).unwrap();
        assert_eq!(store.setting::<u32>("n").unwrap(), Some(42));
        assert_eq!(
            store.schema_version().unwrap(),
            crate::migrations::LATEST_VERSION
        );
    }

    #[test]
    fn a_local_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &key(1)).unwrap();
        let first = store.local_key("pads", || [3; 32]).unwrap();
        let again = store
            .local_key("pads", || unreachable!("made twice"))
            .unwrap();
        assert_eq!(*first, [3; 32]);
        assert_eq!(*again, [3; 32]);
        assert_eq!(*store.local_key("other", || [4; 32]).unwrap(), [4; 32]);
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        assert_eq!(format!("{:?}", key(0xab)), "StoreKey(…)");
    }
}
