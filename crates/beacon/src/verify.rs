//! Verdicts and the two verifiers: [`ReferenceVerifier`] (one beacon at a
//! time with `drand-verify`) and [`BatchVerifier`] (many at once on `blst`).
//! Both give the same verdict for every beacon; the tests hold them to it.

mod batch;
mod reference;

pub use batch::BatchVerifier;
pub use reference::ReferenceVerifier;

use blstrs::{G1Affine, G2Affine};

use crate::beacon::Beacon;
use crate::chain::{ChainError, ChainInfo, Group, Scheme};

/// Why a well-formed beacon is not a beacon of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Invalid {
    /// The signature bytes are not a point of the signature group.
    #[error("signature is not a valid {0} point")]
    BadPoint(Group),
    /// The signature does not verify under the chain's key.
    #[error("signature does not verify under the chain's public key")]
    BadSignature,
    /// Chained: the previous signature differs from the signature of the
    /// previous round in the same batch (both of which verify).
    #[error("previous_signature differs from the signature of round {0}")]
    BrokenLink(u64),
}

/// The outcome of verifying one beacon.
pub type Verdict = Result<(), Invalid>;

/// A beacon that verified under its chain's key. Made by the verifiers, so a
/// function taking one cannot be handed an unchecked beacon.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedBeacon {
    chain: crate::chain::ChainHash,
    beacon: Beacon,
}

impl VerifiedBeacon {
    /// The beacon.
    pub fn beacon(&self) -> &Beacon {
        &self.beacon
    }

    /// The chain it verified under.
    pub fn chain_hash(&self) -> crate::chain::ChainHash {
        self.chain
    }

    /// The round.
    pub fn round(&self) -> u64 {
        self.beacon.round()
    }

    /// Re-creates a verified beacon read back from storage that accepts only
    /// verified beacons: the grid's beacon cache, whose slots are written
    /// only from `VerifiedBeacon`s. Nothing else may call this; the
    /// workspace's `clippy.toml` disallows it everywhere but that one call
    /// site (CI runs clippy with `-D warnings`). Everything else gets
    /// verified beacons from [`BatchVerifier::verify_each`],
    /// [`BatchVerifier::verify_split`] or [`ReferenceVerifier::verified`].
    pub fn from_verified_storage(chain: crate::chain::ChainHash, beacon: Beacon) -> VerifiedBeacon {
        VerifiedBeacon { chain, beacon }
    }
}

/// Pairs beacons with their verdicts, in order: each becomes a verified
/// beacon or stays a refused one with its reason.
pub(crate) fn judge(
    chain: &ChainInfo,
    beacons: Vec<Beacon>,
    verdicts: Vec<Verdict>,
) -> Vec<Result<VerifiedBeacon, (Beacon, Invalid)>> {
    beacons
        .into_iter()
        .zip(verdicts)
        .map(|(beacon, verdict)| match verdict {
            Ok(()) => Ok(VerifiedBeacon {
                chain: chain.hash,
                beacon,
            }),
            Err(e) => Err((beacon, e)),
        })
        .collect()
}

/// Splits beacons by their verdicts into verified ones and refused ones.
pub(crate) fn split(
    chain: &ChainInfo,
    beacons: Vec<Beacon>,
    verdicts: Vec<Verdict>,
) -> (Vec<VerifiedBeacon>, Vec<(Beacon, Invalid)>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for judged in judge(chain, beacons, verdicts) {
        match judged {
            Ok(verified) => good.push(verified),
            Err(refused) => bad.push(refused),
        }
    }
    (good, bad)
}

/// The chain's public key as a curve point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PublicKey {
    G1(G1Affine),
    G2(G2Affine),
}

/// Decodes and subgroup-checks a chain public key for `scheme`.
pub(crate) fn decode_public_key(scheme: Scheme, bytes: &[u8]) -> Result<PublicKey, ChainError> {
    use group::prime::PrimeCurveAffine;
    let group = scheme.key_group();
    let wrong = || {
        ChainError::BadPublicKey(format!(
            "{scheme} needs a {group} key of {} bytes, got {} bytes",
            group.point_len(),
            bytes.len()
        ))
    };
    let not_point = || ChainError::BadPublicKey(format!("not a valid {group} point"));
    let key = match group {
        Group::G1 => {
            let arr: &[u8; 48] = bytes.try_into().map_err(|_| wrong())?;
            let p =
                Option::<G1Affine>::from(G1Affine::from_compressed(arr)).ok_or_else(not_point)?;
            if bool::from(p.is_identity()) {
                return Err(not_point());
            }
            PublicKey::G1(p)
        }
        Group::G2 => {
            let arr: &[u8; 96] = bytes.try_into().map_err(|_| wrong())?;
            let p =
                Option::<G2Affine>::from(G2Affine::from_compressed(arr)).ok_or_else(not_point)?;
            if bool::from(p.is_identity()) {
                return Err(not_point());
            }
            PublicKey::G2(p)
        }
    };
    Ok(key)
}

/// Adds chain-link verdicts to per-beacon signature verdicts: for a chained
/// scheme, when rounds r-1 and r both verify, r's previous signature must be
/// r-1's signature. Shared by both verifiers so their verdicts agree.
pub(crate) fn apply_links(chain: &ChainInfo, beacons: &[Beacon], verdicts: &mut [Verdict]) {
    if !chain.scheme.is_chained() {
        return;
    }
    let valid_signature_of: std::collections::HashMap<u64, &[u8]> = beacons
        .iter()
        .zip(verdicts.iter())
        .filter(|(_, v)| v.is_ok())
        .map(|(b, _)| (b.round(), b.signature()))
        .collect();
    for (beacon, verdict) in beacons.iter().zip(verdicts.iter_mut()) {
        if verdict.is_err() || beacon.round() < 2 {
            continue;
        }
        if let Some(prev) = valid_signature_of.get(&(beacon.round() - 1))
            && beacon.previous_signature() != Some(*prev)
        {
            *verdict = Err(Invalid::BrokenLink(beacon.round() - 1));
        }
    }
}

#[cfg(test)]
mod tests;
