//! The batch verifier: many beacons with one pairing check.
//!
//! For beacons (σᵢ, mᵢ) under key pk it draws independent random nonzero
//! 64-bit coefficients cᵢ and checks, for signatures on G1,
//!
//! ```text
//!     e(Σ cᵢ·σᵢ, g₂) = e(Σ cᵢ·H(mᵢ), pk)
//! ```
//!
//! (mirrored for signatures on G2), with both sums computed by multi-scalar
//! multiplication. If every beacon is valid the check holds. If some are not,
//! it holds only if the cᵢ happen to cancel the errors, which for coefficients
//! drawn after the beacons are fixed has probability at most 2⁻⁶⁴ per check.
//! Without random coefficients the check would be forgeable (two wrong
//! signatures whose errors cancel), so they are never skipped. When a check
//! fails, the batch is split in halves and each half re-checked with the same
//! coefficients, down to single beacons, whose check is exact.
//!
//! Hashing to the curve and decompressing signatures dominate the cost; they
//! run in parallel on rayon's pool, as do the halves of a bisection and the
//! chunks of each multi-scalar multiplication.

use blst::{MultiPoint, blst_p1, blst_p1_affine, blst_p2, blst_p2_affine};
use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared, G2Projective};
use group::Group as _;
use group::prime::PrimeCurveAffine;
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_core::RngCore;
use rayon::prelude::*;

use super::{Invalid, PublicKey, Verdict, apply_links, decode_public_key};
use crate::beacon::Beacon;
use crate::chain::{ChainError, ChainInfo, Group};

/// Verifies many beacons of one chain at once; see the module docs.
pub struct BatchVerifier {
    chain: ChainInfo,
    key: PublicKey,
    /// Signatures on G1: −g₂ and pk, prepared once for the Miller loop.
    g2_lines: Option<(G2Prepared, G2Prepared)>,
}

impl std::fmt::Debug for BatchVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchVerifier")
            .field("chain", &self.chain.name)
            .finish()
    }
}

/// Below this many points a multi-scalar multiplication runs on one thread.
const PARALLEL_MSM_MIN: usize = 256;

/// The points of a batch, in a layout the multi-scalar multiplication takes.
enum Points {
    G1 {
        sigs: Vec<blst_p1_affine>,
        hashes: Vec<blst_p1_affine>,
    },
    G2 {
        sigs: Vec<blst_p2_affine>,
        hashes: Vec<blst_p2_affine>,
    },
}

impl BatchVerifier {
    /// A verifier for `chain`'s beacons.
    pub fn new(chain: &ChainInfo) -> Result<BatchVerifier, ChainError> {
        let key = decode_public_key(chain.scheme, &chain.public_key)?;
        let g2_lines = match key {
            PublicKey::G2(pk) => Some((
                G2Prepared::from(-G2Affine::generator()),
                G2Prepared::from(pk),
            )),
            PublicKey::G1(_) => None,
        };
        Ok(BatchVerifier {
            chain: chain.clone(),
            key,
            g2_lines,
        })
    }

    /// The chain this verifier checks.
    pub fn chain(&self) -> &ChainInfo {
        &self.chain
    }

    /// Verdicts for every beacon, in order, including chain links. `rng`
    /// supplies the coefficients; it must be unpredictable to whoever chose the
    /// beacons (the node passes the OS generator, tests a seeded one).
    pub fn verify<R: RngCore + ?Sized>(&self, beacons: &[Beacon], rng: &mut R) -> Vec<Verdict> {
        let group = self.chain.scheme.signature_group();
        let dst = self.chain.scheme.dst();
        // Decompress (with subgroup check) and hash to the curve, in parallel.
        let decoded: Vec<Option<Decoded>> = beacons
            .par_iter()
            .map(|b| Decoded::new(group, dst, b))
            .collect();

        let mut verdicts: Vec<Verdict> = decoded
            .iter()
            .map(|d| match d {
                Some(_) => Ok(()),
                None => Err(Invalid::BadPoint(group)),
            })
            .collect();
        let candidates: Vec<usize> = (0..beacons.len())
            .filter(|&i| decoded[i].is_some())
            .collect();
        if !candidates.is_empty() {
            let coefficients: Vec<u8> = candidates
                .iter()
                .flat_map(|_| nonzero_u64(rng).to_le_bytes())
                .collect();
            let points = Points::collect(group, candidates.iter().map(|&i| &decoded[i]));
            let mut bad = Vec::new();
            self.bisect(&points, &coefficients, 0, candidates.len(), &mut bad);
            for position in bad {
                verdicts[candidates[position]] = Err(Invalid::BadSignature);
            }
        }
        apply_links(&self.chain, beacons, &mut verdicts);
        verdicts
    }

    /// Verifies and splits: the beacons that verified, and the refused ones
    /// with their reasons.
    pub fn verify_split<R: RngCore + ?Sized>(
        &self,
        beacons: Vec<Beacon>,
        rng: &mut R,
    ) -> (Vec<super::VerifiedBeacon>, Vec<(Beacon, Invalid)>) {
        let verdicts = self.verify(&beacons, rng);
        super::split(&self.chain, beacons, verdicts)
    }

    /// Verifies and keeps the order: for each beacon, in order, the
    /// verified beacon or the refused one with its reason.
    pub fn verify_each<R: RngCore + ?Sized>(
        &self,
        beacons: Vec<Beacon>,
        rng: &mut R,
    ) -> Vec<Result<super::VerifiedBeacon, (Beacon, Invalid)>> {
        let verdicts = self.verify(&beacons, rng);
        super::judge(&self.chain, beacons, verdicts)
    }

    /// Finds the invalid beacons among `points[lo..hi]`, appending their positions.
    fn bisect(
        &self,
        points: &Points,
        coefficients: &[u8],
        lo: usize,
        hi: usize,
        bad: &mut Vec<usize>,
    ) {
        if self.check(points, coefficients, lo, hi) {
            return;
        }
        if hi - lo == 1 {
            bad.push(lo);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let (mut left, right) = rayon::join(
            || {
                let mut bad = Vec::new();
                self.bisect(points, coefficients, lo, mid, &mut bad);
                bad
            },
            || {
                let mut bad = Vec::new();
                self.bisect(points, coefficients, mid, hi, &mut bad);
                bad
            },
        );
        bad.append(&mut left);
        bad.extend(right);
    }

    /// The randomized pairing check over `points[lo..hi]`.
    fn check(&self, points: &Points, coefficients: &[u8], lo: usize, hi: usize) -> bool {
        let scalars = &coefficients[lo * 8..hi * 8];
        match (points, &self.key) {
            (Points::G1 { sigs, hashes }, PublicKey::G2(_)) => {
                let (neg_g2, pk) = match &self.g2_lines {
                    Some(lines) => lines,
                    None => return false,
                };
                let (s, h) = rayon::join(
                    || msm_g1(&sigs[lo..hi], scalars),
                    || msm_g1(&hashes[lo..hi], scalars),
                );
                Bls12::multi_miller_loop(&[(&s, neg_g2), (&h, pk)])
                    .final_exponentiation()
                    .is_identity()
                    .into()
            }
            (Points::G2 { sigs, hashes }, PublicKey::G1(pk)) => {
                let (s, h) = rayon::join(
                    || msm_g2(&sigs[lo..hi], scalars),
                    || msm_g2(&hashes[lo..hi], scalars),
                );
                let neg_g1 = -G1Affine::generator();
                Bls12::multi_miller_loop(&[
                    (&neg_g1, &G2Prepared::from(s)),
                    (pk, &G2Prepared::from(h)),
                ])
                .final_exponentiation()
                .is_identity()
                .into()
            }
            // A verifier is built with a key of the scheme's key group, and
            // points of the scheme's signature group; nothing else reaches here.
            _ => false,
        }
    }
}

/// A beacon's signature point and message hash point.
// Short-lived, one per beacon in a Vec; boxing G2 would allocate per beacon.
#[allow(clippy::large_enum_variant)]
enum Decoded {
    G1 { sig: G1Affine, hash: G1Projective },
    G2 { sig: G2Affine, hash: G2Projective },
}

impl Decoded {
    /// `None` if the signature is not a point of the group (or not in its
    /// prime-order subgroup).
    fn new(group: Group, dst: &[u8], beacon: &Beacon) -> Option<Decoded> {
        let message = beacon.message();
        match group {
            Group::G1 => {
                let bytes: &[u8; 48] = beacon.signature().try_into().ok()?;
                let sig = Option::<G1Affine>::from(G1Affine::from_compressed(bytes))?;
                let hash = G1Projective::hash_to_curve(&message, dst, &[]);
                Some(Decoded::G1 { sig, hash })
            }
            Group::G2 => {
                let bytes: &[u8; 96] = beacon.signature().try_into().ok()?;
                let sig = Option::<G2Affine>::from(G2Affine::from_compressed(bytes))?;
                let hash = G2Projective::hash_to_curve(&message, dst, &[]);
                Some(Decoded::G2 { sig, hash })
            }
        }
    }
}

impl Points {
    fn collect<'a>(group: Group, decoded: impl Iterator<Item = &'a Option<Decoded>>) -> Points {
        match group {
            Group::G1 => {
                let (sigs, hashes): (Vec<blst_p1_affine>, Vec<blst_p1>) = decoded
                    .filter_map(|d| match d {
                        Some(Decoded::G1 { sig, hash }) => Some((*sig.as_ref(), *hash.as_ref())),
                        _ => None,
                    })
                    .unzip();
                let hashes = to_affine_g1(&hashes);
                Points::G1 { sigs, hashes }
            }
            Group::G2 => {
                let (sigs, hashes): (Vec<blst_p2_affine>, Vec<blst_p2>) = decoded
                    .filter_map(|d| match d {
                        Some(Decoded::G2 { sig, hash }) => Some((*sig.as_ref(), *hash.as_ref())),
                        _ => None,
                    })
                    .unzip();
                let hashes = to_affine_g2(&hashes);
                Points::G2 { sigs, hashes }
            }
        }
    }
}

/// A uniformly random nonzero 64-bit coefficient.
fn nonzero_u64<R: RngCore + ?Sized>(rng: &mut R) -> u64 {
    loop {
        let c = rng.next_u64();
        if c != 0 {
            return c;
        }
    }
}

/// Projective to affine in parallel chunks (each chunk one batch inversion).
fn to_affine_g1(points: &[blst_p1]) -> Vec<blst_p1_affine> {
    points
        .par_chunks(PARALLEL_MSM_MIN)
        .flat_map_iter(|chunk| blst::p1_affines::from(chunk).as_slice().to_vec())
        .collect()
}

fn to_affine_g2(points: &[blst_p2]) -> Vec<blst_p2_affine> {
    points
        .par_chunks(PARALLEL_MSM_MIN)
        .flat_map_iter(|chunk| blst::p2_affines::from(chunk).as_slice().to_vec())
        .collect()
}

/// Σ cᵢ·Pᵢ on G1 with 64-bit little-endian scalars, chunked over rayon.
fn msm_g1(points: &[blst_p1_affine], scalars: &[u8]) -> G1Affine {
    let sum = points
        .par_chunks(PARALLEL_MSM_MIN)
        .zip(scalars.par_chunks(PARALLEL_MSM_MIN * 8))
        .map(|(p, s)| g1_from_raw(p.mult(s, 64)))
        .reduce(G1Projective::identity, |a, b| a + b);
    G1Affine::from(sum)
}

fn msm_g2(points: &[blst_p2_affine], scalars: &[u8]) -> G2Affine {
    let sum = points
        .par_chunks(PARALLEL_MSM_MIN)
        .zip(scalars.par_chunks(PARALLEL_MSM_MIN * 8))
        .map(|(p, s)| g2_from_raw(p.mult(s, 64)))
        .reduce(G2Projective::identity, |a, b| a + b);
    G2Affine::from(sum)
}

fn g1_from_raw(raw: blst_p1) -> G1Projective {
    let mut p = G1Projective::identity();
    *p.as_mut() = raw;
    p
}

fn g2_from_raw(raw: blst_p2) -> G2Projective {
    let mut p = G2Projective::identity();
    *p.as_mut() = raw;
    p
}
