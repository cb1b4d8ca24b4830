//! Seal/open throughput of both modes against raw BLAKE3, and pairing time.
//!
//! `cargo bench -p zks-pad` (add `-- --quick` for a fast pass). The grid-pad
//! cost per byte is one XOF byte plus one MAC byte, so "raw BLAKE3" below is
//! the XOF alone and hash + XOF together: the ratio to the latter is the
//! overhead of our framing and ratchet.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_pad::{Envelope, Identity, PendingInvite, RoundBinding, RoundSource, Session, accept};

const SIZES: [usize; 3] = [1024, 64 * 1024, 16 * 1024 * 1024];
/// The clock of every seal and open (unix seconds); it only ages epochs.
const NOW: u64 = 1_700_000_000;

struct OneRound;
impl RoundSource for OneRound {
    fn randomness(&self, _: &[u8; 32], _: u64, _: Option<&[u8]>) -> Result<[u8; 32], String> {
        Ok([7; 32])
    }
}

fn binding() -> RoundBinding {
    RoundBinding {
        chain_hash: [1; 32],
        round: 5,
        randomness: [7; 32],
        signature: None,
    }
}

fn sessions() -> (Session, Session) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let alice = Identity::generate(&mut rng);
    let bob = Identity::generate(&mut rng);
    let pending = PendingInvite::create(&alice, "A", &[], u64::MAX, &mut rng);
    let (reply, b) = accept(pending.invite(), &bob, "B", &[], 0, &mut rng).expect("accept");
    (pending.finish(&reply).expect("finish").session, b.session)
}

fn grid(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid_pad");
    group.sample_size(10);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for size in SIZES {
        let data = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        let (mut a, _) = sessions();
        group.bench_with_input(BenchmarkId::new("seal", size), &data, |bench, data| {
            bench.iter(|| {
                a.seal(&binding(), black_box(data), NOW, &mut rng)
                    .expect("seal")
            });
        });
        let (mut a, b) = sessions();
        let sealed = a.seal(&binding(), &data, NOW, &mut rng).expect("seal");
        let envelope = Envelope::parse(&sealed).expect("parse");
        group.bench_with_input(
            BenchmarkId::new("open", size),
            &envelope,
            |bench, envelope| {
                // Each iteration opens with a fresh copy of the receiving state.
                bench.iter(|| {
                    b.clone()
                        .open(black_box(envelope), &OneRound, NOW, &mut rng)
                        .expect("open")
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("raw_blake3_xof", size),
            &data,
            |bench, data| {
                let mut out = vec![0u8; data.len()];
                bench.iter(|| {
                    blake3::Hasher::new_keyed(&[3; 32])
                        .finalize_xof()
                        .fill(&mut out);
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("raw_blake3_hash_plus_xof", size),
            &data,
            |bench, data| {
                let mut out = vec![0u8; data.len()];
                bench.iter(|| {
                    blake3::Hasher::new_keyed(&[3; 32])
                        .finalize_xof()
                        .fill(&mut out);
                    blake3::keyed_hash(&[4; 32], black_box(data))
                });
            },
        );
    }
    group.finish();
}

fn true_pad(c: &mut Criterion) {
    let mut group = c.benchmark_group("true_pad");
    group.sample_size(10);
    for size in SIZES {
        let data = vec![0x5au8; size];
        let mut pad = vec![0x33u8; size + 32];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", size), &data, |bench, data| {
            bench.iter(|| {
                zks_pad::truepad::seal(
                    &[1; 16],
                    zks_pad::Role::Initiator,
                    [2; 16],
                    0,
                    &mut pad,
                    data,
                )
            });
        });
    }
    group.finish();
}

fn pairing(c: &mut Criterion) {
    c.bench_function("pairing/invite_accept_finish", |bench| {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let alice = Identity::generate(&mut rng);
        let bob = Identity::generate(&mut rng);
        bench.iter(|| {
            let pending = PendingInvite::create(&alice, "A", &[], u64::MAX, &mut rng);
            let (reply, _) = accept(pending.invite(), &bob, "B", &[], 0, &mut rng).expect("accept");
            pending.finish(&reply).expect("finish")
        });
    });
}

criterion_group!(benches, grid, true_pad, pairing);
criterion_main!(benches);
