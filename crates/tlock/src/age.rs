//! The age v1 file format (<https://age-encryption.org/v1>), as much of it as
//! timelocked files use: the text header with its stanzas and HMAC, and the
//! STREAM payload (ChaCha20-Poly1305 over 64 KiB chunks).
//!
//! ```text
//! age-encryption.org/v1
//! -> tlock <round> <chain hash, hex>
//! <body: base64 without padding, 64 columns, last line shorter>
//! --- <base64 HMAC-SHA256 of everything above, from "age" to "---">
//! <16-byte nonce><chunks: 64 KiB of plaintext + 16-byte tag each>
//! ```
//!
//! The header key is HKDF-SHA256(file key, salt "", info "header"); the
//! payload key HKDF-SHA256(file key, salt nonce, info "payload"); chunk `i`'s
//! nonce is `i` as 11 bytes big-endian, then 1 for the last chunk, else 0.

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::TlockError;

/// The first line of every age file.
pub(crate) const INTRO: &[u8] = b"age-encryption.org/v1";
/// Plaintext bytes per payload chunk.
pub(crate) const CHUNK: usize = 64 * 1024;
/// Bytes of a Poly1305 tag.
const TAG: usize = 16;
/// Longest header we read (a tlock header is about 300 bytes; other
/// recipients' stanzas may make it longer, never this long).
const MAX_HEADER: usize = 64 * 1024;
/// Columns of a stanza body line.
const COLUMNS: usize = 64;

/// One recipient stanza of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stanza {
    /// Type and arguments (`tlock`, round, chain hash).
    pub(crate) args: Vec<String>,
    /// The decoded body.
    pub(crate) body: Vec<u8>,
}

/// A parsed header: its stanzas, the bytes its MAC covers and the MAC.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) stanzas: Vec<Stanza>,
    covered: Vec<u8>,
    mac: [u8; 32],
}

fn malformed(why: &str) -> TlockError {
    TlockError::Malformed(why.to_owned())
}

/// Reads one line (without its `\n`) into `line`, adding the raw bytes to
/// `raw`; refuses a header past [`MAX_HEADER`].
fn read_line(input: &mut impl BufRead, raw: &mut Vec<u8>) -> Result<Vec<u8>, TlockError> {
    let mut line = Vec::new();
    let limit = (MAX_HEADER - raw.len().min(MAX_HEADER)) as u64 + 1;
    input.take(limit).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(if raw.len() + line.len() > MAX_HEADER {
            malformed("the header is too long")
        } else {
            TlockError::Truncated
        });
    }
    raw.extend_from_slice(&line);
    line.pop();
    Ok(line)
}

impl Header {
    /// Reads the header from `input`, leaving it at the first payload byte.
    pub(crate) fn read(input: &mut impl BufRead) -> Result<Header, TlockError> {
        let mut raw = Vec::new();
        let first = match read_line(input, &mut raw) {
            Err(TlockError::Truncated) => return Err(TlockError::NotAge),
            other => other?,
        };
        if first != INTRO {
            return Err(TlockError::NotAge);
        }
        let mut stanzas = Vec::new();
        loop {
            let line = read_line(input, &mut raw)?;
            if let Some(rest) = line.strip_prefix(b"-> ") {
                let text = std::str::from_utf8(rest)
                    .map_err(|_| malformed("a stanza line is not text"))?;
                let args: Vec<String> = text.split(' ').map(str::to_owned).collect();
                if args
                    .iter()
                    .any(|a| a.is_empty() || !a.bytes().all(|b| (33..=126).contains(&b)))
                {
                    return Err(malformed("a stanza line has an empty or invalid argument"));
                }
                let mut body = String::new();
                loop {
                    let line = read_line(input, &mut raw)?;
                    if line.len() > COLUMNS {
                        return Err(malformed("a stanza body line is longer than 64 columns"));
                    }
                    body.push_str(
                        std::str::from_utf8(&line)
                            .map_err(|_| malformed("a stanza body is not base64"))?,
                    );
                    if line.len() < COLUMNS {
                        break;
                    }
                }
                let body = STANDARD_NO_PAD
                    .decode(body.as_bytes())
                    .map_err(|_| malformed("a stanza body is not base64"))?;
                stanzas.push(Stanza { args, body });
            } else if let Some(rest) = line.strip_prefix(b"---") {
                let mac_text = rest
                    .strip_prefix(b" ")
                    .ok_or_else(|| malformed("the header's MAC line is malformed"))?;
                let mac: [u8; 32] = STANDARD_NO_PAD
                    .decode(mac_text)
                    .ok()
                    .and_then(|m| m.try_into().ok())
                    .ok_or_else(|| malformed("the header's MAC is not 32 bytes of base64"))?;
                // The MAC covers the header up to and including "---".
                let covered_len = raw.len() - line.len() - 1 + 3;
                raw.truncate(covered_len);
                if stanzas.is_empty() {
                    return Err(malformed("the header has no recipient stanza"));
                }
                return Ok(Header {
                    stanzas,
                    covered: raw,
                    mac,
                });
            } else {
                return Err(malformed("a header line is neither a stanza nor the MAC"));
            }
        }
    }

    /// Checks the header's MAC with the file key.
    pub(crate) fn check_mac(&self, file_key: &[u8]) -> Result<(), TlockError> {
        let mut mac = header_mac(file_key);
        mac.update(&self.covered);
        mac.verify_slice(&self.mac).map_err(|_| TlockError::Damaged)
    }
}

fn header_mac(file_key: &[u8]) -> Hmac<Sha256> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&[]), file_key)
        .expand(b"header", &mut key[..])
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
    <Hmac<Sha256> as Mac>::new_from_slice(&key[..])
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// Writes a whole header (stanzas, then the MAC under `file_key`).
pub(crate) fn write_header(
    out: &mut (impl Write + ?Sized),
    stanzas: &[Stanza],
    file_key: &[u8],
) -> Result<(), TlockError> {
    let mut header = INTRO.to_vec();
    header.push(b'\n');
    for stanza in stanzas {
        header.extend_from_slice(b"-> ");
        header.extend_from_slice(stanza.args.join(" ").as_bytes());
        header.push(b'\n');
        let body = STANDARD_NO_PAD.encode(&stanza.body);
        let mut last_len = 0;
        for line in body.as_bytes().chunks(COLUMNS) {
            header.extend_from_slice(line);
            header.push(b'\n');
            last_len = line.len();
        }
        // The body ends with a line shorter than 64 columns, empty if need be.
        if last_len == COLUMNS || body.is_empty() {
            header.push(b'\n');
        }
    }
    header.extend_from_slice(b"---");
    let mut mac = header_mac(file_key);
    mac.update(&header);
    header.push(b' ');
    header.extend_from_slice(
        STANDARD_NO_PAD
            .encode(mac.finalize().into_bytes())
            .as_bytes(),
    );
    header.push(b'\n');
    out.write_all(&header)?;
    Ok(())
}

fn payload_cipher(file_key: &[u8], nonce: &[u8; 16]) -> ChaCha20Poly1305 {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(nonce), file_key)
        .expand(b"payload", &mut key[..])
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
    ChaCha20Poly1305::new(Key::from_slice(&key[..]))
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    *Nonce::from_slice(&nonce)
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(input: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes the payload: `nonce`, then `input` in sealed chunks. Returns the
/// plaintext length.
pub(crate) fn write_payload(
    input: &mut (impl Read + ?Sized),
    out: &mut (impl Write + ?Sized),
    file_key: &[u8],
    nonce: &[u8; 16],
) -> Result<u64, TlockError> {
    out.write_all(nonce)?;
    let cipher = payload_cipher(file_key, nonce);
    let mut current = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut next = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut len = read_full(input, &mut current[..CHUNK])?;
    let mut counter = 0u64;
    let mut total = 0u64;
    loop {
        let next_len = if len == CHUNK {
            read_full(input, &mut next[..CHUNK])?
        } else {
            0
        };
        let last = next_len == 0;
        let (text, rest) = current.split_at_mut(len);
        let tag = cipher
            .encrypt_in_place_detached(&chunk_nonce(counter, last), &[], text)
            .map_err(|_| TlockError::TooLong)?;
        rest[..TAG].copy_from_slice(&tag);
        out.write_all(&current[..len + TAG])?;
        total += len as u64;
        if last {
            return Ok(total);
        }
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        counter = counter.checked_add(1).ok_or(TlockError::TooLong)?;
    }
}

/// Reads the payload from `input` (after the header) and writes the
/// plaintext to `out`, chunk by chunk as each authenticates. Returns the
/// plaintext length. A cut, reordered or altered chunk is refused; what was
/// written before the refusal is not to be used (callers write to a
/// temporary place and keep it only on success).
pub(crate) fn read_payload(
    input: &mut (impl BufRead + ?Sized),
    out: &mut (impl Write + ?Sized),
    file_key: &[u8],
) -> Result<u64, TlockError> {
    let mut nonce = [0u8; 16];
    if read_full(input, &mut nonce)? < nonce.len() {
        return Err(TlockError::Truncated);
    }
    let cipher = payload_cipher(file_key, &nonce);
    nonce.zeroize();
    let mut buf = Zeroizing::new(vec![0u8; CHUNK + TAG]);
    let mut counter = 0u64;
    let mut total = 0u64;
    loop {
        let n = read_full(input, &mut buf)?;
        if n < TAG {
            return Err(TlockError::Truncated);
        }
        let last = n < buf.len() || input.fill_buf()?.is_empty();
        if last && n == TAG && counter > 0 {
            return Err(malformed("the payload ends with an empty chunk"));
        }
        let (text, tag) = buf[..n].split_at_mut(n - TAG);
        let tag = *chacha20poly1305::Tag::from_slice(tag);
        // On failure the buffer is left as it was (the tag is checked first).
        if cipher
            .decrypt_in_place_detached(&chunk_nonce(counter, last), &[], text, &tag)
            .is_err()
        {
            // A file cut at a chunk boundary ends in a full chunk that was
            // not sealed as the last one: tell that apart from damage.
            let cut = last
                && n == CHUNK + TAG
                && cipher
                    .decrypt_in_place_detached(&chunk_nonce(counter, false), &[], text, &tag)
                    .is_ok();
            return Err(if cut {
                TlockError::Truncated
            } else {
                TlockError::Damaged
            });
        }
        out.write_all(text)?;
        total += text.len() as u64;
        if last {
            return Ok(total);
        }
        counter = counter.checked_add(1).ok_or(TlockError::TooLong)?;
    }
}
