//! Verification speed: the reference verifier (drand-verify) against the
//! batch verifier, for both signature groups, plus the parts that dominate
//! (hash to curve, signature decompression).
//!
//! `cargo bench -p zks-beacon` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use blstrs::{G1Affine, G1Projective, G2Affine, G2Projective};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, Beacon, DevnetSigner, ReferenceVerifier, Scheme};

const SCHEMES: [Scheme; 2] = [Scheme::UnchainedG1Rfc9380, Scheme::PedersenBlsChained];
const BATCH_SIZES: [u64; 5] = [64, 256, 1024, 4096, 16384];

fn beacons(scheme: Scheme, count: u64) -> (DevnetSigner, Vec<Beacon>) {
    let signer = DevnetSigner::test(scheme, 3, 1_700_000_000);
    let beacons = signer.sign_range(1, count).expect("devnet signs");
    (signer, beacons)
}

fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference_single");
    group.sample_size(20);
    for scheme in SCHEMES {
        let (signer, beacons) = beacons(scheme, 2);
        let verifier = ReferenceVerifier::new(signer.chain()).expect("key");
        group.bench_function(scheme.id(), |b| {
            b.iter(|| verifier.verify_one(black_box(&beacons[1])));
        });
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    for scheme in SCHEMES {
        let mut group = c.benchmark_group(format!("batch/{}", scheme.id()));
        group.sample_size(10);
        let (signer, all) = beacons(scheme, *BATCH_SIZES.last().unwrap_or(&1));
        let verifier = BatchVerifier::new(signer.chain()).expect("key");
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for size in BATCH_SIZES {
            let batch = &all[..size as usize];
            group.throughput(Throughput::Elements(size));
            group.bench_with_input(BenchmarkId::from_parameter(size), batch, |b, batch| {
                b.iter(|| verifier.verify(black_box(batch), &mut rng));
            });
        }
        group.finish();
    }
}

fn parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("parts");
    let message = [7u8; 32];
    group.bench_function("hash_to_g1", |b| {
        b.iter(|| G1Projective::hash_to_curve(black_box(&message), zks_beacon::DST_G1, &[]));
    });
    group.bench_function("hash_to_g2", |b| {
        b.iter(|| G2Projective::hash_to_curve(black_box(&message), zks_beacon::DST_G2, &[]));
    });
    let (_, g1) = beacons(Scheme::UnchainedG1Rfc9380, 1);
    let g1: [u8; 48] = g1[0].signature().try_into().expect("48 bytes");
    group.bench_function("decompress_g1_checked", |b| {
        b.iter(|| G1Affine::from_compressed(black_box(&g1)));
    });
    let (_, g2) = beacons(Scheme::PedersenBlsChained, 1);
    let g2: [u8; 96] = g2[0].signature().try_into().expect("96 bytes");
    group.bench_function("decompress_g2_checked", |b| {
        b.iter(|| G2Affine::from_compressed(black_box(&g2)));
    });
    group.finish();
}

criterion_group!(benches, reference, batch, parts);
criterion_main!(benches);
