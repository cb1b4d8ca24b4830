//! Pairing invites and replies: versioned binary messages, signed by the
//! sender's identity and closed by a checksum, carried as `ZKS1:` text, as a
//! QR code, or as a file. Decoding is strict and every failure says which.
//!
//! ```text
//! invite: "ZK" 1 1 | identity key 32 | x25519 32 | ml-kem-768 ek 1184 | nonce 16 |
//!         expires u64 | name (u16 len) | addresses (u8 count, u16 len each) | sig 64 | check 4
//! reply:  "ZK" 1 2 | identity key 32 | x25519 32 | ml-kem-768 ct 1088 | invite hash 32 |
//!         name | addresses | sig 64 | check 4
//! link:   "ZK" 1 3 | invite hash 32 | identity key 32 | expires u64 |
//!         addresses (u8 count, u16 len each) | check 4
//! ```
//! A link is the small form of an invite for a QR code a camera reads
//! (version ≤ 10): the full invite stays with the inviter's node, which
//! hands it over the network to whoever presents its hash; the hash in the
//! link then checks it (so the link needs no signature of its own: the
//! invite it commits to is signed).
//! The signature covers everything before it; the checksum (BLAKE3, 4 bytes)
//! everything before it, so a damaged code is told apart from a forged one.

use crate::identity::{Identity, verify_signature};
use crate::wire::{Reader, WireError, Writer};

const MAGIC: &[u8; 2] = b"ZK";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
const KIND_INVITE: u8 = 1;
const KIND_REPLY: u8 = 2;
const KIND_LINK: u8 = 3;
/// Most bytes an invite link may take, so that its `ZKS1:` text fits a QR
/// code of version 10 at error correction M (311 alphanumeric characters:
/// 5 for the prefix, 3 base45 characters per 2 bytes).
pub const MAX_LINK_BYTES: usize = 204;
/// Size of an ML-KEM-768 encapsulation key.
pub const MLKEM_EK_LEN: usize = 1184;
/// Size of an ML-KEM-768 ciphertext.
pub const MLKEM_CT_LEN: usize = 1088;
/// Longest display name, in bytes of UTF-8.
pub const MAX_NAME: usize = 64;
/// Most listen addresses carried.
pub const MAX_ADDRESSES: usize = 8;
/// Longest listen address.
pub const MAX_ADDRESS_LEN: usize = 200;

/// Why an invite or reply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not one of our codes at all.
    #[error("this is not a ZKS pairing code")]
    NotACode,
    /// A version this build does not read.
    #[error(
        "this pairing code has format version {0}; this app reads version 1 (update the app that made it, or this one)"
    )]
    UnsupportedVersion(u8),
    /// An invite where a reply was expected, or the reverse.
    #[error("this is a pairing {found}, but a pairing {expected} is needed here")]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// What the code is.
        found: &'static str,
    },
    /// Truncated or altered in transit (checksum or lengths do not match).
    #[error("this pairing code is damaged or incomplete ({0}); copy or scan it again")]
    Damaged(String),
    /// The checksum matches but the signature does not: not made by the key it names.
    #[error("this pairing code's signature is not valid; it was not made by the device it claims")]
    BadSignature,
    /// Past its expiry time.
    #[error("this invite expired {0} seconds ago; ask for a new one")]
    Expired(u64),
}

impl From<WireError> for CodeError {
    fn from(e: WireError) -> CodeError {
        CodeError::Damaged(e.to_string())
    }
}

/// What both invites and replies say about their sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Ed25519 identity key (the PeerId).
    pub identity_key: [u8; 32],
    /// Display name chosen by the sender (not verified).
    pub name: String,
    /// libp2p multiaddresses the sender listens on, as text.
    pub addresses: Vec<String>,
}

/// An invite: the first message of a pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// Who invites.
    pub sender: Sender,
    /// The inviter's X25519 public key for this pairing.
    pub x25519: [u8; 32],
    /// The inviter's fresh ML-KEM-768 encapsulation key.
    pub mlkem_ek: Vec<u8>,
    /// Random, makes every invite unique (single use is tracked by it).
    pub nonce: [u8; 16],
    /// Unix time after which the invite is refused.
    pub expires_at: u64,
    bytes: Vec<u8>,
}

/// A reply: the second and last message of a pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Who replies.
    pub sender: Sender,
    /// The replier's X25519 public key for this pairing.
    pub x25519: [u8; 32],
    /// ML-KEM-768 ciphertext to the invite's encapsulation key.
    pub mlkem_ct: Vec<u8>,
    /// BLAKE3 of the invite's bytes: which invite this answers.
    pub invite_hash: [u8; 32],
    bytes: Vec<u8>,
}

fn write_sender_tail(w: &mut Writer, sender: &Sender) {
    w.bytes16(sender.name.as_bytes());
    w.u8(u8::try_from(sender.addresses.len().min(MAX_ADDRESSES)).unwrap_or(0));
    for address in sender.addresses.iter().take(MAX_ADDRESSES) {
        w.bytes16(address.as_bytes());
    }
}

fn read_sender_tail(r: &mut Reader<'_>) -> Result<(String, Vec<String>), CodeError> {
    let name = String::from_utf8(r.bytes16(MAX_NAME, "name")?.to_vec())
        .map_err(|_| CodeError::Damaged("the name is not UTF-8".into()))?;
    Ok((name, read_addresses(r)?))
}

/// A count (u8, at most [`MAX_ADDRESSES`]) and that many UTF-8 addresses.
fn read_addresses(r: &mut Reader<'_>) -> Result<Vec<String>, CodeError> {
    let count = usize::from(r.u8("address count")?);
    if count > MAX_ADDRESSES {
        return Err(CodeError::Damaged("too many addresses".into()));
    }
    let mut addresses = Vec::with_capacity(count);
    for _ in 0..count {
        let a = r.bytes16(MAX_ADDRESS_LEN, "address")?;
        addresses.push(
            String::from_utf8(a.to_vec())
                .map_err(|_| CodeError::Damaged("an address is not UTF-8".into()))?,
        );
    }
    Ok(addresses)
}

/// Refuses a code past `expires_at` at Unix time `now`.
fn check_expiry(expires_at: u64, now: u64) -> Result<(), CodeError> {
    if now > expires_at {
        return Err(CodeError::Expired(now - expires_at));
    }
    Ok(())
}

/// Signs and closes `w` (which holds the body) into the final bytes.
fn seal_code(mut w: Writer, identity: &Identity) -> Vec<u8> {
    let signature = identity.sign(w.as_slice());
    w.raw(&signature);
    let check = blake3::hash(w.as_slice());
    w.raw(&check.as_bytes()[..4]);
    w.finish()
}

/// Test only: closes `body` (header and fields) with `signature` and the
/// checksum, so that fuzzing gets mutated fields past the checksum.
#[cfg(test)]
pub(crate) fn frame(body: &[u8], signature: &[u8; 64]) -> Vec<u8> {
    let mut w = Writer::new();
    w.raw(body).raw(signature);
    let check = blake3::hash(w.as_slice());
    w.raw(&check.as_bytes()[..4]);
    w.finish()
}

/// Checks the frame (magic, version, kind, checksum) and returns a reader
/// over the body plus the signature and the signed bytes.
fn open_code(bytes: &[u8], expected_kind: u8) -> Result<(Reader<'_>, [u8; 64], &[u8]), CodeError> {
    let kind_name = |k: u8| match k {
        KIND_INVITE => "invite",
        KIND_REPLY => "reply",
        _ => "invite link",
    };
    if bytes.len() < 4 || &bytes[..2] != MAGIC {
        return Err(CodeError::NotACode);
    }
    if bytes[2] != VERSION {
        return Err(CodeError::UnsupportedVersion(bytes[2]));
    }
    if ![KIND_INVITE, KIND_REPLY, KIND_LINK].contains(&bytes[3]) {
        return Err(CodeError::NotACode);
    }
    if bytes[3] != expected_kind {
        return Err(CodeError::WrongKind {
            expected: kind_name(expected_kind),
            found: kind_name(bytes[3]),
        });
    }
    if bytes.len() < 4 + 64 + 4 {
        return Err(CodeError::Damaged("too short".into()));
    }
    let (body_and_sig, check) = bytes.split_at(bytes.len() - 4);
    if &blake3::hash(body_and_sig).as_bytes()[..4] != check {
        return Err(CodeError::Damaged("checksum mismatch".into()));
    }
    let (signed, sig) = body_and_sig.split_at(body_and_sig.len() - 64);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(sig);
    let mut reader = Reader::new(signed);
    reader.take(4, "header")?;
    Ok((reader, signature, signed))
}

impl Invite {
    /// Builds and signs an invite.
    pub(crate) fn create(
        identity: &Identity,
        name: &str,
        addresses: &[String],
        x25519: [u8; 32],
        mlkem_ek: Vec<u8>,
        nonce: [u8; 16],
        expires_at: u64,
    ) -> Invite {
        let sender = Sender {
            identity_key: identity.public_key(),
            name: truncate_utf8(name, MAX_NAME),
            addresses: clean_addresses(addresses),
        };
        let mut w = Writer::new();
        w.raw(MAGIC).u8(VERSION).u8(KIND_INVITE);
        w.raw(&sender.identity_key)
            .raw(&x25519)
            .raw(&mlkem_ek)
            .raw(&nonce)
            .u64(expires_at);
        write_sender_tail(&mut w, &sender);
        let bytes = seal_code(w, identity);
        Invite {
            sender,
            x25519,
            mlkem_ek,
            nonce,
            expires_at,
            bytes,
        }
    }

    /// Decodes and checks an invite (not its expiry; see [`Invite::check_fresh`]).
    pub fn decode(bytes: &[u8]) -> Result<Invite, CodeError> {
        if code_kind(bytes) == Some("invite link") {
            // Not a wrong kind: the full invite comes over the network.
            return Err(CodeError::WrongKind {
                expected: "invite",
                found: "invite link",
            });
        }
        let (mut r, signature, signed) = open_code(bytes, KIND_INVITE)?;
        let identity_key = r.array::<32>("identity key")?;
        let x25519 = r.array::<32>("x25519 key")?;
        let mlkem_ek = r.take(MLKEM_EK_LEN, "ml-kem key")?.to_vec();
        let nonce = r.array::<16>("nonce")?;
        let expires_at = r.u64("expiry")?;
        let (name, addresses) = read_sender_tail(&mut r)?;
        r.finish()?;
        if !verify_signature(&identity_key, signed, &signature) {
            return Err(CodeError::BadSignature);
        }
        Ok(Invite {
            sender: Sender {
                identity_key,
                name,
                addresses,
            },
            x25519,
            mlkem_ek,
            nonce,
            expires_at,
            bytes: bytes.to_vec(),
        })
    }

    /// Refuses an invite past its expiry at Unix time `now`.
    pub fn check_fresh(&self, now: u64) -> Result<(), CodeError> {
        check_expiry(self.expires_at, now)
    }

    /// The encoded invite (what the text form and QR code carry).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// BLAKE3 of the encoded invite; replies name their invite by it.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.bytes).as_bytes()
    }
}

impl Reply {
    pub(crate) fn create(
        identity: &Identity,
        name: &str,
        addresses: &[String],
        x25519: [u8; 32],
        mlkem_ct: Vec<u8>,
        invite_hash: [u8; 32],
    ) -> Reply {
        let sender = Sender {
            identity_key: identity.public_key(),
            name: truncate_utf8(name, MAX_NAME),
            addresses: clean_addresses(addresses),
        };
        let mut w = Writer::new();
        w.raw(MAGIC).u8(VERSION).u8(KIND_REPLY);
        w.raw(&sender.identity_key)
            .raw(&x25519)
            .raw(&mlkem_ct)
            .raw(&invite_hash);
        write_sender_tail(&mut w, &sender);
        let bytes = seal_code(w, identity);
        Reply {
            sender,
            x25519,
            mlkem_ct,
            invite_hash,
            bytes,
        }
    }

    /// Decodes and checks a reply.
    pub fn decode(bytes: &[u8]) -> Result<Reply, CodeError> {
        let (mut r, signature, signed) = open_code(bytes, KIND_REPLY)?;
        let identity_key = r.array::<32>("identity key")?;
        let x25519 = r.array::<32>("x25519 key")?;
        let mlkem_ct = r.take(MLKEM_CT_LEN, "ml-kem ciphertext")?.to_vec();
        let invite_hash = r.array::<32>("invite hash")?;
        let (name, addresses) = read_sender_tail(&mut r)?;
        r.finish()?;
        if !verify_signature(&identity_key, signed, &signature) {
            return Err(CodeError::BadSignature);
        }
        Ok(Reply {
            sender: Sender {
                identity_key,
                name,
                addresses,
            },
            x25519,
            mlkem_ct,
            invite_hash,
            bytes: bytes.to_vec(),
        })
    }

    /// The encoded reply.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Tells an invite, a reply and an invite link apart without decoding them.
pub fn code_kind(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [b'Z', b'K', _, KIND_INVITE, ..] => Some("invite"),
        [b'Z', b'K', _, KIND_REPLY, ..] => Some("reply"),
        [b'Z', b'K', _, KIND_LINK, ..] => Some("invite link"),
        _ => None,
    }
}

/// The small form of an invite (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// BLAKE3 of the full invite's bytes ([`Invite::hash`]).
    pub invite_hash: [u8; 32],
    /// The inviter's Ed25519 identity key (its PeerId).
    pub identity_key: [u8; 32],
    /// When the invite expires (Unix seconds).
    pub expires_at: u64,
    /// Where the inviter's node listens (as many as fit).
    pub addresses: Vec<String>,
    bytes: Vec<u8>,
}

impl InviteLink {
    /// The link to `invite`, with as many of `addresses` as fit in
    /// [`MAX_LINK_BYTES`], in order; `None` when not even one fits.
    pub fn to(invite: &Invite, addresses: &[String]) -> Option<InviteLink> {
        let fixed = 4 + 32 + 32 + 8 + 1 + 4;
        let mut budget = MAX_LINK_BYTES - fixed;
        let mut chosen = Vec::new();
        for a in clean_addresses(addresses) {
            if 2 + a.len() <= budget {
                budget -= 2 + a.len();
                chosen.push(a);
            }
        }
        if chosen.is_empty() {
            return None;
        }
        let mut w = Writer::new();
        w.raw(MAGIC).u8(VERSION).u8(KIND_LINK);
        w.raw(&invite.hash())
            .raw(&invite.sender.identity_key)
            .u64(invite.expires_at);
        w.u8(u8::try_from(chosen.len()).unwrap_or(0));
        for a in &chosen {
            w.bytes16(a.as_bytes());
        }
        let check = blake3::hash(w.as_slice());
        w.raw(&check.as_bytes()[..4]);
        Some(InviteLink {
            invite_hash: invite.hash(),
            identity_key: invite.sender.identity_key,
            expires_at: invite.expires_at,
            addresses: chosen,
            bytes: w.finish(),
        })
    }

    /// Decodes a link (not its expiry: see [`InviteLink::check_fresh`]).
    pub fn decode(bytes: &[u8]) -> Result<InviteLink, CodeError> {
        if bytes.len() > MAX_LINK_BYTES {
            return Err(CodeError::Damaged("too long for an invite link".into()));
        }
        if bytes.len() < 4 || &bytes[..2] != MAGIC {
            return Err(CodeError::NotACode);
        }
        if bytes[2] != VERSION {
            return Err(CodeError::UnsupportedVersion(bytes[2]));
        }
        match code_kind(bytes) {
            Some("invite link") => {}
            Some(found) => {
                return Err(CodeError::WrongKind {
                    expected: "invite link",
                    found,
                });
            }
            None => return Err(CodeError::NotACode),
        }
        if bytes.len() < 8 {
            return Err(CodeError::Damaged("too short".into()));
        }
        let (body, check) = bytes.split_at(bytes.len() - 4);
        if &blake3::hash(body).as_bytes()[..4] != check {
            return Err(CodeError::Damaged("checksum mismatch".into()));
        }
        let mut r = Reader::new(body);
        r.take(4, "header")?;
        let invite_hash = r.array::<32>("invite hash")?;
        let identity_key = r.array::<32>("identity key")?;
        let expires_at = r.u64("expiry")?;
        let addresses = read_addresses(&mut r)?;
        if addresses.is_empty() {
            return Err(CodeError::Damaged("no address".into()));
        }
        r.finish()?;
        Ok(InviteLink {
            invite_hash,
            identity_key,
            expires_at,
            addresses,
            bytes: bytes.to_vec(),
        })
    }

    /// Refuses a link past its expiry at Unix time `now`.
    pub fn check_fresh(&self, now: u64) -> Result<(), CodeError> {
        check_expiry(self.expires_at, now)
    }

    /// Checks that `invite` is the one this link commits to.
    pub fn check(&self, invite: &Invite) -> Result<(), CodeError> {
        if invite.hash() != self.invite_hash || invite.sender.identity_key != self.identity_key {
            return Err(CodeError::Damaged(
                "the invite handed over does not match the link's commitment".into(),
            ));
        }
        Ok(())
    }

    /// The encoded link (what the small QR code carries).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn truncate_utf8(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn clean_addresses(addresses: &[String]) -> Vec<String> {
    addresses
        .iter()
        .filter(|a| !a.is_empty() && a.len() <= MAX_ADDRESS_LEN)
        .take(MAX_ADDRESSES)
        .cloned()
        .collect()
}
