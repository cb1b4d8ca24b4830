//! Every key derivation of the crate, with its BLAKE3 context string in one
//! place so that no two uses ever share a context.

/// `derive_key` context of the pairing root (DESIGN.md §5).
pub(crate) const ROOT: &str = "zks pairing v1 root";
/// `derive_key` context of the pairing transcript hash.
pub(crate) const TRANSCRIPT: &str = "zks pairing v1 transcript";
/// `derive_key` context of the safety code.
pub(crate) const SAFETY_CODE: &str = "zks pairing v1 safety code";
/// `derive_key` context of the session identifier.
pub(crate) const SESSION_ID: &str = "zks session v1 id";
/// `derive_key` context of a KEM-ratchet step's new root (ratchet secret ‖
/// ss ‖ epoch ‖ ek ‖ ct).
pub(crate) const RATCHET_ROOT: &str = "zks session v1 kem ratchet root";
/// `derive_key` context of the pad identifier (hash of the pad's reserved
/// prefix).
pub(crate) const PAD_ID_PREFIX: &str = "zks true pad v2 id prefix";
/// `derive_key` context of the pad identifier of earlier releases (hash of
/// the whole pad); still computed at import to recognise such pads.
pub(crate) const PAD_ID_WHOLE: &str = "zks true pad v1 id";
/// `derive_key` context of a file chunk's key (file key ‖ transfer id ‖ index).
pub(crate) const FILE_CHUNK: &str = "zks file v1 chunk";
/// `derive_key` context of a backup's keys (from the Argon2id output).
pub(crate) const BACKUP: &str = "zks backup v1 key";
/// `derive_key` context of a pairing's rendezvous secret (from the root).
pub(crate) const RENDEZVOUS_SECRET: &str = "zks pairing v1 rendezvous secret";
/// `derive_key` context of the rendezvous secret of a pairing made before
/// there was one (from its session id).
pub(crate) const RENDEZVOUS_LEGACY: &str = "zks session v1 legacy rendezvous secret";
/// `derive_key` context of one day's rendezvous key (secret ‖ day).
pub(crate) const RENDEZVOUS_DAY: &str = "zks rendezvous v1 day key";
/// `derive_key` context of one day's mailbox id (secret ‖ day ‖ recipient).
pub(crate) const MAILBOX_DAY: &str = "zks mailbox v1 day id";
/// `derive_key` context that turns injected randomness into an ML-KEM seed.
pub(crate) const MLKEM_SEED: &str = "zks v1 ml-kem-768 key seed";

/// Labels of keyed-hash steps (the key is the secret, the label the input).
pub(crate) const CHAIN_I2R: &[u8] = b"zks v1 chain initiator to responder";
pub(crate) const CHAIN_R2I: &[u8] = b"zks v1 chain responder to initiator";
/// The one-way image of an epoch root that a session keeps for the next KEM
/// step, so that the root (which gives the epoch's chain keys) can be erased.
pub(crate) const RATCHET_SECRET: &[u8] = b"zks v1 ratchet secret";
pub(crate) const MSG: &[u8] = b"msg";
pub(crate) const NEXT: &[u8] = b"next";
pub(crate) const ENC: &[u8] = b"zks v1 keystream";
pub(crate) const MAC: &[u8] = b"zks v1 mac";

/// BLAKE3 keyed hash of `input` under `key`: our KDF step.
pub(crate) fn keyed(key: &[u8; 32], input: &[u8]) -> [u8; 32] {
    *blake3::keyed_hash(key, input).as_bytes()
}

/// BLAKE3 `derive_key` over the concatenation of `parts`.
pub(crate) fn derive(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(context);
    for part in parts {
        h.update(part);
    }
    *h.finalize().as_bytes()
}
