//! The reference verifier: each beacon checked on its own by the
//! `drand-verify` crate (pure-Rust `bls12_381`). Slow, simple, independent of
//! `blst`; the batch verifier is measured and tested against it.

use drand_verify::{G1Pubkey, G2PubkeyRfc, Pubkey, VerificationError};
use rayon::prelude::*;

use super::{Invalid, Verdict, apply_links};
use crate::beacon::Beacon;
use crate::chain::{ChainError, ChainInfo, Group};

/// Verifies beacons one at a time with `drand-verify`.
pub struct ReferenceVerifier {
    chain: ChainInfo,
    key: Key,
}

enum Key {
    /// Key on G1, signatures on G2 (pedersen-bls-*).
    G1(G1Pubkey),
    /// Key on G2, signatures on G1 (bls-unchained-g1-rfc9380).
    G2(G2PubkeyRfc),
}

impl std::fmt::Debug for ReferenceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceVerifier")
            .field("chain", &self.chain.name)
            .finish()
    }
}

impl ReferenceVerifier {
    /// A verifier for `chain`'s beacons.
    pub fn new(chain: &ChainInfo) -> Result<ReferenceVerifier, ChainError> {
        chain.check_public_key()?;
        let bad = |e: drand_verify::InvalidPoint| ChainError::BadPublicKey(e.to_string());
        let key = match chain.scheme.key_group() {
            Group::G1 => Key::G1(G1Pubkey::from_variable(&chain.public_key).map_err(bad)?),
            Group::G2 => Key::G2(G2PubkeyRfc::from_variable(&chain.public_key).map_err(bad)?),
        };
        Ok(ReferenceVerifier {
            chain: chain.clone(),
            key,
        })
    }

    /// Verifies one beacon's signature (no chain-link check).
    pub fn verify_one(&self, beacon: &Beacon) -> Verdict {
        let prev = beacon.previous_signature().unwrap_or(&[]);
        let result = match &self.key {
            Key::G1(pk) => pk.verify(beacon.round(), prev, beacon.signature()),
            Key::G2(pk) => pk.verify(beacon.round(), prev, beacon.signature()),
        };
        match result {
            Ok(true) => Ok(()),
            Ok(false) => Err(Invalid::BadSignature),
            Err(VerificationError::InvalidPoint { .. }) => {
                Err(Invalid::BadPoint(self.chain.scheme.signature_group()))
            }
        }
    }

    /// Verifies one beacon's signature (no chain-link check) and, if it
    /// holds, gives the beacon back as verified.
    pub fn verified(&self, beacon: Beacon) -> Result<super::VerifiedBeacon, Invalid> {
        self.verify_one(&beacon)?;
        Ok(super::VerifiedBeacon {
            chain: self.chain.hash,
            beacon,
        })
    }

    /// Verdicts for every beacon, in order, including chain links.
    pub fn verify(&self, beacons: &[Beacon]) -> Vec<Verdict> {
        let mut verdicts: Vec<Verdict> = beacons.iter().map(|b| self.verify_one(b)).collect();
        apply_links(&self.chain, beacons, &mut verdicts);
        verdicts
    }

    /// The same verdicts as [`ReferenceVerifier::verify`], the beacons shared
    /// out over rayon's current pool, one whole check each: what the
    /// reference costs with as many threads as the batch verifier is given.
    pub fn verify_parallel(&self, beacons: &[Beacon]) -> Vec<Verdict> {
        let mut verdicts: Vec<Verdict> = beacons.par_iter().map(|b| self.verify_one(b)).collect();
        apply_links(&self.chain, beacons, &mut verdicts);
        verdicts
    }
}
