//! drand beacons: chain definitions, wire formats, round arithmetic, BLS
//! verification (reference and batch) and the devnet signer.
//!
//! Pure and synchronous: this crate does no I/O, never reads the clock (the
//! caller passes the time) and never touches the network. Randomness for the
//! batch verifier's coefficients is passed in. Everything above it trusts a
//! beacon only because this crate verified it.
#![forbid(unsafe_code)]
