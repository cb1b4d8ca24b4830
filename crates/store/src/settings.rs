//! Key–value settings stored as JSON.

use rusqlite::OptionalExtension;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, Store, StoreError};

impl Store {
    /// Reads a setting; `None` when it was never set.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let raw: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        raw.map(|text| {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                what: format!("setting {key:?}"),
                message: e.to_string(),
            })
        })
        .transpose()
    }

    /// Writes a setting, replacing any earlier value.
    pub fn set_setting<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
            what: format!("setting {key:?}"),
            message: e.to_string(),
        })?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute((key, text))?;
            Ok(())
        })
    }

    /// Removes a setting (nothing happens if it was never set).
    pub fn delete_setting(&mut self, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM settings WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn settings_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
            assert_eq!(store.setting::<String>("name").unwrap(), None);
            store.set_setting("name", "Alice").unwrap();
            store.set_setting("name", "Alice B.").unwrap();
            store.set_setting("caps", &[1u64, 2, 3]).unwrap();
        }
        let store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        assert_eq!(
            store.setting::<String>("name").unwrap().as_deref(),
            Some("Alice B.")
        );
        assert_eq!(
            store.setting::<Vec<u64>>("caps").unwrap(),
            Some(vec![1, 2, 3])
        );
    }

    #[test]
    fn a_setting_of_the_wrong_type_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        store.set_setting("name", "Alice").unwrap();
        let err = store.setting::<u64>("name").unwrap_err();
        assert!(err.to_string().contains("setting \"name\""), "{err}");
    }
}
