//! Chains learned from `/info` documents, and the hand-over of the verified
//! beacons older releases kept in a `beacons` table. Verified beacons now
//! live only in the grid's beacon cache (the node puts them there); the
//! table is dropped by migration 7, which first hands its rows to the
//! opener (see [`Store::take_legacy_beacons`]).

use rusqlite::{Connection, params};

use crate::{Result, Store};

/// A row of the `beacons` table of an older release: what it says it is,
/// unchecked. Whoever takes it verifies it before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBeacon {
    /// The chain hash the row was stored under.
    pub chain_hash: Vec<u8>,
    /// The round.
    pub round: u64,
    /// The signature.
    pub signature: Vec<u8>,
    /// The previous signature (chained schemes).
    pub previous: Option<Vec<u8>>,
}

/// Reads every row of the old `beacons` table (none if it is gone).
pub(crate) fn read_legacy_beacons(conn: &Connection) -> rusqlite::Result<Vec<LegacyBeacon>> {
    let exists: bool = conn
        .prepare_cached(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'beacons'",
        )?
        .query_row([], |r| r.get(0))?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT chain_hash, round, signature, previous FROM beacons ORDER BY chain_hash, round",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(LegacyBeacon {
            chain_hash: r.get(0)?,
            round: r.get::<_, i64>(1)? as u64,
            signature: r.get(2)?,
            previous: r.get(3)?,
        })
    })?;
    rows.collect()
}

impl Store {
    /// The rows the old `beacons` table held when this open dropped it
    /// (migration 7); empty afterwards and on every later open. The node
    /// verifies them into the beacon cache.
    pub fn take_legacy_beacons(&mut self) -> Vec<LegacyBeacon> {
        std::mem::take(&mut self.legacy_beacons)
    }

    /// Remembers a chain's `/info` JSON (checked by the caller).
    pub fn add_chain(&mut self, hash: &[u8], info_json: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO chains (hash, info) VALUES (?1, ?2)
                 ON CONFLICT (hash) DO UPDATE SET info = excluded.info",
            )?
            .execute(params![hash, info_json])?;
            Ok(())
        })
    }

    /// Every remembered chain's `/info` JSON.
    pub fn chains(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT info FROM chains ORDER BY hash")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn chains_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let chain = [1u8; 32];
        assert!(store.chains().unwrap().is_empty());
        store.add_chain(&chain, "{}").unwrap();
        store.add_chain(&chain, "{\"a\":1}").unwrap();
        assert_eq!(store.chains().unwrap(), vec!["{\"a\":1}".to_owned()]);
        assert!(store.take_legacy_beacons().is_empty());
    }
}
