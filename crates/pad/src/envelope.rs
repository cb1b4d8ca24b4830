//! Envelopes: what a sealed message looks like on the wire, in both modes.
//!
//! ```text
//! "ZKE" version=1 mode | session id 16 | direction 1 | …
//! grid (mode 1): epoch u32 | n u64 | chain hash 32 | round u64 | flags u8 |
//!                [hint (u16 len)] [kem offer 1184] [kem reply 1088] | length u64 |
//!                ciphertext | tag 32 (BLAKE3 keyed)
//! pad  (mode 2): pad id 16 | offset u64 | length u64 | ciphertext | tag 16 (Poly1305)
//! ```
//! The tag covers every byte before it. Parsing checks sizes only; whether
//! the tag is right is the session's (grid) or the pad's (pad) business.

use crate::invite::{MLKEM_CT_LEN, MLKEM_EK_LEN};
use crate::wire::{Reader, WireError, Writer};

const MAGIC: &[u8; 3] = b"ZKE";
/// The envelope format version.
pub const VERSION: u8 = 1;
/// The largest plaintext one envelope carries (files are chunked below it).
pub const MAX_PLAINTEXT: u64 = 64 * 1024 * 1024;
/// Tag length of grid-pad envelopes.
pub const GRID_TAG_LEN: usize = 32;
/// Tag length of true-pad envelopes.
pub const PAD_TAG_LEN: usize = 16;
/// Largest round-signature hint: a G2 signature and a G2 previous signature.
pub const MAX_HINT: usize = 192;
const FLAG_HINT: u8 = 1;
const FLAG_OFFER: u8 = 2;
const FLAG_REPLY: u8 = 4;

/// Which way a message travels within a pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the one who showed the invite to the one who accepted it.
    InitiatorToResponder,
    /// The other way.
    ResponderToInitiator,
}

impl Direction {
    fn to_u8(self) -> u8 {
        match self {
            Direction::InitiatorToResponder => 0,
            Direction::ResponderToInitiator => 1,
        }
    }
    fn from_u8(v: u8) -> Result<Direction, WireError> {
        match v {
            0 => Ok(Direction::InitiatorToResponder),
            1 => Ok(Direction::ResponderToInitiator),
            _ => Err(WireError::Invalid("direction")),
        }
    }
}

/// The protection mode of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Post-quantum computational security, keys bound to a beacon round.
    Grid,
    /// Information-theoretic secrecy from a true one-time pad.
    Pad,
}

/// Header fields of a grid-pad envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridHeader {
    /// KEM-ratchet epoch of the sending chain.
    pub epoch: u32,
    /// Message number in the sending chain of that epoch.
    pub n: u64,
    /// Chain hash of the beacon the message key is bound to.
    pub chain_hash: [u8; 32],
    /// The beacon round the message key is bound to.
    pub round: u64,
    /// That round's signature, so the receiver can verify it offline.
    pub signature_hint: Option<Vec<u8>>,
    /// A fresh ML-KEM encapsulation key (initiator, KEM ratchet).
    pub kem_offer: Option<Vec<u8>>,
    /// A ciphertext to the peer's offer (responder, KEM ratchet).
    pub kem_reply: Option<Vec<u8>>,
}

/// Header fields of a true-pad envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PadHeader {
    /// Identifies the pad (BLAKE3 of its contents).
    pub pad_id: [u8; 16],
    /// Where in the pad this message's bytes start.
    pub offset: u64,
}

/// Mode-specific header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Grid-pad header.
    Grid(GridHeader),
    /// True-pad header.
    Pad(PadHeader),
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The pairing session it belongs to.
    pub session_id: [u8; 16],
    /// Which way it travels.
    pub direction: Direction,
    /// Mode and mode-specific header.
    pub body: Body,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
    /// The authentication tag.
    pub tag: Vec<u8>,
    /// The authenticated header, exactly as received.
    header: Vec<u8>,
}

/// Why bytes are not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not one of our envelopes.
    #[error("this is not a ZKS message")]
    NotAnEnvelope,
    /// A version this build does not read.
    #[error("this message has format version {0}; this app reads version 1")]
    UnsupportedVersion(u8),
    /// Cut short or malformed.
    #[error("this message is damaged or truncated ({0})")]
    Damaged(WireError),
    /// Larger than any envelope may be.
    #[error("this message is larger than the 64 MiB limit")]
    TooLarge,
}

impl From<WireError> for EnvelopeError {
    fn from(e: WireError) -> EnvelopeError {
        EnvelopeError::Damaged(e)
    }
}

impl Envelope {
    /// The protection mode.
    pub fn mode(&self) -> Mode {
        match self.body {
            Body::Grid(_) => Mode::Grid,
            Body::Pad(_) => Mode::Pad,
        }
    }

    /// Encodes the header (everything the tag covers before the ciphertext).
    pub(crate) fn encode_header(
        session_id: &[u8; 16],
        direction: Direction,
        body: &Body,
        length: u64,
    ) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC).u8(VERSION);
        w.u8(match body {
            Body::Grid(_) => 1,
            Body::Pad(_) => 2,
        });
        w.raw(session_id).u8(direction.to_u8());
        match body {
            Body::Grid(h) => {
                w.u32(h.epoch).u64(h.n).raw(&h.chain_hash).u64(h.round);
                let mut flags = 0;
                if h.signature_hint.is_some() {
                    flags |= FLAG_HINT;
                }
                if h.kem_offer.is_some() {
                    flags |= FLAG_OFFER;
                }
                if h.kem_reply.is_some() {
                    flags |= FLAG_REPLY;
                }
                w.u8(flags);
                if let Some(hint) = &h.signature_hint {
                    w.bytes16(hint);
                }
                if let Some(offer) = &h.kem_offer {
                    w.raw(offer);
                }
                if let Some(reply) = &h.kem_reply {
                    w.raw(reply);
                }
            }
            Body::Pad(h) => {
                w.raw(&h.pad_id).u64(h.offset);
            }
        }
        w.u64(length);
        w.finish()
    }

    /// Parses an envelope, checking every length.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        if bytes.len() < 5 || &bytes[..3] != MAGIC {
            return Err(EnvelopeError::NotAnEnvelope);
        }
        if bytes[3] != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(bytes[3]));
        }
        let mut r = Reader::new(bytes);
        r.take(4, "magic")?;
        let mode = r.u8("mode")?;
        let session_id = r.array::<16>("session id")?;
        let direction = Direction::from_u8(r.u8("direction")?)?;
        let body = match mode {
            1 => {
                let epoch = r.u32("epoch")?;
                let n = r.u64("message number")?;
                let chain_hash = r.array::<32>("chain hash")?;
                let round = r.u64("round")?;
                let flags = r.u8("flags")?;
                if flags & !(FLAG_HINT | FLAG_OFFER | FLAG_REPLY) != 0 {
                    return Err(WireError::Invalid("flags").into());
                }
                let signature_hint = if flags & FLAG_HINT != 0 {
                    Some(r.bytes16(MAX_HINT, "signature hint")?.to_vec())
                } else {
                    None
                };
                let kem_offer = if flags & FLAG_OFFER != 0 {
                    Some(r.take(MLKEM_EK_LEN, "kem offer")?.to_vec())
                } else {
                    None
                };
                let kem_reply = if flags & FLAG_REPLY != 0 {
                    Some(r.take(MLKEM_CT_LEN, "kem reply")?.to_vec())
                } else {
                    None
                };
                Body::Grid(GridHeader {
                    epoch,
                    n,
                    chain_hash,
                    round,
                    signature_hint,
                    kem_offer,
                    kem_reply,
                })
            }
            2 => Body::Pad(PadHeader {
                pad_id: r.array::<16>("pad id")?,
                offset: r.u64("offset")?,
            }),
            _ => return Err(WireError::Invalid("mode").into()),
        };
        let length = r.u64("length")?;
        if length > MAX_PLAINTEXT {
            return Err(EnvelopeError::TooLarge);
        }
        let header = bytes[..r.position()].to_vec();
        let ciphertext = r.take(length as usize, "ciphertext")?.to_vec();
        let tag_len = match body {
            Body::Grid(_) => GRID_TAG_LEN,
            Body::Pad(_) => PAD_TAG_LEN,
        };
        let tag = r.take(tag_len, "tag")?.to_vec();
        r.finish()?;
        Ok(Envelope {
            session_id,
            direction,
            body,
            ciphertext,
            tag,
            header,
        })
    }

    /// The authenticated header bytes, exactly as received.
    pub(crate) fn header_bytes(&self) -> &[u8] {
        &self.header
    }
}
