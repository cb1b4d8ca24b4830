//! CARv1 (content-addressable archive) of raw blocks: the file format
//! `ipfs dag import` / `ipfs dag export`, Helia and `@ipld/car` read and
//! write (<https://ipld.io/specs/transport/car/carv1/>).
//!
//! ```text
//! varint(header length) ‖ header       header: DAG-CBOR {"roots": [CID…], "version": 1}
//! varint(section length) ‖ CID ‖ block    … one section per block, to the end of the input
//! ```
//!
//! Varints are unsigned LEB128 (multiformats `unsigned-varint`: minimal,
//! at most 9 bytes). In the header a CID is CBOR tag 42 over a byte string
//! holding `0x00` (the multibase identity prefix) and the binary CID. This
//! module writes and reads only what the grid content-addresses: CIDv1, raw
//! codec (0x55), sha2-256 — a complete chunk's CID (see [`crate::cache`]).
//!
//! The reader is strict and capped, for files from anywhere: a header over
//! [`MAX_HEADER`] or a section over [`MAX_SECTION`] bytes, a varint that
//! overflows or is not minimal, a truncated input, a header that is not the
//! canonical CARv1 map, and any CID other than CIDv1 raw sha2-256 are
//! refused with an error naming the byte offset. It does not check that a
//! block hashes to its CID ([`Block::hash_matches`] does): a block that
//! does not is one bad block, not an unreadable file.

use std::fmt;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Largest header accepted: about 25 000 roots.
pub const MAX_HEADER: u64 = 1 << 20;
/// Largest section (CID + block) accepted. A chunk is at most 16385 G2
/// signatures of 96 bytes (about 1.5 MiB).
pub const MAX_SECTION: u64 = 4 << 20;

const CID_VERSION: u64 = 1;
const CODEC_RAW: u64 = 0x55;
const SHA2_256: u64 = 0x12;
const DIGEST_LEN: usize = 32;
/// Binary CIDv1 raw sha2-256: version, codec, multihash code, digest length, digest.
const CID_LEN: usize = 4 + DIGEST_LEN;
/// DAG-CBOR's tag for a CID.
const TAG_CID: u64 = 42;
/// Longest unsigned varint (63 bits).
const MAX_VARINT_LEN: usize = 9;

/// A CIDv1 of a raw block hashed with sha2-256: the only kind the grid uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawCid([u8; DIGEST_LEN]);

impl RawCid {
    /// The CID of `block`.
    pub fn of(block: &[u8]) -> RawCid {
        RawCid(Sha256::digest(block).into())
    }

    /// The binary CID: `0x01 0x55 0x12 0x20` and the digest.
    pub fn to_bytes(&self) -> [u8; CID_LEN] {
        let mut out = [0u8; CID_LEN];
        out[..4].copy_from_slice(&[0x01, 0x55, 0x12, 0x20]);
        out[4..].copy_from_slice(&self.0);
        out
    }

    /// The sha2-256 digest.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    /// Whether `block` hashes to this CID.
    pub fn matches(&self, block: &[u8]) -> bool {
        RawCid::of(block) == *self
    }

    /// Parses a binary CID at the start of `bytes`; returns it and its
    /// length. The error says what the CID is instead.
    fn parse(bytes: &[u8]) -> Result<(RawCid, usize), String> {
        if bytes.starts_with(&[0x12, 0x20]) {
            return Err("a CIDv0 (dag-pb); only CIDv1 raw sha2-256 blocks are accepted".into());
        }
        let mut pos = 0;
        let mut field = |name: &str| -> Result<u64, String> {
            match varint_in(&bytes[pos..]) {
                Ok(Some((v, used))) => {
                    pos += used;
                    Ok(v)
                }
                Ok(None) => Err(format!("the CID ends inside its {name}")),
                Err(e) => Err(format!("the CID's {name}: {e}")),
            }
        };
        let version = field("version")?;
        if version != CID_VERSION {
            return Err(format!(
                "CID version {version}; only CIDv1 raw sha2-256 blocks are accepted"
            ));
        }
        let codec = field("codec")?;
        if codec != CODEC_RAW {
            return Err(format!(
                "a CID of codec 0x{codec:x}; only raw (0x55) blocks are accepted"
            ));
        }
        let hash = field("multihash code")?;
        if hash != SHA2_256 {
            return Err(format!(
                "a CID hashed with multihash 0x{hash:x}; only sha2-256 (0x12) is accepted"
            ));
        }
        let len = field("digest length")?;
        if len != DIGEST_LEN as u64 {
            return Err(format!(
                "a sha2-256 CID with a {len}-byte digest (it must be 32)"
            ));
        }
        let digest = bytes
            .get(pos..pos + DIGEST_LEN)
            .ok_or_else(|| "the CID ends inside its digest".to_owned())?;
        let mut out = [0u8; DIGEST_LEN];
        out.copy_from_slice(digest);
        Ok((RawCid(out), pos + DIGEST_LEN))
    }
}

impl fmt::Display for RawCid {
    /// Multibase base32 (`b…`), as IPFS prints CIDv1 and [`crate::chunk_cid`] returns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}", crate::cache::base32_lower(&self.to_bytes()))
    }
}

impl fmt::Debug for RawCid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a CAR cannot be read; every variant names the byte offset where
/// the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarError {
    /// Reading the input failed.
    #[error("CAR byte {offset}: cannot read: {reason}")]
    Io {
        /// Where.
        offset: u64,
        /// What the OS said.
        reason: String,
    },
    /// The input ends in the middle of something.
    #[error("CAR byte {offset}: the file ends inside {what} (truncated?)")]
    Truncated {
        /// Where the unfinished thing starts.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// A length prefix is not a valid unsigned varint.
    #[error("CAR byte {offset}: {what} is not a valid varint ({reason})")]
    Varint {
        /// Where the varint starts.
        offset: u64,
        /// Which length.
        what: &'static str,
        /// Overflow or not minimal.
        reason: &'static str,
    },
    /// A header or section is larger than the cap (or empty).
    #[error("CAR byte {offset}: {what} of {len} bytes is refused (allowed: 1 to {cap})")]
    Size {
        /// Where its length prefix starts.
        offset: u64,
        /// Header or section.
        what: &'static str,
        /// Its declared length.
        len: u64,
        /// The cap.
        cap: u64,
    },
    /// The header is not a CARv1 header.
    #[error("CAR byte {offset}: not a CARv1 header: {reason}")]
    Header {
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A CID (in the header or a section) is not CIDv1 raw sha2-256.
    #[error("CAR byte {offset}: {reason}")]
    Cid {
        /// Where the CID starts.
        offset: u64,
        /// What it is instead.
        reason: String,
    },
}

impl CarError {
    /// The byte offset the error names.
    pub fn offset(&self) -> u64 {
        match self {
            CarError::Io { offset, .. }
            | CarError::Truncated { offset, .. }
            | CarError::Varint { offset, .. }
            | CarError::Size { offset, .. }
            | CarError::Header { offset, .. }
            | CarError::Cid { offset, .. } => *offset,
        }
    }
}

/// Appends `v` as an unsigned varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint at the start of `bytes`: `Ok(None)` if `bytes` ends inside it,
/// else the value and its length; an error for overflow or a non-minimal
/// encoding.
fn varint_in(bytes: &[u8]) -> Result<Option<(u64, usize)>, &'static str> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        if i == MAX_VARINT_LEN {
            return Err("longer than 9 bytes");
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err("not minimally encoded");
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= MAX_VARINT_LEN {
        return Err("longer than 9 bytes");
    }
    Ok(None)
}

/// Appends a CBOR head (major type and argument, shortest form).
fn put_cbor_head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    if v < 24 {
        out.push(m | v as u8);
    } else if let Ok(v) = u8::try_from(v) {
        out.extend_from_slice(&[m | 24, v]);
    } else if let Ok(v) = u16::try_from(v) {
        out.push(m | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(v) {
        out.push(m | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// The DAG-CBOR header `{"roots": [roots…], "version": 1}` (keys in
/// DAG-CBOR's canonical order: shorter first), without its length prefix.
pub fn header(roots: &[RawCid]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + roots.len() * (CID_LEN + 5));
    put_cbor_head(&mut out, 5, 2);
    put_cbor_head(&mut out, 3, 5);
    out.extend_from_slice(b"roots");
    put_cbor_head(&mut out, 4, roots.len() as u64);
    for root in roots {
        put_cbor_head(&mut out, 6, TAG_CID);
        put_cbor_head(&mut out, 2, CID_LEN as u64 + 1);
        out.push(0x00);
        out.extend_from_slice(&root.to_bytes());
    }
    put_cbor_head(&mut out, 3, 7);
    out.extend_from_slice(b"version");
    put_cbor_head(&mut out, 0, 1);
    out
}

/// Writes a CARv1: the header on creation, then one section per block.
#[derive(Debug)]
pub struct CarWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> CarWriter<W> {
    /// Starts a CAR with these roots (the header is written now).
    ///
    /// # Errors
    /// When writing fails, or the header would be over [`MAX_HEADER`].
    pub fn new(mut out: W, roots: &[RawCid]) -> io::Result<CarWriter<W>> {
        let header = header(roots);
        if header.len() as u64 > MAX_HEADER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} roots make a CAR header over {MAX_HEADER} bytes",
                    roots.len()
                ),
            ));
        }
        let mut prefix = Vec::with_capacity(MAX_VARINT_LEN);
        put_varint(&mut prefix, header.len() as u64);
        out.write_all(&prefix)?;
        out.write_all(&header)?;
        Ok(CarWriter {
            written: (prefix.len() + header.len()) as u64,
            out,
        })
    }

    /// Appends `block` as a raw block; returns its CID.
    ///
    /// # Errors
    /// When writing fails, or the section would be over [`MAX_SECTION`]
    /// (which readers of this module refuse).
    pub fn write_block(&mut self, block: &[u8]) -> io::Result<RawCid> {
        let len = (CID_LEN + block.len()) as u64;
        if len > MAX_SECTION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a block of {} bytes is over the CAR section cap",
                    block.len()
                ),
            ));
        }
        let cid = RawCid::of(block);
        let mut prefix = Vec::with_capacity(MAX_VARINT_LEN + CID_LEN);
        put_varint(&mut prefix, len);
        prefix.extend_from_slice(&cid.to_bytes());
        self.out.write_all(&prefix)?;
        self.out.write_all(block)?;
        self.written += prefix.len() as u64 + block.len() as u64;
        Ok(cid)
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The underlying writer (flush or sync it yourself).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One section of a CAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Byte offset of the section (its length prefix) in the file.
    pub offset: u64,
    /// The CID the section declares.
    pub cid: RawCid,
    /// The block's bytes (not yet checked against `cid`).
    pub data: Vec<u8>,
}

impl Block {
    /// Whether the bytes hash to the declared CID.
    pub fn hash_matches(&self) -> bool {
        self.cid.matches(&self.data)
    }
}

/// Reads a CARv1 section by section (strict and capped; see the module).
#[derive(Debug)]
pub struct CarReader<R: Read> {
    input: R,
    offset: u64,
    roots: Vec<RawCid>,
    /// A refused input stays refused.
    failed: bool,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    /// A [`CarError`] naming the offset of the first problem.
    pub fn new(input: R) -> Result<CarReader<R>, CarError> {
        let mut reader = CarReader {
            input,
            offset: 0,
            roots: Vec::new(),
            failed: false,
        };
        let len = reader
            .varint("the header length")?
            .ok_or(CarError::Truncated {
                offset: 0,
                what: "the header length",
            })?;
        if len == 0 || len > MAX_HEADER {
            return Err(CarError::Size {
                offset: 0,
                what: "a header",
                len,
                cap: MAX_HEADER,
            });
        }
        let start = reader.offset;
        let bytes = reader.bytes(len, "the header")?;
        reader.roots = parse_header(&bytes, start)?;
        Ok(reader)
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[RawCid] {
        &self.roots
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next section, or `None` at the end of a well-formed CAR.
    ///
    /// # Errors
    /// A [`CarError`] naming the offset; after one, every call fails.
    pub fn next_block(&mut self) -> Result<Option<Block>, CarError> {
        if self.failed {
            return Err(CarError::Io {
                offset: self.offset,
                reason: "the CAR was already refused".into(),
            });
        }
        let result = self.read_section();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_section(&mut self) -> Result<Option<Block>, CarError> {
        let offset = self.offset;
        let Some(len) = self.varint("a section length")? else {
            return Ok(None);
        };
        if len == 0 || len > MAX_SECTION {
            return Err(CarError::Size {
                offset,
                what: "a section",
                len,
                cap: MAX_SECTION,
            });
        }
        let cid_offset = self.offset;
        let mut data = self.bytes(len, "a section")?;
        let (cid, used) = RawCid::parse(&data).map_err(|reason| CarError::Cid {
            offset: cid_offset,
            reason,
        })?;
        data.drain(..used);
        Ok(Some(Block { offset, cid, data }))
    }

    /// A varint; `None` at a clean end of input before its first byte.
    fn varint(&mut self, what: &'static str) -> Result<Option<u64>, CarError> {
        let start = self.offset;
        let mut bytes = Vec::with_capacity(MAX_VARINT_LEN);
        loop {
            let mut byte = [0u8; 1];
            match self.input.read(&mut byte) {
                Ok(0) if bytes.is_empty() => return Ok(None),
                Ok(0) => {
                    return Err(CarError::Truncated {
                        offset: start,
                        what,
                    });
                }
                Ok(_) => {
                    self.offset += 1;
                    bytes.push(byte[0]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(CarError::Io {
                        offset: self.offset,
                        reason: e.to_string(),
                    });
                }
            }
            match varint_in(&bytes) {
                Ok(Some((v, _))) => return Ok(Some(v)),
                Ok(None) => {}
                Err(reason) => {
                    return Err(CarError::Varint {
                        offset: start,
                        what,
                        reason,
                    });
                }
            }
        }
    }

    /// Exactly `len` bytes (already checked against a cap).
    fn bytes(&mut self, len: u64, what: &'static str) -> Result<Vec<u8>, CarError> {
        let start = self.offset;
        let mut out = Vec::new();
        let got = (&mut self.input)
            .take(len)
            .read_to_end(&mut out)
            .map_err(|e| CarError::Io {
                offset: start,
                reason: e.to_string(),
            })?;
        self.offset += got as u64;
        if (got as u64) < len {
            return Err(CarError::Truncated {
                offset: start,
                what,
            });
        }
        Ok(out)
    }
}

/// A cursor over the header's CBOR; errors carry file offsets.
struct Cbor<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cbor<'a> {
    fn err(&self, at: usize, reason: impl Into<String>) -> CarError {
        CarError::Header {
            offset: self.base + at as u64,
            reason: reason.into(),
        }
    }

    /// A CBOR head: (major type, argument), shortest form only (DAG-CBOR).
    fn head(&mut self) -> Result<(u8, u64), CarError> {
        let at = self.pos;
        let first = *self
            .bytes
            .get(at)
            .ok_or_else(|| self.err(at, "it ends early"))?;
        let (major, info) = (first >> 5, first & 0x1f);
        let extra = match info {
            0..=23 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(self.err(at, "indefinite or reserved lengths are not DAG-CBOR")),
        };
        let arg = self
            .bytes
            .get(at + 1..at + 1 + extra)
            .ok_or_else(|| self.err(at, "it ends early"))?;
        let value = if extra == 0 {
            u64::from(info)
        } else {
            arg.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
        };
        let minimal = match extra {
            0 => true,
            1 => value >= 24,
            2 => value > 0xff,
            4 => value > 0xffff,
            _ => value > 0xffff_ffff,
        };
        if !minimal {
            return Err(self.err(at, "a number is not in its shortest form (not DAG-CBOR)"));
        }
        self.pos = at + 1 + extra;
        Ok((major, value))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], CarError> {
        let at = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.err(at, "it ends early"))?;
        self.pos = end;
        let bytes: &'a [u8] = self.bytes;
        Ok(&bytes[at..end])
    }

    fn text(&mut self) -> Result<String, CarError> {
        let at = self.pos;
        match self.head()? {
            (3, len) => {
                let bytes = self.take(len)?;
                String::from_utf8(bytes.to_vec()).map_err(|_| self.err(at, "a key is not UTF-8"))
            }
            _ => Err(self.err(at, "a map key is not a text string")),
        }
    }

    fn cid(&mut self) -> Result<RawCid, CarError> {
        let at = self.pos;
        if self.head()? != (6, TAG_CID) {
            return Err(self.err(at, "a root is not a CID (CBOR tag 42)"));
        }
        let at = self.pos;
        let (major, len) = self.head()?;
        if major != 2 {
            return Err(self.err(at, "a CID is not a byte string"));
        }
        let bytes = self.take(len)?;
        if bytes.first() != Some(&0) {
            return Err(self.err(at, "a CID lacks its 0x00 multibase prefix"));
        }
        // The CID starts after the 0x00, `len` bytes before the cursor.
        let cid_at = self.base + self.pos as u64 - len + 1;
        let (cid, used) = RawCid::parse(&bytes[1..]).map_err(|reason| CarError::Cid {
            offset: cid_at,
            reason: format!("a root is {reason}"),
        })?;
        if used + 1 != bytes.len() {
            return Err(self.err(at, "a root CID has trailing bytes"));
        }
        Ok(cid)
    }
}

/// The roots of a CARv1 header (`bytes`, which start at file offset `base`).
fn parse_header(bytes: &[u8], base: u64) -> Result<Vec<RawCid>, CarError> {
    let mut cbor = Cbor {
        bytes,
        pos: 0,
        base,
    };
    let (major, entries) = cbor.head()?;
    if major != 5 {
        return Err(cbor.err(0, "it is not a CBOR map"));
    }
    let (mut roots, mut version) = (None, None);
    for _ in 0..entries {
        let at = cbor.pos;
        match cbor.text()?.as_str() {
            "roots" if roots.is_none() => {
                let at = cbor.pos;
                let (major, n) = cbor.head()?;
                if major != 4 {
                    return Err(cbor.err(at, "roots is not an array"));
                }
                // Each root takes at least 41 bytes: no allocation beyond the header.
                let mut list = Vec::new();
                for _ in 0..n {
                    list.push(cbor.cid()?);
                }
                roots = Some(list);
            }
            "version" if version.is_none() => {
                let at = cbor.pos;
                match cbor.head()? {
                    (0, 1) => version = Some(1),
                    (0, v) => {
                        return Err(cbor.err(
                            at,
                            format!("version {v} (only CARv1 is read; a CARv2 must be unwrapped)"),
                        ));
                    }
                    _ => return Err(cbor.err(at, "version is not a number")),
                }
            }
            "roots" | "version" => return Err(cbor.err(at, "a key appears twice")),
            other => {
                return Err(cbor.err(at, format!("unknown key {other:?}")));
            }
        }
    }
    if cbor.pos != bytes.len() {
        return Err(cbor.err(cbor.pos, "bytes after the header map"));
    }
    if version.is_none() {
        return Err(cbor.err(0, "no version"));
    }
    roots.ok_or_else(|| cbor.err(0, "no roots"))
}

#[cfg(test)]
mod tests;
