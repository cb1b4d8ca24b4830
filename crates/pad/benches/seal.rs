//! Seal/open throughput of both modes against raw BLAKE3, and pairing time.
//!
//! `cargo bench -p zks-pad` (add `-- --quick` for a fast pass). The grid-pad
//! cost per byte is one XOF byte plus one MAC byte, so "raw BLAKE3" below is
//! the XOF alone and hash + XOF together: the ratio to the latter is the
//! overhead of our framing and ratchet.
//!
//! Grid-pad opens are measured two ways, as a receiver meets them: with the
//! round already known (`open_known_round`: a lookup), and with the round
//! only in the message's signature hint, which the receiver verifies with
//! drand-verify like any other source before it trusts the randomness
//! (`open_verifying_hint`: one BLS pairing check on real quicknet round 1
//! from `tests/data`). True-pad opens check the one-time Poly1305 tag.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use poly1305::universal_hash::KeyInit;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zks_beacon::{Beacon, ChainInfo, ReferenceVerifier};
use zks_pad::{Envelope, Identity, PendingInvite, RoundBinding, RoundSource, Session, accept};

const SIZES: [usize; 3] = [1024, 64 * 1024, 16 * 1024 * 1024];
/// The clock of every seal and open (unix seconds); it only ages epochs.
const NOW: u64 = 1_700_000_000;

/// Round 1 of quicknet as recorded (see tests/data/README.md).
use zks_testkit::QUICKNET as QUICKNET_ROUND_1;

/// The round every benchmark message is bound to: quicknet round 1, with
/// its signature as the hint.
fn round_one() -> (ChainInfo, Beacon) {
    let chain = ChainInfo::quicknet();
    let first = QUICKNET_ROUND_1.lines().next().expect("a recorded beacon");
    let beacon = Beacon::from_json(chain.scheme, first).expect("recorded beacon");
    (chain, beacon)
}

fn binding() -> RoundBinding {
    let (chain, beacon) = round_one();
    RoundBinding {
        chain_hash: chain.hash.0,
        round: beacon.round(),
        randomness: beacon.randomness(),
        signature: Some(beacon.signature().to_vec()),
    }
}

/// A receiver that already holds the round (a cache lookup).
struct KnownRound([u8; 32]);
impl RoundSource for KnownRound {
    fn randomness(&self, _: &[u8; 32], _: u64, _: Option<&[u8]>) -> Result<[u8; 32], String> {
        Ok(self.0)
    }
}

/// A receiver that does not hold the round: it verifies the hint.
struct VerifyingHint {
    chain: ChainInfo,
    verifier: ReferenceVerifier,
}
impl RoundSource for VerifyingHint {
    fn randomness(
        &self,
        chain: &[u8; 32],
        round: u64,
        hint: Option<&[u8]>,
    ) -> Result<[u8; 32], String> {
        if chain != &self.chain.hash.0 {
            return Err("unknown chain".into());
        }
        let hint = hint.ok_or("no hint")?;
        let beacon = Beacon::new(self.chain.scheme, round, hint.to_vec(), None)
            .map_err(|e| e.to_string())?;
        self.verifier
            .verify_one(&beacon)
            .map_err(|e| e.to_string())?;
        Ok(beacon.randomness())
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
        let known = KnownRound(binding().randomness);
        let (chain, _) = round_one();
        let verifying = VerifyingHint {
            verifier: ReferenceVerifier::new(&chain).expect("quicknet key"),
            chain,
        };
        let rounds: [(&str, &dyn RoundSource); 2] = [
            ("open_known_round", &known),
            ("open_verifying_hint", &verifying),
        ];
        for (name, source) in rounds {
            group.bench_with_input(
                BenchmarkId::new(name, size),
                &envelope,
                |bench, envelope| {
                    // Each iteration opens with a fresh copy of the receiving state.
                    bench.iter(|| {
                        b.clone()
                            .open(black_box(envelope), source, NOW, &mut rng)
                            .expect("open")
                    });
                },
            );
        }
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
        // Sealing wipes the pad bytes it used; each iteration gets a fresh
        // copy, and so does the reference (copy + XOF), so both pay for it.
        group.bench_with_input(BenchmarkId::new("seal", size), &data, |bench, data| {
            bench.iter(|| {
                let mut bytes = pad.clone();
                zks_pad::truepad::seal(
                    &[1; 16],
                    zks_pad::Role::Initiator,
                    [2; 16],
                    0,
                    &mut bytes,
                    black_box(data),
                )
                .expect("seal")
            });
        });
        let sealed = zks_pad::truepad::seal(
            &[1; 16],
            zks_pad::Role::Initiator,
            [2; 16],
            0,
            &mut pad.clone(),
            &data,
        )
        .expect("seal");
        let envelope = Envelope::parse(&sealed).expect("parse");
        group.bench_with_input(
            BenchmarkId::new("open", size),
            &envelope,
            |bench, envelope| {
                bench.iter(|| {
                    let mut bytes = pad.clone();
                    zks_pad::truepad::open(black_box(envelope), &[2; 16], &mut bytes).expect("open")
                });
            },
        );
        // The reference: the same copy of the pad, XOR and one Poly1305 —
        // the primitive work of a true-pad seal without our framing.
        group.bench_with_input(
            BenchmarkId::new("raw_copy_xor_poly1305", size),
            &data,
            |bench, data| {
                bench.iter(|| {
                    let bytes = pad.clone();
                    let out: Vec<u8> = data.iter().zip(&bytes[32..]).map(|(d, k)| d ^ k).collect();
                    let key = poly1305::Key::try_from(&bytes[..32]).expect("32 bytes");
                    black_box(poly1305::Poly1305::new(&key).compute_unpadded(&out))
                });
            },
        );
        pad.fill(0x33);
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
