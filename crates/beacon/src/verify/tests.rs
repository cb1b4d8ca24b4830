//! Recorded real beacons, tampering of every field, chain links, and the
//! batch verifier held to the reference verifier's verdicts.

use blstrs::{G1Affine, G1Projective};
use group::Group as _;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::beacon::{Beacon, BeaconError, parse_beacon_list};
use crate::chain::{ChainInfo, Scheme};
use crate::devnet::DevnetSigner;

use zks_testkit::QUICKNET;
const DEFAULT: &str = include_str!("../../../../tests/data/default.jsonl");

fn recorded(chain: &ChainInfo, text: &str) -> Vec<Beacon> {
    parse_beacon_list(chain.scheme, text)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5eed)
}

/// Runs both verifiers (the reference one beacon after another and shared
/// out over threads) and checks that they agree; returns the verdicts.
fn both(chain: &ChainInfo, beacons: &[Beacon]) -> Vec<Verdict> {
    let reference = ReferenceVerifier::new(chain).unwrap();
    let parallel = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| reference.verify_parallel(beacons));
    let reference = reference.verify(beacons);
    assert_eq!(parallel, reference, "the reference differs when parallel");
    let batch = BatchVerifier::new(chain)
        .unwrap()
        .verify(beacons, &mut rng());
    assert_eq!(batch, reference, "batch and reference verdicts differ");
    batch
}

fn with_signature(chain: &ChainInfo, b: &Beacon, signature: Vec<u8>) -> Beacon {
    Beacon::new(
        chain.scheme,
        b.round(),
        signature,
        b.previous_signature().map(<[u8]>::to_vec),
    )
    .unwrap()
}

#[test]
fn recorded_quicknet_and_default_beacons_verify() {
    let quicknet = ChainInfo::quicknet();
    let beacons = recorded(&quicknet, QUICKNET);
    assert!(beacons.len() >= 150);
    assert!(both(&quicknet, &beacons).iter().all(Result::is_ok));

    let default = ChainInfo::default_chain();
    let beacons = recorded(&default, DEFAULT);
    assert!(beacons.len() >= 5);
    assert!(both(&default, &beacons).iter().all(Result::is_ok));
}

#[test]
fn recorded_quicknet_round_123_has_its_published_randomness() {
    let beacons = recorded(&ChainInfo::quicknet(), QUICKNET);
    let b = beacons.iter().find(|b| b.round() == 123).unwrap();
    assert_eq!(
        hex::encode(b.randomness()),
        "fb8f7bc29bf24db51871ec8c79f3a1e4bd0557bc0dfcee9ed1d924e69d1c60dc"
    );
}

#[test]
fn beacons_verify_only_under_their_own_chain() {
    let quicknet = ChainInfo::quicknet();
    let beacons = recorded(&quicknet, QUICKNET);
    let devnet = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, quicknet.genesis_time);
    let verdicts = both(devnet.chain(), &beacons[..8]);
    assert!(verdicts.iter().all(|v| *v == Err(Invalid::BadSignature)));
    // A default-chain beacon read as quicknet is refused before any check.
    let line = DEFAULT.lines().nth(1).unwrap();
    assert!(matches!(
        Beacon::from_json(Scheme::UnchainedG1Rfc9380, line),
        Err(BeaconError::WrongGroup { found: 96, .. })
    ));
}

#[test]
fn tampering_with_each_field_of_a_quicknet_beacon_is_caught() {
    let chain = ChainInfo::quicknet();
    let beacons = recorded(&chain, QUICKNET);
    let good = beacons.iter().find(|b| b.round() == 72800).unwrap();
    let neighbour = beacons.iter().find(|b| b.round() == 72801).unwrap();

    let wrong_round = Beacon::new(chain.scheme, 72799, good.signature().to_vec(), None).unwrap();
    let other_valid_sig = with_signature(&chain, good, neighbour.signature().to_vec());
    let mut flipped = good.signature().to_vec();
    flipped[47] ^= 1;
    let flipped = with_signature(&chain, good, flipped);
    let mut uncompressed_flag = good.signature().to_vec();
    uncompressed_flag[0] &= 0x7f;
    let uncompressed_flag = with_signature(&chain, good, uncompressed_flag);

    let verdicts = both(
        &chain,
        &[
            good.clone(),
            wrong_round,
            other_valid_sig,
            flipped,
            uncompressed_flag,
        ],
    );
    assert_eq!(verdicts[0], Ok(()));
    assert_eq!(verdicts[1], Err(Invalid::BadSignature));
    assert_eq!(verdicts[2], Err(Invalid::BadSignature));
    assert!(verdicts[3].is_err());
    assert_eq!(verdicts[4], Err(Invalid::BadPoint(Group::G1)));

    let tampered_randomness =
        good.to_json()
            .replacen("\"randomness\":\"", "\"randomness\":\"00", 1);
    assert!(Beacon::from_json(chain.scheme, &tampered_randomness).is_err());
}

#[test]
fn tampering_with_each_field_of_a_default_beacon_is_caught() {
    let chain = ChainInfo::default_chain();
    let beacons = recorded(&chain, DEFAULT);
    let good = beacons.iter().find(|b| b.round() == 72785).unwrap();
    let prev = good.previous_signature().unwrap().to_vec();

    let wrong_round = Beacon::new(
        chain.scheme,
        72786,
        good.signature().to_vec(),
        Some(prev.clone()),
    )
    .unwrap();
    let mut bad_prev = prev.clone();
    bad_prev[10] ^= 0x40;
    let wrong_prev = Beacon::new(
        chain.scheme,
        72785,
        good.signature().to_vec(),
        Some(bad_prev),
    )
    .unwrap();
    let other = beacons.iter().find(|b| b.round() == 2634945).unwrap();
    let other_valid_sig = with_signature(&chain, good, other.signature().to_vec());
    let mut flipped = good.signature().to_vec();
    flipped[95] ^= 1;
    let flipped = with_signature(&chain, good, flipped);

    let verdicts = both(
        &chain,
        &[
            good.clone(),
            wrong_round,
            wrong_prev,
            other_valid_sig,
            flipped,
        ],
    );
    assert_eq!(verdicts[0], Ok(()));
    assert_eq!(verdicts[1], Err(Invalid::BadSignature));
    assert_eq!(verdicts[2], Err(Invalid::BadSignature));
    assert_eq!(verdicts[3], Err(Invalid::BadSignature));
    assert!(verdicts[4].is_err());
}

#[test]
fn recorded_default_rounds_are_linked_and_a_broken_link_is_named() {
    let chain = ChainInfo::default_chain();
    let beacons = recorded(&chain, DEFAULT);
    let first_four: Vec<Beacon> = beacons.iter().filter(|b| b.round() <= 4).cloned().collect();
    assert_eq!(first_four.len(), 4);
    assert_eq!(
        first_four[0].previous_signature(),
        Some(&chain.group_hash[..])
    );
    for pair in first_four.windows(2) {
        assert_eq!(pair[1].previous_signature(), Some(pair[0].signature()));
    }
    assert!(both(&chain, &first_four).iter().all(Result::is_ok));

    // A signer that signs round 3 over something other than round 2's
    // signature produces a valid signature with a broken link.
    let devnet = DevnetSigner::test(Scheme::PedersenBlsChained, 30, 1);
    let mut rounds = devnet.sign_range(1, 4).unwrap();
    let forked = devnet.sign(3, Some(rounds[0].signature())).unwrap();
    rounds[2] = forked;
    let verdicts = both(devnet.chain(), &rounds);
    assert_eq!(verdicts[2], Err(Invalid::BrokenLink(2)));
    // Round 4 was signed over the original round 3, which is no longer in
    // the batch; its own signature still verifies, but not its link.
    assert_eq!(verdicts[3], Err(Invalid::BrokenLink(3)));
    assert_eq!(&verdicts[..2], &[Ok(()), Ok(())]);
}

#[test]
fn two_swapped_signatures_are_both_found() {
    let chain = ChainInfo::quicknet();
    let mut beacons = recorded(&chain, QUICKNET);
    let (a, b) = (10, 100);
    let sig_a = beacons[a].signature().to_vec();
    let sig_b = beacons[b].signature().to_vec();
    beacons[a] = with_signature(&chain, &beacons[a], sig_b);
    beacons[b] = with_signature(&chain, &beacons[b], sig_a);
    let verdicts = both(&chain, &beacons);
    let bad: Vec<usize> = (0..verdicts.len())
        .filter(|&i| verdicts[i].is_err())
        .collect();
    assert_eq!(bad, vec![a, b]);
}

#[test]
fn errors_that_cancel_in_a_plain_sum_are_caught_by_the_coefficients() {
    // σ₁ + Δ and σ₂ − Δ sum to σ₁ + σ₂: a batch check without random
    // coefficients would accept both forgeries.
    let chain = ChainInfo::quicknet();
    let mut beacons = recorded(&chain, QUICKNET)[20..40].to_vec();
    let delta = G1Projective::generator();
    let shift = |b: &Beacon, plus: bool| {
        let arr: [u8; 48] = b.signature().try_into().unwrap();
        let p = G1Projective::from(G1Affine::from_compressed(&arr).unwrap());
        let q = if plus { p + delta } else { p - delta };
        with_signature(&chain, b, G1Affine::from(q).to_compressed().to_vec())
    };
    beacons[3] = shift(&beacons[3], true);
    beacons[7] = shift(&beacons[7], false);
    let verdicts = both(&chain, &beacons);
    for (i, v) in verdicts.iter().enumerate() {
        let expected = if i == 3 || i == 7 {
            Err(Invalid::BadSignature)
        } else {
            Ok(())
        };
        assert_eq!(*v, expected, "beacon {i}");
    }
}

#[test]
fn points_off_the_curve_or_outside_the_subgroup_are_bad_points() {
    let chain = ChainInfo::quicknet();
    let b = &recorded(&chain, QUICKNET)[0];
    // The smallest x whose compressed encoding is on the curve but, the
    // cofactor being large, not in the prime-order subgroup.
    let outside = (1u8..=255)
        .map(|x| {
            let mut bytes = [0u8; 48];
            bytes[0] = 0x80;
            bytes[47] = x;
            bytes
        })
        .find(|bytes| {
            bool::from(G1Affine::from_compressed_unchecked(bytes).is_some())
                && bool::from(G1Affine::from_compressed(bytes).is_none())
        })
        .unwrap();
    let outside = with_signature(&chain, b, outside.to_vec());
    let mut off_curve = None;
    for x in 1u8..=255 {
        let mut bytes = [0u8; 48];
        bytes[0] = 0x80;
        bytes[47] = x;
        if bool::from(G1Affine::from_compressed_unchecked(&bytes).is_none()) {
            off_curve = Some(bytes);
            break;
        }
    }
    let off_curve = with_signature(&chain, b, off_curve.unwrap().to_vec());
    let identity = with_signature(&chain, b, G1Affine::default().to_compressed().to_vec());
    let verdicts = both(&chain, &[outside, off_curve, identity, b.clone()]);
    assert_eq!(verdicts[0], Err(Invalid::BadPoint(Group::G1)));
    assert_eq!(verdicts[1], Err(Invalid::BadPoint(Group::G1)));
    // The identity is a point, and verifies nothing.
    assert_eq!(verdicts[2], Err(Invalid::BadSignature));
    assert_eq!(verdicts[3], Ok(()));
}

#[test]
fn an_empty_batch_has_no_verdicts() {
    let chain = ChainInfo::quicknet();
    assert!(both(&chain, &[]).is_empty());
}

/// How one beacon of a batch is damaged in the property test.
#[derive(Debug, Clone)]
enum Damage {
    None,
    OtherRoundsSignature(usize),
    SwapWith(usize),
    FlipBit(usize),
    ShiftRound,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => Just(Damage::None),
        1 => (0usize..64).prop_map(Damage::OtherRoundsSignature),
        1 => (0usize..64).prop_map(Damage::SwapWith),
        1 => (0usize..(48 * 8)).prop_map(Damage::FlipBit),
        1 => Just(Damage::ShiftRound),
    ]
}

fn apply(chain: &ChainInfo, pool: &[Beacon], picks: &[(usize, Damage)]) -> Vec<Beacon> {
    let mut out: Vec<Beacon> = picks.iter().map(|(i, _)| pool[*i].clone()).collect();
    let n = out.len();
    for (pos, (_, d)) in picks.iter().enumerate() {
        let b = out[pos].clone();
        out[pos] = match d {
            Damage::None => b,
            Damage::OtherRoundsSignature(j) => {
                with_signature(chain, &b, pool[j % pool.len()].signature().to_vec())
            }
            Damage::SwapWith(j) => {
                let j = j % n;
                let (sa, sb) = (out[pos].signature().to_vec(), out[j].signature().to_vec());
                out[j] = with_signature(chain, &out[j], sa);
                with_signature(chain, &b, sb)
            }
            Damage::FlipBit(bit) => {
                let mut sig = b.signature().to_vec();
                let bit = bit % (sig.len() * 8);
                sig[bit / 8] ^= 1 << (bit % 8);
                with_signature(chain, &b, sig)
            }
            Damage::ShiftRound => Beacon::new(
                chain.scheme,
                b.round() + 1,
                b.signature().to_vec(),
                b.previous_signature().map(<[u8]>::to_vec),
            )
            .unwrap(),
        };
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The batch verifier's verdicts equal the reference's on random valid
    /// and tampered batches of real quicknet beacons.
    #[test]
    fn batch_agrees_with_reference_on_quicknet(
        picks in proptest::collection::vec((0usize..150, damage()), 1..40),
        seed in any::<u64>(),
    ) {
        let chain = ChainInfo::quicknet();
        let pool = recorded(&chain, QUICKNET);
        let batch = apply(&chain, &pool, &picks);
        let reference = ReferenceVerifier::new(&chain).unwrap().verify(&batch);
        let verdicts = BatchVerifier::new(&chain)
            .unwrap()
            .verify(&batch, &mut ChaCha20Rng::seed_from_u64(seed));
        prop_assert_eq!(verdicts, reference);
    }

    /// The same on a chained devnet (signatures on G2, chain links).
    #[test]
    fn batch_agrees_with_reference_on_a_chained_devnet(
        picks in proptest::collection::vec((0usize..24, damage()), 1..12),
        seed in any::<u64>(),
    ) {
        let signer = DevnetSigner::test(Scheme::PedersenBlsChained, 30, 1);
        // From round 2, so that shifting a round never meets round 1's
        // 32-byte genesis seed.
        let pool = signer.sign_range(2, 25).unwrap();
        let batch = apply(signer.chain(), &pool, &picks);
        let reference = ReferenceVerifier::new(signer.chain()).unwrap().verify(&batch);
        let verdicts = BatchVerifier::new(signer.chain())
            .unwrap()
            .verify(&batch, &mut ChaCha20Rng::seed_from_u64(seed));
        prop_assert_eq!(verdicts, reference);
    }
}
