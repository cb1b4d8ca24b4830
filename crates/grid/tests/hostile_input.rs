//! Hostile input for the grid's decoders: arbitrary and mutated bytes for
//! chunk blocks (what a gateway or peer returns), chunk indexes, drand JSON
//! beacons and chain info documents. Nothing panics; a block that does not
//! hash to its CID is refused before anything is parsed; what a decoder
//! accepts is what was encoded.
//!
//! The structured properties at the end start from valid inputs (recorded
//! quicknet signatures in their chunk, a chunk response of them, a chunk
//! index) and change their content while keeping their framing (a block's
//! length, a response's counts and lengths, an index's JSON shape) in most
//! cases, so that the code behind the framing, down to signature
//! verification, runs; each counts how many cases got there and asserts
//! that most did. `ZKS_SOAK=N` multiplies their case counts.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, Beacon, ChainInfo};
use zks_grid::gateway::chunk_beacons;
use zks_grid::swarm::{ServedRound, decode_response, encode_response, to_beacons};
use zks_grid::{CHUNK_ROUNDS, ChunkIndex, chunk_cid};

fn quicknet() -> ChainInfo {
    ChainInfo::quicknet()
}

use zks_testkit::QUICKNET as RECORDED;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn chunk_blocks_of_any_shape_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20_000), index in 0u64..4) {
        let chain = quicknet();
        if let Ok(beacons) = chunk_beacons(&chain, index, &bytes) {
            // Whatever parses is still only signatures to verify, never trusted.
            prop_assert!(beacons.len() <= zks_grid::CHUNK_ROUNDS as usize);
        }
    }

    #[test]
    fn chunk_indexes_and_chain_info_of_any_text_never_panic(text in ".{0,600}") {
        let chain = quicknet();
        let _ = ChunkIndex::from_json(&text, &chain);
        let _ = ChainInfo::from_info_json(&text);
        let _ = Beacon::from_json(chain.scheme, &text);
    }

    #[test]
    fn mutated_recorded_beacons_never_panic_and_stay_what_they_say(line in 0usize..160, at in any::<usize>(), byte in any::<u8>()) {
        let chain = quicknet();
        let lines: Vec<&str> = RECORDED.lines().collect();
        let good = lines[line % lines.len()];
        let mut bytes = good.as_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(beacon) = Beacon::from_json(chain.scheme, text)
        {
            // Accepted JSON gives a beacon that re-serialises to a form the
            // parser reads back identically (the randomness is recomputed).
            let again = Beacon::from_json(chain.scheme, &beacon.to_json()).unwrap();
            prop_assert_eq!(again, beacon);
        }
    }

    #[test]
    fn a_block_must_hash_to_its_cid(bytes in proptest::collection::vec(any::<u8>(), 1..4096), flip in 1u8..=255, at in any::<usize>()) {
        let cid = chunk_cid(&bytes);
        let mut other = bytes.clone();
        let at = at % other.len();
        other[at] ^= flip;
        prop_assert_ne!(chunk_cid(&other), cid);
    }
}

use zks_testkit::cases as soak_cases;

/// Runs `test` on `soak_cases(base)` values of `strategy`; `test` says
/// whether the case got past the framing. Prints the fraction that did and
/// asserts at least `min_reach`; a panic fails with the (shrunk) input.
fn run_counted<S>(
    name: &str,
    base: u32,
    min_reach: f64,
    strategy: S,
    test: impl Fn(S::Value) -> bool,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let (cases, reached) = (Cell::new(0u32), Cell::new(0u32));
    let config = Config {
        cases: soak_cases(base),
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |value| {
        cases.set(cases.get() + 1);
        if test(value) {
            reached.set(reached.get() + 1);
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!("{name}: {reason}; minimal input: {value:?}"),
        Err(e) => panic!("{name}: {e}"),
    }
    let fraction = f64::from(reached.get()) / f64::from(cases.get().max(1));
    println!(
        "reach {name}: {}/{} cases ({:.1}%) reached the parser behind the framing",
        reached.get(),
        cases.get(),
        100.0 * fraction
    );
    assert!(
        fraction >= min_reach,
        "{name}: only {:.1}% got past the framing",
        100.0 * fraction
    );
}

/// The recorded quicknet beacons of one chunk (rounds 72750..=72900 of
/// chunk 4).
fn recorded_chunk_beacons() -> Vec<Beacon> {
    let chain = quicknet();
    RECORDED
        .lines()
        .map(|l| Beacon::from_json(chain.scheme, l).unwrap())
        .filter(|b| (b.round() - 1) / CHUNK_ROUNDS == CHUNK)
        .collect()
}

const CHUNK: u64 = 4;

/// Chunk 4's canonical bytes: every recorded signature in its slot, the
/// other slots holding a copy of one of them (not valid for their round).
fn base_chunk(recorded: &[Beacon]) -> Vec<u8> {
    let first = CHUNK * CHUNK_ROUNDS + 1;
    let filler = recorded[0].signature();
    let mut bytes = filler.repeat(CHUNK_ROUNDS as usize);
    for b in recorded {
        let at = (b.round() - first) as usize * 48;
        bytes[at..at + 48].copy_from_slice(b.signature());
    }
    bytes
}

/// A change to a slot of a chunk block (the slot is taken modulo the
/// recorded ones, so that a changed signature is one that would verify).
#[derive(Debug, Clone)]
enum SlotChange {
    /// XOR a byte of the signature.
    Flip { slot: usize, at: usize, mask: u8 },
    /// The compressed point at infinity.
    Infinity { slot: usize },
    /// All zeros, or all ones.
    Fill { slot: usize, byte: u8 },
    /// Two recorded signatures swapped.
    Swap { a: usize, b: usize },
}

fn slot_change() -> impl Strategy<Value = SlotChange> {
    prop_oneof![
        4 => (any::<usize>(), 0usize..48, 1u8..=255).prop_map(|(slot, at, mask)| SlotChange::Flip { slot, at, mask }),
        1 => any::<usize>().prop_map(|slot| SlotChange::Infinity { slot }),
        1 => (any::<usize>(), prop_oneof![Just(0u8), Just(0xff)]).prop_map(|(slot, byte)| SlotChange::Fill { slot, byte }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| SlotChange::Swap { a, b }),
    ]
}

/// Chunk blocks of the right length with recorded signatures changed: the
/// block is cut into beacons on every such case, and the batch verifier
/// accepts exactly the signatures left as recorded. A wrong length (one
/// case in twenty) is refused before anything is parsed.
#[test]
fn chunk_blocks_with_changed_signatures_verify_exactly_the_unchanged_ones() {
    let chain = quicknet();
    let recorded = recorded_chunk_beacons();
    assert_eq!(recorded.len(), 151);
    let base = base_chunk(&recorded);
    let verifier = BatchVerifier::new(&chain).unwrap();
    let first = CHUNK * CHUNK_ROUNDS + 1;
    let slot_of = |i: usize| (recorded[i % recorded.len()].round() - first) as usize;
    let strategy = (
        proptest::collection::vec(slot_change(), 0..4),
        proptest::option::weighted(0.05, -50i64..50),
    );
    run_counted("chunk block", 60, 0.8, strategy, |(changes, resize)| {
        let mut bytes = base.clone();
        for c in &changes {
            match *c {
                SlotChange::Flip { slot, at, mask } => bytes[slot_of(slot) * 48 + at] ^= mask,
                SlotChange::Infinity { slot } => {
                    let s = slot_of(slot) * 48;
                    bytes[s..s + 48].fill(0);
                    bytes[s] = 0xc0;
                }
                SlotChange::Fill { slot, byte } => {
                    let s = slot_of(slot) * 48;
                    bytes[s..s + 48].fill(byte);
                }
                SlotChange::Swap { a, b } => {
                    let (a, b) = (slot_of(a) * 48, slot_of(b) * 48);
                    let sa: Vec<u8> = bytes[a..a + 48].to_vec();
                    bytes.copy_within(b..b + 48, a);
                    bytes[b..b + 48].copy_from_slice(&sa);
                }
            }
        }
        if let Some(d) = resize {
            let len = (bytes.len() as i64 + if d == 0 { 1 } else { d }) as usize;
            bytes.resize(len, 0);
        }
        let Ok(beacons) = chunk_beacons(&chain, CHUNK, &bytes) else {
            assert!(resize.is_some(), "a block of the right length is a chunk");
            return false;
        };
        assert_eq!(beacons.len(), CHUNK_ROUNDS as usize);
        let ours: Vec<Beacon> = recorded
            .iter()
            .map(|b| beacons[(b.round() - first) as usize].clone())
            .collect();
        let verdicts = verifier.verify(&ours, &mut ChaCha20Rng::seed_from_u64(1));
        for ((verdict, got), want) in verdicts.iter().zip(&ours).zip(&recorded) {
            assert_eq!(verdict.is_ok(), got == want, "round {}", want.round());
        }
        true
    });
}

/// A change to one served round of a chunk response.
#[derive(Debug, Clone)]
enum ServedChange {
    Round {
        entry: usize,
        round: u64,
    },
    CutSignature {
        entry: usize,
        len: usize,
    },
    ExtendSignature {
        entry: usize,
        extra: Vec<u8>,
    },
    FlipSignature {
        entry: usize,
        at: usize,
        mask: u8,
    },
    Previous {
        entry: usize,
        len: usize,
    },
    /// The response's bytes themselves (breaks the framing, usually).
    Byte {
        at: usize,
        value: u8,
    },
}

fn served_change() -> impl Strategy<Value = ServedChange> {
    let entry = any::<usize>;
    let round = prop_oneof![
        Just(0u64),
        Just(1),
        Just(72_749),
        Just(72_901),
        Just(u64::MAX),
        72_740u64..72_910
    ];
    prop_oneof![
        2 => (entry(), round).prop_map(|(entry, round)| ServedChange::Round { entry, round }),
        1 => (entry(), 0usize..48).prop_map(|(entry, len)| ServedChange::CutSignature { entry, len }),
        1 => (entry(), proptest::collection::vec(any::<u8>(), 1..60)).prop_map(|(entry, extra)| ServedChange::ExtendSignature { entry, extra }),
        3 => (entry(), 0usize..48, 1u8..=255).prop_map(|(entry, at, mask)| ServedChange::FlipSignature { entry, at, mask }),
        1 => (entry(), prop_oneof![Just(32usize), Just(48), Just(96), 0usize..=255]).prop_map(|(entry, len)| ServedChange::Previous { entry, len }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| ServedChange::Byte { at, value }),
    ]
}

/// Chunk responses of recorded rounds with their rounds, signature lengths,
/// signature bytes and previous signatures changed, re-encoded so that the
/// counts and lengths agree: the decoder reads past the framing on most
/// cases, and of what it returns only the rounds served as recorded and
/// asked for verify.
#[test]
fn chunk_responses_with_changed_rounds_decode_and_verify_exactly_the_recorded_ones() {
    let chain = quicknet();
    let recorded = recorded_chunk_beacons();
    let verifier = BatchVerifier::new(&chain).unwrap();
    let strategy = (
        0usize..140,
        1usize..12,
        proptest::collection::vec(served_change(), 0..4),
    );
    run_counted(
        "chunk response",
        300,
        0.8,
        strategy,
        |(start, n, changes)| {
            let mut served: Vec<ServedRound> = recorded[start..start + n]
                .iter()
                .map(|b| (b.round(), b.signature().to_vec(), None))
                .collect();
            let mut byte_changes = Vec::new();
            for c in changes {
                let at = |entry: usize| entry % n;
                match c {
                    ServedChange::Round { entry, round } => served[at(entry)].0 = round,
                    ServedChange::CutSignature { entry, len } => served[at(entry)].1.truncate(len),
                    ServedChange::ExtendSignature { entry, extra } => {
                        served[at(entry)].1.extend(extra);
                    }
                    ServedChange::FlipSignature { entry, at: i, mask } => {
                        let sig = &mut served[at(entry)].1;
                        if !sig.is_empty() {
                            let i = i % sig.len();
                            sig[i] ^= mask;
                        }
                    }
                    // An empty previous signature is no previous signature
                    // on the wire (as in `Beacon::new`), so that is what
                    // the decoder must give back.
                    ServedChange::Previous { entry, len } => {
                        served[at(entry)].2 = (len > 0).then(|| vec![0x42; len]);
                    }
                    ServedChange::Byte { at, value } => byte_changes.push((at, value)),
                }
            }
            let mut body = encode_response(&served);
            for (at, value) in &byte_changes {
                let i = at % body.len();
                body[i] = *value;
            }
            let Some(decoded) = decode_response(&body) else {
                assert!(!byte_changes.is_empty(), "an encoded response decodes");
                return false;
            };
            if byte_changes.is_empty() {
                assert_eq!(decoded, served);
            }
            let (first, last) = (recorded[start].round(), recorded[start + n - 1].round());
            let (beacons, _bad) = to_beacons(&chain, first, last, decoded);
            let verdicts = verifier.verify(&beacons, &mut ChaCha20Rng::seed_from_u64(2));
            for (verdict, b) in verdicts.iter().zip(&beacons) {
                assert!(b.round() >= first && b.round() <= last);
                let genuine = recorded.iter().any(|r| r == b);
                assert_eq!(verdict.is_ok(), genuine, "round {}", b.round());
            }
            true
        },
    );
}

/// How a chunk index document's values are changed.
#[derive(Debug, Clone)]
enum IndexChange {
    ChainChar {
        at: usize,
        c: char,
    },
    ChainUpper,
    ChainCut {
        len: usize,
    },
    CidPrefix {
        entry: usize,
    },
    CidLong {
        entry: usize,
    },
    CidEmpty {
        entry: usize,
    },
    /// Changes that break the JSON shape: a key that is not a number, a CID
    /// that is not a string, no `chunks`.
    BadKey,
    CidNumber {
        entry: usize,
    },
    NoChunks,
}

fn index_change() -> impl Strategy<Value = IndexChange> {
    // One change in eleven breaks the JSON shape; the rest reach the checks.
    prop_oneof![
        9 => (0usize..64, prop_oneof![Just('0'), Just('f'), Just('g'), Just('A')]).prop_map(|(at, c)| IndexChange::ChainChar { at, c }),
        3 => Just(IndexChange::ChainUpper),
        3 => (0usize..70).prop_map(|len| IndexChange::ChainCut { len }),
        6 => any::<usize>().prop_map(|entry| IndexChange::CidPrefix { entry }),
        6 => any::<usize>().prop_map(|entry| IndexChange::CidLong { entry }),
        3 => any::<usize>().prop_map(|entry| IndexChange::CidEmpty { entry }),
        1 => Just(IndexChange::BadKey),
        1 => any::<usize>().prop_map(|entry| IndexChange::CidNumber { entry }),
        1 => Just(IndexChange::NoChunks),
    ]
}

/// The CID of entry `entry` (modulo their number), if there is one.
fn cid_at(
    chunks: &mut [(String, serde_json::Value)],
    entry: usize,
) -> Option<&mut serde_json::Value> {
    let n = chunks.len().max(1);
    chunks.get_mut(entry % n).map(|(_, v)| v)
}

/// Chunk index documents for the right chain with their chain hash and CIDs
/// changed: the checks behind serde (the chain, the CIDs) run on most
/// cases; what parses serialises back to the same index.
#[test]
fn chunk_indexes_with_changed_values_reach_the_checks_and_never_panic() {
    let chain = quicknet();
    let strategy = (
        proptest::collection::btree_map(
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            0..6,
        ),
        proptest::collection::vec(index_change(), 0..3),
    );
    run_counted("chunk index", 1000, 0.8, strategy, |(blocks, changes)| {
        let mut hash = chain.hash.to_hex();
        let mut chunks: Vec<(String, serde_json::Value)> = blocks
            .iter()
            .map(|(k, bytes)| (k.to_string(), chunk_cid(bytes).into()))
            .collect();
        let mut has_chunks = true;
        for c in &changes {
            match c {
                IndexChange::ChainChar { at, c } => {
                    let mut chars: Vec<char> = hash.chars().collect();
                    if !chars.is_empty() {
                        let i = at % chars.len();
                        chars[i] = *c;
                    }
                    hash = chars.into_iter().collect();
                }
                IndexChange::ChainUpper => hash = hash.to_uppercase(),
                IndexChange::ChainCut { len } => hash.truncate((*len).min(hash.len())),
                IndexChange::CidPrefix { entry } => {
                    if let Some(v) = cid_at(&mut chunks, *entry) {
                        *v = format!("Q{}", v.as_str().unwrap_or_default()).into();
                    }
                }
                IndexChange::CidLong { entry } => {
                    if let Some(v) = cid_at(&mut chunks, *entry) {
                        *v = format!("b{}", "a".repeat(100)).into();
                    }
                }
                IndexChange::CidEmpty { entry } => {
                    if let Some(v) = cid_at(&mut chunks, *entry) {
                        *v = "".into();
                    }
                }
                IndexChange::BadKey => chunks.push(("seven".into(), "bafk".into())),
                IndexChange::CidNumber { entry } => {
                    if let Some(v) = cid_at(&mut chunks, *entry) {
                        *v = 7.into();
                    }
                }
                IndexChange::NoChunks => has_chunks = false,
            }
        }
        let mut doc = serde_json::Map::new();
        doc.insert("chain".into(), hash.into());
        if has_chunks {
            doc.insert(
                "chunks".into(),
                serde_json::Value::Object(chunks.into_iter().collect()),
            );
        }
        let text = serde_json::Value::Object(doc).to_string();
        match ChunkIndex::from_json(&text, &chain) {
            Ok(index) => {
                let again = serde_json::to_string(&index).unwrap();
                assert_eq!(ChunkIndex::from_json(&again, &chain).unwrap(), index);
                true
            }
            Err(e) => !e.starts_with("not a chunk index"),
        }
    });
}
