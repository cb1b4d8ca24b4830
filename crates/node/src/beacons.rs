//! Verified beacons for binding messages: importing them (verified with the
//! batch verifier; invalid ones are never kept), choosing the round an
//! outgoing message is bound to, and resolving the round of an incoming one.
//!
//! Every verified beacon lives in the grid's beacon cache (`<home>/cache`),
//! the one store the relay, the fetch cascade, seeding and `zks status`
//! read: `zks beacon import`, the rounds the grid fetches and the rounds
//! incoming messages prove all go there. Releases before schema version 7
//! kept imported beacons in a `beacons` table of the database; on the first
//! open the store hands those rows over and drops the table, and
//! [`move_legacy_beacons`] verifies them into the cache.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use zks_beacon::{
    BatchVerifier, Beacon, ChainHash, ChainInfo, ReferenceVerifier, VerifiedBeacon,
    parse_beacon_list,
};
use zks_grid::BeaconCache;
use zks_pad::{RoundBinding, RoundSource};
use zks_store::{LegacyBeacon, Store};

use crate::clock::now_secs;
use crate::{Node, NodeError};

/// How far ahead of this device's clock a round may be and still be taken:
/// the one future-round limit, for imported beacons and for the round an
/// incoming message is bound to. A round whose signature verifies has been
/// published, whatever this device's clock says (only the chain's signers
/// can make it, and they make it at its time), so a round "from the future"
/// means a slow local clock; real clocks drift by seconds to minutes, so an
/// hour keeps such a device working. Beyond this the round is refused (a
/// message before any BLS work) with a hint to check the clock. The grid's
/// own rules are separate: the cascade never asks for a round past the local
/// head, the relay answers 425 for one, and gossip takes only rounds within
/// `GOSSIP_WINDOW_SECS` of now.
pub const MAX_ROUND_AHEAD_SECS: u64 = 3600;
/// A taken round further ahead than this is logged as a sign of a slow
/// clock (it is not a limit).
const SLOW_CLOCK_NOTICE_SECS: u64 = 10;

/// The setting naming the chain outgoing messages are bound to.
const BINDING_CHAIN: &str = "binding_chain";

/// What `import_beacons` did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BeaconImport {
    /// Chain name.
    pub chain: String,
    /// Chain hash (hex).
    pub chain_hash: String,
    /// Beacons that verified.
    pub valid: usize,
    /// Beacons refused (malformed or not verifying), with round and reason.
    pub invalid: Vec<(Option<u64>, String)>,
    /// Newly stored beacons.
    pub added: usize,
    /// The newest verified round now known.
    pub latest_round: Option<u64>,
}

/// Where the beacon cache of the home in `data_dir` lives.
pub(crate) fn cache_dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("cache")
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(cache_err)`
fn cache_err(e: zks_grid::CacheError) -> NodeError {
    NodeError::grid(e)
}

/// Every chain this node knows: the built-ins and those remembered in the store.
pub(crate) fn known_chains(store: &Store) -> Result<Vec<ChainInfo>, NodeError> {
    let mut chains: Vec<ChainInfo> = ChainInfo::builtins().into();
    for json in store.chains()? {
        if let Ok(info) = ChainInfo::from_info_json(&json) {
            chains.push(info);
        }
    }
    Ok(chains)
}

fn find_chain(store: &Store, name_or_hash: &str) -> Result<ChainInfo, NodeError> {
    let chains = known_chains(store)?;
    ChainInfo::find(name_or_hash, &chains).map_err(|e| NodeError::Beacon(e.to_string()))
}

/// The hint sent with a message: the signature, then (chained schemes) the
/// previous signature, so the receiver can verify the round offline.
fn hint(beacon: &Beacon) -> Vec<u8> {
    let mut out = beacon.signature().to_vec();
    if let Some(prev) = beacon.previous_signature() {
        out.extend_from_slice(prev);
    }
    out
}

impl Node {
    /// Verifies beacons of a chain (drand JSON lines or array) and puts the
    /// valid ones into the beacon cache; invalid ones are reported and never
    /// kept.
    pub fn import_beacons(&self, chain: &str, text: &str) -> Result<BeaconImport, NodeError> {
        self.import_beacons_at(chain, text, now_secs())
    }

    /// [`Node::import_beacons`] at Unix time `now`.
    fn import_beacons_at(
        &self,
        chain: &str,
        text: &str,
        now: u64,
    ) -> Result<BeaconImport, NodeError> {
        let chain = self.chain(chain)?;
        let cache = self.beacon_cache(self.settings()?.cache_budget_bytes)?;
        let parsed = parse_beacon_list(chain.scheme, text)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let mut invalid = Vec::new();
        let mut beacons = Vec::new();
        for entry in parsed {
            match entry {
                Ok(b) => beacons.push(b),
                Err(m) => invalid.push((m.round, m.error.to_string())),
            }
        }
        let verifier = BatchVerifier::new(&chain).map_err(|e| NodeError::Beacon(e.to_string()))?;
        let mut valid = Vec::new();
        for judged in verifier.verify_each(beacons, &mut rand_core::OsRng) {
            match judged {
                Err((beacon, e)) => invalid.push((Some(beacon.round()), e.to_string())),
                Ok(b) if chain.is_future(b.round(), now + MAX_ROUND_AHEAD_SECS) => {
                    invalid.push((Some(b.round()), "round is in the future".into()));
                }
                Ok(b) => valid.push(b),
            }
        }
        let verified = valid.len();
        // A round given twice is one round.
        valid.sort_by_key(VerifiedBeacon::round);
        valid.dedup_by_key(|b| b.round());
        let added = cache.put(&chain, &valid).map_err(cache_err)?;
        if added > 0 {
            self.forget_binding();
        }
        let latest_round = cache.latest(&chain).map_err(cache_err)?.map(|b| b.round());
        Ok(BeaconImport {
            chain: chain.name.clone(),
            chain_hash: chain.hash.to_hex(),
            valid: verified,
            invalid,
            added,
            latest_round,
        })
    }

    /// Remembers a chain from its `/info` JSON (checked against its hash).
    pub fn add_chain(&self, info_json: &str) -> Result<ChainInfo, NodeError> {
        let info =
            ChainInfo::from_info_json(info_json).map_err(|e| NodeError::Beacon(e.to_string()))?;
        self.with_store_mut(|store| {
            store.add_chain(&info.hash.0, &info.to_info_json())?;
            Ok(info.clone())
        })
    }

    /// A known chain (built in or remembered) by name or hash.
    pub fn chain(&self, name_or_hash: &str) -> Result<ChainInfo, NodeError> {
        self.with_store(|store| find_chain(store, name_or_hash))
    }

    /// Where this home's beacon cache lives.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir_of(self.data_dir().path())
    }

    /// This home's beacon cache, evicting beyond `budget` bytes when it
    /// grows (`u64::MAX`: never, for the small writes of message binding;
    /// the grid's writes keep the budget).
    pub(crate) fn beacon_cache(&self, budget: u64) -> Result<BeaconCache, NodeError> {
        BeaconCache::open(&self.cache_dir(), budget.max(1)).map_err(cache_err)
    }

    /// The beacon cache sealing and opening read (and, for a round an
    /// incoming message proves, write; never evicting): opened once, on
    /// first use, since opening lists every chunk file of every chain.
    pub(crate) fn binding_cache(&self) -> Result<Arc<BeaconCache>, NodeError> {
        if let Some(cache) = self.inner.binding_cache.get() {
            return Ok(cache.clone());
        }
        let cache = Arc::new(self.beacon_cache(u64::MAX)?);
        Ok(self.inner.binding_cache.get_or_init(|| cache).clone())
    }

    /// The binding of the next grid-pad message ([`binding_on`] the
    /// chain chosen in the settings), reusing the
    /// one looked up less than [`BINDING_MEMO`] ago for the same chosen
    /// chain: finding the newest held round reads the cache's directory
    /// and chunk bitmaps, which at a thousand messages a second was a
    /// large share of sealing. A round at most that much staler is
    /// harmless (binding promises the newest round this home *had*, not
    /// the newest in the world; rounds come every 3 s at best).
    pub(crate) fn current_binding(&self, store: &Store) -> Result<RoundBinding, NodeError> {
        let chain = binding_chain(store)?;
        let now = std::time::Instant::now();
        let mut memo = self
            .inner
            .binding_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, hash, held)) = memo.as_ref()
            && *hash == chain.hash.0
            && now.duration_since(*at) < BINDING_MEMO
        {
            return Ok(held.clone());
        }
        let fresh = binding_on(&chain, &*self.binding_cache()?)?;
        *memo = Some((now, chain.hash.0, fresh.clone()));
        Ok(fresh)
    }

    /// Drops the remembered binding, so the next seal looks again: called
    /// where this node itself puts a newer round into the cache (an
    /// import, a round an incoming message proved, the binding keeper), so
    /// an answer binds to the round its question just taught us. Rounds
    /// arriving otherwise (gossip, fetches) are seen within
    /// [`BINDING_MEMO`].
    pub(crate) fn forget_binding(&self) {
        *self
            .inner
            .binding_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// When a grid-pad message of the history was sealed at the earliest:
    /// the Unix time its binding round was due (the round's chain's
    /// genesis + period × (round − 1)). `None` for one-time-pad messages
    /// and for a round of a chain this home does not know.
    pub fn sealed_after(&self, message: &zks_store::MessageRecord) -> Option<u64> {
        let (hash, round) = (message.chain_hash.as_deref()?, message.round?);
        self.with_store(|store| Ok(round_time(store, hash, round)))
            .ok()
            .flatten()
    }

    /// Chooses the chain outgoing messages are bound to (by name or hash).
    pub fn set_binding_chain(&self, chain: &str) -> Result<ChainInfo, NodeError> {
        self.with_store_mut(|store| {
            let info = find_chain(store, chain)?;
            store.set_setting(BINDING_CHAIN, &info.hash.to_hex())?;
            Ok(info)
        })
    }
}

/// What [`move_legacy_beacons`] did with the rows of the old table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct LegacyMove {
    /// Rows that verified and are now in the cache.
    pub(crate) moved: usize,
    /// Rows left behind: (round, why).
    pub(crate) dropped: Vec<(u64, String)>,
}

/// Verifies the rows of the old `beacons` table (handed over by the store
/// when its migration 7 dropped the table) and puts those that verify into
/// the beacon cache under `cache_root`. Rows that are malformed, do not
/// verify, or belong to a chain this home does not know are dropped with a
/// warning in the log; nothing here stops the home from opening (verified
/// beacons are public data the grid can fetch again).
pub(crate) fn move_legacy_beacons(
    store: &Store,
    cache_root: &Path,
    rows: Vec<LegacyBeacon>,
) -> LegacyMove {
    let mut result = LegacyMove::default();
    if rows.is_empty() {
        return result;
    }
    let chains = known_chains(store).unwrap_or_else(|_| ChainInfo::builtins().into());
    let mut by_chain: BTreeMap<Vec<u8>, Vec<LegacyBeacon>> = BTreeMap::new();
    for row in rows {
        by_chain
            .entry(row.chain_hash.clone())
            .or_default()
            .push(row);
    }
    let cache = match BeaconCache::open(cache_root, u64::MAX) {
        Ok(cache) => Some(cache),
        Err(e) => {
            tracing::warn!("cannot open the beacon cache to move the old beacons into: {e}");
            None
        }
    };
    for (hash, rows) in by_chain {
        let Some(chain) = chains.iter().find(|c| c.hash.0[..] == hash[..]) else {
            let why = format!("unknown chain {}", hex::encode(&hash));
            result
                .dropped
                .extend(rows.iter().map(|r| (r.round, why.clone())));
            continue;
        };
        let mut beacons = Vec::new();
        for row in rows {
            match Beacon::new(chain.scheme, row.round, row.signature, row.previous) {
                Ok(b) => beacons.push(b),
                Err(e) => result.dropped.push((row.round, e.to_string())),
            }
        }
        let verifier = match BatchVerifier::new(chain) {
            Ok(v) => v,
            Err(e) => {
                result
                    .dropped
                    .extend(beacons.iter().map(|b| (b.round(), e.to_string())));
                continue;
            }
        };
        let mut good = Vec::new();
        for judged in verifier.verify_each(beacons, &mut rand_core::OsRng) {
            match judged {
                Ok(b) => good.push(b),
                Err((b, e)) => result.dropped.push((b.round(), e.to_string())),
            }
        }
        let stored = match &cache {
            Some(cache) => cache.put(chain, &good).map_err(|e| e.to_string()),
            None => Err("the beacon cache cannot be opened".to_owned()),
        };
        match stored {
            Ok(_) => result.moved += good.len(),
            Err(e) => result
                .dropped
                .extend(good.iter().map(|b| (b.round(), e.clone()))),
        }
    }
    if result.moved > 0 {
        tracing::info!(
            rounds = result.moved,
            "moved the verified beacons of the old beacons table into the beacon cache"
        );
    }
    if !result.dropped.is_empty() {
        tracing::warn!(
            rows = result.dropped.len(),
            first = ?result.dropped.first(),
            "rows of the old beacons table were not carried over into the beacon cache"
        );
    }
    result
}

/// The chain outgoing grid-pad messages bind to (quicknet unless set).
pub(crate) fn binding_chain(store: &Store) -> Result<ChainInfo, NodeError> {
    let chain_hex: String = store
        .setting(BINDING_CHAIN)?
        .unwrap_or_else(|| ChainInfo::quicknet().hash.to_hex());
    find_chain(store, &chain_hex)
}

/// How long [`Node::current_binding`] reuses a looked-up binding.
pub(crate) const BINDING_MEMO: std::time::Duration = std::time::Duration::from_secs(1);

/// The recent quicknet round shipped inside the release
/// (`crates/node/data/quicknet-shipped.jsonl`, provenance in the README
/// beside it): what a fresh install binds to when no source gave it a
/// round yet.
const SHIPPED_QUICKNET: &str = include_str!("../data/quicknet-shipped.jsonl");

/// The shipped quicknet round, parsed and verified with the reference
/// verifier on first use (once per process): public beacons are verified,
/// never trusted, and a release whose shipped round does not verify binds
/// nothing to it.
pub(crate) fn shipped_round() -> Result<&'static VerifiedBeacon, NodeError> {
    static SHIPPED: std::sync::OnceLock<Result<VerifiedBeacon, String>> =
        std::sync::OnceLock::new();
    SHIPPED
        .get_or_init(|| verify_shipped(SHIPPED_QUICKNET))
        .as_ref()
        .map_err(|e| {
            NodeError::Beacon(format!(
                "the beacon round shipped with this release is unusable: {e}"
            ))
        })
}

/// Parses and verifies the one quicknet round of `text`.
fn verify_shipped(text: &str) -> Result<VerifiedBeacon, String> {
    let chain = ChainInfo::quicknet();
    let mut parsed = parse_beacon_list(chain.scheme, text).map_err(|e| e.to_string())?;
    if parsed.len() != 1 {
        return Err(format!("{} rounds instead of one", parsed.len()));
    }
    let beacon = parsed
        .pop()
        .ok_or("no round")?
        .map_err(|m| m.error.to_string())?;
    ReferenceVerifier::new(&chain)
        .map_err(|e| e.to_string())?
        .verified(beacon)
        .map_err(|e| e.to_string())
}

/// [`binding_on`] the chain chosen in the settings (tests; the node
/// seals with [`Node::current_binding`]).
#[cfg(test)]
pub(crate) fn binding(store: &Store, cache: &BeaconCache) -> Result<RoundBinding, NodeError> {
    binding_on(&binding_chain(store)?, cache)
}

/// The round an outgoing grid-pad message binds to, chosen now without
/// waiting on any network: the newest verified round of `chain`
/// in the cache (where imports, the keeper's fetches from grid peers and
/// drand, and the rounds of incoming messages all land). When the cache
/// holds none of that chain, or `chain` is quicknet, the newest
/// quicknet round held or shipped with the release (the envelope names its
/// chain, so a message of a custom binding chain may be bound to quicknet).
/// Never refused for lack of a round.
fn binding_on(chain: &ChainInfo, cache: &BeaconCache) -> Result<RoundBinding, NodeError> {
    let quicknet = ChainInfo::quicknet();
    let cached = cache.latest(chain).map_err(cache_err)?;
    if chain.hash != quicknet.hash
        && let Some(held) = cached
    {
        return Ok(binding_of(chain, held.beacon()));
    }
    let cached = if chain.hash == quicknet.hash {
        cached
    } else {
        cache.latest(&quicknet).map_err(cache_err)?
    };
    let shipped = shipped_round()?;
    let best = match &cached {
        Some(held) if held.round() >= shipped.round() => held,
        _ => shipped,
    };
    Ok(binding_of(&quicknet, best.beacon()))
}

fn binding_of(chain: &ChainInfo, beacon: &Beacon) -> RoundBinding {
    RoundBinding {
        chain_hash: chain.hash.0,
        round: beacon.round(),
        randomness: beacon.randomness(),
        signature: Some(hint(beacon)),
    }
}

/// The Unix time a round of a known chain was due (genesis + period ×
/// (round − 1)): a message bound to it was sealed no earlier. `None` for
/// a chain this home does not know.
pub(crate) fn round_time(store: &Store, chain_hash: &[u8], round: u64) -> Option<u64> {
    let chains = known_chains(store).ok()?;
    let chain = chains.iter().find(|c| c.hash.0[..] == *chain_hash)?;
    Some(chain.time_of_round(round))
}

/// Resolves incoming rounds from the beacon cache, verifying signature
/// hints with the reference verifier; newly verified beacons are collected
/// for the cache.
pub(crate) struct CacheRounds<'a> {
    pub(crate) store: &'a Store,
    pub(crate) cache: &'a BeaconCache,
    pub(crate) now: u64,
    pub(crate) verified: RefCell<Vec<(ChainInfo, VerifiedBeacon)>>,
}

impl RoundSource for CacheRounds<'_> {
    fn randomness(
        &self,
        chain_hash: &[u8; 32],
        round: u64,
        signature_hint: Option<&[u8]>,
    ) -> Result<[u8; 32], String> {
        let hash = ChainHash(*chain_hash);
        let chains = known_chains(self.store).map_err(|e| e.to_string())?;
        let chain = chains
            .iter()
            .find(|c| c.hash == hash)
            .ok_or_else(|| format!("the message is bound to an unknown beacon chain {hash}"))?;
        if chain.is_future(round, self.now + MAX_ROUND_AHEAD_SECS) {
            return Err(format!(
                "round {round} of {} is in the future (due at Unix time {}, now {}): refusing a message that claims it; if this is wrong, check this device's clock",
                chain.name,
                chain.time_of_round(round),
                self.now
            ));
        }
        if chain.is_future(round, self.now + SLOW_CLOCK_NOTICE_SECS) {
            // Only a verified signature can make such a round acceptable.
            tracing::warn!(
                chain = %chain.name,
                round,
                "a message is bound to a round this device's clock says is not out yet; this clock may be slow"
            );
        }
        if let Some(held) = self.cache.get(chain, round).map_err(|e| e.to_string())? {
            return Ok(held.beacon().randomness());
        }
        let hint = signature_hint.ok_or_else(|| {
            format!(
                "round {round} of {} is not known here and the message carries no signature for it",
                chain.name
            )
        })?;
        let sig_len = chain.scheme.signature_group().point_len();
        let (sig, prev) = hint.split_at(sig_len.min(hint.len()));
        let prev = (!prev.is_empty()).then(|| prev.to_vec());
        let beacon = Beacon::new(chain.scheme, round, sig.to_vec(), prev)
            .map_err(|e| format!("the round signature in the message is malformed: {e}"))?;
        let verified = ReferenceVerifier::new(chain)
            .map_err(|e| e.to_string())?
            .verified(beacon)
            .map_err(|e| format!("the round signature in the message is invalid: {e}"))?;
        let randomness = verified.beacon().randomness();
        self.verified.borrow_mut().push((chain.clone(), verified));
        Ok(randomness)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use zks_testkit::QUICKNET;

    fn hint_of(line: &str) -> (u64, Vec<u8>) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        (
            v["round"].as_u64().unwrap(),
            hex::decode(v["signature"].as_str().unwrap()).unwrap(),
        )
    }

    /// A receiver whose clock is behind the sender's still opens messages
    /// bound to a round whose signature verifies (up to an hour ahead of its
    /// clock); a forged signature is refused whatever the clock; a round
    /// more than an hour ahead is refused before any BLS work.
    #[test]
    fn a_slow_clock_accepts_verified_rounds_within_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &zks_store::StoreKey::from_bytes([1; 32])).unwrap();
        let chain = ChainInfo::quicknet();
        let (round, sig) = hint_of(QUICKNET.lines().nth(100).unwrap());
        let due = chain.time_of_round(round);
        let cache = BeaconCache::open(&dir.path().join("cache"), u64::MAX).unwrap();
        let rounds = |now| CacheRounds {
            store: &store,
            cache: &cache,
            now,
            verified: RefCell::new(Vec::new()),
        };
        // Ten minutes slow: accepted, and the round is kept.
        let slow = rounds(due - 600);
        assert!(slow.randomness(&chain.hash.0, round, Some(&sig)).is_ok());
        assert_eq!(slow.verified.borrow().len(), 1);
        // A bit flipped in the signature: refused, nothing kept.
        let mut forged = sig.clone();
        forged[10] ^= 1;
        let checked = rounds(due - 600);
        assert!(
            checked
                .randomness(&chain.hash.0, round, Some(&forged))
                .is_err()
        );
        assert!(checked.verified.borrow().is_empty());
        // Two hours slow: refused with a hint about the clock.
        let err = rounds(due - 7200)
            .randomness(&chain.hash.0, round, Some(&sig))
            .unwrap_err();
        assert!(err.contains("clock"), "{err}");
        // On time: fine as before.
        assert!(
            rounds(due + 5)
                .randomness(&chain.hash.0, round, Some(&sig))
                .is_ok()
        );
        // The limit to the second: exactly MAX_ROUND_AHEAD_SECS ahead is
        // taken, one second more is refused.
        assert!(
            rounds(due - MAX_ROUND_AHEAD_SECS)
                .randomness(&chain.hash.0, round, Some(&sig))
                .is_ok()
        );
        let err = rounds(due - MAX_ROUND_AHEAD_SECS - 1)
            .randomness(&chain.hash.0, round, Some(&sig))
            .unwrap_err();
        assert!(err.contains("in the future"), "{err}");
    }

    /// Imports follow the same limit: a verified round exactly
    /// MAX_ROUND_AHEAD_SECS ahead of the clock is kept, one a second further
    /// is refused as "in the future" and not kept.
    #[tokio::test]
    async fn imports_take_rounds_up_to_the_limit_ahead_of_the_clock() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(tmp.path()).await;
        let chain = ChainInfo::quicknet();
        let line = QUICKNET.lines().nth(7).unwrap();
        let (round, _) = hint_of(line);
        let due = chain.time_of_round(round);
        let over = node
            .import_beacons_at("quicknet", line, due - MAX_ROUND_AHEAD_SECS - 1)
            .unwrap();
        assert_eq!(
            (over.valid, over.added, over.invalid.clone()),
            (
                0,
                0,
                vec![(Some(round), "round is in the future".to_owned())]
            )
        );
        assert_eq!(over.latest_round, None);
        let at = node
            .import_beacons_at("quicknet", line, due - MAX_ROUND_AHEAD_SECS)
            .unwrap();
        assert_eq!((at.valid, at.added, at.latest_round), (1, 1, Some(round)));
        assert!(at.invalid.is_empty());
    }

    use crate::test_support::started;

    fn quicknet_rounds(n: usize) -> Vec<(u64, Vec<u8>)> {
        QUICKNET.lines().take(n).map(hint_of).collect()
    }

    /// `zks beacon import` puts the rounds into the beacon cache, the one
    /// store `zks status`, the fetch cascade (so the relay and seeding) and
    /// message binding read.
    #[tokio::test]
    async fn imported_rounds_are_seen_by_status_the_cascade_and_binding() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(tmp.path()).await;
        let report = node.import_beacons("quicknet", QUICKNET).unwrap();
        let rounds = quicknet_rounds(usize::MAX);
        assert_eq!(report.valid, rounds.len());
        assert_eq!(report.added, rounds.len());
        let newest = rounds.iter().map(|r| r.0).max().unwrap();
        assert_eq!(report.latest_round, Some(newest));
        let again = node.import_beacons("quicknet", QUICKNET).unwrap();
        assert_eq!((again.valid, again.added), (rounds.len(), 0));

        let status = node.status().unwrap();
        let quicknet = status
            .grid
            .chains
            .iter()
            .find(|c| c.name == "quicknet")
            .unwrap();
        assert_eq!(quicknet.rounds, rounds.len() as u64);

        let chain = ChainInfo::quicknet();
        let cascade = node
            .open_cascade(
                &crate::GridSources::default(),
                std::slice::from_ref(&chain),
                None,
            )
            .await
            .unwrap();
        let held = cascade
            .get(&chain, rounds[3].0, now_secs())
            .await
            .unwrap()
            .expect("the cascade (and so the relay) serves an imported round");
        assert_eq!(held.beacon().signature(), &rounds[3].1[..]);

        let binding = node
            .with_store(|store| binding(store, &node.beacon_cache(u64::MAX)?))
            .unwrap();
        assert_eq!(binding.round, newest);
    }

    /// A home of a release that kept imported beacons in a `beacons` table:
    /// on the first start the rows that verify move into the beacon cache;
    /// the others (a forged signature, a malformed one, a chain this home
    /// does not know) are dropped with a warning, and the home opens.
    #[tokio::test]
    async fn an_old_beacons_table_moves_into_the_cache_without_its_bad_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let quicknet = ChainInfo::quicknet();
        let rounds = quicknet_rounds(6);
        {
            let db = tmp.path().join(zks_store::DATABASE_FILE);
            let conn = zks_store::test_support::plaintext_database_at(&db, 6).unwrap();
            let mut insert = conn
                .prepare("INSERT INTO beacons (chain_hash, round, signature, previous) VALUES (?1, ?2, ?3, NULL)")
                .unwrap();
            for (round, sig) in &rounds[..4] {
                insert
                    .execute(rusqlite::params![&quicknet.hash.0[..], *round as i64, sig])
                    .unwrap();
            }
            let mut forged = rounds[4].1.clone();
            forged[10] ^= 1;
            insert
                .execute(rusqlite::params![
                    &quicknet.hash.0[..],
                    rounds[4].0 as i64,
                    forged
                ])
                .unwrap();
            insert
                .execute(rusqlite::params![
                    &quicknet.hash.0[..],
                    rounds[5].0 as i64,
                    vec![1u8, 2, 3]
                ])
                .unwrap();
            insert
                .execute(rusqlite::params![&[9u8; 32][..], 7i64, &rounds[0].1])
                .unwrap();
        }
        let node = started(tmp.path()).await;
        assert_eq!(
            node.status().unwrap().database.schema_version,
            zks_store::SCHEMA_VERSION,
            "migrated to the latest schema"
        );
        let cache = node.beacon_cache(u64::MAX).unwrap();
        for (round, sig) in &rounds[..4] {
            let held = cache.get(&quicknet, *round).unwrap().expect("moved");
            assert_eq!(held.beacon().signature(), &sig[..]);
        }
        assert_eq!(cache.get(&quicknet, rounds[4].0).unwrap(), None, "forged");
        assert_eq!(
            cache.get(&quicknet, rounds[5].0).unwrap(),
            None,
            "malformed"
        );
        assert_eq!(cache.coverage(&quicknet).unwrap().rounds, 4);
        assert_eq!(
            cache.latest(&quicknet).unwrap().map(|b| b.round()),
            rounds[..4].iter().map(|r| r.0).max()
        );
        // The move happens once: a restart finds nothing more to move.
        node.stop().await;
        drop(node);
        let node = started(tmp.path()).await;
        assert_eq!(
            node.beacon_cache(u64::MAX)
                .unwrap()
                .coverage(&quicknet)
                .unwrap()
                .rounds,
            4
        );
    }

    /// What the move reports, row by row.
    #[test]
    fn the_move_reports_what_it_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path(), &zks_store::StoreKey::from_bytes([1; 32])).unwrap();
        let quicknet = ChainInfo::quicknet();
        let rounds = quicknet_rounds(3);
        let row = |hash: &[u8], (round, sig): &(u64, Vec<u8>)| LegacyBeacon {
            chain_hash: hash.to_vec(),
            round: *round,
            signature: sig.clone(),
            previous: None,
        };
        let mut forged = rounds[1].clone();
        forged.1[5] ^= 1;
        let moved = move_legacy_beacons(
            &store,
            &dir.path().join("cache"),
            vec![
                row(&quicknet.hash.0, &rounds[0]),
                row(&quicknet.hash.0, &forged),
                row(&[7; 32], &rounds[2]),
            ],
        );
        assert_eq!(moved.moved, 1);
        let dropped: Vec<u64> = moved.dropped.iter().map(|d| d.0).collect();
        assert_eq!(dropped.len(), 2);
        assert!(dropped.contains(&rounds[1].0) && dropped.contains(&rounds[2].0));
        assert!(moved.dropped.iter().any(|d| d.1.contains("unknown chain")));
    }

    /// The round shipped with the release is the newest recorded quicknet
    /// round (whose provenance tests/data/README.md gives), and it verifies
    /// with the reference verifier; a tampered copy does not load.
    #[test]
    fn shipped_round_is_the_newest_recorded_one_and_verifies() {
        let shipped = shipped_round().expect("the shipped round verifies");
        let newest = quicknet_rounds(usize::MAX)
            .into_iter()
            .max_by_key(|r| r.0)
            .unwrap();
        assert_eq!(shipped.round(), newest.0);
        assert_eq!(shipped.beacon().signature(), &newest.1[..]);
        assert_eq!(SHIPPED_QUICKNET.trim(), QUICKNET.lines().last().unwrap());

        // A bit flipped in the signature, a round moved, two rounds, none,
        // garbage: each refused.
        let mut forged = newest.1.clone();
        forged[7] ^= 1;
        let line = |round: u64, sig: &[u8]| {
            format!(r#"{{"round":{round},"signature":"{}"}}"#, hex::encode(sig))
        };
        assert!(verify_shipped(&line(newest.0, &newest.1)).is_ok());
        assert!(verify_shipped(&line(newest.0, &forged)).is_err());
        assert!(verify_shipped(&line(newest.0 - 1, &newest.1)).is_err());
        let two = format!(
            "{}\n{}",
            line(newest.0, &newest.1),
            line(newest.0, &newest.1)
        );
        assert!(verify_shipped(&two).unwrap_err().contains("2 rounds"));
        assert!(verify_shipped("").is_err());
        assert!(verify_shipped("not json").is_err());
    }

    fn devnet() -> zks_beacon::DevnetSigner {
        // Live: its newest rounds are due now.
        let genesis = now_secs() - 3 * 100;
        zks_beacon::DevnetSigner::test(zks_beacon::Scheme::UnchainedG1Rfc9380, 3, genesis)
    }

    fn devnet_lines(
        signer: &zks_beacon::DevnetSigner,
        rounds: std::ops::RangeInclusive<u64>,
    ) -> String {
        signer
            .sign_range(*rounds.start(), *rounds.end())
            .unwrap()
            .iter()
            .map(|b| b.to_json() + "\n")
            .collect()
    }

    /// Binding never fails for lack of a round: an empty cache binds to the
    /// shipped quicknet round, a cache holding only older rounds too; a
    /// newer cached round wins; a custom binding chain with no round held
    /// falls back to quicknet, and binds to its own rounds once it has some.
    #[tokio::test]
    async fn binding_takes_the_newest_round_held_or_shipped_and_never_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let node = started(tmp.path()).await;
        let quicknet = ChainInfo::quicknet();
        let shipped = shipped_round().unwrap();
        let bind = || {
            node.with_store(|store| binding(store, &node.beacon_cache(u64::MAX)?))
                .unwrap()
        };
        let fresh = bind();
        assert_eq!(
            (fresh.chain_hash, fresh.round),
            (quicknet.hash.0, shipped.round())
        );
        assert_eq!(
            fresh.signature.as_deref(),
            Some(shipped.beacon().signature())
        );
        assert_eq!(fresh.randomness, shipped.beacon().randomness());

        // Only older rounds held: the shipped one is newer.
        let older: String = QUICKNET
            .lines()
            .take(160)
            .map(|l| format!("{l}\n"))
            .collect();
        node.import_beacons("quicknet", &older).unwrap();
        assert_eq!(bind().round, shipped.round());

        // A custom chain with no round held: quicknet's shipped round (the
        // envelope names its chain); with rounds: its newest.
        let signer = devnet();
        node.add_chain(&signer.chain().to_info_json()).unwrap();
        node.set_binding_chain(&signer.chain().hash.to_hex())
            .unwrap();
        let fallback = bind();
        assert_eq!(
            (fallback.chain_hash, fallback.round),
            (quicknet.hash.0, shipped.round())
        );
        node.import_beacons(
            &signer.chain().hash.to_hex(),
            &devnet_lines(&signer, 90..=95),
        )
        .unwrap();
        let own = bind();
        assert_eq!((own.chain_hash, own.round), (signer.chain().hash.0, 95));
    }

    /// The chunk file slot of `round` in the cache under `root` now holds
    /// `sig` (a tampered disk: how a peer serving a false head is made).
    fn tamper(root: &Path, chain: &ChainInfo, round: u64, sig: &[u8]) {
        use std::io::{Seek, SeekFrom, Write};
        let chunk = zks_grid::CHUNK_ROUNDS;
        let (index, sig_len) = ((round - 1) / chunk, sig.len() as u64);
        let slot = round - 1 - index * chunk;
        let path = root
            .join(chain.hash.to_hex())
            .join(format!("{index}.chunk"));
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(SeekFrom::Start(64 + chunk / 8 + sig_len + slot * sig_len))
            .unwrap();
        file.write_all(sig).unwrap();
    }

    fn on_loopback(bootstrap: Vec<libp2p::Multiaddr>, grid: bool) -> crate::OnlineConfig {
        crate::OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap,
            grid,
            ..crate::OnlineConfig::default()
        }
    }

    async fn address(swarm: &zks_grid::SwarmClient) -> libp2p::Multiaddr {
        crate::listen_addresses(swarm).await[0].parse().unwrap()
    }

    /// Waits until `peer` is connected and identified as a grid node.
    async fn wait_for_peer(swarm: &zks_grid::SwarmClient, peer: libp2p::PeerId) {
        for _ in 0..200 {
            if swarm.grid_peers().await.unwrap().contains(&peer) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{peer} did not connect");
    }

    /// The binding keeper asks the connected peers for their newest round:
    /// a node whose cache holds only old rounds binds to the newer round a
    /// peer serves (verified, kept in its cache); a peer serving a false
    /// signature for its head is not believed and is banned. No drand
    /// source is configured (loopback only).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_keeper_binds_to_a_peers_newer_round_and_bans_a_lying_peer() {
        let tmp = tempfile::tempdir().unwrap();
        let quicknet = ChainInfo::quicknet();
        let rounds = quicknet_rounds(usize::MAX);
        let (head, head_sig) = rounds.last().cloned().unwrap();
        let honest = started(&tmp.path().join("honest")).await;
        honest.import_beacons("quicknet", QUICKNET).unwrap();
        // The liar's head carries the signature of another round.
        let liar = started(&tmp.path().join("liar")).await;
        liar.import_beacons("quicknet", QUICKNET).unwrap();
        let other_sig = &rounds[rounds.len() - 2].1;
        tamper(&liar.cache_dir(), &quicknet, head, other_sig);
        // The fresh node holds old rounds only (up to 12040883).
        let fresh = started(&tmp.path().join("fresh")).await;
        let older: String = QUICKNET
            .lines()
            .take(160)
            .map(|l| format!("{l}\n"))
            .collect();
        fresh.import_beacons("quicknet", &older).unwrap();
        let old_newest = rounds[159].0;

        let liar_swarm = liar.go_online(on_loopback(vec![], false)).await.unwrap();
        let liar_addr = address(&liar_swarm).await;
        let fresh_swarm = fresh
            .go_online(on_loopback(vec![liar_addr], true))
            .await
            .unwrap();
        wait_for_peer(&fresh_swarm, liar_swarm.peer_id()).await;
        fresh.refresh_binding_now().await.unwrap();
        let cache = fresh.beacon_cache(u64::MAX).unwrap();
        assert_eq!(
            cache.latest(&quicknet).unwrap().unwrap().round(),
            old_newest
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !fresh_swarm
                .peers()
                .await
                .unwrap()
                .contains(&liar_swarm.peer_id()),
            "the liar is banned"
        );
        // Until a better round comes, messages bind to the shipped one.
        let bound = fresh.with_store(|store| binding(store, &cache)).unwrap();
        assert_eq!(bound.round, shipped_round().unwrap().round());
        assert_eq!(bound.signature.as_deref(), Some(&head_sig[..]));

        let honest_swarm = honest.go_online(on_loopback(vec![], false)).await.unwrap();
        let honest_addr = address(&honest_swarm).await;
        fresh_swarm
            .dial(honest_swarm.peer_id(), vec![honest_addr])
            .await
            .unwrap();
        wait_for_peer(&fresh_swarm, honest_swarm.peer_id()).await;
        fresh.refresh_binding_now().await.unwrap();
        let held = cache.latest(&quicknet).unwrap().unwrap();
        assert_eq!(held.round(), head, "the peer's head is in the cache");
        assert_eq!(held.beacon().signature(), &head_sig[..]);
        let bound = fresh.with_store(|store| binding(store, &cache)).unwrap();
        assert_eq!((bound.chain_hash, bound.round), (quicknet.hash.0, head));
        for node in [fresh, honest, liar] {
            node.stop().await;
        }
    }
}
