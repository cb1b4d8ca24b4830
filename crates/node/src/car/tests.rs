//! CAR export and import between two homes on a devnet chain (real
//! signatures), and the refusals that change nothing. The soak runs
//! (`ZKS_SOAK=2` or more) add the chained scheme, whose first chunk carries
//! the genesis seed as its previous signature: its 96-byte G2 signatures
//! cost about 20 s of CPU to sign and verify twice in a debug build.

use zks_beacon::{DevnetSigner, Scheme};

use super::*;
use crate::test_support::started;

#[tokio::test]
async fn a_chunk_travels_between_homes_and_verifies() {
    travels(Scheme::UnchainedG1Rfc9380).await;
    if zks_testkit::soak() > 1 {
        travels(Scheme::PedersenBlsChained).await;
    }
}

async fn travels(scheme: Scheme) {
    let tmp = tempfile::tempdir().unwrap();
    let signer = DevnetSigner::test(scheme, 1, 1);
    let info = signer.chain().to_info_json();
    let hash = signer.chain().hash.to_hex();
    let last = CHUNK_ROUNDS + 10;
    let text: String = signer
        .sign_range(1, last)
        .unwrap()
        .iter()
        .map(|b| b.to_json() + "\n")
        .collect();

    let a = started(&tmp.path().join("a")).await;
    a.add_chain(&info).unwrap();
    assert_eq!(a.import_beacons(&hash, &text).unwrap().added as u64, last);
    let car = tmp.path().join("out.car");
    let export = a.export_car(&hash, 5..=last, &car).unwrap();
    assert_eq!(export.chunks.len(), 1);
    assert_eq!(export.chunks[0].index, 0);
    assert_eq!(
        export.partial,
        vec![PartialChunk {
            index: 1,
            first_round: CHUNK_ROUNDS + 1,
            last_round: 2 * CHUNK_ROUNDS,
            held: 10
        }]
    );
    assert_eq!(export.bytes, std::fs::metadata(&car).unwrap().len());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The file is a CAR whose roots are the index, then the chunk.
    let mut reader = CarReader::new(File::open(&car).unwrap()).unwrap();
    let roots: Vec<String> = reader.roots().iter().map(ToString::to_string).collect();
    assert_eq!(
        roots,
        vec![export.index_cid.clone(), export.chunks[0].cid.clone()]
    );
    let mut blocks = 0;
    while let Some(block) = reader.next_block().unwrap() {
        assert!(block.hash_matches());
        blocks += 1;
    }
    assert_eq!(blocks, 2);

    // An existing output is refused and left alone.
    let before = std::fs::read(&car).unwrap();
    let e = a.export_car(&hash, 1..=10, &car).unwrap_err();
    assert!(matches!(e, NodeError::BadInput(_)), "{e}");
    assert_eq!(std::fs::read(&car).unwrap(), before);
    // Rounds with no complete chunk write nothing.
    let none = tmp.path().join("none.car");
    let e = a
        .export_car(&hash, CHUNK_ROUNDS + 1..=last, &none)
        .unwrap_err();
    assert!(e.to_string().contains("no complete chunk"), "{e}");
    assert!(!none.exists());

    let b = started(&tmp.path().join("b")).await;
    // A chain this home does not know, or another chain: nothing imported.
    let e = b.import_car(&car, None).unwrap_err();
    assert!(e.to_string().contains("--chain-info"), "{e}");
    b.add_chain(&info).unwrap();
    let e = b.import_car(&car, Some("quicknet")).unwrap_err();
    assert!(e.to_string().contains("not of quicknet"), "{e}");
    assert_eq!(
        b.grid_status()
            .unwrap()
            .chains
            .iter()
            .map(|c| c.rounds)
            .sum::<u64>(),
        0
    );

    let report = b.import_car(&car, Some(&hash)).unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.rounds_added, CHUNK_ROUNDS);
    assert_eq!(report.latest_round, Some(CHUNK_ROUNDS));
    let cache = b.beacon_cache(u64::MAX).unwrap();
    let chain = b.chain(&hash).unwrap();
    let back = cache.get_range(&chain, 1..=CHUNK_ROUNDS).unwrap();
    assert_eq!(back.len() as u64, CHUNK_ROUNDS);
    if scheme.is_chained() {
        assert_eq!(
            back[0].beacon().previous_signature(),
            Some(&chain.group_hash[..])
        );
    }
    let reference = zks_beacon::ReferenceVerifier::new(&chain).unwrap();
    let first: Vec<_> = back[..64].iter().map(|b| b.beacon().clone()).collect();
    assert!(reference.verify(&first).iter().all(Result::is_ok));
    // Again: already held, nothing new, nothing refused.
    let again = b.import_car(&car, None).unwrap();
    assert_eq!((again.rounds_added, again.imported.len()), (0, 1));
    assert_eq!(again.imported[0].added, Some(0));
    a.stop().await;
    b.stop().await;
}
