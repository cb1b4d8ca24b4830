//! The Bitswap wire message, hand-written protobuf (only the fields of the
//! spec's `Message`; unknown fields are skipped, every length is capped).
//!
//! ```text
//! Message { Wantlist wantlist = 1; repeated bytes blocks = 2 (1.0.0);
//!           repeated Block payload = 3; repeated BlockPresence blockPresences = 4;
//!           int32 pendingBytes = 5; }
//! Wantlist { repeated Entry entries = 1; bool full = 2; }
//! Entry { bytes block = 1 (a CID); int32 priority = 2; bool cancel = 3;
//!         WantType wantType = 4 (Block 0, Have 1); bool sendDontHave = 5; }
//! Block { bytes prefix = 1 (CID version, codec, hash, length); bytes data = 2; }
//! BlockPresence { bytes cid = 1; BlockPresenceType type = 2 (Have 0, DontHave 1); }
//! ```
//!
//! On the wire each message is preceded by its length (unsigned varint),
//! at most [`MAX_MESSAGE`] bytes, as go-bitswap (boxo) and Helia cap it.

use sha2::{Digest, Sha256};

/// Largest message accepted or sent (boxo's and Helia's cap).
pub const MAX_MESSAGE: usize = 4 << 20;
/// Longest CID accepted in a message (a CIDv1 with a 64-byte digest is 68).
const MAX_CID: usize = 128;
/// Longest CID prefix accepted (four varints).
const MAX_PREFIX: usize = 32;
/// Wantlist entries, blocks and presences accepted in one message, each.
pub const MAX_ITEMS: usize = 8192;

/// What a wantlist entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WantType {
    /// Send the block.
    Block,
    /// Say whether you have it.
    Have,
}

/// One wantlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The CID, as bytes.
    pub cid: Vec<u8>,
    /// Higher first.
    pub priority: i32,
    /// Withdraws an earlier want of this CID.
    pub cancel: bool,
    /// Block or Have.
    pub want_type: WantType,
    /// Answer DONT_HAVE when the block is not held.
    pub send_dont_have: bool,
}

/// One block: its CID prefix and its bytes. A block of `blocks` (1.0.0)
/// carries a CIDv0 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// CID version, codec, multihash code and digest length, as varints.
    pub prefix: Vec<u8>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The CIDv0 prefix (dag-pb, sha2-256) given to 1.0.0 `blocks`.
const V0_PREFIX: [u8; 4] = [0x00, 0x70, 0x12, 0x20];

impl Block {
    /// The CID of the block, computed from its bytes (sha2-256 only):
    /// `None` when the prefix is malformed or names another hash.
    pub fn cid(&self) -> Option<Vec<u8>> {
        let mut at = 0;
        let version = varint(&self.prefix, &mut at).ok()?;
        let codec = varint(&self.prefix, &mut at).ok()?;
        let hash = varint(&self.prefix, &mut at).ok()?;
        let len = varint(&self.prefix, &mut at).ok()?;
        if at != self.prefix.len() || hash != 0x12 || len != 32 {
            return None;
        }
        let digest = Sha256::digest(&self.data);
        let mut cid = Vec::with_capacity(40);
        match version {
            0 if codec == 0x70 => {}
            1 => {
                put_varint(&mut cid, 1);
                put_varint(&mut cid, codec);
            }
            _ => return None,
        }
        cid.extend_from_slice(&[0x12, 0x20]);
        cid.extend_from_slice(&digest);
        Some(cid)
    }
}

/// One block presence: whether the sender has a CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The CID, as bytes.
    pub cid: Vec<u8>,
    /// HAVE (true) or DONT_HAVE (false).
    pub have: bool,
}

/// A Bitswap message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Wantlist entries.
    pub wants: Vec<Entry>,
    /// Whether the wantlist replaces the sender's previous one.
    pub full: bool,
    /// Blocks (`payload`, and `blocks` of 1.0.0 with a CIDv0 prefix).
    pub blocks: Vec<Block>,
    /// Block presences.
    pub presences: Vec<Presence>,
    /// Bytes the sender still has queued for us.
    pub pending_bytes: i32,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Bitswap message: {0}")]
pub struct Malformed(&'static str);

fn varint(buf: &[u8], at: &mut usize) -> Result<u64, Malformed> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at).ok_or(Malformed("truncated varint"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed("varint over 64 bits"))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One protobuf field: its number and value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// A fixed-width value of a field we never use.
    Fixed,
}

/// Reads the fields of `buf` in order, calling `each` on every one.
fn fields<'a>(
    buf: &'a [u8],
    mut each: impl FnMut(u64, Field<'a>) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    let mut at = 0;
    while at < buf.len() {
        let key = varint(buf, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 {
            return Err(Malformed("field number 0"));
        }
        let field = match wire {
            0 => Field::Varint(varint(buf, &mut at)?),
            1 | 5 => {
                let width = if wire == 1 { 8 } else { 4 };
                if buf.len() - at < width {
                    return Err(Malformed("truncated fixed field"));
                }
                at += width;
                Field::Fixed
            }
            2 => {
                let len = varint(buf, &mut at)?;
                if len > (buf.len() - at) as u64 {
                    return Err(Malformed("length beyond the message"));
                }
                let bytes = &buf[at..at + len as usize];
                at += len as usize;
                Field::Bytes(bytes)
            }
            _ => return Err(Malformed("unknown wire type")),
        };
        each(number, field)?;
    }
    Ok(())
}

fn capped(bytes: &[u8], cap: usize, what: &'static str) -> Result<Vec<u8>, Malformed> {
    if bytes.len() > cap {
        return Err(Malformed(what));
    }
    Ok(bytes.to_vec())
}

fn push<T>(items: &mut Vec<T>, item: T) -> Result<(), Malformed> {
    if items.len() >= MAX_ITEMS {
        return Err(Malformed("too many items"));
    }
    items.push(item);
    Ok(())
}

impl Message {
    /// Decodes one message (its bytes, without the length prefix).
    pub fn decode(buf: &[u8]) -> Result<Message, Malformed> {
        if buf.len() > MAX_MESSAGE {
            return Err(Malformed("over 4 MiB"));
        }
        let mut msg = Message::default();
        fields(buf, |number, field| {
            match (number, field) {
                (1, Field::Bytes(list)) => fields(list, |n, f| match (n, f) {
                    (1, Field::Bytes(entry)) => push(&mut msg.wants, decode_entry(entry)?),
                    (2, Field::Varint(v)) => {
                        msg.full = v != 0;
                        Ok(())
                    }
                    _ => Ok(()),
                })?,
                (2, Field::Bytes(data)) => push(
                    &mut msg.blocks,
                    Block {
                        prefix: V0_PREFIX.to_vec(),
                        data: data.to_vec(),
                    },
                )?,
                (3, Field::Bytes(block)) => {
                    let mut b = Block {
                        prefix: Vec::new(),
                        data: Vec::new(),
                    };
                    fields(block, |n, f| {
                        match (n, f) {
                            (1, Field::Bytes(p)) => {
                                b.prefix = capped(p, MAX_PREFIX, "long prefix")?;
                            }
                            (2, Field::Bytes(d)) => b.data = d.to_vec(),
                            _ => {}
                        }
                        Ok(())
                    })?;
                    push(&mut msg.blocks, b)?;
                }
                (4, Field::Bytes(presence)) => {
                    let mut p = Presence {
                        cid: Vec::new(),
                        have: true,
                    };
                    fields(presence, |n, f| {
                        match (n, f) {
                            (1, Field::Bytes(c)) => p.cid = capped(c, MAX_CID, "long CID")?,
                            (2, Field::Varint(t)) => p.have = t == 0,
                            _ => {}
                        }
                        Ok(())
                    })?;
                    push(&mut msg.presences, p)?;
                }
                (5, Field::Varint(v)) => msg.pending_bytes = v as i32,
                _ => {}
            }
            Ok(())
        })?;
        Ok(msg)
    }

    /// Encodes the message (without the length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.wants.is_empty() || self.full {
            let mut list = Vec::new();
            for e in &self.wants {
                let mut entry = Vec::new();
                bytes_field(&mut entry, 1, &e.cid);
                varint_field(&mut entry, 2, i64::from(e.priority) as u64);
                varint_field(&mut entry, 3, u64::from(e.cancel));
                varint_field(&mut entry, 4, u64::from(e.want_type == WantType::Have));
                varint_field(&mut entry, 5, u64::from(e.send_dont_have));
                bytes_field(&mut list, 1, &entry);
            }
            varint_field(&mut list, 2, u64::from(self.full));
            bytes_field(&mut out, 1, &list);
        }
        for b in &self.blocks {
            let mut block = Vec::with_capacity(b.data.len() + 16);
            bytes_field(&mut block, 1, &b.prefix);
            bytes_field(&mut block, 2, &b.data);
            bytes_field(&mut out, 3, &block);
        }
        for p in &self.presences {
            let mut presence = Vec::new();
            bytes_field(&mut presence, 1, &p.cid);
            varint_field(&mut presence, 2, u64::from(!p.have));
            bytes_field(&mut out, 4, &presence);
        }
        varint_field(&mut out, 5, i64::from(self.pending_bytes) as u64);
        out
    }

    /// The message with its length prefix, ready for the stream.
    pub fn to_frame(&self) -> Vec<u8> {
        let body = self.encode();
        let mut out = Vec::with_capacity(body.len() + 5);
        put_varint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        out
    }
}

fn decode_entry(buf: &[u8]) -> Result<Entry, Malformed> {
    let mut e = Entry {
        cid: Vec::new(),
        priority: 1,
        cancel: false,
        want_type: WantType::Block,
        send_dont_have: false,
    };
    fields(buf, |n, f| {
        match (n, f) {
            (1, Field::Bytes(c)) => e.cid = capped(c, MAX_CID, "long CID")?,
            (2, Field::Varint(v)) => e.priority = v as i32,
            (3, Field::Varint(v)) => e.cancel = v != 0,
            (4, Field::Varint(v)) => {
                e.want_type = if v == 1 {
                    WantType::Have
                } else {
                    WantType::Block
                };
            }
            (5, Field::Varint(v)) => e.send_dont_have = v != 0,
            _ => {}
        }
        Ok(())
    })?;
    if e.cid.is_empty() {
        return Err(Malformed("wantlist entry without a CID"));
    }
    Ok(e)
}

fn varint_field(out: &mut Vec<u8>, number: u64, value: u64) {
    if value != 0 {
        put_varint(out, number << 3);
        put_varint(out, value);
    }
}

fn bytes_field(out: &mut Vec<u8>, number: u64, value: &[u8]) {
    put_varint(out, (number << 3) | 2);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Reads one length-prefixed message's length from a stream: `None` at a
/// clean end of stream before the first byte.
pub async fn read_length<T: futures::AsyncRead + Unpin>(
    io: &mut T,
) -> std::io::Result<Option<usize>> {
    use futures::AsyncReadExt;
    let mut value: u64 = 0;
    for (i, shift) in (0..35).step_by(7).enumerate() {
        let mut byte = [0u8];
        if io.read(&mut byte).await? == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value as usize));
        }
    }
    Err(super::super::invalid("message length over 5 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            wants: vec![
                Entry {
                    cid: vec![1, 0x55, 0x12, 0x20, 7],
                    priority: -3,
                    cancel: false,
                    want_type: WantType::Have,
                    send_dont_have: true,
                },
                Entry {
                    cid: vec![9; 36],
                    priority: 1,
                    cancel: true,
                    want_type: WantType::Block,
                    send_dont_have: false,
                },
            ],
            full: true,
            blocks: vec![Block {
                prefix: vec![1, 0x55, 0x12, 0x20],
                data: b"hello".to_vec(),
            }],
            presences: vec![
                Presence {
                    cid: vec![3; 36],
                    have: false,
                },
                Presence {
                    cid: vec![4; 36],
                    have: true,
                },
            ],
            pending_bytes: 42,
        }
    }

    #[test]
    fn messages_round_trip_and_unknown_fields_are_skipped() {
        let msg = sample();
        assert_eq!(Message::decode(&msg.encode()).unwrap(), msg);
        // An unknown varint field (9), fixed64 (10) and bytes field (11)
        // before the rest are skipped.
        let mut with_unknown = vec![9 << 3, 5, (10 << 3) | 1, 0, 0, 0, 0, 0, 0, 0, 0];
        with_unknown.extend_from_slice(&[(11 << 3) | 2, 2, 0xff, 0xff]);
        with_unknown.extend_from_slice(&msg.encode());
        assert_eq!(Message::decode(&with_unknown).unwrap(), msg);
    }

    #[test]
    fn a_block_cid_comes_from_its_bytes() {
        let block = Block {
            prefix: vec![1, 0x55, 0x12, 0x20],
            data: b"chunk".to_vec(),
        };
        let cid = block.cid().unwrap();
        assert_eq!(&cid[..4], &[1, 0x55, 0x12, 0x20]);
        assert_eq!(&cid[4..], Sha256::digest(b"chunk").as_slice());
        // 1.0.0 blocks are CIDv0: the bare multihash.
        let v0 = Block {
            prefix: V0_PREFIX.to_vec(),
            data: b"chunk".to_vec(),
        };
        assert_eq!(v0.cid().unwrap()[..2], [0x12, 0x20]);
        for prefix in [
            vec![],
            vec![1, 0x55, 0x13, 0x40],
            vec![1, 0x55, 0x12, 0x20, 0],
            vec![2, 0x55, 0x12, 0x20],
            vec![0xff],
        ] {
            let b = Block {
                prefix,
                data: vec![],
            };
            assert_eq!(b.cid(), None, "{:?}", b.prefix);
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let good = sample().encode();
        for cut in 1..good.len() {
            // A cut may end on a field boundary (a shorter valid message);
            // it must never panic.
            let _ = Message::decode(&good[..cut]);
        }
        for bad in [
            vec![0x08],          // field 1 varint, truncated
            vec![0x0a, 0x05, 1], // length beyond the message
            vec![0x0b],          // wire type 3 (group)
            vec![0x00, 0x01],    // field number 0
            vec![
                0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ], // 11-byte varint
            vec![0x0a, 0x02, 0x0a, 0x00], // entry without CID
        ] {
            assert!(Message::decode(&bad).is_err(), "{bad:?}");
        }
        let long_cid = Message {
            presences: vec![Presence {
                cid: vec![0; 200],
                have: true,
            }],
            ..Message::default()
        };
        assert!(Message::decode(&long_cid.encode()).is_err());
        let many = Message {
            presences: vec![
                Presence {
                    cid: vec![1],
                    have: true,
                };
                MAX_ITEMS + 1
            ],
            ..Message::default()
        };
        assert!(Message::decode(&many.encode()).is_err());
        assert!(Message::decode(&vec![0; MAX_MESSAGE + 1]).is_err());
    }

    #[tokio::test]
    async fn frames_carry_their_length() {
        let frame = sample().to_frame();
        let mut io = futures::io::Cursor::new(frame.clone());
        let len = read_length(&mut io).await.unwrap().unwrap();
        assert_eq!(len, frame.len() - io.position() as usize);
        let mut empty = futures::io::Cursor::new(Vec::new());
        assert_eq!(read_length(&mut empty).await.unwrap(), None);
        let mut endless = futures::io::Cursor::new(vec![0xff; 8]);
        assert!(read_length(&mut endless).await.is_err());
    }
}
