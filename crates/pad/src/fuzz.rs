//! Test support for the structured fuzzing of this crate's decoders.
//!
//! Random bytes almost never get past a decoder's framing (a magic, a
//! checksum, a signature), so the properties built on this module start from
//! structurally valid inputs made with the crate's own API, change bytes and
//! integers *inside* the framing, and frame the result again (checksum,
//! signature) where the format has one. Each property counts how many of its
//! cases reached the field parser behind the framing and asserts that most
//! did: a generator that stops reaching it is a broken fuzzer, not a pass.
//!
//! `ZKS_SOAK=N` multiplies every case count by N (the soak run of the
//! README); `PROPTEST_RNG_SEED` fixes the inputs.

use std::cell::Cell;
use std::ops::Range;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

/// `base` cases, times `ZKS_SOAK` when set.
pub(crate) use zks_testkit::cases;

/// Where a mutation lands: anywhere in the region, or just after one of the
/// format's field boundaries (length prefixes, counts, flags), which uniform
/// positions would rarely hit behind a 1184-byte key.
#[derive(Debug, Clone)]
pub(crate) enum Spot {
    Any(usize),
    Field { field: usize, delta: u8 },
}

/// One change to a valid input.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// XOR one byte with a non-zero mask.
    Flip { at: Spot, mask: u8 },
    /// Overwrite a big-endian integer of 1, 2, 4 or 8 bytes with an
    /// interesting value (bounds, off-by-ones, huge lengths).
    Int { at: Spot, width: u8, value: u64 },
    /// Insert bytes (shifts every later field).
    Insert { at: Spot, bytes: Vec<u8> },
    /// Remove bytes.
    Remove { at: Spot, len: usize },
}

fn interesting() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        0u64..300,
        Just(0x7f),
        Just(0x80),
        Just(0xff),
        Just(0x100),
        Just(0x7fff),
        Just(0xffff),
        Just(0x7fff_ffff),
        Just(u64::from(u32::MAX)),
        Just(u64::MAX - 1),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn spot() -> impl Strategy<Value = Spot> {
    let delta = prop_oneof![3 => Just(0u8), 1 => 1u8..4];
    prop_oneof![
        1 => any::<usize>().prop_map(Spot::Any),
        2 => (any::<usize>(), delta).prop_map(|(field, delta)| Spot::Field { field, delta }),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (spot(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        4 => (spot(), prop_oneof![Just(1u8), Just(2), Just(4), Just(8)], interesting())
            .prop_map(|(at, width, value)| Mutation::Int { at, width, value }),
        1 => (spot(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (spot(), 1usize..8).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

/// One to `max` mutations.
pub(crate) fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=max)
}

/// Applies `mutations` to `bytes[region]`, leaving the bytes outside it as
/// they are; `fields` are offsets (absolute) of field boundaries inside the
/// region. Returns the region's new end.
pub(crate) fn apply(
    bytes: &mut Vec<u8>,
    region: Range<usize>,
    fields: &[usize],
    mutations: &[Mutation],
) -> usize {
    let start = region.start;
    let mut end = region.end;
    for m in mutations {
        let len = end - start;
        let at = |s: &Spot| -> usize {
            let off = match s {
                Spot::Any(i) => *i,
                Spot::Field { field, delta } if !fields.is_empty() => {
                    fields[field % fields.len()].saturating_sub(start) + usize::from(*delta)
                }
                Spot::Field { field, .. } => *field,
            };
            // Inserting may also append at the very end.
            start + off % (len + 1)
        };
        match m {
            Mutation::Flip { at: s, mask } => {
                let i = at(s);
                if i < end {
                    bytes[i] ^= mask;
                }
            }
            Mutation::Int {
                at: s,
                width,
                value,
            } => {
                let i = at(s);
                let w = usize::from(*width).min(end.saturating_sub(i));
                let be = value.to_be_bytes();
                bytes[i..i + w].copy_from_slice(&be[8 - w..]);
            }
            Mutation::Insert { at: s, bytes: new } => {
                let i = at(s);
                bytes.splice(i..i, new.iter().copied());
                end += new.len();
            }
            Mutation::Remove { at: s, len: n } => {
                let i = at(s);
                let n = (*n).min(end - i);
                bytes.drain(i..i + n);
                end -= n;
            }
        }
    }
    end
}

/// Counts how many cases of a property reached the field parser (and how
/// many were accepted outright).
#[derive(Debug)]
pub(crate) struct Reach {
    name: &'static str,
    cases: Cell<u32>,
    reached: Cell<u32>,
    accepted: Cell<u32>,
}

/// What one case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Refused by the framing (magic, version, checksum, total length).
    Framing,
    /// Got to the field parser, which refused it.
    Refused,
    /// Parsed.
    Accepted,
}

impl Reach {
    pub(crate) fn new(name: &'static str) -> Reach {
        Reach {
            name,
            cases: Cell::new(0),
            reached: Cell::new(0),
            accepted: Cell::new(0),
        }
    }

    pub(crate) fn count(&self, outcome: Outcome) {
        self.cases.set(self.cases.get() + 1);
        if outcome != Outcome::Framing {
            self.reached.set(self.reached.get() + 1);
        }
        if outcome == Outcome::Accepted {
            self.accepted.set(self.accepted.get() + 1);
        }
    }

    /// Prints the fractions and asserts that at least `min` of the cases
    /// reached the field parser.
    pub(crate) fn check(&self, min: f64) {
        let (n, r, a) = (self.cases.get(), self.reached.get(), self.accepted.get());
        let fraction = f64::from(r) / f64::from(n.max(1));
        println!(
            "reach {}: {r}/{n} cases ({:.1}%) reached the field parser, {a} accepted",
            self.name,
            100.0 * fraction
        );
        assert!(
            fraction >= min,
            "{}: only {:.1}% of the cases got past the framing (at least {:.0}% expected)",
            self.name,
            100.0 * fraction,
            100.0 * min
        );
    }
}

/// Runs `test` on `cases(base)` values of `strategy`, counting outcomes; a
/// panic in the decoder fails with the (shrunk) input. Asserts the reach.
pub(crate) fn run<S>(
    name: &'static str,
    base: u32,
    min_reach: f64,
    strategy: S,
    test: impl Fn(S::Value) -> Outcome,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let reach = Reach::new(name);
    let config = Config {
        cases: cases(base),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        reach.count(test(value));
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!("{name}: {reason}; minimal input: {value:?}"),
        Err(e) => panic!("{name}: {e}"),
    }
    reach.check(min_reach);
}

#[cfg(test)]
mod tests {
    use proptest::strategy::ValueTree;

    use super::*;

    #[test]
    fn mutations_stay_in_their_region() {
        let mut runner = TestRunner::default();
        for _ in 0..500 {
            let ms = mutations(6).new_tree(&mut runner).unwrap().current();
            let mut bytes: Vec<u8> = (0..40).collect();
            let end = apply(&mut bytes, 4..30, &[10, 20], &ms);
            assert_eq!(&bytes[..4], &[0, 1, 2, 3]);
            assert_eq!(&bytes[end..], &(30..40).collect::<Vec<u8>>()[..]);
        }
    }
}
