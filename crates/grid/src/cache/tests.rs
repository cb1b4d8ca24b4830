//! The cache on real devnet signatures: storage, chunk boundaries, chained
//! links, completeness and CIDs, crash states, damage, eviction.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, DevnetSigner, ReferenceVerifier, Scheme};

use super::*;

fn verified(signer: &DevnetSigner, first: u64, last: u64) -> Vec<VerifiedBeacon> {
    let beacons = signer.sign_range(first, last).unwrap();
    let verifier = BatchVerifier::new(signer.chain()).unwrap();
    let (good, bad) = verifier.verify_split(beacons, &mut ChaCha20Rng::seed_from_u64(1));
    assert!(bad.is_empty());
    good
}

fn unchained() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_700_000_000)
}

#[test]
fn beacons_round_trip_across_a_chunk_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = unchained();
    let chain = signer.chain();
    let beacons = verified(&signer, CHUNK_ROUNDS - 5, CHUNK_ROUNDS + 5);
    assert_eq!(cache.put(chain, &beacons).unwrap(), 11);
    assert_eq!(cache.put(chain, &beacons).unwrap(), 0, "already present");
    let back = cache.get_range(chain, 1..=CHUNK_ROUNDS + 100).unwrap();
    assert_eq!(back, beacons);
    assert_eq!(
        cache.get(chain, CHUNK_ROUNDS).unwrap().unwrap().round(),
        CHUNK_ROUNDS
    );
    assert_eq!(cache.get(chain, 3).unwrap(), None);
    let coverage = cache.coverage(chain).unwrap();
    assert_eq!(coverage.rounds, 11);
    assert_eq!(coverage.chunks, vec![(0, 6), (1, 5)]);
    assert_eq!(
        cache
            .missing(chain, CHUNK_ROUNDS - 7..=CHUNK_ROUNDS + 7)
            .unwrap(),
        vec![
            CHUNK_ROUNDS - 7..=CHUNK_ROUNDS - 6,
            CHUNK_ROUNDS + 6..=CHUNK_ROUNDS + 7
        ]
    );
    // Reopened (another process, or after a restart): the same view.
    let again = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    assert_eq!(
        again.get_range(chain, 1..=CHUNK_ROUNDS + 100).unwrap(),
        beacons
    );
}

#[test]
fn the_latest_is_the_newest_servable_round() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = unchained();
    let chain = signer.chain();
    assert_eq!(cache.latest(chain).unwrap(), None);
    cache.put(chain, &verified(&signer, 5, 9)).unwrap();
    assert_eq!(cache.latest(chain).unwrap().unwrap().round(), 9);
    let far = verified(&signer, 3 * CHUNK_ROUNDS + 7, 3 * CHUNK_ROUNDS + 7);
    cache.put(chain, &far).unwrap();
    assert_eq!(cache.latest(chain).unwrap(), far.first().cloned());
    // Chained: a round whose predecessor is not held cannot be served,
    // so it is not the latest.
    let chained = DevnetSigner::test(Scheme::PedersenBlsChained, 3, 1_700_000_000);
    let chain = chained.chain();
    let beacons = verified(&chained, 1, 4);
    cache.put(chain, &beacons[..3]).unwrap();
    cache.put(chain, &beacons[3..]).unwrap();
    assert_eq!(cache.latest(chain).unwrap().unwrap().round(), 4);
    let lone = verified(&chained, 1, 10);
    cache.put(chain, &lone[9..]).unwrap();
    assert_eq!(cache.latest(chain).unwrap().unwrap().round(), 4);
}

#[test]
fn chained_beacons_come_back_with_their_previous_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = DevnetSigner::test(Scheme::PedersenBlsChained, 30, 1);
    let chain = signer.chain();
    let mut beacons = verified(&signer, 1, 12);
    // Round 6 arrives late: round 7 cannot be served until it does.
    let late = beacons.remove(5);
    cache.put(chain, &beacons).unwrap();
    let served: Vec<u64> = cache
        .get_range(chain, 1..=12)
        .unwrap()
        .iter()
        .map(VerifiedBeacon::round)
        .collect();
    assert_eq!(served, vec![1, 2, 3, 4, 5, 8, 9, 10, 11, 12]);
    // `missing` (from the bitmaps) agrees: 7 is held but not servable.
    assert_eq!(cache.missing(chain, 1..=14).unwrap(), vec![6..=7, 13..=14]);
    cache.put(chain, &[late]).unwrap();
    assert_eq!(cache.missing(chain, 1..=14).unwrap(), vec![13..=14]);
    let all: Vec<_> = cache
        .get_range(chain, 1..=12)
        .unwrap()
        .into_iter()
        .map(|b| b.beacon().clone())
        .collect();
    assert_eq!(all.len(), 12);
    let reference = ReferenceVerifier::new(chain).unwrap();
    assert!(
        reference
            .verify(&all)
            .iter()
            .all(std::result::Result::is_ok),
        "links and signatures hold"
    );
    assert_eq!(all[0].previous_signature(), Some(&chain.group_hash[..]));
}

#[test]
fn a_complete_chunk_has_canonical_bytes_and_a_cid() {
    // The CID of the empty raw block, as every IPFS implementation computes it.
    assert_eq!(
        chunk_cid(b""),
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = unchained();
    let chain = signer.chain();
    let beacons = verified(&signer, 1, CHUNK_ROUNDS);
    cache.put(chain, &beacons[..100]).unwrap();
    assert_eq!(cache.chunk_bytes(chain, 0).unwrap(), None, "incomplete");
    cache.put(chain, &beacons).unwrap();
    let bytes = cache.chunk_bytes(chain, 0).unwrap().unwrap();
    assert_eq!(bytes.len() as u64, CHUNK_ROUNDS * 48);
    assert_eq!(&bytes[..48], beacons[0].beacon().signature());
    let cid = chunk_cid(&bytes);
    assert!(cid.starts_with("bafkrei"));
    assert!(cid_matches(&cid, &bytes));
    let mut altered = bytes.clone();
    altered[5] ^= 1;
    assert!(!cid_matches(&cid, &altered));
}

#[test]
fn bytes_written_without_their_bit_are_never_reported() {
    // The state a SIGKILL between "write slot" and "write bitmap" leaves.
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = unchained();
    let chain = signer.chain();
    cache.put(chain, &verified(&signer, 1, 2)).unwrap();
    let path = dir.path().join(chain.hash.to_hex()).join("0.chunk");
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(HEADER_LEN + BITMAP_LEN + 48 + 2 * 48))
        .unwrap();
    file.write_all(&[0xab; 48]).unwrap();
    drop(file);
    let rounds: Vec<u64> = cache
        .get_range(chain, 1..=10)
        .unwrap()
        .iter()
        .map(VerifiedBeacon::round)
        .collect();
    assert_eq!(rounds, vec![1, 2]);
    assert_eq!(cache.coverage(chain).unwrap().rounds, 2);
}

#[test]
fn damaged_or_foreign_files_are_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    let signer = unchained();
    let chain = signer.chain();
    let chain_dir = dir.path().join(chain.hash.to_hex());
    std::fs::create_dir_all(&chain_dir).unwrap();
    std::fs::write(chain_dir.join("0.chunk"), b"not a chunk").unwrap();
    assert!(matches!(
        cache.get_range(chain, 1..=5),
        Err(CacheError::Damaged(_))
    ));
    assert!(matches!(
        cache.put(chain, &verified(&signer, 1, 1)),
        Err(CacheError::Damaged(_))
    ));
    assert_eq!(
        std::fs::read(chain_dir.join("0.chunk")).unwrap(),
        b"not a chunk"
    );
    // A beacon of another chain is refused.
    let other = DevnetSigner::new("other", &[5; 32], Scheme::UnchainedG1Rfc9380, 3, 1);
    assert!(matches!(
        cache.put(chain, &verified(&other, 20000, 20000)),
        Err(CacheError::WrongChain { .. })
    ));
}

#[test]
fn eviction_drops_the_least_recently_used_unpinned_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let signer = unchained();
    let chain = signer.chain();
    let one_chunk = HEADER_LEN + BITMAP_LEN + 48 * (CHUNK_ROUNDS + 1);
    let cache = BeaconCache::open(dir.path(), 2 * one_chunk).unwrap();
    cache.pin(chain.hash, 1..=10);
    for chunk in 0..4u64 {
        let first = chunk * CHUNK_ROUNDS + 1;
        cache
            .put(chain, &verified(&signer, first, first + 1))
            .unwrap();
        if chunk == 2 {
            cache.get(chain, 1).unwrap(); // chunk 0 is pinned anyway
        }
    }
    let held: Vec<u64> = cache
        .coverage(chain)
        .unwrap()
        .chunks
        .iter()
        .map(|c| c.0)
        .collect();
    assert!(held.contains(&0), "pinned chunk kept: {held:?}");
    assert!(held.contains(&3), "newest chunk kept: {held:?}");
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(cache.size() <= 2 * one_chunk);
}

#[test]
fn pins_stored_in_the_folder_hold_for_every_cache_opened_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let signer = unchained();
    let chain = signer.chain();
    assert_eq!(
        chunk_file_len(chain),
        HEADER_LEN + BITMAP_LEN + 48 * (CHUNK_ROUNDS + 1)
    );
    let one_chunk = chunk_file_len(chain);
    // One process pins; another (a second cache on the folder) evicts.
    let pinner = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    assert!(pinner.stored_pins().unwrap().is_empty());
    assert!(pinner.pin_stored(chain.hash, 5..=20).unwrap());
    assert!(
        !pinner.pin_stored(chain.hash, 5..=20).unwrap(),
        "already pinned"
    );
    let cache = BeaconCache::open(dir.path(), 2 * one_chunk).unwrap();
    assert_eq!(cache.stored_pins().unwrap(), vec![(chain.hash, 5..=20)]);
    for chunk in 0..4u64 {
        let first = chunk * CHUNK_ROUNDS + 1;
        cache
            .put(chain, &verified(&signer, first, first + 1))
            .unwrap();
    }
    let held = |cache: &BeaconCache| -> Vec<u64> {
        cache
            .coverage(chain)
            .unwrap()
            .chunks
            .iter()
            .map(|c| c.0)
            .collect()
    };
    assert_eq!(held(&cache), vec![0, 3], "the pinned chunk 0 was kept");

    // Unpinned, chunk 0 is the least recently used and goes at the next put.
    assert!(pinner.unpin_stored(chain.hash, 5..=20).unwrap());
    assert!(
        !pinner.unpin_stored(chain.hash, 5..=20).unwrap(),
        "not pinned"
    );
    assert!(cache.stored_pins().unwrap().is_empty());
    let first = 4 * CHUNK_ROUNDS + 1;
    cache.put(chain, &verified(&signer, first, first)).unwrap();
    assert_eq!(held(&cache), vec![3, 4]);

    // A damaged line is skipped, the others still count.
    std::fs::write(
        dir.path().join(PINS_FILE),
        format!(
            "garbage\n{} 7 3\n{} 1 2\n",
            chain.hash.to_hex(),
            chain.hash.to_hex()
        ),
    )
    .unwrap();
    assert_eq!(cache.stored_pins().unwrap(), vec![(chain.hash, 1..=2)]);
}
