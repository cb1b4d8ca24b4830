//! A beacon and drand's HTTP API JSON form of it
//! (`{"round", "randomness", "signature", "previous_signature"}`, hex).
//!
//! Parsing checks syntax and sizes against the chain's scheme; whether the
//! signature is a valid point that verifies is the verifiers' job.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::{Group, Scheme};

/// One round of a drand chain: its number and BLS signature, plus the
/// previous round's signature for chained schemes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Beacon {
    round: u64,
    signature: Vec<u8>,
    previous_signature: Option<Vec<u8>>,
}

impl fmt::Debug for Beacon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Beacon")
            .field("round", &self.round)
            .field("signature", &hex::encode(&self.signature))
            .finish_non_exhaustive()
    }
}

/// Why a beacon is malformed (before any signature check).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// Round numbers start at 1.
    #[error("round 0 does not exist (rounds start at 1)")]
    RoundZero,
    /// A field is not hex.
    #[error("{field} is not hex")]
    BadHex {
        /// The JSON field.
        field: &'static str,
    },
    /// The signature has the size of the other group: a beacon of another scheme.
    #[error(
        "signature is {found} bytes, a {found_group} point, but {scheme} signs on {expected_group} ({expected} bytes): this beacon is from a chain of another scheme"
    )]
    WrongGroup {
        /// The chain's scheme.
        scheme: Scheme,
        /// The group the scheme signs on.
        expected_group: Group,
        /// The size a signature must have.
        expected: usize,
        /// The group the size belongs to.
        found_group: Group,
        /// The size found.
        found: usize,
    },
    /// A field has a length no point or hash has.
    #[error("{field} is {found} bytes, expected {expected}")]
    WrongLength {
        /// The JSON field.
        field: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A chained scheme's beacon lacks the previous signature.
    #[error("previous_signature is missing; {0} beacons are chained and need it")]
    MissingPreviousSignature(Scheme),
    /// An unchained scheme's beacon carries a previous signature.
    #[error("previous_signature is present, but {0} beacons are unchained")]
    UnexpectedPreviousSignature(Scheme),
    /// The `randomness` field is not `sha256(signature)`.
    #[error("randomness is not sha256(signature)")]
    RandomnessMismatch,
    /// The JSON object does not have drand's beacon shape.
    #[error("not a drand beacon object: {0}")]
    BadJson(String),
}

/// drand's JSON shape for a beacon.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BeaconJson {
    round: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    randomness: Option<String>,
    signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_signature: Option<String>,
}

impl Beacon {
    /// Builds a beacon after checking its sizes against `scheme`.
    pub fn new(
        scheme: Scheme,
        round: u64,
        signature: Vec<u8>,
        previous_signature: Option<Vec<u8>>,
    ) -> Result<Beacon, BeaconError> {
        if round == 0 {
            return Err(BeaconError::RoundZero);
        }
        let expected_group = scheme.signature_group();
        let expected = expected_group.point_len();
        if signature.len() != expected {
            let other = match expected_group {
                Group::G1 => Group::G2,
                Group::G2 => Group::G1,
            };
            if signature.len() == other.point_len() {
                return Err(BeaconError::WrongGroup {
                    scheme,
                    expected_group,
                    expected,
                    found_group: other,
                    found: signature.len(),
                });
            }
            return Err(BeaconError::WrongLength {
                field: "signature",
                expected,
                found: signature.len(),
            });
        }
        let previous_signature = previous_signature.filter(|p| !p.is_empty());
        match (&previous_signature, scheme.is_chained()) {
            (None, true) => return Err(BeaconError::MissingPreviousSignature(scheme)),
            (Some(_), false) => return Err(BeaconError::UnexpectedPreviousSignature(scheme)),
            (Some(prev), true) => {
                // Round 1 signs over the 32-byte genesis seed; every later
                // round over the previous round's signature.
                let expected = if round == 1 { 32 } else { expected };
                if prev.len() != expected {
                    return Err(BeaconError::WrongLength {
                        field: "previous_signature",
                        expected,
                        found: prev.len(),
                    });
                }
            }
            (None, false) => {}
        }
        Ok(Beacon {
            round,
            signature,
            previous_signature,
        })
    }

    /// Parses one beacon from drand's JSON. A `randomness` field, when present,
    /// must equal `sha256(signature)`.
    pub fn from_json(scheme: Scheme, json: &str) -> Result<Beacon, BeaconError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| BeaconError::BadJson(e.to_string()))?;
        Beacon::from_value(scheme, value)
    }

    /// As [`Beacon::from_json`], from an already parsed JSON value.
    pub fn from_value(scheme: Scheme, value: serde_json::Value) -> Result<Beacon, BeaconError> {
        let raw: BeaconJson =
            serde_json::from_value(value).map_err(|e| BeaconError::BadJson(e.to_string()))?;
        let signature = decode_hex("signature", &raw.signature)?;
        let previous_signature = raw
            .previous_signature
            .as_deref()
            .map(|p| decode_hex("previous_signature", p))
            .transpose()?;
        let beacon = Beacon::new(scheme, raw.round, signature, previous_signature)?;
        if let Some(randomness) = raw.randomness {
            let claimed = decode_hex("randomness", &randomness)?;
            if claimed.len() != 32 {
                return Err(BeaconError::WrongLength {
                    field: "randomness",
                    expected: 32,
                    found: claimed.len(),
                });
            }
            if claimed != beacon.randomness() {
                return Err(BeaconError::RandomnessMismatch);
            }
        }
        Ok(beacon)
    }

    /// drand's JSON for this beacon, with the randomness recomputed.
    pub fn to_json(&self) -> String {
        let raw = BeaconJson {
            round: self.round,
            randomness: Some(hex::encode(self.randomness())),
            signature: hex::encode(&self.signature),
            previous_signature: self.previous_signature.as_ref().map(hex::encode),
        };
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// The round number (≥ 1).
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The compressed BLS signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The previous round's signature (chained schemes only).
    pub fn previous_signature(&self) -> Option<&[u8]> {
        self.previous_signature.as_deref()
    }

    /// The round's randomness, `sha256(signature)`, always recomputed.
    pub fn randomness(&self) -> [u8; 32] {
        Sha256::digest(&self.signature).into()
    }

    /// The message the chain signed for this round: `sha256(round)` or,
    /// chained, `sha256(previous_signature ‖ round)`.
    pub fn message(&self) -> [u8; 32] {
        message(self.round, self.previous_signature.as_deref())
    }
}

/// The signed message for `round`, given the previous signature when chained.
pub(crate) fn message(round: u64, previous_signature: Option<&[u8]>) -> [u8; 32] {
    let mut h = Sha256::new();
    if let Some(prev) = previous_signature {
        h.update(prev);
    }
    h.update(round.to_be_bytes());
    h.finalize().into()
}

fn decode_hex(field: &'static str, text: &str) -> Result<Vec<u8>, BeaconError> {
    hex::decode(text).map_err(|_| BeaconError::BadHex { field })
}

/// A beacon in a list that could not be parsed, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedBeacon {
    /// 1-based line (JSON lines) or element (JSON array) number.
    pub position: usize,
    /// The round, when the object had a readable one.
    pub round: Option<u64>,
    /// What is wrong.
    pub error: BeaconError,
}

/// Input that is not a list of JSON objects at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnreadableInput(pub String);

/// One entry of a parsed list: a well-formed beacon or what was wrong with it.
pub type ParsedBeacon = Result<Beacon, MalformedBeacon>;

/// Parses a list of beacons: a JSON array of objects, or one object per line
/// (blank lines skipped). Objects that are malformed are reported one by one;
/// text that is not JSON objects at all is [`UnreadableInput`].
pub fn parse_beacon_list(scheme: Scheme, text: &str) -> Result<Vec<ParsedBeacon>, UnreadableInput> {
    let values: Vec<(usize, serde_json::Value)> = if text.trim_start().starts_with('[') {
        let array: Vec<serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| UnreadableInput(format!("not a JSON array of beacons: {e}")))?;
        array
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, v))
            .collect()
    } else {
        let mut values = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let value = serde_json::from_str(line)
                .map_err(|e| UnreadableInput(format!("line {}: not JSON: {e}", i + 1)))?;
            values.push((i + 1, value));
        }
        values
    };
    if values.is_empty() {
        return Err(UnreadableInput("no beacons in the input".into()));
    }
    values
        .into_iter()
        .map(|(position, value)| {
            if !value.is_object() {
                return Err(UnreadableInput(format!(
                    "entry {position}: expected a JSON object, found {value}"
                )));
            }
            let round = value.get("round").and_then(serde_json::Value::as_u64);
            Ok(
                Beacon::from_value(scheme, value).map_err(|error| MalformedBeacon {
                    position,
                    round,
                    error,
                }),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q123: &str = r#"{"round":123,"randomness":"fb8f7bc29bf24db51871ec8c79f3a1e4bd0557bc0dfcee9ed1d924e69d1c60dc","signature":"b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92"}"#;

    #[test]
    fn quicknet_json_parses_and_round_trips() {
        let b = Beacon::from_json(Scheme::UnchainedG1Rfc9380, Q123).unwrap();
        assert_eq!(b.round(), 123);
        assert_eq!(b.signature().len(), 48);
        assert_eq!(b.to_json(), Q123);
    }

    #[test]
    fn each_kind_of_malformed_field_gets_its_own_error() {
        let s = Scheme::UnchainedG1Rfc9380;
        let cases: Vec<(String, BeaconError)> = vec![
            (
                Q123.replace("\"round\":123", "\"round\":0"),
                BeaconError::RoundZero,
            ),
            (
                Q123.replace("b75c", "zz5c"),
                BeaconError::BadHex { field: "signature" },
            ),
            (
                Q123.replace("fb8f", "fb8e"),
                BeaconError::RandomnessMismatch,
            ),
            (
                Q123.replace("0dfc92\"", "0dfc\""),
                BeaconError::WrongLength {
                    field: "signature",
                    expected: 48,
                    found: 47,
                },
            ),
            (
                Q123.replace("}", r#","previous_signature":"00"}"#),
                BeaconError::UnexpectedPreviousSignature(s),
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(Beacon::from_json(s, &json), Err(expected), "{json}");
        }
        assert!(matches!(
            Beacon::from_json(s, r#"{"round":1}"#),
            Err(BeaconError::BadJson(_))
        ));
        assert!(matches!(
            Beacon::from_json(s, &Q123.replace("randomness", "randomnes")),
            Err(BeaconError::BadJson(_))
        ));
        assert!(matches!(
            Beacon::from_json(s, &Q123.replace("123", "-1")),
            Err(BeaconError::BadJson(_))
        ));
    }

    #[test]
    fn a_signature_of_the_other_group_names_the_scheme_mismatch() {
        let err = Beacon::new(Scheme::UnchainedG1Rfc9380, 5, vec![0x80; 96], None).unwrap_err();
        assert!(matches!(err, BeaconError::WrongGroup { found: 96, .. }));
        assert!(err.to_string().contains("another scheme"), "{err}");
        let err = Beacon::new(
            Scheme::PedersenBlsChained,
            5,
            vec![0x80; 48],
            Some(vec![1; 96]),
        )
        .unwrap_err();
        assert!(matches!(err, BeaconError::WrongGroup { found: 48, .. }));
    }

    #[test]
    fn chained_beacons_need_a_previous_signature_of_the_right_size() {
        let s = Scheme::PedersenBlsChained;
        assert_eq!(
            Beacon::new(s, 2, vec![0x80; 96], None),
            Err(BeaconError::MissingPreviousSignature(s))
        );
        assert!(Beacon::new(s, 1, vec![0x80; 96], Some(vec![1; 32])).is_ok());
        assert!(matches!(
            Beacon::new(s, 2, vec![0x80; 96], Some(vec![1; 32])),
            Err(BeaconError::WrongLength {
                field: "previous_signature",
                expected: 96,
                ..
            })
        ));
    }

    #[test]
    fn lists_parse_as_lines_or_arrays_and_report_positions() {
        let s = Scheme::UnchainedG1Rfc9380;
        let lines = format!("{Q123}\n\n{}\n", Q123.replace("fb8f", "0b8f"));
        let parsed = parse_beacon_list(s, &lines).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parsed[0].is_ok());
        assert_eq!(
            parsed[1],
            Err(MalformedBeacon {
                position: 3,
                round: Some(123),
                error: BeaconError::RandomnessMismatch
            })
        );
        let array = format!("[{Q123},{Q123}]");
        assert_eq!(parse_beacon_list(s, &array).unwrap().len(), 2);

        for garbage in [
            "",
            "\n\n",
            "hello",
            "[1,2",
            "[1]",
            "{\"round\":1}\nnot json",
            "42",
        ] {
            assert!(parse_beacon_list(s, garbage).is_err(), "{garbage:?}");
        }
    }

    use zks_testkit::QUICKNET;
    const DEFAULT: &str = include_str!("../../../tests/data/default.jsonl");

    /// A recorded beacon (quicknet or default) with its scheme.
    fn recorded(i: usize) -> (Scheme, serde_json::Map<String, serde_json::Value>) {
        let (scheme, text) = if i.is_multiple_of(4) {
            (Scheme::PedersenBlsChained, DEFAULT)
        } else {
            (Scheme::UnchainedG1Rfc9380, QUICKNET)
        };
        let lines: Vec<&str> = text.lines().collect();
        let object = serde_json::from_str(lines[i % lines.len()]).unwrap();
        (scheme, object)
    }

    /// Sets `randomness` to sha256 of the (edited) signature when it is
    /// still hex, as drand would have: the randomness is the checksum of
    /// this format.
    fn rehash(object: &mut serde_json::Map<String, serde_json::Value>) {
        let signature = object
            .get("signature")
            .and_then(|s| s.as_str())
            .map(hex::decode);
        if let Some(Ok(signature)) = signature {
            let randomness = hex::encode(Sha256::digest(&signature));
            object.insert("randomness".into(), randomness.into());
        }
    }

    /// What a parse of one beacon did.
    fn outcome(result: &Result<Beacon, BeaconError>) -> crate::fuzz::Outcome {
        match result {
            Ok(_) => crate::fuzz::Outcome::Accepted,
            Err(BeaconError::BadJson(_)) => crate::fuzz::Outcome::Framing,
            Err(_) => crate::fuzz::Outcome::Refused,
        }
    }

    /// Recorded beacons with their field values edited (hex digits, lengths,
    /// rounds, previous signatures), the randomness recomputed in most
    /// cases, read under their own scheme or another: the checks behind
    /// serde run on most cases, and what parses reads back identically.
    #[test]
    fn edited_recorded_beacons_reach_the_field_checks_and_never_panic() {
        use proptest::prelude::*;
        let strategy = (
            any::<usize>(),
            crate::fuzz::edits(2),
            proptest::bool::weighted(0.7),
            proptest::option::weighted(0.1, 0usize..3),
        );
        crate::fuzz::run(
            "beacon json",
            2000,
            0.8,
            strategy,
            |(i, edits, rehashed, other)| {
                let (own, mut object) = recorded(i);
                crate::fuzz::apply(&mut object, &edits);
                if rehashed {
                    rehash(&mut object);
                }
                let scheme = other.map_or(own, |k| Scheme::ALL[k]);
                let text = serde_json::Value::Object(object).to_string();
                let result = Beacon::from_json(scheme, &text);
                if let Ok(beacon) = &result {
                    assert_eq!(
                        Beacon::from_json(scheme, &beacon.to_json()).as_ref(),
                        Ok(beacon)
                    );
                    let _ = beacon.message();
                }
                outcome(&result)
            },
        );
    }

    /// Lists of edited recorded beacons, as JSON lines or an array: the list
    /// is read past its framing on most cases and each entry's error is its
    /// own.
    #[test]
    fn edited_beacon_lists_reach_each_entry_and_never_panic() {
        use proptest::prelude::*;
        let entry = (any::<usize>(), crate::fuzz::edits(2), any::<bool>());
        let strategy = (proptest::collection::vec(entry, 1..6), any::<bool>());
        crate::fuzz::run("beacon list", 500, 0.8, strategy, |(entries, array)| {
            let scheme = recorded(entries[0].0).0;
            let mut objects = Vec::new();
            for (i, edits, rehashed) in &entries {
                // Entries of one list share a scheme; others are edits too.
                let (_, mut object) =
                    recorded(i - i % 4 + usize::from(scheme == Scheme::UnchainedG1Rfc9380));
                crate::fuzz::apply(&mut object, edits);
                if *rehashed {
                    rehash(&mut object);
                }
                objects.push(serde_json::Value::Object(object));
            }
            let text = if array {
                serde_json::Value::Array(objects.clone()).to_string()
            } else {
                objects.iter().map(|o| format!("{o}\n")).collect()
            };
            match parse_beacon_list(scheme, &text) {
                Ok(parsed) => {
                    assert_eq!(parsed.len(), objects.len());
                    for (entry, object) in parsed.iter().zip(&objects) {
                        let alone = Beacon::from_value(scheme, object.clone());
                        assert_eq!(entry.as_ref().ok(), alone.as_ref().ok());
                    }
                    if parsed.iter().all(Result::is_ok) {
                        crate::fuzz::Outcome::Accepted
                    } else {
                        crate::fuzz::Outcome::Refused
                    }
                }
                Err(_) => crate::fuzz::Outcome::Framing,
            }
        });
    }
}
