//! Tests of the home key: sealing, opening, key changes, the keyring and
//! mutated key files.

use super::*;
use crate::NodeConfig;

async fn start(dir: &Path, unlock: Unlock) -> Result<Node, NodeError> {
    Node::start(NodeConfig {
        data_dir: DataDir::at(dir).unwrap(),
        unlock,
    })
    .await
}

use zks_testkit::snapshot;

/// A tiny deterministic generator for the key-file fuzzing (xorshift):
/// the cases reproduce, and no RNG crate is needed here.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// `key.json` documents of a passphrase-protected home with one or two
/// fields changed (version, protection, the sealed key's hex, its
/// Argon2 costs and bytes, an account, an unknown field, a byte of the
/// text), read and opened with the right and a wrong passphrase: most
/// get past serde to the checks behind it, and none panics; only the
/// untouched key opens. `ZKS_SOAK=N` for N times the cases.
#[test]
fn mutated_key_files_are_refused_or_open_and_never_panic() {
    let soak = u64::from(zks_testkit::soak());
    let phrase = "correct passphrase";
    // Cheap Argon2 costs keep a case fast; the format is the same.
    let sealed =
        zks_pad::backup::seal_with(phrase.as_bytes(), &[9; 32], &mut rand_core::OsRng, 64, 1, 1)
            .unwrap();
    let good = serde_json::json!({
        "version": KEY_FILE_VERSION,
        "protection": "passphrase",
        "sealed": hex::encode(&sealed),
    });
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("key.json");
    let mut g = Xorshift(0x9e37_79b9_7f4a_7c15);
    let (cases, mut reached, mut opened) = (300 * soak, 0, 0);
    for _ in 0..cases {
        let mut doc = good.clone();
        let mut bytes = sealed.clone();
        let mut text_flip = None;
        for _ in 0..=g.below(2) {
            // Most changes are to the sealed key, behind serde.
            match g.below(24) {
                0 => doc["version"] = [0, 2, u64::MAX][g.below(3) as usize].into(),
                1 => {
                    doc["protection"] = ["keyring", "Passphrase", ""][g.below(3) as usize].into();
                }
                2 => doc["account"] = "home-00".into(),
                3 => doc["extra"] = 1.into(),
                4 => text_flip = Some((g.below(1 << 16) as usize, g.below(256) as u8)),
                5..=7 if bytes.len() < 13 => {}
                5 => bytes[4..8].copy_from_slice(
                    &[0u32, 8, 63, 65, 1 << 21][g.below(5) as usize].to_be_bytes(),
                ),
                6 => {
                    bytes[8..12].copy_from_slice(&[0u32, 2, 17][g.below(3) as usize].to_be_bytes());
                }
                7 => bytes[12] = [0u8, 2, 17][g.below(3) as usize],
                8 => bytes.truncate(g.below(bytes.len() as u64) as usize),
                _ if bytes.is_empty() => {}
                _ => {
                    let i = g.below(bytes.len() as u64) as usize;
                    bytes[i] ^= 1 + g.below(255) as u8;
                }
            }
        }
        let mut hex_text = hex::encode(&bytes);
        match g.below(16) {
            0 => hex_text.push('0'),
            1 => hex_text = hex_text.to_uppercase(),
            2 if !hex_text.is_empty() => hex_text.replace_range(0..1, "g"),
            _ => {}
        }
        doc["sealed"] = hex_text.into();
        let mut text = serde_json::to_vec_pretty(&doc).unwrap();
        if let Some((at, b)) = text_flip {
            let i = at % text.len();
            text[i] = b;
        }
        fs::write(&path, &text).unwrap();
        let file = match read_key_file(&path) {
            Ok(file) => file,
            // The version is checked behind serde.
            Err(e) if e.to_string().contains("which this release does not know") => {
                reached += 1;
                continue;
            }
            Err(_) => continue,
        };
        reached += 1;
        let _ = recover(&file, &Unlock::passphrase("wrong passphrase"));
        if let Ok(key) = recover(&file, &Unlock::passphrase(phrase)) {
            assert_eq!(*key.0, [9; 32]);
            assert_eq!(bytes, sealed, "only the untouched key opens");
            opened += 1;
        }
    }
    let fraction = reached as f64 / cases as f64;
    println!(
        "reach key file: {reached}/{cases} cases ({:.1}%) got past serde to the checks, {opened} opened",
        100.0 * fraction
    );
    assert!(fraction >= 0.8);
}

#[tokio::test]
async fn a_home_opens_with_its_passphrase_only_and_a_wrong_one_touches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start(tmp.path(), Unlock::passphrase("first passphrase"))
        .await
        .unwrap();
    let me = node.whoami().unwrap();
    node.stop().await;
    drop(node);
    assert_eq!(
        vault_state(&DataDir::at(tmp.path()).unwrap()).unwrap(),
        VaultState::Protected(KeyProtection::Passphrase)
    );
    assert!(!zks_store::is_plaintext(&tmp.path().join(DATABASE_FILE)));
    let before = snapshot(tmp.path());
    let err = start(tmp.path(), Unlock::passphrase("wrong passphrase"))
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::WrongPassphrase), "{err}");
    assert_eq!(err.code(), "wrong_passphrase");
    let err = start(tmp.path(), Unlock::Keyring).await.unwrap_err();
    assert_eq!(err.code(), "locked", "{err}");
    assert_eq!(
        snapshot(tmp.path()),
        before,
        "a failed unlock changed files"
    );
    let node = start(tmp.path(), Unlock::passphrase("first passphrase"))
        .await
        .unwrap();
    assert_eq!(node.whoami().unwrap(), me);
}

#[tokio::test]
async fn a_new_passphrase_rotates_the_key_and_the_old_one_opens_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let old = Unlock::passphrase("first passphrase");
    let new = Unlock::passphrase("second passphrase");
    let node = start(tmp.path(), old.clone()).await.unwrap();
    let me = node.whoami().unwrap();
    let old_key_file = fs::read(tmp.path().join(KEY_FILE)).unwrap();
    let old_db = fs::read(tmp.path().join(DATABASE_FILE)).unwrap();
    // A wrong current passphrase and a short new one change nothing.
    let err = node
        .change_protection(
            &Unlock::passphrase("not it at all"),
            &new,
            &mut rand_core::OsRng,
        )
        .unwrap_err();
    assert_eq!(err.code(), "wrong_passphrase");
    let err = node
        .change_protection(&old, &Unlock::passphrase("short"), &mut rand_core::OsRng)
        .unwrap_err();
    assert_eq!(err.code(), "bad_input");
    assert_eq!(fs::read(tmp.path().join(KEY_FILE)).unwrap(), old_key_file);
    // A second open handle (as another process would be) blocks it.
    let other = start(tmp.path(), old.clone()).await.unwrap();
    let err = node
        .change_protection(&old, &new, &mut rand_core::OsRng)
        .unwrap_err();
    assert_eq!(err.code(), "busy", "{err}");
    other.stop().await;
    drop(other);

    node.change_protection(&old, &new, &mut rand_core::OsRng)
        .unwrap();
    // The running node goes on with the new database.
    assert_eq!(node.whoami().unwrap(), me);
    let seeding = !node.settings().unwrap().seeding;
    node.set_seeding(seeding).unwrap();
    node.stop().await;
    drop(node);
    assert!(!tmp.path().join(format!("{KEY_FILE}.new")).exists());
    assert!(!rekey_db_path(tmp.path()).exists());
    let err = start(tmp.path(), old.clone()).await.unwrap_err();
    assert_eq!(err.code(), "wrong_passphrase");
    let node = start(tmp.path(), new.clone()).await.unwrap();
    assert_eq!(node.whoami().unwrap(), me);
    assert_eq!(node.settings().unwrap().seeding, seeding);
    node.stop().await;
    drop(node);
    // The old key file with the old passphrase does not open the new
    // database: the key itself was rotated, not just re-wrapped.
    let copy = tempfile::tempdir().unwrap();
    fs::write(copy.path().join(KEY_FILE), &old_key_file).unwrap();
    fs::copy(
        tmp.path().join(DATABASE_FILE),
        copy.path().join(DATABASE_FILE),
    )
    .unwrap();
    let err = start(copy.path(), old).await.unwrap_err();
    assert_eq!(err.code(), "locked", "{err}");
    assert_ne!(fs::read(tmp.path().join(DATABASE_FILE)).unwrap(), old_db);
}

#[tokio::test]
async fn an_interrupted_key_change_is_rolled_back_or_finished_on_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let old = Unlock::passphrase("first passphrase");
    let new = Unlock::passphrase("second passphrase");
    let node = start(dir, old.clone()).await.unwrap();
    let me = node.whoami().unwrap();
    node.stop().await;
    drop(node);

    // Crash before the commit: a half-written copy and a new key file.
    fs::write(rekey_db_path(dir), b"half an export").unwrap();
    fs::copy(dir.join(KEY_FILE), new_key_path(dir)).unwrap();
    let node = start(dir, old.clone()).await.unwrap();
    assert_eq!(node.whoami().unwrap(), me);
    assert!(!rekey_db_path(dir).exists() && !new_key_path(dir).exists());

    // Crash after the commit, before the key file moved: finish it.
    let old_key_file = fs::read(dir.join(KEY_FILE)).unwrap();
    node.change_protection(&old, &new, &mut rand_core::OsRng)
        .unwrap();
    node.stop().await;
    drop(node);
    fs::rename(dir.join(KEY_FILE), new_key_path(dir)).unwrap();
    fs::write(dir.join(KEY_FILE), old_key_file).unwrap();
    let node = start(dir, new).await.unwrap();
    assert_eq!(node.whoami().unwrap(), me);
    assert!(!new_key_path(dir).exists());
}

#[tokio::test]
async fn a_database_from_before_encryption_is_encrypted_on_first_start() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join(DATABASE_FILE);
    {
        let conn = rusqlite_plain(&db);
        conn.execute_batch(
            "CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
             INSERT INTO settings VALUES ('app', '{\"seeding\": true}');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    assert_eq!(
        vault_state(&DataDir::at(tmp.path()).unwrap()).unwrap(),
        VaultState::Unencrypted
    );
    let node = start(tmp.path(), Unlock::passphrase("first passphrase"))
        .await
        .unwrap();
    assert!(node.settings().unwrap().seeding);
    assert!(!zks_store::is_plaintext(&db));
    assert!(!fs::read(&db).unwrap().windows(7).any(|w| w == b"seeding"));
    assert_eq!(node.key_protection().unwrap(), KeyProtection::Passphrase);
}

#[tokio::test]
async fn a_missing_or_damaged_key_file_is_a_clear_error_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = start(tmp.path(), Unlock::passphrase("first passphrase"))
        .await
        .unwrap();
    node.stop().await;
    drop(node);
    let key_file = tmp.path().join(KEY_FILE);
    let original = fs::read(&key_file).unwrap();
    for bad in [
        &b"{not json"[..],
        br#"{"version":9,"protection":"passphrase"}"#,
    ] {
        fs::write(&key_file, bad).unwrap();
        let before = snapshot(tmp.path());
        let err = start(tmp.path(), Unlock::passphrase("first passphrase"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "locked", "{err}");
        assert_eq!(snapshot(tmp.path()), before);
    }
    fs::remove_file(&key_file).unwrap();
    let err = start(tmp.path(), Unlock::passphrase("first passphrase"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key file"), "{err}");
    assert!(
        !key_file.exists(),
        "no new key is made for an existing database"
    );
    fs::write(&key_file, original).unwrap();
    assert!(
        start(tmp.path(), Unlock::passphrase("first passphrase"))
            .await
            .is_ok()
    );
}

/// An unencrypted database, as releases before encryption wrote.
fn rusqlite_plain(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}
