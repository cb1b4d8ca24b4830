//! Verified beacons this node knows (the newest binds outgoing grid-pad
//! messages) and chains learned from `/info` documents. Only the node's
//! verification path writes here: nothing unverified is ever stored.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store};

/// A stored verified beacon: round, signature and (chained) previous signature.
pub type StoredBeacon = (u64, Vec<u8>, Option<Vec<u8>>);

impl Store {
    /// Stores verified beacons of a chain (already present ones are kept).
    pub fn add_verified_beacons(
        &mut self,
        chain_hash: &[u8],
        beacons: &[StoredBeacon],
    ) -> Result<usize> {
        self.write(|tx| {
            let mut stmt = tx.prepare(
                "INSERT INTO beacons (chain_hash, round, signature, previous) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (chain_hash, round) DO NOTHING",
            )?;
            let mut added = 0;
            for (round, signature, previous) in beacons {
                added += stmt.execute(params![chain_hash, *round as i64, signature, previous])?;
            }
            Ok(added)
        })
    }

    /// The newest verified beacon of a chain.
    pub fn latest_beacon(&self, chain_hash: &[u8]) -> Result<Option<StoredBeacon>> {
        Ok(self
            .conn
            .query_row(
                "SELECT round, signature, previous FROM beacons WHERE chain_hash = ?1
                 ORDER BY round DESC LIMIT 1",
                [chain_hash],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// A verified beacon of a chain by round.
    pub fn beacon(&self, chain_hash: &[u8], round: u64) -> Result<Option<StoredBeacon>> {
        Ok(self
            .conn
            .query_row(
                "SELECT round, signature, previous FROM beacons WHERE chain_hash = ?1 AND round = ?2",
                params![chain_hash, round as i64],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// How many verified beacons of a chain are stored.
    pub fn beacon_count(&self, chain_hash: &[u8]) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM beacons WHERE chain_hash = ?1",
            [chain_hash],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Remembers a chain's `/info` JSON (checked by the caller).
    pub fn add_chain(&mut self, hash: &[u8], info_json: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO chains (hash, info) VALUES (?1, ?2)
                 ON CONFLICT (hash) DO UPDATE SET info = excluded.info",
                params![hash, info_json],
            )?;
            Ok(())
        })
    }

    /// Every remembered chain's `/info` JSON.
    pub fn chains(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT info FROM chains ORDER BY hash")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn the_latest_beacon_is_the_highest_round() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path(), &crate::test_key()).unwrap();
        let chain = [1u8; 32];
        assert_eq!(store.latest_beacon(&chain).unwrap(), None);
        let added = store
            .add_verified_beacons(
                &chain,
                &[(5, vec![5], None), (9, vec![9], None), (7, vec![7], None)],
            )
            .unwrap();
        assert_eq!(added, 3);
        assert_eq!(
            store
                .add_verified_beacons(&chain, &[(5, vec![5], None)])
                .unwrap(),
            0
        );
        assert_eq!(
            store.latest_beacon(&chain).unwrap(),
            Some((9, vec![9], None))
        );
        assert_eq!(store.beacon(&chain, 7).unwrap(), Some((7, vec![7], None)));
        assert_eq!(store.beacon_count(&chain).unwrap(), 3);
        store.add_chain(&chain, "{}").unwrap();
        assert_eq!(store.chains().unwrap(), vec!["{}".to_owned()]);
    }
}
