use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{Beacon, ChainInfo, DevnetSigner, ReferenceVerifier, Scheme, VerifiedBeacon};

use super::*;

fn devnet() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_700_000_000)
}

fn verified(chain: &ChainInfo, beacon: Beacon) -> VerifiedBeacon {
    ReferenceVerifier::new(chain)
        .unwrap()
        .verified(beacon)
        .expect("the beacon verifies")
}

fn devnet_beacon(signer: &DevnetSigner, round: u64) -> VerifiedBeacon {
    verified(signer.chain(), signer.sign(round, None).unwrap())
}

fn recorded_quicknet(round: u64) -> Beacon {
    let text = std::fs::read_to_string(zks_testkit::quicknet_path()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(&format!("\"round\":{round},")))
        .expect("recorded round");
    Beacon::from_json(Scheme::UnchainedG1Rfc9380, line).unwrap()
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(21)
}

/// A ciphertext made by drand's Go `tlock` (its `TestDecryptText`, see
/// tests/data/tlock/README.md), opened with the recorded quicknet beacon.
#[test]
fn a_ciphertext_from_drands_tlock_opens_with_the_recorded_quicknet_round() {
    let file = std::fs::read(zks_testkit::data_path(
        "tlock/drand-tlock-quicknet-12040883.age.asc",
    ))
    .unwrap();
    let quicknet = ChainInfo::quicknet();
    assert_eq!(peek(&file).unwrap(), (12040883, quicknet.hash));
    let beacon = verified(&quicknet, recorded_quicknet(12040883));
    let plain = open_bytes(&file, &quicknet, &beacon).unwrap();
    assert_eq!(&plain[..], b"hello world");
    // Another recorded round of the same chain is refused before any work.
    let other = verified(&quicknet, recorded_quicknet(1000));
    assert!(matches!(
        open_bytes(&file, &quicknet, &other),
        Err(TlockError::WrongRound {
            file: 12040883,
            given: 1000
        })
    ));
}

#[test]
fn sealed_files_of_every_size_open_binary_and_armored() {
    let signer = devnet();
    let chain = signer.chain();
    let beacon = devnet_beacon(&signer, 77);
    let mut rng = rng();
    for len in [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        for armor in [false, true] {
            let mut file = Vec::new();
            let n = seal(chain, 77, &mut &plain[..], &mut file, armor, &mut rng).unwrap();
            assert_eq!(n, len as u64);
            if armor {
                assert!(file.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----\n"));
                assert!(file.ends_with(b"-----END AGE ENCRYPTED FILE-----\n"));
            } else {
                let head = format!(
                    "age-encryption.org/v1\n-> tlock 77 {}\n",
                    chain.hash.to_hex()
                );
                assert!(file.starts_with(head.as_bytes()));
            }
            let opened = open_bytes(&file, chain, &beacon).unwrap();
            assert_eq!(&opened[..], &plain[..], "len {len} armor {armor}");
        }
    }
}

use age::CHUNK;

#[test]
fn the_round_for_a_time_never_opens_early() {
    let q = ChainInfo::quicknet();
    for at in [
        q.genesis_time + 1,
        q.genesis_time + 3,
        q.genesis_time + 1_000_000,
        1_800_000_001,
    ] {
        let round = round_for_time(&q, at);
        assert!(q.time_of_round(round) >= at, "{at}");
        assert!(q.time_of_round(round - 1) < at, "{at}");
    }
    assert_eq!(round_for_time(&q, 0), 1);
}

#[test]
fn chains_that_cannot_timelock_are_refused() {
    let mut rng = rng();
    let default = ChainInfo::default_chain();
    assert_eq!(
        seal_bytes(&default, 5, b"x", &mut rng).unwrap_err().code(),
        "bad_input"
    );
    let unchained_g2 = DevnetSigner::test(Scheme::PedersenBlsUnchained, 3, 1_700_000_000);
    assert!(matches!(
        seal_bytes(unchained_g2.chain(), 5, b"x", &mut rng),
        Err(TlockError::Scheme(_))
    ));
    assert!(matches!(
        seal_bytes(&ChainInfo::quicknet(), 0, b"x", &mut rng),
        Err(TlockError::RoundZero)
    ));
}

#[test]
fn a_file_for_another_chain_is_refused() {
    let signer = devnet();
    let other = DevnetSigner::new(
        "other",
        &[9; 32],
        Scheme::UnchainedG1Rfc9380,
        3,
        1_700_000_000,
    );
    let file = seal_bytes(signer.chain(), 5, b"secret", &mut rng()).unwrap();
    let err = open_bytes(&file, other.chain(), &devnet_beacon(&other, 5)).unwrap_err();
    assert_eq!(err.code(), "wrong_chain", "{err}");
    // Quicknet's file and a devnet beacon of the same round: refused too.
    let quicknet_file = seal_bytes(&ChainInfo::quicknet(), 5, b"secret", &mut rng()).unwrap();
    let err = open_bytes(&quicknet_file, signer.chain(), &devnet_beacon(&signer, 5)).unwrap_err();
    assert!(matches!(err, TlockError::WrongChain { .. }), "{err}");
}

#[test]
fn a_beacon_that_fails_verification_never_becomes_a_key() {
    let quicknet = ChainInfo::quicknet();
    let good = recorded_quicknet(12040883);
    // The signature of another round, claimed for this one.
    let moved = Beacon::new(
        Scheme::UnchainedG1Rfc9380,
        12040883,
        recorded_quicknet(1000).signature().to_vec(),
        None,
    )
    .unwrap();
    let verifier = ReferenceVerifier::new(&quicknet).unwrap();
    assert!(verifier.verified(moved).is_err());
    assert!(verifier.verified(good).is_ok());
    // And at the IBE layer, a valid signature of the wrong round does not open.
    let file = std::fs::read(zks_testkit::data_path(
        "tlock/drand-tlock-quicknet-12040883.age.asc",
    ))
    .unwrap();
    let locked = read_header(&file[..]).unwrap();
    assert_eq!(
        ibe::decrypt(recorded_quicknet(1000).signature(), &locked.body),
        Err(ibe::IbeError::Check)
    );
}

#[test]
fn every_cut_of_a_file_is_refused() {
    let signer = devnet();
    let chain = signer.chain();
    let beacon = devnet_beacon(&signer, 9);
    let plain: Vec<u8> = (0..CHUNK + 10).map(|i| i as u8).collect();
    let file = seal_bytes(chain, 9, &plain, &mut rng()).unwrap();
    let header_len = file.windows(4).position(|w| w == b"\n---").unwrap() + 48;
    let cuts = (0..header_len + 40).chain([
        file.len() - 1,
        file.len() - 17,
        header_len + 16 + CHUNK + 16,
    ]);
    for cut in cuts {
        let result = open_bytes(&file[..cut], chain, &beacon);
        let err = result
            .err()
            .unwrap_or_else(|| panic!("cut at {cut} opened"));
        assert!(
            matches!(
                err,
                TlockError::Truncated | TlockError::NotAge | TlockError::Malformed(_)
            ) || (cut > header_len && matches!(err, TlockError::Damaged)),
            "cut at {cut}: {err}"
        );
    }
    // A file cut exactly after a full chunk says it is cut (elsewhere in a
    // chunk a cut looks like damage: the chunk does not authenticate).
    let exact: Vec<u8> = vec![7; 2 * CHUNK];
    let file = seal_bytes(chain, 9, &exact, &mut rng()).unwrap();
    let one_chunk = file.len() - (CHUNK + 16);
    assert!(matches!(
        open_bytes(&file[..one_chunk], chain, &beacon),
        Err(TlockError::Truncated)
    ));
}

#[test]
fn every_flipped_byte_is_refused() {
    let signer = devnet();
    let chain = signer.chain();
    let beacon = devnet_beacon(&signer, 9);
    let file = seal_bytes(chain, 9, b"a short secret", &mut rng()).unwrap();
    for at in 0..file.len() {
        let mut bad = file.clone();
        bad[at] ^= 0x04;
        if let Ok(opened) = open_bytes(&bad, chain, &beacon) {
            panic!("flipped byte {at} opened to {:?}", &opened[..]);
        }
    }
}

#[test]
fn other_inputs_get_clear_errors() {
    let signer = devnet();
    let chain = signer.chain();
    let beacon = devnet_beacon(&signer, 9);
    let cases: [(&[u8], &str); 6] = [
        (b"", "malformed"),
        (b"hello\n", "malformed"),
        (b"age-encryption.org/v1\n-> X25519 abc\nAAAA\n--- AAAA\n", "malformed"),
        (
            b"age-encryption.org/v1\n-> X25519 abc\nAAAA\n--- 8ob3HnjVi7vdVLFQ+BW5AbTeaoR+x5LtF0s5mt3zg0w\n",
            "malformed",
        ),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n-----END AGE ENCRYPTED FILE-----\n", "malformed"),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n", "truncated"),
    ];
    for (input, code) in cases {
        let err = open_bytes(input, chain, &beacon).unwrap_err();
        assert_eq!(
            err.code(),
            code,
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
    }
    // No tlock stanza: a plain age file for an X25519 recipient.
    let err = open_bytes(cases[3].0, chain, &beacon).unwrap_err();
    assert!(matches!(err, TlockError::NotTimelocked), "{err}");
}
