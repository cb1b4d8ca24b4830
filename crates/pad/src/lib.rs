//! Pairing and encryption: invites, the hybrid X25519 + ML-KEM-768 key
//! agreement, the round-bound symmetric ratchet (grid pad) and true one-time
//! pads.
//!
//! Pure and synchronous: no I/O, no clock, no ambient randomness — every
//! random byte comes from an injected RNG so that tests are deterministic.
#![forbid(unsafe_code)]
