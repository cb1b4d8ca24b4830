//! Which complete chunk of the cache a CID names: the digests of complete
//! chunks, hashed once each (off the swarm task) and looked up by digest.
//! A CID not found starts a rescan for chunks completed since, at most
//! once per [`RESCAN`] and never behind another scan (the first one, at
//! start, reads every complete chunk once, as announcing them does); a hit is read back and hashed again before it is
//! served, so an evicted or rewritten chunk is never sent under an old CID.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use zks_beacon::{ChainHash, ChainInfo};

use crate::cache::{BeaconCache, CHUNK_ROUNDS};

/// Least time between two rescans of the cache for new complete chunks.
pub(super) const RESCAN: Duration = Duration::from_secs(5);

/// The prefix of the CIDs of chunks: CIDv1, raw (0x55), sha2-256, 32 bytes.
pub(super) const CHUNK_PREFIX: [u8; 4] = [0x01, 0x55, 0x12, 0x20];

/// The digest of a chunk CID (its 32 bytes after [`CHUNK_PREFIX`]), or
/// `None` for any other CID.
pub(super) fn chunk_digest(cid: &[u8]) -> Option<[u8; 32]> {
    let digest = cid.strip_prefix(&CHUNK_PREFIX)?;
    digest.try_into().ok()
}

#[derive(Default)]
struct Known {
    by_digest: HashMap<[u8; 32], (ChainHash, u64)>,
    hashed: HashSet<(ChainHash, u64)>,
    last_scan: Option<Instant>,
}

/// The chains served and the digests of their complete chunks.
#[derive(Default)]
pub(super) struct CidIndex {
    chains: Mutex<Vec<ChainInfo>>,
    known: Mutex<Known>,
    /// Held while scanning, so that one scan runs at a time.
    scanning: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CidIndex {
    pub(super) fn new(chains: Vec<ChainInfo>) -> CidIndex {
        CidIndex {
            chains: Mutex::new(chains),
            ..CidIndex::default()
        }
    }

    /// Serves another chain's complete chunks too.
    pub(super) fn add_chain(&self, chain: ChainInfo) {
        let mut chains = lock(&self.chains);
        if !chains.iter().any(|c| c.hash == chain.hash) {
            chains.push(chain);
        }
        lock(&self.known).last_scan = None;
    }

    /// Hashes the complete chunks not hashed yet (a blocking read of every
    /// new one); waits for a scan under way to end first.
    pub(super) fn scan(&self, cache: &BeaconCache) {
        let one = lock(&self.scanning);
        self.scan_locked(cache, one);
    }

    /// [`scan`](Self::scan) unless one is under way (then the CID is taken
    /// for absent for now: a lookup never waits behind a long scan).
    fn try_scan(&self, cache: &BeaconCache) {
        if let Ok(one) = self.scanning.try_lock() {
            self.scan_locked(cache, one);
        }
    }

    fn scan_locked(&self, cache: &BeaconCache, _one: std::sync::MutexGuard<'_, ()>) {
        lock(&self.known).last_scan = Some(Instant::now());
        let chains = lock(&self.chains).clone();
        for chain in chains {
            let coverage = match cache.coverage(&chain) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("bitswap: cannot list the cache: {e}");
                    continue;
                }
            };
            for (index, held) in coverage.chunks {
                if held != CHUNK_ROUNDS || lock(&self.known).hashed.contains(&(chain.hash, index)) {
                    continue;
                }
                let Ok(Some(bytes)) = cache.chunk_bytes(&chain, index) else {
                    continue;
                };
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                let mut known = lock(&self.known);
                known.hashed.insert((chain.hash, index));
                known.by_digest.insert(digest, (chain.hash, index));
            }
        }
    }

    /// Whether a complete chunk has this digest (rescanning if due).
    pub(super) fn has(&self, cache: &BeaconCache, digest: &[u8; 32]) -> bool {
        self.locate(cache, digest).is_some()
    }

    fn locate(&self, cache: &BeaconCache, digest: &[u8; 32]) -> Option<(ChainInfo, u64)> {
        let found = {
            let known = lock(&self.known);
            let due = known.last_scan.is_none_or(|t| t.elapsed() >= RESCAN);
            match known.by_digest.get(digest) {
                Some(hit) => Some(*hit),
                None if due => None,
                None => return None,
            }
        };
        let (chain, index) = match found {
            Some(hit) => hit,
            None => {
                self.try_scan(cache);
                *lock(&self.known).by_digest.get(digest)?
            }
        };
        let info = lock(&self.chains).iter().find(|c| c.hash == chain)?.clone();
        Some((info, index))
    }

    /// The bytes of the complete chunk with this digest, read and hashed
    /// again; a chunk gone or changed is forgotten.
    pub(super) fn block(&self, cache: &BeaconCache, digest: &[u8; 32]) -> Option<Vec<u8>> {
        let (chain, index) = self.locate(cache, digest)?;
        match cache.chunk_bytes(&chain, index) {
            Ok(Some(bytes)) if Sha256::digest(&bytes).as_slice() == digest => Some(bytes),
            _ => {
                let mut known = lock(&self.known);
                known.by_digest.remove(digest);
                known.hashed.remove(&(chain.hash, index));
                None
            }
        }
    }
}
