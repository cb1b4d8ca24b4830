//! This install's own identity (seed and display name) and the invites it
//! made: their pending secrets until a reply arrives, and which were used.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store, now};

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

    /// Changes the display name shown in new invites.
    pub fn set_display_name(&mut self, name: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE identity SET name = ?1 WHERE id = 1")?
                .execute([name])?;
            Ok(())
        })
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
