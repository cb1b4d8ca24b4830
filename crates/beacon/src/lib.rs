//! drand beacons: chain definitions, wire formats, round arithmetic, BLS
//! verification (reference and batch) and the devnet signer.
//!
//! Pure and synchronous: this crate does no I/O, never reads the clock (the
//! caller passes the time) and never touches the network. Randomness for the
//! batch verifier's coefficients is passed in. Everything above it trusts a
//! beacon only because this crate verified it.
#![forbid(unsafe_code)]

mod beacon;
mod chain;
pub mod devnet;
#[cfg(test)]
mod fuzz;
mod round;
mod verify;

pub use beacon::{
    Beacon, BeaconError, MalformedBeacon, ParsedBeacon, UnreadableInput, parse_beacon_list,
};
pub use chain::{ChainError, ChainHash, ChainInfo, DST_G1, DST_G2, Group, Scheme};
pub use devnet::DevnetSigner;
pub use verify::{BatchVerifier, Invalid, ReferenceVerifier, Verdict, VerifiedBeacon};

/// Decodes exactly 32 bytes of hex.
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}
