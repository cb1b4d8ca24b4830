//! The devnet signer: a local drand-like chain with a secret key we hold, so
//! tests and the offline demo run on real BLS signatures that the same
//! verifiers accept. Its key is derived from a seed; the built-in test seed is
//! public, so a devnet proves nothing to anyone but the tests.

use blst::min_pk;
use blst::min_sig;
use sha2::{Digest, Sha256};

use crate::beacon::{Beacon, BeaconError};
use crate::chain::{ChainInfo, Scheme};

/// The public seed of the test key every devnet uses unless given another.
pub const TEST_SEED: [u8; 32] = *b"zks-entropy-grid devnet test key";

/// Signs beacons of a devnet chain.
pub struct DevnetSigner {
    chain: ChainInfo,
    key: SecretKey,
}

enum SecretKey {
    /// Signatures on G1 (bls-unchained-g1-rfc9380).
    MinSig(min_sig::SecretKey),
    /// Signatures on G2 (pedersen-bls-*).
    MinPk(min_pk::SecretKey),
}

impl std::fmt::Debug for DevnetSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevnetSigner")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl DevnetSigner {
    /// A devnet named `devnet` with the public test key.
    pub fn test(scheme: Scheme, period: u64, genesis_time: u64) -> DevnetSigner {
        DevnetSigner::new("devnet", &TEST_SEED, scheme, period, genesis_time)
    }

    /// A devnet whose key is derived from `seed` (IKM of the IETF BLS KeyGen).
    pub fn new(
        name: &str,
        seed: &[u8; 32],
        scheme: Scheme,
        period: u64,
        genesis_time: u64,
    ) -> DevnetSigner {
        let info = format!("zks-devnet {}", scheme.id());
        let (key, public_key) = match scheme.signature_group() {
            crate::chain::Group::G1 => {
                // KeyGen fails only for an IKM shorter than 32 bytes.
                let sk = min_sig::SecretKey::key_gen(seed, info.as_bytes())
                    .unwrap_or_else(|_| unreachable!("KeyGen accepts any 32-byte IKM"));
                let pk = sk.sk_to_pk().compress().to_vec();
                (SecretKey::MinSig(sk), pk)
            }
            crate::chain::Group::G2 => {
                let sk = min_pk::SecretKey::key_gen(seed, info.as_bytes())
                    .unwrap_or_else(|_| unreachable!("KeyGen accepts any 32-byte IKM"));
                let pk = sk.sk_to_pk().compress().to_vec();
                (SecretKey::MinPk(sk), pk)
            }
        };
        let mut group_hash = Sha256::new();
        group_hash.update(b"zks devnet genesis seed");
        group_hash.update(&public_key);
        let chain = ChainInfo::new(
            name,
            scheme,
            public_key,
            period,
            genesis_time,
            group_hash.finalize().into(),
        );
        DevnetSigner { chain, key }
    }

    /// The chain this signer signs for.
    pub fn chain(&self) -> &ChainInfo {
        &self.chain
    }

    /// Signs `round`. Chained schemes need the previous round's signature
    /// (the genesis seed for round 1); unchained schemes ignore it.
    pub fn sign(
        &self,
        round: u64,
        previous_signature: Option<&[u8]>,
    ) -> Result<Beacon, BeaconError> {
        let scheme = self.chain.scheme;
        let prev = if scheme.is_chained() {
            Some(match (round, previous_signature) {
                (1, _) => self.chain.group_hash.to_vec(),
                (_, Some(p)) => p.to_vec(),
                (_, None) => Vec::new(),
            })
        } else {
            None
        };
        let message = crate::beacon::message(round, prev.as_deref());
        let signature = match &self.key {
            SecretKey::MinSig(sk) => sk.sign(&message, scheme.dst(), &[]).compress().to_vec(),
            SecretKey::MinPk(sk) => sk.sign(&message, scheme.dst(), &[]).compress().to_vec(),
        };
        // Sizes are right by construction; a chained round > 1 without its
        // previous signature (or round 0) is refused here.
        Beacon::new(scheme, round, signature, prev)
    }

    /// Signs `first..=last` in order, linking chained rounds. For a chained
    /// scheme starting after round 1, the rounds before are signed too (and
    /// dropped) so that the links are right.
    pub fn sign_range(&self, first: u64, last: u64) -> Result<Vec<Beacon>, BeaconError> {
        if first == 0 {
            return Err(BeaconError::RoundZero);
        }
        if !self.chain.scheme.is_chained() {
            return (first..=last).map(|r| self.sign(r, None)).collect();
        }
        let mut out = Vec::new();
        let mut prev: Option<Vec<u8>> = None;
        for round in 1..=last {
            let beacon = self.sign(round, prev.as_deref())?;
            prev = Some(beacon.signature().to_vec());
            if round >= first {
                out.push(beacon);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ReferenceVerifier;

    #[test]
    fn devnet_beacons_verify_with_the_reference_verifier() {
        for scheme in Scheme::ALL {
            let signer = DevnetSigner::test(scheme, 3, 1_700_000_000);
            signer.chain().check_public_key().unwrap();
            let reference = ReferenceVerifier::new(signer.chain()).unwrap();
            let beacons = signer.sign_range(1, 5).unwrap();
            assert_eq!(beacons.len(), 5);
            assert!(
                reference.verify(&beacons).iter().all(Result::is_ok),
                "{scheme}"
            );
        }
    }

    #[test]
    fn devnet_info_round_trips_through_info_json() {
        let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 1, 1_700_000_000);
        let json = signer.chain().to_info_json();
        assert_eq!(&ChainInfo::from_info_json(&json).unwrap(), signer.chain());
    }

    #[test]
    fn the_same_seed_gives_the_same_chain_and_signatures() {
        let a = DevnetSigner::test(Scheme::PedersenBlsChained, 30, 1);
        let b = DevnetSigner::test(Scheme::PedersenBlsChained, 30, 1);
        assert_eq!(a.chain(), b.chain());
        assert_eq!(a.sign_range(3, 4).unwrap(), b.sign_range(3, 4).unwrap());
        assert_eq!(a.sign(0, None), Err(BeaconError::RoundZero));
        assert_eq!(
            a.sign(2, None),
            Err(BeaconError::MissingPreviousSignature(
                Scheme::PedersenBlsChained
            ))
        );
        let other = DevnetSigner::new("devnet", &[7; 32], Scheme::PedersenBlsChained, 30, 1);
        assert_ne!(other.chain().hash, a.chain().hash);
    }
}
