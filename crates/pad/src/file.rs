//! File transfer: the control messages that travel inside sealed envelopes
//! (offer, decline, cancel, done) and the encryption of file chunks.
//!
//! A file is offered in a sealed message of the mode it is sent in. The
//! receiver then pulls chunks by index, so a transfer resumes from whatever
//! the receiver has verified. Each chunk is protected on its own:
//! - grid pad: the offer carries a fresh random 32-byte file key (so it is
//!   as safe as that message: post-quantum, bound to a beacon round); chunk
//!   `i`'s keystream and MAC keys are derived from it, the transfer id and
//!   `i`, and the 32-byte BLAKE3 tag covers id, index, length and ciphertext.
//! - true pad: the offer names a contiguous range of the sender's half,
//!   reserved before the offer leaves; chunk `i` is a true-pad envelope over
//!   its own slice of that range (32 one-time MAC key bytes, then one byte
//!   per plaintext byte). Serving a chunk again gives the same ciphertext
//!   (same bytes, same plaintext), so a refetch reveals nothing new.
//!
//! ```text
//! control: 00 "ZKF" version=1 kind | transfer id 16 | …
//!   offer (1):   name (u16 len) | size u64 | blake3 32 | chunk size u32 |
//!                mode u8 | grid: key 32 / pad: offset u64 |
//!                [timelock: 1 | round u64 | chain hash 32]
//!   decline (2), cancel (3), done (4): nothing more
//! grid chunk:    ciphertext | tag 32
//! pad chunk:     a true-pad envelope
//! ```
//!
//! A timelocked file (decision 0070) is offered like any other: what
//! travels is the age file `zks_tlock` made of it, and the offer's size and
//! hash are that file's. The optional trailing field says so and names the
//! drand round (and chain) that opens it; the name is the real file's. A
//! parser from before it refuses such an offer (its bytes do not end where
//! it expects), so an old receiver never mistakes the locked file for the
//! file itself. The field is absent or whole: kind 1, a round ≥ 1 and a
//! chain hash; any other kind, round 0, a cut or bytes after it are refused.

use std::ops::Range;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::envelope::{GRID_TAG_LEN, Mode};
use crate::kdf;
use crate::session::apply_keystream;
use crate::truepad::MAC_KEY_LEN;
use crate::wire::{Reader, WireError, Writer};

const MAGIC: &[u8; 4] = b"\0ZKF";
const VERSION: u8 = 1;
/// Size of every chunk but the last.
pub const CHUNK_SIZE: u32 = 1 << 20;
/// Longest file name carried in an offer, in bytes.
pub const MAX_NAME: usize = 255;
/// Largest file offered: 2^40 bytes (1 TiB), a million chunks.
pub const MAX_FILE: u64 = 1 << 40;
/// The kind byte of an offer's optional timelock field: a drand timelock
/// (the only kind).
const TIMELOCK_DRAND: u8 = 1;

/// A transfer's identifier (random, chosen by the sender).
pub type TransferId = [u8; 16];

/// How an offered file is protected.
#[derive(Clone, PartialEq, Eq)]
pub enum FileProtection {
    /// Grid pad: chunks sealed under keys derived from this file key.
    Grid {
        /// The file key (secret).
        key: Zeroizing<[u8; 32]>,
    },
    /// True pad: chunks use the sender's pad bytes from this offset on.
    Pad {
        /// First pad byte of the file's range.
        offset: u64,
    },
}

impl std::fmt::Debug for FileProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProtection::Grid { .. } => f.write_str("Grid { key: <secret> }"),
            FileProtection::Pad { offset } => write!(f, "Pad {{ offset: {offset} }}"),
        }
    }
}

/// The drand round a timelocked file opens at, as its offer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferTimelock {
    /// The round whose signature opens the file (≥ 1).
    pub round: u64,
    /// The hash of the drand chain the round belongs to.
    pub chain: [u8; 32],
}

/// A file offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOffer {
    /// The transfer.
    pub id: TransferId,
    /// The file's name as the sender gives it (untrusted: sanitise it).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file.
    pub blake3: [u8; 32],
    /// Size of every chunk but the last.
    pub chunk_size: u32,
    /// How the chunks are protected.
    pub protection: FileProtection,
    /// Set when what travels is the file timelocked to a drand round (an
    /// age file; `size` and `blake3` are of it).
    pub timelock: Option<OfferTimelock>,
}

impl FileOffer {
    /// How many chunks the file has.
    pub fn chunks(&self) -> u64 {
        chunk_count(self.size, self.chunk_size)
    }

    /// The mode the offer (and its chunks) travel in.
    pub fn mode(&self) -> Mode {
        match self.protection {
            FileProtection::Grid { .. } => Mode::Grid,
            FileProtection::Pad { .. } => Mode::Pad,
        }
    }

    /// The pad range a true-pad file uses (`None` in grid mode).
    pub fn pad_range(&self) -> Option<Range<u64>> {
        let FileProtection::Pad { offset } = self.protection else {
            return None;
        };
        Some(offset..offset + pad_bytes_needed(self.size, self.chunk_size))
    }

    /// Plaintext length of chunk `index` (0 past the end).
    pub fn chunk_len(&self, index: u64) -> u64 {
        let start = index.saturating_mul(u64::from(self.chunk_size));
        self.size
            .saturating_sub(start)
            .min(u64::from(self.chunk_size))
    }

    /// The slice of the pad range that chunk `index` uses (true pad).
    pub fn chunk_pad_range(&self, index: u64) -> Option<Range<u64>> {
        let FileProtection::Pad { offset } = self.protection else {
            return None;
        };
        // Checked: `index` may come from a peer's request, and a range past
        // the end of the pad's offsets is no range at all.
        let start = index
            .checked_mul(u64::from(self.chunk_size) + MAC_KEY_LEN)?
            .checked_add(offset)?;
        Some(start..start.checked_add(MAC_KEY_LEN + self.chunk_len(index))?)
    }
}

/// Number of chunks of a file of `size` bytes.
pub fn chunk_count(size: u64, chunk_size: u32) -> u64 {
    size.div_ceil(u64::from(chunk_size.max(1)))
}

/// Pad bytes a true-pad file of `size` bytes takes (its bytes plus a
/// one-time MAC key per chunk).
pub fn pad_bytes_needed(size: u64, chunk_size: u32) -> u64 {
    size + chunk_count(size, chunk_size) * MAC_KEY_LEN
}

/// A file-transfer control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMessage {
    /// "Here is a file; pull its chunks if you want it."
    Offer(FileOffer),
    /// The receiver does not want it.
    Decline(TransferId),
    /// Either side gives up on the transfer.
    Cancel(TransferId),
    /// The receiver has the whole file, hash checked.
    Done(TransferId),
}

impl FileMessage {
    /// Whether a message plaintext is a file-transfer control message (chat
    /// text never starts with a NUL byte).
    pub fn is_file_message(plaintext: &[u8]) -> bool {
        plaintext.starts_with(MAGIC)
    }

    /// The transfer this message is about.
    pub fn id(&self) -> TransferId {
        match self {
            FileMessage::Offer(o) => o.id,
            FileMessage::Decline(id) | FileMessage::Cancel(id) | FileMessage::Done(id) => *id,
        }
    }

    /// The plaintext to seal.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.raw(MAGIC).u8(VERSION);
        match self {
            FileMessage::Offer(o) => {
                w.u8(1).raw(&o.id).bytes16(o.name.as_bytes());
                w.u64(o.size).raw(&o.blake3).u32(o.chunk_size);
                match &o.protection {
                    FileProtection::Grid { key } => w.u8(1).raw(&key[..]),
                    FileProtection::Pad { offset } => w.u8(2).u64(*offset),
                };
                if let Some(lock) = &o.timelock {
                    w.u8(TIMELOCK_DRAND).u64(lock.round).raw(&lock.chain);
                }
            }
            FileMessage::Decline(id) => {
                w.u8(2).raw(id);
            }
            FileMessage::Cancel(id) => {
                w.u8(3).raw(id);
            }
            FileMessage::Done(id) => {
                w.u8(4).raw(id);
            }
        }
        Zeroizing::new(w.finish())
    }

    /// Parses a control message, checking every bound.
    pub fn parse(bytes: &[u8]) -> Result<FileMessage, WireError> {
        let mut r = Reader::new(bytes);
        if r.take(4, "magic")? != MAGIC {
            return Err(WireError::Invalid("magic"));
        }
        if r.u8("version")? != VERSION {
            return Err(WireError::Invalid("version"));
        }
        let kind = r.u8("kind")?;
        let id = r.array::<16>("transfer id")?;
        let message = match kind {
            1 => {
                let name = std::str::from_utf8(r.bytes16(MAX_NAME, "file name")?)
                    .map_err(|_| WireError::Invalid("file name"))?
                    .to_owned();
                let size = r.u64("file size")?;
                if size > MAX_FILE {
                    return Err(WireError::TooLong("file size"));
                }
                let blake3 = r.array::<32>("file hash")?;
                let chunk_size = r.u32("chunk size")?;
                if chunk_size == 0 || chunk_size > CHUNK_SIZE {
                    return Err(WireError::Invalid("chunk size"));
                }
                let protection = match r.u8("file mode")? {
                    1 => {
                        let mut key = Zeroizing::new([0u8; 32]);
                        key.copy_from_slice(r.take(32, "file key")?);
                        FileProtection::Grid { key }
                    }
                    2 => {
                        let offset = r.u64("pad offset")?;
                        // The whole range must have an end: the receiver
                        // reserves `pad_range` before anything else.
                        if offset
                            .checked_add(pad_bytes_needed(size, chunk_size))
                            .is_none()
                        {
                            return Err(WireError::Invalid("pad offset"));
                        }
                        FileProtection::Pad { offset }
                    }
                    _ => return Err(WireError::Invalid("file mode")),
                };
                let timelock = if r.at_end() {
                    None
                } else {
                    if r.u8("file timelock")? != TIMELOCK_DRAND {
                        return Err(WireError::Invalid("file timelock"));
                    }
                    let round = r.u64("timelock round")?;
                    if round == 0 {
                        return Err(WireError::Invalid("timelock round"));
                    }
                    let chain = r.array::<32>("timelock chain")?;
                    Some(OfferTimelock { round, chain })
                };
                FileMessage::Offer(FileOffer {
                    id,
                    name,
                    size,
                    blake3,
                    chunk_size,
                    protection,
                    timelock,
                })
            }
            2 => FileMessage::Decline(id),
            3 => FileMessage::Cancel(id),
            4 => FileMessage::Done(id),
            _ => return Err(WireError::Invalid("file message kind")),
        };
        r.finish()?;
        Ok(message)
    }
}

/// Why a chunk was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The chunk is not as long as the offer says.
    #[error("chunk {index} has the wrong length")]
    Length {
        /// The chunk.
        index: u64,
    },
    /// The tag does not match: damaged or forged.
    #[error("chunk {index} was altered in transit (its tag does not match)")]
    BadTag {
        /// The chunk.
        index: u64,
    },
}

fn chunk_keys(
    key: &[u8; 32],
    id: &TransferId,
    index: u64,
) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let k = Zeroizing::new(kdf::derive(
        kdf::FILE_CHUNK,
        &[key, id, &index.to_be_bytes()],
    ));
    (
        Zeroizing::new(kdf::keyed(&k, kdf::ENC)),
        Zeroizing::new(kdf::keyed(&k, kdf::MAC)),
    )
}

fn chunk_tag(mac_key: &[u8; 32], id: &TransferId, index: u64, ciphertext: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(mac_key);
    h.update(id);
    h.update(&index.to_be_bytes());
    h.update(&(ciphertext.len() as u64).to_be_bytes());
    h.update(ciphertext);
    *h.finalize().as_bytes()
}

/// Seals chunk `index` of a grid-pad file: ciphertext ‖ tag.
pub fn seal_grid_chunk(key: &[u8; 32], id: &TransferId, index: u64, plaintext: &[u8]) -> Vec<u8> {
    let (enc, mac) = chunk_keys(key, id, index);
    let mut out = Vec::with_capacity(plaintext.len() + GRID_TAG_LEN);
    out.extend_from_slice(plaintext);
    apply_keystream(&enc, &mut out);
    let tag = chunk_tag(&mac, id, index, &out);
    out.extend_from_slice(&tag);
    out
}

/// Opens chunk `index` of a grid-pad file, which must be `expected_len`
/// plaintext bytes long. Nothing is returned unless the tag matches.
pub fn open_grid_chunk(
    key: &[u8; 32],
    id: &TransferId,
    index: u64,
    expected_len: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, ChunkError> {
    if sealed.len() as u64 != expected_len + GRID_TAG_LEN as u64 {
        return Err(ChunkError::Length { index });
    }
    let (ciphertext, tag) = sealed.split_at(sealed.len() - GRID_TAG_LEN);
    let (enc, mac) = chunk_keys(key, id, index);
    let mut expected = chunk_tag(&mac, id, index, ciphertext);
    let ok = bool::from(expected.ct_eq(tag));
    expected.zeroize();
    if !ok {
        return Err(ChunkError::BadTag { index });
    }
    let mut plaintext = ciphertext.to_vec();
    apply_keystream(&enc, &mut plaintext);
    Ok(plaintext)
}

#[cfg(test)]
mod tests;
