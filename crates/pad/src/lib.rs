//! Pairing and encryption: invites, the hybrid X25519 + ML-KEM-768 key
//! agreement, the round-bound symmetric ratchet (grid pad) and true one-time
//! pads.
//!
//! Pure and synchronous: no I/O, no clock, no ambient randomness — every
//! random byte comes from an injected RNG so that tests are deterministic,
//! and the time is passed in. Secrets live in types that zeroize on drop.
//!
//! What each mode guarantees, in the words the UI uses:
//! - grid pad, "Post-quantum encrypted": computationally secure against
//!   classical and quantum attackers as long as X25519 or ML-KEM-768 holds;
//!   each message key also commits to a verified drand round, which proves
//!   the message was not sealed before that round. Beacon randomness is
//!   public and is never the secret.
//! - true pad, "Perfect secrecy": information-theoretic secrecy and a
//!   one-time MAC from pad bytes exchanged in person, used once and wiped.
#![forbid(unsafe_code)]

pub mod backup;
pub mod envelope;
pub mod file;
#[cfg(test)]
mod fuzz;
mod identity;
pub mod invite;
mod kdf;
pub mod mailbox;
pub mod pairing;
pub mod rendezvous;
pub mod session;
pub mod truepad;
mod wire;

pub use envelope::{Direction, Envelope, EnvelopeError, Mode};
pub use identity::{BadIdentity, Identity, peer_id_of, verify_signature};
pub use invite::{CodeError, Invite, InviteLink, Reply, Sender};
/// The libp2p identity types this crate's [`Identity`] converts to.
pub use libp2p_identity;
pub use pairing::{Paired, PairingError, PendingInvite, SafetyCode, accept};
pub use session::{OpenError, Opened, Role, RoundBinding, RoundSource, Session, open_disclosed};
pub use truepad::{PadBook, PadError, PadLayout};
pub use wire::WireError;
