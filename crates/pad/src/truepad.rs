//! True one-time pads: perfect secrecy, for as many bytes as the pad holds.
//!
//! Both people hold the same pad (local CSPRNG bytes exchanged in person).
//! The initiator owns the first half and consumes it from the front; the
//! responder owns the second half and consumes it from the back, so the two
//! can never use the same byte even without talking. A message of L bytes
//! takes L + 32 pad bytes: 32 for a one-time Poly1305 key (an
//! information-theoretically secure MAC) and L to XOR with the plaintext.
//! Used bytes are wiped by the caller after use, on both sides.
//!
//! The pad's identifier is derived from its first [`ID_PREFIX`] bytes
//! alone, which are never used for anything else ([`PadLayout::Prefix`]):
//! the id says nothing about the bytes that encrypt, so the pad's secrecy
//! does not lean on BLAKE3. Pads imported by earlier releases keep their
//! old id, a hash of the whole pad, and their old layout
//! ([`PadLayout::WholeHash`]).

use std::ops::Range;

use poly1305::Poly1305;
use poly1305::universal_hash::KeyInit;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::envelope::{Body, Direction, Envelope, PAD_TAG_LEN, PadHeader};
use crate::kdf;
use crate::session::Role;

/// Pad bytes used for each message's one-time MAC key.
pub const MAC_KEY_LEN: u64 = 32;
/// The smallest pad accepted.
pub const MIN_PAD: u64 = 1024;
/// Bytes at the start of a pad that only name it (see [`pad_id_of_prefix`]).
pub const ID_PREFIX: usize = 32;

/// How a pad's bytes are assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadLayout {
    /// Earlier releases: the id hashes the whole pad; the initiator's half
    /// starts at byte 0.
    WholeHash,
    /// The id hashes the first [`ID_PREFIX`] bytes, which no message ever
    /// uses; the initiator's half starts after them.
    Prefix,
}

impl PadLayout {
    /// The number stored in a ledger.
    pub fn to_u8(self) -> u8 {
        match self {
            PadLayout::WholeHash => 1,
            PadLayout::Prefix => 2,
        }
    }

    /// From the number stored in a ledger.
    pub fn from_u8(value: u8) -> Option<PadLayout> {
        match value {
            1 => Some(PadLayout::WholeHash),
            2 => Some(PadLayout::Prefix),
            _ => None,
        }
    }

    /// The first pad byte a message may use.
    fn first_usable(self) -> u64 {
        match self {
            PadLayout::WholeHash => 0,
            PadLayout::Prefix => ID_PREFIX as u64,
        }
    }
}

/// Why a pad operation was refused. Nothing was consumed or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PadError {
    /// Not enough pad left in this side's half.
    #[error(
        "the one-time pad is used up in this direction: {needed} bytes needed, {left} left (no fallback to the grid pad; exchange a new pad)"
    )]
    Exhausted {
        /// Bytes the message needs (its length + 32).
        needed: u64,
        /// Bytes left in this direction.
        left: u64,
    },
    /// A received message's pad range overlaps bytes already used: an
    /// identical resend, or a different message reusing pad bytes.
    #[error("this message uses pad bytes {start}..{end}, which were already used")]
    Overlap {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// A received message's pad range lies outside the sender's half.
    #[error("this message claims pad bytes {start}..{end}, which are not the sender's to use")]
    NotSenders {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// The bytes were used (and wiped) on this device already: reading them
    /// would give no pad, so they are refused, never used.
    #[error(
        "pad bytes {start}..{end} were already used and wiped on this device; they are never used again"
    )]
    Wiped {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// This pad was imported on this device before (or on the device this
    /// home was restored from).
    #[error(
        "{}",
        if *in_use {
            "this pad is already imported on this device; a pad can be imported only once, for one contact"
        } else {
            "this pad was used on this device before (or on the device this home was restored from); its bytes may already have been used, so it can never be imported again: make a new pad and exchange it in person"
        }
    )]
    KnownPad {
        /// Whether it is a pad in use now (else a retired one).
        in_use: bool,
    },
    /// The pad bytes given to seal or open are not exactly the message's.
    #[error("{got} pad bytes were given for a message that needs {needed}")]
    WrongLength {
        /// Bytes the message needs (its length + 32).
        needed: u64,
        /// Bytes given.
        got: u64,
    },
    /// The message was made with another pad.
    #[error("this message was sealed with a different one-time pad")]
    WrongPad,
    /// The Poly1305 tag does not match.
    #[error("this message was altered (one-time MAC check failed)")]
    BadTag,
    /// The pad file is too small.
    #[error("a one-time pad must hold at least {MIN_PAD} bytes")]
    TooSmall,
}

/// A hasher that, fed a whole pad in order and finished with
/// [`whole_pad_id`], gives the identifier earlier releases gave the pad
/// ([`PadLayout::WholeHash`]); imports compute it to recognise such pads.
pub fn whole_pad_hasher() -> blake3::Hasher {
    blake3::Hasher::new_derive_key(kdf::PAD_ID_WHOLE)
}

/// The identifier of a [`PadLayout::WholeHash`] pad from its hasher.
pub fn whole_pad_id(hasher: &blake3::Hasher) -> [u8; 16] {
    let mut id = [0u8; 16];
    id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    id
}

/// The identifier of a pad ([`PadLayout::Prefix`]): BLAKE3 (derive_key) of
/// its first [`ID_PREFIX`] bytes, 16 bytes.
pub fn pad_id_of_prefix(prefix: &[u8; ID_PREFIX]) -> [u8; 16] {
    let mut id = [0u8; 16];
    id.copy_from_slice(&blake3::derive_key(kdf::PAD_ID_PREFIX, prefix)[..16]);
    id
}

/// Accounting of one shared pad: its size, what this side consumed, and the
/// ranges the other side has been seen to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadBook {
    /// The pad identifier.
    pub pad_id: [u8; 16],
    /// Total size of the pad in bytes.
    pub size: u64,
    /// Which bytes messages may use.
    pub layout: PadLayout,
    /// This side's role for this pad (which half it owns), fixed at import.
    pub role: Role,
    /// Bytes of its own half this side has consumed.
    pub used: u64,
    /// Ranges of the other half seen in received messages, sorted, disjoint.
    pub received: Vec<Range<u64>>,
}

impl PadBook {
    /// A fresh book for a pad of `size` bytes.
    pub fn new(
        pad_id: [u8; 16],
        size: u64,
        layout: PadLayout,
        role: Role,
    ) -> Result<PadBook, PadError> {
        if size < MIN_PAD {
            return Err(PadError::TooSmall);
        }
        Ok(PadBook {
            pad_id,
            size,
            layout,
            role,
            used: 0,
            received: Vec::new(),
        })
    }

    /// The bytes `role` may use: the two halves are disjoint and neither
    /// holds the id prefix.
    pub fn half(&self, role: Role) -> Range<u64> {
        let mid = self.size / 2;
        match role {
            Role::Initiator => self.layout.first_usable()..mid,
            Role::Responder => mid..self.size,
        }
    }

    /// Bytes left for sending.
    pub fn left(&self) -> u64 {
        let half = self.half(self.role);
        (half.end - half.start).saturating_sub(self.used)
    }

    /// Bytes of the other side's half not yet seen used (an upper bound on
    /// what it can still send).
    pub fn peer_left(&self) -> u64 {
        let half = self.half(peer(self.role));
        let seen: u64 = self.received.iter().map(|r| r.end - r.start).sum();
        (half.end - half.start).saturating_sub(seen)
    }

    /// Reserves pad bytes for a message of `len` bytes: the range to read,
    /// use and wipe. The book must be stored before the envelope leaves.
    pub fn reserve(&mut self, len: u64) -> Result<Range<u64>, PadError> {
        let needed = len.saturating_add(MAC_KEY_LEN);
        let left = self.left();
        if needed > left {
            return Err(PadError::Exhausted { needed, left });
        }
        let half = self.half(self.role);
        let range = match self.role {
            Role::Initiator => half.start + self.used..half.start + self.used + needed,
            Role::Responder => half.end - self.used - needed..half.end - self.used,
        };
        self.used += needed;
        Ok(range)
    }

    /// Checks a received range (in the sender's half, not seen before) and
    /// records it.
    pub fn accept(&mut self, range: Range<u64>) -> Result<(), PadError> {
        let half = self.half(peer(self.role));
        if range.start >= range.end || range.start < half.start || range.end > half.end {
            return Err(PadError::NotSenders {
                start: range.start,
                end: range.end,
            });
        }
        if self
            .received
            .iter()
            .any(|r| r.start < range.end && range.start < r.end)
        {
            return Err(PadError::Overlap {
                start: range.start,
                end: range.end,
            });
        }
        let at = self.received.partition_point(|r| r.start < range.start);
        self.received.insert(at, range);
        // Merge neighbours so the list stays short.
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(self.received.len());
        for r in self.received.drain(..) {
            match merged.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => merged.push(r),
            }
        }
        self.received = merged;
        Ok(())
    }
}

fn peer(role: Role) -> Role {
    match role {
        Role::Initiator => Role::Responder,
        Role::Responder => Role::Initiator,
    }
}

/// The pad range a received envelope claims.
pub fn claimed_range(envelope: &Envelope) -> Option<Range<u64>> {
    let Body::Pad(h) = &envelope.body else {
        return None;
    };
    let end = h
        .offset
        .checked_add(envelope.ciphertext.len() as u64)?
        .checked_add(MAC_KEY_LEN)?;
    Some(h.offset..end)
}

/// Poly1305 of `message` (header ‖ ciphertext) under a 32-byte one-time key.
fn poly1305_tag(key: &[u8], message: &[u8]) -> [u8; 16] {
    let mut key_bytes = [0u8; 32];
    key_bytes.copy_from_slice(&key[..32]);
    let mac = Poly1305::new(&poly1305::Key::from(key_bytes));
    key_bytes.zeroize();
    let tag = mac.compute_unpadded(message);
    let mut out = [0u8; 16];
    out.copy_from_slice(tag.as_slice());
    out
}

/// Seals `plaintext` with `pad` (exactly the reserved bytes: 32 MAC-key bytes
/// then one per plaintext byte), which is wiped afterwards. Any other
/// number of pad bytes is refused (and still wiped).
pub fn seal(
    session_id: &[u8; 16],
    role: Role,
    pad_id: [u8; 16],
    offset: u64,
    pad: &mut [u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, PadError> {
    let needed = plaintext.len() as u64 + MAC_KEY_LEN;
    if pad.len() as u64 != needed {
        pad.zeroize();
        return Err(PadError::WrongLength {
            needed,
            got: pad.len() as u64,
        });
    }
    let body = Body::Pad(PadHeader { pad_id, offset });
    let header = Envelope::encode_header(session_id, role.sending(), &body, plaintext.len() as u64);
    let (mac_key, stream) = pad.split_at(MAC_KEY_LEN as usize);
    let mut out = Vec::with_capacity(header.len() + plaintext.len() + PAD_TAG_LEN);
    out.extend_from_slice(&header);
    out.extend_from_slice(plaintext);
    for (c, k) in out[header.len()..].iter_mut().zip(stream) {
        *c ^= k;
    }
    let tag = poly1305_tag(mac_key, &out);
    pad.zeroize();
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a pad envelope with `pad` (the bytes of [`claimed_range`], already
/// accepted by the book), which is wiped afterwards whatever the outcome.
pub fn open(
    envelope: &Envelope,
    expected_pad: &[u8; 16],
    pad: &mut [u8],
) -> Result<Vec<u8>, PadError> {
    let result = open_inner(envelope, expected_pad, pad);
    pad.zeroize();
    result
}

fn open_inner(
    envelope: &Envelope,
    expected_pad: &[u8; 16],
    pad: &[u8],
) -> Result<Vec<u8>, PadError> {
    let Body::Pad(h) = &envelope.body else {
        return Err(PadError::WrongPad);
    };
    if &h.pad_id != expected_pad {
        return Err(PadError::WrongPad);
    }
    let needed = envelope.ciphertext.len() as u64 + MAC_KEY_LEN;
    if pad.len() as u64 != needed {
        return Err(PadError::WrongLength {
            needed,
            got: pad.len() as u64,
        });
    }
    if envelope.tag.len() != PAD_TAG_LEN {
        return Err(PadError::BadTag);
    }
    let (mac_key, stream) = pad.split_at(MAC_KEY_LEN as usize);
    let mut message = Vec::with_capacity(envelope.header_bytes().len() + envelope.ciphertext.len());
    message.extend_from_slice(envelope.header_bytes());
    message.extend_from_slice(&envelope.ciphertext);
    let expected = poly1305_tag(mac_key, &message);
    if !bool::from(expected.ct_eq(envelope.tag.as_slice())) {
        return Err(PadError::BadTag);
    }
    Ok(envelope
        .ciphertext
        .iter()
        .zip(stream)
        .map(|(c, k)| c ^ k)
        .collect())
}

/// The direction a role receives.
pub fn receiving(role: Role) -> Direction {
    peer(role).sending()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: [u8; 16] = [7; 16];
    const PAD_ID: [u8; 16] = [3; 16];

    fn pad() -> Vec<u8> {
        let mut pad = vec![0u8; 4096];
        blake3::Hasher::new()
            .update(b"test pad")
            .finalize_xof()
            .fill(&mut pad);
        pad
    }

    fn send(book: &mut PadBook, pad: &mut [u8], msg: &[u8]) -> Result<Vec<u8>, PadError> {
        let range = book.reserve(msg.len() as u64)?;
        let bytes = &mut pad[range.start as usize..range.end as usize];
        seal(&SID, book.role, book.pad_id, range.start, bytes, msg)
    }

    fn receive(book: &mut PadBook, pad: &mut [u8], sealed: &[u8]) -> Result<Vec<u8>, PadError> {
        let envelope = Envelope::parse(sealed).map_err(|_| PadError::BadTag)?;
        let range = claimed_range(&envelope).ok_or(PadError::WrongPad)?;
        let mut trial = book.clone();
        trial.accept(range.clone())?;
        let mut bytes = pad[range.start as usize..range.end as usize].to_vec();
        let plain = open(&envelope, &book.pad_id, &mut bytes)?;
        pad[range.start as usize..range.end as usize].zeroize();
        *book = trial;
        Ok(plain)
    }

    #[test]
    fn both_directions_use_disjoint_halves_and_wipe_what_they_used() {
        let (mut pad_a, mut pad_b) = (pad(), pad());
        let mut a = PadBook::new(PAD_ID, 4096, PadLayout::WholeHash, Role::Initiator).unwrap();
        let mut b = PadBook::new(PAD_ID, 4096, PadLayout::WholeHash, Role::Responder).unwrap();
        for i in 0..5u8 {
            let m = vec![i; 100];
            let sealed = send(&mut a, &mut pad_a, &m).unwrap();
            assert_eq!(receive(&mut b, &mut pad_b, &sealed).unwrap(), m);
            let sealed = send(&mut b, &mut pad_b, &m).unwrap();
            assert_eq!(receive(&mut a, &mut pad_a, &sealed).unwrap(), m);
        }
        assert_eq!(a.used, 5 * 132);
        assert_eq!(a.left(), 2048 - 5 * 132);
        assert_eq!(b.peer_left(), 2048 - 5 * 132);
        assert!(pad_a[..660].iter().all(|&x| x == 0));
        assert!(pad_a[4096 - 660..].iter().all(|&x| x == 0));
        assert!(pad_a[660..4096 - 660].iter().any(|&x| x != 0));
        assert_eq!(pad_a, pad_b);
    }

    #[test]
    fn replays_overlaps_foreign_pads_and_tampering_are_refused() {
        let (mut pad_a, mut pad_b) = (pad(), pad());
        let mut a = PadBook::new(PAD_ID, 4096, PadLayout::WholeHash, Role::Initiator).unwrap();
        let mut b = PadBook::new(PAD_ID, 4096, PadLayout::WholeHash, Role::Responder).unwrap();
        let sealed = send(&mut a, &mut pad_a, b"once").unwrap();
        let before = b.clone();
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x80;
            assert!(receive(&mut b, &mut pad_b.clone(), &t).is_err(), "byte {i}");
            assert_eq!(b, before);
        }
        assert_eq!(receive(&mut b, &mut pad_b, &sealed).unwrap(), b"once");
        assert!(matches!(
            receive(&mut b, &mut pad_b, &sealed),
            Err(PadError::Overlap { .. })
        ));
        // A message claiming the receiver's own half is refused.
        let mut own = b.clone();
        assert!(matches!(
            own.accept(3000..3100),
            Err(PadError::NotSenders { .. })
        ));
        let mut other = PadBook::new([9; 16], 4096, PadLayout::WholeHash, Role::Responder).unwrap();
        let sealed = send(&mut a, &mut pad_a, b"x").unwrap();
        assert_eq!(
            receive(&mut other, &mut pad_b.clone(), &sealed),
            Err(PadError::WrongPad)
        );
    }

    #[test]
    fn a_used_up_pad_refuses_with_the_numbers() {
        let mut pad_a = pad();
        let mut a = PadBook::new(PAD_ID, 4096, PadLayout::WholeHash, Role::Initiator).unwrap();
        send(&mut a, &mut pad_a, &[0; 2000]).unwrap();
        let err = send(&mut a, &mut pad_a, &[0; 100]).unwrap_err();
        assert_eq!(
            err,
            PadError::Exhausted {
                needed: 132,
                left: 2048 - 2032
            }
        );
        assert!(err.to_string().contains("132 bytes needed, 16 left"));
        assert_eq!(a.used, 2032, "a refused message consumes nothing");
        assert_eq!(
            PadBook::new(PAD_ID, 10, PadLayout::Prefix, Role::Initiator),
            Err(PadError::TooSmall)
        );
    }

    #[test]
    fn the_id_prefix_is_never_used_and_names_the_pad() {
        let mut pad_a = pad();
        let prefix: [u8; ID_PREFIX] = pad_a[..ID_PREFIX].try_into().unwrap();
        let id = pad_id_of_prefix(&prefix);
        let mut a = PadBook::new(id, 4096, PadLayout::Prefix, Role::Initiator).unwrap();
        let mut b = PadBook::new(id, 4096, PadLayout::Prefix, Role::Responder).unwrap();
        assert_eq!(a.half(Role::Initiator), 32..2048);
        assert_eq!(a.left(), 2048 - 32);
        assert_eq!(b.peer_left(), 2048 - 32);
        let range = a.reserve(10).unwrap();
        assert_eq!(range, 32..74);
        // A range claiming the prefix is not the sender's.
        assert!(matches!(b.accept(0..42), Err(PadError::NotSenders { .. })));
        b.accept(range).unwrap();
        let sealed = send(&mut a, &mut pad_a, b"x").unwrap();
        assert!(
            pad_a[..ID_PREFIX].iter().any(|&x| x != 0),
            "the prefix is never wiped"
        );
        assert_eq!(
            pad_id_of_prefix(&prefix),
            id,
            "the id depends on the prefix only"
        );
        assert_ne!(pad_id_of_prefix(&[0; ID_PREFIX]), id);
        assert!(!sealed.is_empty());
    }

    #[test]
    fn pad_bytes_of_the_wrong_length_are_refused_and_wiped() {
        let mut short = vec![1u8; 40];
        let err = seal(&SID, Role::Initiator, PAD_ID, 0, &mut short, b"0123456789").unwrap_err();
        assert_eq!(
            err,
            PadError::WrongLength {
                needed: 42,
                got: 40
            }
        );
        assert!(short.iter().all(|&x| x == 0));
        let mut exact = vec![1u8; 42];
        let sealed = seal(&SID, Role::Initiator, PAD_ID, 0, &mut exact, b"0123456789").unwrap();
        let envelope = Envelope::parse(&sealed).unwrap();
        let mut long = vec![1u8; 43];
        assert_eq!(
            open(&envelope, &PAD_ID, &mut long),
            Err(PadError::WrongLength {
                needed: 42,
                got: 43
            })
        );
        assert!(long.iter().all(|&x| x == 0));
    }
}
