//! Test support for the structured fuzzing of the JSON decoders.
//!
//! Random text is almost never a JSON object of the right shape, so it
//! never gets past serde into the checks behind it (hex, lengths, groups,
//! the randomness and the chain hash). The properties built on this module
//! start from recorded documents (`tests/data`, the built-in chains), edit
//! the *values* of their fields, mostly keeping their JSON types, and
//! recompute the fields that work as checksums (`randomness`, `hash`) in
//! most cases. Each property counts how many cases got past serde and
//! asserts that most did.
//!
//! `ZKS_SOAK=N` multiplies every case count by N; `PROPTEST_RNG_SEED` fixes
//! the inputs.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{Map, Value};

/// `base` cases, times `ZKS_SOAK` when set.
pub(crate) use zks_testkit::cases;

/// One edit of a JSON object's field values (`field` is taken modulo the
/// number of fields; an object value, like `metadata`, is edited inside).
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    /// Replace the character at `at` of a string.
    Char { field: usize, at: usize, c: char },
    /// Cut a string to `len` characters.
    Cut { field: usize, len: usize },
    /// Append to a string.
    Append { field: usize, text: String },
    /// Upper-case a string.
    Upper { field: usize },
    /// Set a number.
    Number { field: usize, value: u64 },
    /// Swap two fields' values.
    Swap { a: usize, b: usize },
    /// Give a field a value of another JSON type: serde refuses it.
    Retype { field: usize, value: u8 },
    /// Remove a field.
    Remove { field: usize },
    /// Add a field no version of the format has.
    Extra,
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        0u64..100_000_000,
        Just(u64::from(u32::MAX)),
        Just(u64::from(u32::MAX) + 1),
        Just(i64::MAX as u64),
        Just(i64::MAX as u64 + 1),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn character() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::ranges(vec!['0'..='9', 'a'..='f'].into()),
        1 => prop_oneof![Just('A'), Just('F'), Just('g'), Just('z'), Just(' '), Just('é'), Just('\0'), Just('"')],
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let field = any::<usize>;
    // Most edits keep the field's JSON type, so that serde accepts the
    // document and the checks behind it run; one in eight does not.
    prop_oneof![
        12 => (field(), any::<usize>(), character()).prop_map(|(field, at, c)| Edit::Char { field, at, c }),
        4 => (field(), prop_oneof![0usize..200, Just(0), Just(64), Just(95), Just(96), Just(97)])
            .prop_map(|(field, len)| Edit::Cut { field, len }),
        4 => (field(), "[0-9a-f]{1,4}|[0-9a-f]{96}|[0-9a-f]{192}|.{0,3}")
            .prop_map(|(field, text)| Edit::Append { field, text }),
        2 => field().prop_map(|field| Edit::Upper { field }),
        6 => (field(), number()).prop_map(|(field, value)| Edit::Number { field, value }),
        1 => (field(), field()).prop_map(|(a, b)| Edit::Swap { a, b }),
        1 => (field(), any::<u8>()).prop_map(|(field, value)| Edit::Retype { field, value }),
        1 => field().prop_map(|field| Edit::Remove { field }),
        1 => Just(Edit::Extra),
    ]
}

/// One to `max` edits.
pub(crate) fn edits(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..=max)
}

/// Calls `f` on the value of field `i` (an object value's first field,
/// recursively).
fn with_slot<R>(
    object: &mut Map<String, Value>,
    i: usize,
    f: impl FnOnce(&mut Value) -> R,
) -> Option<R> {
    let n = object.len();
    let value = object.values_mut().nth(i % n.max(1))?;
    match value {
        Value::Object(inner) if !inner.is_empty() => with_slot(inner, 0, f),
        other => Some(f(other)),
    }
}

/// Calls `f` on field `i` if it holds a string.
fn with_string(object: &mut Map<String, Value>, i: usize, f: impl FnOnce(&mut String)) {
    with_slot(object, i, |v| {
        if let Value::String(s) = v {
            f(s);
        }
    });
}

/// Applies `edits` to `object`.
pub(crate) fn apply(object: &mut Map<String, Value>, edits: &[Edit]) {
    for e in edits {
        match e {
            Edit::Char { field, at, c } => with_string(object, *field, |s| {
                let mut chars: Vec<char> = s.chars().collect();
                if !chars.is_empty() {
                    let n = chars.len();
                    chars[at % n] = *c;
                }
                *s = chars.into_iter().collect();
            }),
            Edit::Cut { field, len } => {
                with_string(object, *field, |s| *s = s.chars().take(*len).collect());
            }
            Edit::Append { field, text } => with_string(object, *field, |s| s.push_str(text)),
            Edit::Upper { field } => with_string(object, *field, |s| *s = s.to_uppercase()),
            Edit::Number { field, value } => {
                with_slot(object, *field, |v| {
                    if v.is_number() {
                        *v = Value::from(*value);
                    }
                });
            }
            Edit::Swap { a, b } => {
                if let Some(va) = with_slot(object, *a, Value::take) {
                    let vb = with_slot(object, *b, |v| std::mem::replace(v, va));
                    if let Some(vb) = vb {
                        with_slot(object, *a, |v| *v = vb);
                    }
                }
            }
            Edit::Retype { field, value } => {
                let new = match value % 5 {
                    0 => Value::Null,
                    1 => Value::from(-1),
                    2 => Value::from(1.5),
                    3 => Value::from(vec![1, 2]),
                    _ => Value::from("12"),
                };
                with_slot(object, *field, |v| *v = new);
            }
            Edit::Remove { field } => {
                if let Some(key) = object.keys().nth(field % object.len().max(1)).cloned() {
                    object.remove(&key);
                }
            }
            Edit::Extra => {
                object.insert("extra".into(), Value::from(1));
            }
        }
    }
}

/// What one case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Refused as JSON of the wrong shape (serde).
    Framing,
    /// Got to the field checks, which refused it.
    Refused,
    /// Parsed.
    Accepted,
}

/// Runs `test` on `cases(base)` values of `strategy`, prints how many
/// reached the field checks and asserts at least `min_reach` did; a panic
/// fails with the (shrunk) input.
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
    let counts = [Cell::new(0u32), Cell::new(0), Cell::new(0)];
    let config = Config {
        cases: cases(base),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        let i = test(value) as usize;
        counts[i].set(counts[i].get() + 1);
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!("{name}: {reason}; minimal input: {value:?}"),
        Err(e) => panic!("{name}: {e}"),
    }
    let [framing, refused, accepted] = counts.map(|c| c.get());
    let n = framing + refused + accepted;
    let fraction = f64::from(refused + accepted) / f64::from(n.max(1));
    println!(
        "reach {name}: {}/{n} cases ({:.1}%) reached the field parser, {accepted} accepted",
        refused + accepted,
        100.0 * fraction
    );
    assert!(
        fraction >= min_reach,
        "{name}: only {:.1}% of the cases got past serde",
        100.0 * fraction
    );
}
