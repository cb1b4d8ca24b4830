//! This install's own identity (seed and display name) and the invites it
//! made: their pending secrets until a reply arrives, and which were used.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store, now};

/// The setting that records that the person chose their display name (an
/// identity is created with an empty one; the app asks at first start).
pub const NAME_CHOSEN_SETTING: &str = "display_name_chosen";

impl Store {
    /// The identity seed and display name, if one was created.
    pub fn identity(&self) -> Result<Option<(Vec<u8>, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT seed, name FROM identity WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Stores the identity unless one exists; returns the stored one.
    pub fn create_identity(&mut self, seed: &[u8], name: &str) -> Result<(Vec<u8>, String)> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO identity (id, seed, name, created_at) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![seed, name, now()])?;
            Ok(tx
                .prepare_cached("SELECT seed, name FROM identity WHERE id = 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })
    }

    /// Changes the display name shown in new invites and replies, and
    /// records that the person chose it ([`NAME_CHOSEN_SETTING`]), in one
    /// transaction. Does nothing before an identity exists.
    pub fn set_display_name(&mut self, name: &str) -> Result<()> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE identity SET name = ?1 WHERE id = 1")?
                .execute([name])?;
            if changed == 1 {
                tx.prepare_cached(
                    "INSERT INTO settings (key, value) VALUES (?1, 'true')
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute([NAME_CHOSEN_SETTING])?;
            }
            Ok(())
        })
    }

    /// Whether the person chose the display name ([`Self::set_display_name`]).
    pub fn display_name_chosen(&self) -> Result<bool> {
        Ok(self.setting::<bool>(NAME_CHOSEN_SETTING)?.unwrap_or(false))
    }

    /// Keeps an invite's secrets until its reply arrives.
    pub fn add_pending_invite(
        &mut self,
        invite_hash: &[u8],
        state: &[u8],
        expires_at: u64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO pending_invites (invite_hash, state, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![invite_hash, state, expires_at as i64, now()])?;
            Ok(())
        })
    }

    /// The secrets of the pending invite with this hash, with its expiry.
    pub fn pending_invite(&self, invite_hash: &[u8]) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state, expires_at FROM pending_invites WHERE invite_hash = ?1")?
            .query_row([invite_hash], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })
            .optional()?)
    }

    /// Whether a pairing already used the invite with this hash.
    pub fn invite_used(&self, invite_hash: &[u8]) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM used_invites WHERE invite_hash = ?1")?
            .query_row([invite_hash], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn the_display_name_counts_as_chosen_once_set_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
            // Before an identity exists, setting a name changes nothing.
            store.set_display_name("Early").unwrap();
            assert!(!store.display_name_chosen().unwrap());
            store.create_identity(&[7; 32], "").unwrap();
            assert!(!store.display_name_chosen().unwrap());
            store.set_display_name("Alice").unwrap();
            assert!(store.display_name_chosen().unwrap());
        }
        let store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        assert!(store.display_name_chosen().unwrap());
        assert_eq!(store.identity().unwrap().unwrap().1, "Alice");
    }
}
