//! Hostile input for the grid's decoders: arbitrary and mutated bytes for
//! chunk blocks (what a gateway or peer returns), chunk indexes, drand JSON
//! beacons and chain info documents. Nothing panics; a block that does not
//! hash to its CID is refused before anything is parsed; what a decoder
//! accepts is what was encoded.

use proptest::prelude::*;
use zks_beacon::{Beacon, ChainInfo};
use zks_grid::gateway::chunk_beacons;
use zks_grid::{ChunkIndex, chunk_cid};

fn quicknet() -> ChainInfo {
    ChainInfo::quicknet()
}

const RECORDED: &str = include_str!("../../../tests/data/quicknet.jsonl");

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
