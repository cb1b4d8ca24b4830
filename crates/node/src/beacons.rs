//! Verified beacons for binding messages: importing them (verified with the
//! batch verifier; invalid ones are never stored), choosing the round an
//! outgoing message is bound to, and resolving the round of an incoming one.
//! Until the grid fetches beacons, they come from `zks beacon import`.

use std::cell::RefCell;

use serde::Serialize;
use zks_beacon::{
    BatchVerifier, Beacon, ChainHash, ChainInfo, ReferenceVerifier, parse_beacon_list,
};
use zks_pad::{RoundBinding, RoundSource};
use zks_store::{Store, StoredBeacon};

use crate::clock::now_secs;
use crate::{Node, NodeError};

/// How far ahead of our clock a peer's round may be (clock skew allowance).
pub const MAX_CLOCK_SKEW_SECS: u64 = 10;
/// How far ahead of our clock an incoming message's round may be when its
/// signature verifies: a verified round of a real chain has been published,
/// whatever this device's clock says, so a receiver whose clock is slow
/// still reads its messages. Beyond this the message is refused without any
/// BLS work.
pub(crate) const MAX_VERIFIED_AHEAD_SECS: u64 = 3600;

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
fn hint(beacon: &StoredBeacon) -> Vec<u8> {
    let mut out = beacon.1.clone();
    if let Some(prev) = &beacon.2 {
        out.extend_from_slice(prev);
    }
    out
}

impl Node {
    /// Verifies beacons of a chain (drand JSON lines or array) and stores the
    /// valid ones; invalid ones are reported and never stored.
    pub fn import_beacons(&self, chain: &str, text: &str) -> Result<BeaconImport, NodeError> {
        self.with_store_mut(|store| {
            let chain = find_chain(store, chain)?;
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
            let verifier =
                BatchVerifier::new(&chain).map_err(|e| NodeError::Beacon(e.to_string()))?;
            let verdicts = verifier.verify(&beacons, &mut rand_core::OsRng);
            let now = now_secs();
            let mut valid = Vec::new();
            for (beacon, verdict) in beacons.iter().zip(verdicts) {
                match verdict {
                    Err(e) => invalid.push((Some(beacon.round()), e.to_string())),
                    Ok(()) if chain.is_future(beacon.round(), now + MAX_CLOCK_SKEW_SECS) => {
                        invalid.push((Some(beacon.round()), "round is in the future".into()));
                    }
                    Ok(()) => valid.push((
                        beacon.round(),
                        beacon.signature().to_vec(),
                        beacon.previous_signature().map(<[u8]>::to_vec),
                    )),
                }
            }
            let added = store.add_verified_beacons(&chain.hash.0, &valid)?;
            let latest_round = store.latest_beacon(&chain.hash.0)?.map(|b| b.0);
            Ok(BeaconImport {
                chain: chain.name.clone(),
                chain_hash: chain.hash.to_hex(),
                valid: valid.len(),
                invalid,
                added,
                latest_round,
            })
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
    pub fn cache_dir(&self) -> std::path::PathBuf {
        self.data_dir().path().join("cache")
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

/// The newest verified round of the binding chain, as a message binding.
/// The chain outgoing grid-pad messages bind to (quicknet unless set).
pub(crate) fn binding_chain(store: &Store) -> Result<ChainInfo, NodeError> {
    let chain_hex: String = store
        .setting(BINDING_CHAIN)?
        .unwrap_or_else(|| ChainInfo::quicknet().hash.to_hex());
    find_chain(store, &chain_hex)
}

pub(crate) fn binding(store: &Store) -> Result<RoundBinding, NodeError> {
    let chain = binding_chain(store)?;
    let latest = store.latest_beacon(&chain.hash.0)?.ok_or_else(|| {
        NodeError::NoBeacon(format!(
            "no verified round of {} is known on this device yet; import beacons with `zks beacon import --chain {}` (or let the grid fetch them)",
            chain.name, chain.name
        ))
    })?;
    let randomness = Beacon::new(chain.scheme, latest.0, latest.1.clone(), latest.2.clone())
        .map_err(|e| NodeError::Beacon(e.to_string()))?
        .randomness();
    Ok(RoundBinding {
        chain_hash: chain.hash.0,
        round: latest.0,
        randomness,
        signature: Some(hint(&latest)),
    })
}

/// Resolves incoming rounds from the store, verifying signature hints with
/// the reference verifier; newly verified beacons are collected for storing.
pub(crate) struct StoreRounds<'a> {
    pub(crate) store: &'a Store,
    pub(crate) now: u64,
    pub(crate) verified: RefCell<Vec<(ChainHash, StoredBeacon)>>,
}

impl RoundSource for StoreRounds<'_> {
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
        if chain.is_future(round, self.now + MAX_VERIFIED_AHEAD_SECS) {
            return Err(format!(
                "round {round} of {} is in the future (due at Unix time {}, now {}): refusing a message that claims it; if this is wrong, check this device's clock",
                chain.name,
                chain.time_of_round(round),
                self.now
            ));
        }
        if chain.is_future(round, self.now + MAX_CLOCK_SKEW_SECS) {
            // Only a verified signature can make such a round acceptable.
            tracing::warn!(
                chain = %chain.name,
                round,
                "a message is bound to a round this device's clock says is not out yet; this clock may be slow"
            );
        }
        let beacon = match self.store.beacon(chain_hash, round).map_err(|e| e.to_string())? {
            Some(stored) => Beacon::new(chain.scheme, stored.0, stored.1, stored.2),
            None => {
                let hint = signature_hint.ok_or_else(|| {
                    format!("round {round} of {} is not known here and the message carries no signature for it", chain.name)
                })?;
                let sig_len = chain.scheme.signature_group().point_len();
                let (sig, prev) = hint.split_at(sig_len.min(hint.len()));
                let prev = (!prev.is_empty()).then(|| prev.to_vec());
                let beacon = Beacon::new(chain.scheme, round, sig.to_vec(), prev)
                    .map_err(|e| format!("the round signature in the message is malformed: {e}"))?;
                ReferenceVerifier::new(chain)
                    .map_err(|e| e.to_string())?
                    .verify_one(&beacon)
                    .map_err(|e| format!("the round signature in the message is invalid: {e}"))?;
                self.verified.borrow_mut().push((
                    hash,
                    (round, beacon.signature().to_vec(), beacon.previous_signature().map(<[u8]>::to_vec)),
                ));
                Ok(beacon)
            }
        }
        .map_err(|e| e.to_string())?;
        Ok(beacon.randomness())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICKNET: &str = include_str!("../../../tests/data/quicknet.jsonl");

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
        let rounds = |now| StoreRounds {
            store: &store,
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
    }
}
