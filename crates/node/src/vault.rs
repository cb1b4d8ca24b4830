//! The key of a home: everything secret in the data directory is encrypted
//! under one random 256-bit *home key*, and the home key is kept either in
//! the OS keyring or sealed with a passphrase in `key.json`.
//!
//! - The database is encrypted with SQLCipher under a key derived from the
//!   home key; the pad copies under `pads/` are encrypted with a key held in
//!   that database (see `pads.rs`). Nothing secret is written in clear.
//! - A passphrase seals the home key with Argon2id (64 MiB, 3 passes) and
//!   BLAKE3 encrypt-then-MAC: the same sealing as backups
//!   (`zks_pad::backup`). A wrong passphrase is refused before any file is
//!   touched.
//! - Changing the protection (a new passphrase, or keyring ↔ passphrase)
//!   *rotates* the home key: the database is exported under a fresh key and
//!   swapped in, so an old `key.json` with an old passphrase opens nothing
//!   written afterwards.
//!
//! Crash safety of a key change: the new database is written to
//! `zks.sqlite3-rekey`, then the new key file to `key.json.new`; renaming
//! the database over the old one is the commit point, after which
//! `key.json.new` replaces `key.json`. On the next start, a leftover
//! `key.json.new` without `zks.sqlite3-rekey` means the commit happened (the
//! key file is moved into place); with it, the change is rolled back
//! (`key.json.new` first, then the database copy).
//!
//! Processes: every open node holds a shared lock on `home.lock`; a key
//! change needs it exclusively (no other process may have the database
//! open, or it would keep writing to the replaced file). `rekey.lock`, taken
//! exclusively by a key change and shared by a starting node, keeps new
//! nodes out while the lock is being upgraded.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;
use zks_store::{DATABASE_FILE, Store, StoreKey};

use crate::{DataDir, Node, NodeError};

/// The key file in the data directory.
pub const KEY_FILE: &str = "key.json";
/// Environment variable with the passphrase for headless use.
pub const PASSPHRASE_ENV: &str = "ZKS_PASSPHRASE";
/// Test-only: seal new key files with a cheap Argon2id (256 KiB, 1 pass)
/// so that test suites that start hundreds of processes stay fast. Read
/// only by debug builds (the test builds); a release binary never looks at
/// it, so no environment variable can weaken a real user's home. The cost
/// is recorded in the key file and shown by `zks status`.
pub const WEAK_KDF_ENV: &str = "ZKS_TEST_WEAK_KDF";
/// Shortest passphrase accepted for a home.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

const KEY_FILE_VERSION: u32 = 1;
const KEYRING_SERVICE: &str = "org.zks.entropy-grid";
const STORE_KEY_CONTEXT: &str = "ZKS Entropy Grid 2026-11 database key v1";

/// How a home key is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyProtection {
    /// Sealed with a passphrase in `key.json`.
    Passphrase,
    /// Kept in the OS keyring (Secret Service, macOS Keychain, Windows
    /// Credential Manager); `key.json` only names the entry.
    Keyring,
}

/// What opens (or, for a new home, protects) a home.
#[derive(Clone)]
pub enum Unlock {
    /// A passphrase.
    Passphrase(Zeroizing<String>),
    /// The OS keyring of the logged-in user.
    Keyring,
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unlock::Passphrase(_) => f.write_str("Unlock::Passphrase(…)"),
            Unlock::Keyring => f.write_str("Unlock::Keyring"),
        }
    }
}

impl Unlock {
    /// A passphrase from a string.
    pub fn passphrase(phrase: impl Into<String>) -> Unlock {
        Unlock::Passphrase(Zeroizing::new(phrase.into()))
    }

    /// The passphrase in `ZKS_PASSPHRASE`, if set and not empty.
    pub fn from_env() -> Option<Unlock> {
        std::env::var(PASSPHRASE_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Unlock::passphrase)
    }

    fn protection(&self) -> KeyProtection {
        match self {
            Unlock::Passphrase(_) => KeyProtection::Passphrase,
            Unlock::Keyring => KeyProtection::Keyring,
        }
    }
}

/// The state of a home's key, readable without unlocking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "protection", rename_all = "snake_case")]
pub enum VaultState {
    /// No database yet: the first start creates the key.
    New,
    /// A database from a release before encryption at rest; the first
    /// start encrypts it under a new key.
    Unencrypted,
    /// Encrypted; opens with this protection.
    Protected(KeyProtection),
}

/// What `key.json` holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    protection: KeyProtection,
    /// The home key sealed with the passphrase (hex), for `passphrase`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    /// The keyring entry's account name, for `keyring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
}

/// The random key everything secret in a home hangs off.
pub(crate) struct HomeKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for HomeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HomeKey(…)")
    }
}

impl HomeKey {
    fn generate(rng: &mut (impl RngCore + CryptoRng)) -> HomeKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut key[..]);
        HomeKey(key)
    }

    fn store_key(&self) -> StoreKey {
        StoreKey::from_bytes(blake3::derive_key(STORE_KEY_CONTEXT, &self.0[..]))
    }
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

fn new_key_path(dir: &Path) -> PathBuf {
    dir.join(format!("{KEY_FILE}.new"))
}

fn rekey_db_path(dir: &Path) -> PathBuf {
    zks_store::sibling(&dir.join(DATABASE_FILE), "rekey")
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> NodeError {
    NodeError::Io(format!("cannot {what} {}: {e}", path.display()))
}

/// Tells what opening the home at `dir` will need, without unlocking it.
pub fn vault_state(dir: &DataDir) -> Result<VaultState, NodeError> {
    let rekey = lock_file(dir.path(), REKEY_LOCK)?;
    rekey
        .lock_shared()
        .map_err(|e| io_err("lock", &dir.path().join(REKEY_LOCK), &e))?;
    recover_key_change(dir.path())?;
    state_of(dir.path())
}

fn state_of(dir: &Path) -> Result<VaultState, NodeError> {
    let db = dir.join(DATABASE_FILE);
    if key_path(dir).exists() {
        return Ok(VaultState::Protected(
            read_key_file(&key_path(dir))?.protection,
        ));
    }
    if !db.exists() || fs::metadata(&db).is_ok_and(|m| m.len() == 0) {
        return Ok(VaultState::New);
    }
    if zks_store::is_plaintext(&db) {
        return Ok(VaultState::Unencrypted);
    }
    Err(NodeError::Locked(format!(
        "the key file {} is missing, so the encrypted database {} cannot be opened; \
         restore key.json from where it was copied, or restore a backup into a new home",
        key_path(dir).display(),
        db.display()
    )))
}

fn read_key_file(path: &Path) -> Result<KeyFile, NodeError> {
    let text = fs::read_to_string(path).map_err(|e| io_err("read the key file", path, &e))?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| {
        NodeError::Locked(format!("the key file {} is damaged: {e}", path.display()))
    })?;
    if file.version != KEY_FILE_VERSION {
        return Err(NodeError::Locked(format!(
            "the key file {} has version {}, which this release does not know",
            path.display(),
            file.version
        )));
    }
    Ok(file)
}

/// Writes `file` to `path` through a temporary file and a rename, synced.
fn write_key_file(path: &Path, file: &KeyFile) -> Result<(), NodeError> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_vec_pretty(file).map_err(|e| NodeError::Io(e.to_string()))?;
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        std::io::Write::write_all(&mut f, &text)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
    })();
    written.map_err(|e| io_err("write the key file", path, &e))
}

fn kdf_cost() -> (u32, u32) {
    if cfg!(debug_assertions) && std::env::var(WEAK_KDF_ENV).is_ok_and(|v| v == "1") {
        (256, 1)
    } else {
        (zks_pad::backup::M_KIB, zks_pad::backup::T)
    }
}

fn check_new_passphrase(phrase: &str) -> Result<(), NodeError> {
    if phrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(NodeError::BadInput(format!(
            "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Protects `key` as `unlock` says and returns the key file describing it
/// (for the keyring: under a fresh account name, so that an old entry stays
/// valid until a key change commits).
fn protect(
    key: &HomeKey,
    unlock: &Unlock,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<KeyFile, NodeError> {
    match unlock {
        Unlock::Passphrase(phrase) => {
            check_new_passphrase(phrase)?;
            let (m, t) = kdf_cost();
            let sealed = zks_pad::backup::seal_with(phrase.as_bytes(), &key.0[..], rng, m, t, 1)
                .map_err(|e| NodeError::BadInput(e.to_string()))?;
            Ok(KeyFile {
                version: KEY_FILE_VERSION,
                protection: KeyProtection::Passphrase,
                sealed: Some(hex::encode(sealed)),
                account: None,
            })
        }
        Unlock::Keyring => {
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            let account = format!("home-{}", hex::encode(id));
            keyring_entry(&account)?
                .set_secret(&key.0[..])
                .map_err(no_keyring)?;
            Ok(KeyFile {
                version: KEY_FILE_VERSION,
                protection: KeyProtection::Keyring,
                sealed: None,
                account: Some(account),
            })
        }
    }
}

/// Recovers the home key from `file` with `unlock`.
fn recover(file: &KeyFile, unlock: &Unlock) -> Result<HomeKey, NodeError> {
    let bytes: Zeroizing<Vec<u8>> = match (file.protection, unlock) {
        (KeyProtection::Passphrase, Unlock::Passphrase(phrase)) => {
            let sealed = hex::decode(file.sealed.as_deref().unwrap_or_default())
                .map_err(|_| NodeError::Locked("the key file's sealed key is damaged".into()))?;
            zks_pad::backup::open(phrase.as_bytes(), &sealed).map_err(|e| match e {
                zks_pad::backup::BackupError::WrongPassphrase => NodeError::WrongPassphrase,
                other => NodeError::Locked(format!("the key file cannot be opened: {other}")),
            })?
        }
        (KeyProtection::Keyring, Unlock::Keyring) => {
            let account = file.account.as_deref().unwrap_or_default();
            Zeroizing::new(keyring_entry(account)?.get_secret().map_err(|e| match e {
                keyring::Error::NoEntry => NodeError::Locked(format!(
                    "the OS keyring has no key for this home (entry {account}); \
                             restore a backup into a new home"
                )),
                other => no_keyring(other),
            })?)
        }
        (KeyProtection::Passphrase, Unlock::Keyring) => {
            return Err(NodeError::Locked(
                "this home is locked with a passphrase; give it (ZKS_PASSPHRASE, or the prompt)"
                    .into(),
            ));
        }
        (KeyProtection::Keyring, Unlock::Passphrase(_)) => {
            return Err(NodeError::Locked(
                "this home's key is in the OS keyring, not behind a passphrase; unset ZKS_PASSPHRASE"
                    .into(),
            ));
        }
    };
    let key: [u8; 32] = bytes[..]
        .try_into()
        .map_err(|_| NodeError::Locked("the stored home key is not 32 bytes".into()))?;
    Ok(HomeKey(Zeroizing::new(key)))
}

/// Whether the OS keyring can keep a home key here. On Linux and the BSDs
/// that needs a session bus; without one (a server, a container, a test
/// run) the answer is no, rather than a D-Bus autolaunch.
pub fn keyring_available() -> bool {
    if no_session_bus() {
        return false;
    }
    keyring::Entry::new(KEYRING_SERVICE, "availability-probe")
        .is_ok_and(|entry| matches!(entry.get_secret(), Ok(_) | Err(keyring::Error::NoEntry)))
}

/// Where the keyring is the Secret Service, whether there is no session
/// bus to reach it on (asking anyway would autolaunch D-Bus).
fn no_session_bus() -> bool {
    cfg!(all(unix, not(target_os = "macos")))
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
}

fn keyring_entry(account: &str) -> Result<keyring::Entry, NodeError> {
    keyring::Entry::new(KEYRING_SERVICE, account).map_err(no_keyring)
}

#[allow(clippy::needless_pass_by_value)] // the shape `map_err` wants
fn no_keyring(e: keyring::Error) -> NodeError {
    NodeError::NoKeyring(e.to_string())
}

/// Removes the keyring entry `file` names, if any: a key that protects
/// nothing (a change rolled back, or the old key after one committed) must
/// not stay behind in the keyring. Failing to remove it is logged, not an
/// error: the home is consistent either way.
fn forget_keyring_entry(file: &KeyFile) {
    let (KeyProtection::Keyring, Some(account)) = (file.protection, &file.account) else {
        return;
    };
    if no_session_bus() {
        tracing::warn!("cannot remove the keyring entry {account}: no session bus");
        return;
    }
    match keyring_entry(account).and_then(|e| match e.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(other) => Err(no_keyring(other)),
    }) {
        Ok(()) => tracing::info!("removed the keyring entry {account}"),
        Err(e) => tracing::warn!("cannot remove the keyring entry {account}: {e}"),
    }
}

const HOME_LOCK: &str = "home.lock";
const REKEY_LOCK: &str = "rekey.lock";

/// The shared lock on `home.lock` an open node holds (see the module docs).
#[derive(Debug)]
pub(crate) struct HomeLock {
    home: File,
}

impl HomeLock {
    /// Runs `f` while this process is the only one with the home open.
    fn exclusive<T>(
        &self,
        dir: &Path,
        f: impl FnOnce() -> Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        let busy = || {
            NodeError::Busy(
                "another program has this home open (the app, `zks daemon` or another zks \
                 command); close it and try again"
                    .into(),
            )
        };
        let rekey = lock_file(dir, REKEY_LOCK)?;
        rekey.try_lock().map_err(|_| busy())?;
        // Release our shared lock, then try for the exclusive one (a lock is
        // not upgraded in place everywhere); with rekey.lock held no one
        // else can take home.lock exclusively meanwhile.
        self.home
            .unlock()
            .map_err(|e| io_err("unlock", &dir.join(HOME_LOCK), &e))?;
        let result = match self.home.try_lock() {
            Ok(()) => f(),
            Err(_) => Err(busy()),
        };
        self.home
            .lock_shared()
            .map_err(|e| io_err("lock", &dir.join(HOME_LOCK), &e))?;
        drop(rekey);
        result
    }
}

/// Trades a shared lock on `file` for an exclusive one, waiting for it
/// (released first: a lock is not upgraded in place on every platform).
fn exclusively(file: &File) -> std::io::Result<()> {
    file.unlock()?;
    file.lock()
}

fn lock_file(dir: &Path, name: &str) -> Result<File, NodeError> {
    let path = dir.join(name);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_err("open", &path, &e))
}

/// Finishes or rolls back a key change that a crash interrupted.
fn recover_key_change(dir: &Path) -> Result<(), NodeError> {
    let new_key = new_key_path(dir);
    let rekey_db = rekey_db_path(dir);
    let gone = |r: std::io::Result<()>, path: &Path| match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", path, &e)),
        _ => Ok(()),
    };
    if rekey_db.exists() {
        // Not committed: the old database and key file still go together,
        // and a key the change put into the keyring protects nothing.
        if let Ok(staged) = read_key_file(&new_key) {
            let current = read_key_file(&key_path(dir)).ok();
            if current.is_none_or(|c| c.account != staged.account) {
                forget_keyring_entry(&staged);
            }
        }
        gone(fs::remove_file(&new_key), &new_key)?;
        gone(fs::remove_file(&rekey_db), &rekey_db)?;
        tracing::warn!("rolled back an interrupted key change");
    } else if new_key.exists() {
        match fs::rename(&new_key, key_path(dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err("finish the key change of", dir, &e));
            }
            _ => tracing::warn!("finished an interrupted key change"),
        }
    }
    Ok(())
}

/// Opens the database of the home at `dir` with `unlock`: creates the key
/// for a new home, encrypts a database from before encryption at rest, and
/// refuses a wrong passphrase before touching anything.
pub(crate) fn open_home(
    dir: &Path,
    unlock: &Unlock,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Store, HomeKey, HomeLock), NodeError> {
    let lock_err = |name: &str, e: std::io::Error| io_err("lock", &dir.join(name), &e);
    let rekey = lock_file(dir, REKEY_LOCK)?;
    rekey.lock_shared().map_err(|e| lock_err(REKEY_LOCK, e))?;
    recover_key_change(dir)?;
    let db = dir.join(DATABASE_FILE);
    let mut created = None;
    if matches!(state_of(dir)?, VaultState::New | VaultState::Unencrypted) {
        // Two processes starting a new home at once must not make two keys:
        // one at a time, and the second finds the first one's key file.
        exclusively(&rekey).map_err(|e| lock_err(REKEY_LOCK, e))?;
        let state = state_of(dir)?;
        if matches!(state, VaultState::New | VaultState::Unencrypted) {
            // The key file first: a crash before the database is encrypted
            // leaves a key that finishes the job on the next start.
            let key = HomeKey::generate(rng);
            let file = protect(&key, unlock, rng)?;
            write_key_file(&key_path(dir), &file).inspect_err(|_| forget_keyring_entry(&file))?;
            created = Some(key);
        }
    }
    let key = match created {
        Some(key) => key,
        None => recover(&read_key_file(&key_path(dir))?, unlock)?,
    };
    if zks_store::is_plaintext(&db) {
        exclusively(&rekey).map_err(|e| lock_err(REKEY_LOCK, e))?;
        if zks_store::is_plaintext(&db) {
            zks_store::encrypt_plaintext(&db, &key.store_key())?;
            tracing::info!("encrypted the database of an older release");
        }
    }
    let home = lock_file(dir, HOME_LOCK)?;
    home.lock_shared().map_err(|e| lock_err(HOME_LOCK, e))?;
    drop(rekey);
    let store = Store::open(&db, &key.store_key()).map_err(|e| match e {
        zks_store::StoreError::WrongKey { .. } => NodeError::Locked(format!(
            "the key in {} does not open the database {}; they do not belong together",
            key_path(dir).display(),
            db.display()
        )),
        other => other.into(),
    })?;
    Ok((store, key, HomeLock { home }))
}

/// What [`Node::change_protection`] did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyChange {
    /// The new protection.
    pub protection: KeyProtection,
}

impl Node {
    fn home_key(&self) -> std::sync::MutexGuard<'_, HomeKey> {
        self.inner
            .home_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How this home's key is protected.
    pub fn key_protection(&self) -> Result<KeyProtection, NodeError> {
        Ok(read_key_file(&key_path(self.data_dir().path()))?.protection)
    }

    /// Checks `current` against the key file, then protects the home with
    /// `new` under a fresh home key: the database is re-encrypted and
    /// swapped in (see the module docs for the crash-safe order). Refused
    /// while another process has the home open.
    pub fn change_protection(
        &self,
        current: &Unlock,
        new: &Unlock,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<KeyChange, NodeError> {
        let dir = self.data_dir().path().to_owned();
        let old_file = read_key_file(&key_path(&dir))?;
        let old_key = recover(&old_file, current)?;
        if !bool::from(old_key.0[..].ct_eq(&self.home_key().0[..])) {
            return Err(NodeError::Locked(
                "the key file changed under this running node; restart it".into(),
            ));
        }
        if let Unlock::Passphrase(p) = new {
            check_new_passphrase(p)?;
        }
        let db = dir.join(DATABASE_FILE);
        let rekey_db = rekey_db_path(&dir);
        let new_key = HomeKey::generate(rng);
        let lock = self
            .inner
            .home_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lock = lock.as_ref().ok_or(NodeError::Stopped)?;
        lock.exclusive(&dir, || {
            let mut guard = self.store_guard();
            let store = guard.take().ok_or(NodeError::Stopped)?;
            let staged = store
                .export_rekeyed(&rekey_db, &new_key.store_key())
                .map_err(NodeError::from)
                .and_then(|()| protect(&new_key, new, rng))
                .and_then(|file| {
                    write_key_file(&new_key_path(&dir), &file)
                        .inspect_err(|_| forget_keyring_entry(&file))
                });
            if let Err(e) = staged {
                let _ = fs::remove_file(new_key_path(&dir));
                let _ = fs::remove_file(&rekey_db);
                *guard = Some(store);
                return Err(e);
            }
            drop(store);
            // The commit point: from here on the new key opens the home.
            zks_store::replace_database(&rekey_db, &db)?;
            recover_key_change(&dir)?;
            *guard = Some(Store::open(&db, &new_key.store_key())?);
            Ok(())
        })?;
        *self.home_key() = new_key;
        forget_keyring_entry(&old_file);
        tracing::info!(protection = ?new.protection(), "home key rotated");
        Ok(KeyChange {
            protection: new.protection(),
        })
    }
}

#[cfg(test)]
mod tests;
