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
    Migrations::from_slice(STEPS)
        .to_latest(conn)
        .map_err(|e| StoreError::Migrate {
            path: path.to_owned(),
            message: e.to_string(),
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
