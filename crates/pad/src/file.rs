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
mod tests {
    use super::*;

    fn offer(protection: FileProtection) -> FileOffer {
        FileOffer {
            id: [5; 16],
            name: "holiday photos.tar".into(),
            size: 3 * u64::from(CHUNK_SIZE) + 17,
            blake3: [9; 32],
            chunk_size: CHUNK_SIZE,
            protection,
            timelock: None,
        }
    }

    fn locked(protection: FileProtection) -> FileOffer {
        FileOffer {
            timelock: Some(OfferTimelock {
                round: 12_040_883,
                chain: [0x52; 32],
            }),
            ..offer(protection)
        }
    }

    #[test]
    fn control_messages_round_trip() {
        let grid = FileProtection::Grid {
            key: Zeroizing::new([1; 32]),
        };
        for m in [
            FileMessage::Offer(offer(grid.clone())),
            FileMessage::Offer(offer(FileProtection::Pad { offset: 4096 })),
            FileMessage::Offer(locked(grid)),
            FileMessage::Offer(locked(FileProtection::Pad { offset: 4096 })),
            FileMessage::Decline([1; 16]),
            FileMessage::Cancel([2; 16]),
            FileMessage::Done([3; 16]),
        ] {
            let bytes = m.encode();
            assert!(FileMessage::is_file_message(&bytes));
            assert_eq!(FileMessage::parse(&bytes).unwrap(), m);
            // Every cut is refused, but one: a timelocked offer cut just
            // before its optional field is the offer without it (what keeps
            // anyone from cutting it is the envelope's MAC around it).
            let whole_field = match &m {
                FileMessage::Offer(o) if o.timelock.is_some() => Some(bytes.len() - 41),
                _ => None,
            };
            for cut in 0..bytes.len() {
                if Some(cut) == whole_field {
                    let FileMessage::Offer(o) = &m else {
                        unreachable!()
                    };
                    let without = FileOffer {
                        timelock: None,
                        ..o.clone()
                    };
                    assert_eq!(
                        FileMessage::parse(&bytes[..cut]),
                        Ok(FileMessage::Offer(without))
                    );
                    continue;
                }
                assert!(FileMessage::parse(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut longer = bytes.to_vec();
            longer.push(0);
            // After an offer without a timelock, a byte more starts a
            // timelock field of no known kind.
            let expected = match &m {
                FileMessage::Offer(o) if o.timelock.is_none() => {
                    WireError::Invalid("file timelock")
                }
                _ => WireError::Trailing,
            };
            assert_eq!(FileMessage::parse(&longer), Err(expected));
        }
        assert!(!FileMessage::is_file_message(b"hello"));
    }

    /// The timelock field of an offer is absent or whole and canonical:
    /// every other shape is refused with the field it broke, and nothing
    /// may follow it.
    #[test]
    fn malformed_timelock_fields_are_refused() {
        for protection in [
            FileProtection::Grid {
                key: Zeroizing::new([1; 32]),
            },
            FileProtection::Pad { offset: 7 },
        ] {
            let plain = FileMessage::Offer(offer(protection.clone())).encode();
            let good = FileMessage::Offer(locked(protection)).encode();
            // The field is the last 41 bytes: kind, round, chain.
            assert_eq!(good.len(), plain.len() + 41);
            assert_eq!(&good[..plain.len()], &plain[..]);
            let field = plain.len();
            let with = |change: &dyn Fn(&mut Vec<u8>)| {
                let mut bytes = good.to_vec();
                change(&mut bytes);
                FileMessage::parse(&bytes)
            };
            // Unknown kinds (0 included: "no timelock" is the field's absence).
            for kind in [0u8, 2, 0xff] {
                assert_eq!(
                    with(&|b| b[field] = kind),
                    Err(WireError::Invalid("file timelock"))
                );
            }
            // Round 0 does not exist.
            assert_eq!(
                with(&|b| b[field + 1..field + 9].copy_from_slice(&[0; 8])),
                Err(WireError::Invalid("timelock round"))
            );
            // Cut anywhere inside the field.
            for cut in field + 1..good.len() {
                let what = if cut < field + 9 {
                    "timelock round"
                } else {
                    "timelock chain"
                };
                assert_eq!(
                    FileMessage::parse(&good[..cut]),
                    Err(WireError::Truncated(what)),
                    "cut at {cut}"
                );
            }
            // Anything after it, even a second field.
            assert_eq!(with(&|b| b.push(0)), Err(WireError::Trailing));
            assert_eq!(
                with(&|b| {
                    let again = b[field..].to_vec();
                    b.extend_from_slice(&again);
                }),
                Err(WireError::Trailing)
            );
            // The largest round is a round.
            let far = with(&|b| b[field + 1..field + 9].copy_from_slice(&[0xff; 8])).unwrap();
            let FileMessage::Offer(far) = far else {
                panic!("an offer")
            };
            assert_eq!(far.timelock.unwrap().round, u64::MAX);
        }
    }

    #[test]
    fn offers_out_of_bounds_are_refused() {
        let mut o = offer(FileProtection::Pad { offset: 0 });
        o.size = MAX_FILE + 1;
        assert_eq!(
            FileMessage::parse(&FileMessage::Offer(o.clone()).encode()),
            Err(WireError::TooLong("file size"))
        );
        o.size = 10;
        o.chunk_size = 0;
        assert_eq!(
            FileMessage::parse(&FileMessage::Offer(o).encode()),
            Err(WireError::Invalid("chunk size"))
        );
    }

    /// Found by the structured fuzzing: a pad offer whose range ends past
    /// 2^64 made `pad_range` overflow (a panic in debug builds, a wrapped
    /// range in release) on the receiver, and `chunk_pad_range` overflowed
    /// for an index far past the end.
    #[test]
    fn pad_offers_whose_range_overflows_are_refused() {
        let mut o = offer(FileProtection::Pad {
            offset: u64::MAX - 10,
        });
        assert_eq!(
            FileMessage::parse(&FileMessage::Offer(o.clone()).encode()),
            Err(WireError::Invalid("pad offset"))
        );
        let needed = pad_bytes_needed(o.size, o.chunk_size);
        o.protection = FileProtection::Pad {
            offset: u64::MAX - needed,
        };
        let parsed = FileMessage::parse(&FileMessage::Offer(o.clone()).encode()).unwrap();
        assert_eq!(parsed, FileMessage::Offer(o.clone()));
        assert_eq!(o.pad_range().unwrap().end, u64::MAX);
        assert_eq!(o.chunk_pad_range(o.chunks() - 1).unwrap().end, u64::MAX);
        assert_eq!(o.chunk_pad_range(u64::MAX), None);
        assert_eq!(o.chunk_pad_range(o.chunks() + 1), None);
    }

    #[test]
    fn chunk_geometry() {
        let o = offer(FileProtection::Pad { offset: 100 });
        assert_eq!(o.chunks(), 4);
        assert_eq!(o.chunk_len(3), 17);
        assert_eq!(o.chunk_len(4), 0);
        let whole = o.pad_range().unwrap();
        assert_eq!(whole.end - whole.start, o.size + 4 * MAC_KEY_LEN);
        // The chunks' slices tile the whole range exactly.
        let mut at = whole.start;
        for i in 0..o.chunks() {
            let r = o.chunk_pad_range(i).unwrap();
            assert_eq!(r.start, at);
            at = r.end;
        }
        assert_eq!(at, whole.end);
        assert_eq!(chunk_count(0, CHUNK_SIZE), 0);
    }

    #[test]
    fn grid_chunks_open_only_unaltered_and_in_place() {
        let key = [7u8; 32];
        let id = [3u8; 16];
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let sealed = seal_grid_chunk(&key, &id, 2, &data);
        assert_ne!(&sealed[..data.len()], &data[..]);
        assert_eq!(open_grid_chunk(&key, &id, 2, 5000, &sealed).unwrap(), data);
        // Another index, transfer or key, a flipped bit, a cut: refused.
        assert_eq!(
            open_grid_chunk(&key, &id, 3, 5000, &sealed),
            Err(ChunkError::BadTag { index: 3 })
        );
        assert!(open_grid_chunk(&key, &[4; 16], 2, 5000, &sealed).is_err());
        assert!(open_grid_chunk(&[8; 32], &id, 2, 5000, &sealed).is_err());
        for at in [0, 4999, 5000, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert_eq!(
                open_grid_chunk(&key, &id, 2, 5000, &bad),
                Err(ChunkError::BadTag { index: 2 })
            );
        }
        assert_eq!(
            open_grid_chunk(&key, &id, 2, 5000, &sealed[1..]),
            Err(ChunkError::Length { index: 2 })
        );
        // Two chunks never share keystream.
        let zeros = vec![0u8; 64];
        assert_ne!(
            seal_grid_chunk(&key, &id, 0, &zeros)[..64],
            seal_grid_chunk(&key, &id, 1, &zeros)[..64]
        );
    }

    fn sample_offer(pad: bool, timelocked: bool) -> Vec<u8> {
        let protection = if pad {
            FileProtection::Pad { offset: 77 }
        } else {
            FileProtection::Grid {
                key: Zeroizing::new([3; 32]),
            }
        };
        let offer = if timelocked {
            locked(protection)
        } else {
            offer(protection)
        };
        FileMessage::Offer(offer).encode().to_vec()
    }

    /// A valid control message of any kind from generated fields.
    fn control_message(
        kind: u8,
        id: TransferId,
        name: &str,
        size: u64,
        chunk_size: u32,
        offset: u64,
    ) -> FileMessage {
        let protection = if offset.is_multiple_of(2) {
            FileProtection::Pad { offset }
        } else {
            FileProtection::Grid {
                key: Zeroizing::new([offset as u8; 32]),
            }
        };
        match kind {
            0 => FileMessage::Decline(id),
            1 => FileMessage::Cancel(id),
            2 => FileMessage::Done(id),
            _ => FileMessage::Offer(FileOffer {
                id,
                name: name.to_owned(),
                size,
                blake3: [kind; 32],
                chunk_size,
                protection,
                // Kind 5: a timelocked file.
                timelock: (kind == 5).then(|| OfferTimelock {
                    round: offset.max(1),
                    chain: [kind; 32],
                }),
            }),
        }
    }

    /// Offsets of an offer's fields after the magic and version (the
    /// timelock field's, after either protection, among them).
    fn offer_fields(name_len: usize) -> Vec<usize> {
        let name_end = 22 + 2 + name_len;
        let mut fields = vec![
            5,
            6,
            22,
            name_end,
            name_end + 8,
            name_end + 40,
            name_end + 44,
            name_end + 45,
        ];
        for lock in [name_end + 45 + 8, name_end + 45 + 32] {
            fields.extend([lock, lock + 1, lock + 9]);
        }
        fields
    }

    /// Valid control messages from generated fields, mutated after the
    /// magic and version: the field parser runs on every case; what it
    /// accepts re-encodes exactly, and the offer's geometry (chunks, pad
    /// ranges) is computed without overflow.
    #[test]
    fn mutated_control_messages_reach_the_field_parser_and_never_panic() {
        use proptest::prelude::*;
        let strategy = (
            0u8..6,
            any::<TransferId>(),
            "\\PC{0,60}",
            prop_oneof![0..=MAX_FILE, Just(MAX_FILE), Just(0u64)],
            prop_oneof![1..=CHUNK_SIZE, Just(CHUNK_SIZE), Just(1u32)],
            any::<u64>(),
            crate::fuzz::mutations(3),
        );
        crate::fuzz::run(
            "file message",
            2000,
            0.8,
            strategy,
            |(kind, id, name, size, chunk_size, offset, mutations)| {
                let message = control_message(kind, id, &name, size, chunk_size, offset);
                let mut bytes = message.encode().to_vec();
                let len = bytes.len();
                let fields = offer_fields(name.len().min(MAX_NAME));
                crate::fuzz::apply(&mut bytes, 5..len, &fields, &mutations);
                match FileMessage::parse(&bytes) {
                    Ok(m) => {
                        assert_eq!(m.encode().to_vec(), bytes);
                        if let FileMessage::Offer(o) = &m {
                            let chunks = o.chunks();
                            let _ = o.pad_range();
                            for i in [0, chunks.saturating_sub(1), chunks, u64::MAX] {
                                let _ = o.chunk_len(i);
                                let _ = o.chunk_pad_range(i);
                            }
                        }
                        crate::fuzz::Outcome::Accepted
                    }
                    Err(WireError::Invalid("magic" | "version")) => crate::fuzz::Outcome::Framing,
                    Err(_) => crate::fuzz::Outcome::Refused,
                }
            },
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes never panic the parser, and whatever it accepts
        /// is in canonical form (re-encodes to the same bytes), so no two
        /// encodings of one message exist.
        #[test]
        fn control_messages_parse_canonically_or_not_at_all(
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            kind in 0u8..6,
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.push(VERSION);
            bytes.push(kind);
            bytes.extend_from_slice(&tail);
            if let Ok(m) = FileMessage::parse(&bytes) {
                proptest::prop_assert_eq!(m.encode().to_vec(), bytes);
            }
            let _ = FileMessage::parse(&tail);
        }

        /// A valid offer with one byte changed is refused or parses to a
        /// different message that still re-encodes exactly.
        #[test]
        fn mutated_offers_never_alias(
            pad: bool,
            timelocked: bool,
            at in 0usize..400,
            flip in 1u8..=255,
        ) {
            let good = sample_offer(pad, timelocked);
            let mut bad = good.clone();
            let at = at % bad.len();
            bad[at] ^= flip;
            if let Ok(m) = FileMessage::parse(&bad) {
                proptest::prop_assert_eq!(m.encode().to_vec(), bad);
            }
        }

        /// Any change to a sealed grid chunk (flip, cut, extension) is
        /// refused; nothing of it is returned.
        #[test]
        fn altered_grid_chunks_never_open(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            at in proptest::prelude::any::<usize>(),
            flip in 1u8..=255,
            cut in 0usize..40,
            extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..40),
        ) {
            let key = [9u8; 32];
            let id = [1u8; 16];
            let sealed = seal_grid_chunk(&key, &id, 5, &data);
            let len = data.len() as u64;
            proptest::prop_assert_eq!(open_grid_chunk(&key, &id, 5, len, &sealed).unwrap(), data);
            let mut flipped = sealed.clone();
            let at = at % flipped.len();
            flipped[at] ^= flip;
            proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, &flipped).is_err());
            let short = &sealed[..sealed.len().saturating_sub(cut.max(1))];
            proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, short).is_err());
            let mut long = sealed.clone();
            long.extend_from_slice(&extra);
            proptest::prop_assert!(open_grid_chunk(&key, &id, 5, len, &long).is_err());
        }
    }
}
