//! Grid-pad sessions: a symmetric ratchet per direction, message keys bound
//! to verified beacon rounds, and a KEM ratchet that heals the session.
//!
//! For message n of a chain: `mk = KDF(ck_n, "msg")`, `ck_{n+1} = KDF(ck_n,
//! "next")`, and the used chain key is overwritten. The message key is bound
//! to the round: `k = KDF(mk, chain hash ‖ round ‖ randomness ‖ n)`; `k`
//! gives a BLAKE3-XOF keystream and a BLAKE3 MAC key over header ‖
//! ciphertext, checked in constant time.
//!
//! **Forward secrecy per message.** Each epoch has a root (the pairing root
//! for epoch 0). The root gives the epoch's two chain keys and a *ratchet
//! secret* `KDF(root, "ratchet secret")`, and is then erased. A session keeps
//! only one-way images: the chain keys at their current position, the
//! message keys of skipped messages not yet received, and the ratchet secret
//! (the input of the next epoch's root). So a stolen state opens no message
//! this side had already sealed or opened, in this epoch or an earlier one;
//! it opens only messages still on their way to it (skipped ones included)
//! and what is still to come until the session heals (below). The session
//! id is derived from the pairing root at creation and is public.
//!
//! **KEM ratchet (healing).** Epoch e+1's root is `derive_key(ratchet
//! secret_e ‖ ss ‖ e+1 ‖ ek ‖ ct)` with a fresh ML-KEM-768 shared secret `ss`,
//! so a stolen state opens nothing sealed after the first step whose ML-KEM
//! key was made after the theft (a stolen offer seed still decapsulates the
//! step it was made for).
//! - *Offer.* Either side, with no offer of its own outstanding and no reply
//!   pending, attaches a fresh encapsulation key to the messages it seals
//!   once it has sent [`RATCHET_EVERY`] messages in the epoch or the epoch is
//!   [`EPOCH_MAX_AGE`] old, and keeps attaching it until the step.
//! - *Answer.* A side that opens a message of its current epoch carrying an
//!   offer encapsulates to it, moves to e+1 and attaches the ciphertext to
//!   its messages until it opens one of the peer's sealed in e+1.
//! - *Finish.* The side holding an offer that opens a message of e+1
//!   decapsulates the attached ciphertext and moves to e+1 (the message
//!   authenticates only if both derived the same root).
//! - *Both offered at once:* the initiator's offer wins. The initiator
//!   ignores the responder's offer while its own is outstanding; the
//!   responder drops its own offer and answers. Exactly one ciphertext then
//!   answers exactly one offer per epoch, and both reach the same root.
//!
//! Races, and why the rules hold up:
//! - Messages of the previous epoch still in flight open with its kept
//!   receiving chain. The sides are never more than one epoch apart: the
//!   side that answered offers nothing until it has seen the peer in the new
//!   epoch, and the side that offered steps only on the answer.
//! - An offer on a message of an earlier epoch is ignored: it belongs to a
//!   step already taken (we answered it) or dropped (the responder's, beaten
//!   by the initiator's). Answering it would fork the session.
//! - The responder's dropped offer may still ride on its in-flight messages:
//!   the initiator ignores it, first because its own offer is outstanding,
//!   then because those messages are of an older epoch.
//! - The two sides never both answer in one epoch (that would make two
//!   roots for e+1): the initiator answers only while it has no offer out,
//!   and answering takes it to e+1, so if it offered in e it answered
//!   nothing in e; the responder's offer, dropped for the initiator's, is
//!   then answered by nobody.
//! - A message of e+1 reaching a side without an offer (or without a
//!   ciphertext) is of an unknown epoch and changes nothing. Lost messages
//!   only delay a step: offers and ciphertexts ride on every message until
//!   the step is seen to be done.
//! - Offers and ciphertexts are in the authenticated header, and opening
//!   works on a copy of the state: a changed one fails the tag and changes
//!   nothing.
//!
//! **Time.** `now` (unix seconds) is passed in by the caller; the crate reads
//! no clock. An epoch starts at the `now` of the call that stepped into it
//! (for a new pairing: of its first seal or open). A clock set back only
//! delays the time-based offer; the count-based one still comes.

use ml_kem::array::Array;
use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, MlKem768};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::envelope::{
    Body, Direction, Envelope, EnvelopeError, GRID_TAG_LEN, GridHeader, MAX_PLAINTEXT,
};
use crate::kdf;
use crate::wire::{Reader, WireError, Writer};

/// After sending this many messages in an epoch, a side offers a KEM step.
pub const RATCHET_EVERY: u64 = 32;
/// A side offers a KEM step once its epoch is this old (seconds), however
/// few messages it has sent: a state stolen from a quiet session then opens
/// at most a day of messages.
pub const EPOCH_MAX_AGE: u64 = 24 * 60 * 60;
/// Most message keys kept for messages that arrive out of order.
pub const MAX_SKIPPED: usize = 1024;
/// The largest gap in message numbers accepted in one step.
pub const MAX_GAP: u64 = 1024;

/// Which side of the pairing this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Showed the invite.
    Initiator,
    /// Accepted it.
    Responder,
}

impl Role {
    /// The direction of messages this side sends.
    pub fn sending(self) -> Direction {
        match self {
            Role::Initiator => Direction::InitiatorToResponder,
            Role::Responder => Direction::ResponderToInitiator,
        }
    }
}

/// The verified beacon round a message is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundBinding {
    /// The beacon chain's hash.
    pub chain_hash: [u8; 32],
    /// The round number.
    pub round: u64,
    /// The round's randomness (sha256 of its verified signature).
    pub randomness: [u8; 32],
    /// The round's signature, sent along so the receiver can verify offline.
    pub signature: Option<Vec<u8>>,
}

/// Resolves the round a received message names to its verified randomness.
pub trait RoundSource {
    /// The randomness of `round` of chain `chain_hash`, verified (using the
    /// signature hint if the source has not seen the round), or why not: an
    /// unknown chain, a round from the future, a hint that does not verify.
    fn randomness(
        &self,
        chain_hash: &[u8; 32],
        round: u64,
        signature_hint: Option<&[u8]>,
    ) -> Result<[u8; 32], String>;
}

/// Why a grid-pad message could not be opened. The session is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not a well-formed envelope.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A true-pad envelope given to the grid-pad session.
    #[error("this message is protected by a one-time pad, not by the grid pad")]
    NotGrid,
    /// For another pairing.
    #[error("this message belongs to another conversation")]
    WrongSession,
    /// Sealed by this side (reflected back).
    #[error("this message was sealed on this device, not by the contact")]
    Reflected,
    /// Already opened (or older than the kept window).
    #[error("message {n} of epoch {epoch} was already opened (a replay)")]
    Replay {
        /// Epoch of the message.
        epoch: u32,
        /// Its number.
        n: u64,
    },
    /// Too many messages skipped at once.
    #[error(
        "message {n} is too far ahead of the last one received ({expected}); refusing to skip more than {MAX_GAP}"
    )]
    TooFarAhead {
        /// Its number.
        n: u64,
        /// The next number expected.
        expected: u64,
    },
    /// From an epoch this session does not have keys for.
    #[error("message from key epoch {0}, which this session does not know")]
    UnknownEpoch(u32),
    /// The beacon round could not be verified.
    #[error("the beacon round of this message cannot be verified: {0}")]
    Round(String),
    /// The tag does not match: altered, truncated or not for us.
    #[error("this message was altered or is not for this conversation (authentication failed)")]
    BadTag,
    /// The KEM-ratchet data in the header is unusable.
    #[error("this message's key update is invalid")]
    BadRatchet,
}

/// What an opened message carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// Chain hash of the round the key was bound to.
    pub chain_hash: [u8; 32],
    /// The round.
    pub round: u64,
    /// Epoch and number of the message in the sender's chain.
    pub epoch: u32,
    /// Message number.
    pub n: u64,
}

#[derive(Clone, Zeroize)]
struct RecvChain {
    epoch: u32,
    next_n: u64,
    ck: [u8; 32],
}

#[derive(Clone, Zeroize)]
struct SkippedKey {
    epoch: u32,
    n: u64,
    mk: [u8; 32],
}

/// A grid-pad session: keys and counters for both directions. Secrets are
/// zeroized on drop; state must be stored (atomically with the message it
/// concerns) after every seal and open.
#[derive(Clone)]
pub struct Session {
    id: [u8; 16],
    role: Role,
    /// The input of the next epoch's root: a one-way image of the current
    /// root, which is not kept (it would give every chain key of the epoch).
    ratchet_secret: [u8; 32],
    epoch: u32,
    /// When the current epoch began (unix seconds, the caller's clock); None
    /// for a new pairing until its first seal or open.
    epoch_started: Option<u64>,
    send_ck: [u8; 32],
    send_n: u64,
    recv: Vec<RecvChain>,
    skipped: Vec<SkippedKey>,
    /// The seed of this side's ML-KEM key offered in the current epoch
    /// (either role); cleared by every step.
    offer_seed: Option<[u8; 64]>,
    /// Its encapsulation key (public; derived from the seed, not stored).
    offer_ek: Option<Vec<u8>>,
    /// The ciphertext that answered the peer's offer, attached until the
    /// peer is seen in `epoch`.
    reply_ct: Option<Vec<u8>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.ratchet_secret.zeroize();
        self.send_ck.zeroize();
        self.recv.zeroize();
        self.skipped.zeroize();
        self.offer_seed.zeroize();
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &hex_short(&self.id))
            .field("role", &self.role)
            .field("epoch", &self.epoch)
            .field("sent", &self.send_n)
            .finish_non_exhaustive()
    }
}

fn hex_short(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// What an epoch root gives: (sending chain key, receiving chain key,
/// ratchet secret). The caller erases the root afterwards.
fn epoch_keys(root: &[u8; 32], role: Role) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let i2r = kdf::keyed(root, kdf::CHAIN_I2R);
    let r2i = kdf::keyed(root, kdf::CHAIN_R2I);
    let ratchet_secret = kdf::keyed(root, kdf::RATCHET_SECRET);
    match role {
        Role::Initiator => (i2r, r2i, ratchet_secret),
        Role::Responder => (r2i, i2r, ratchet_secret),
    }
}

fn offer_key(seed: &[u8; 64]) -> DecapsulationKey<MlKem768> {
    DecapsulationKey::<MlKem768>::from_seed(Array::from(*seed))
}

/// Keystream and MAC keys of one message.
fn message_keys(
    mk: &[u8; 32],
    chain_hash: &[u8; 32],
    round: u64,
    randomness: &[u8; 32],
    n: u64,
) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let mut binding = [0u8; 32 + 8 + 32 + 8];
    binding[..32].copy_from_slice(chain_hash);
    binding[32..40].copy_from_slice(&round.to_be_bytes());
    binding[40..72].copy_from_slice(randomness);
    binding[72..].copy_from_slice(&n.to_be_bytes());
    let k = Zeroizing::new(kdf::keyed(mk, &binding));
    (
        Zeroizing::new(kdf::keyed(&k, kdf::ENC)),
        Zeroizing::new(kdf::keyed(&k, kdf::MAC)),
    )
}

/// XORs `data` in place with the BLAKE3 XOF keystream of `key`.
pub(crate) fn apply_keystream(key: &[u8; 32], data: &mut [u8]) {
    let mut xof = blake3::Hasher::new_keyed(key).finalize_xof();
    let mut block = Zeroizing::new([0u8; 16 * 1024]);
    for chunk in data.chunks_mut(block.len()) {
        let stream = &mut block[..chunk.len()];
        xof.fill(stream);
        for (byte, k) in chunk.iter_mut().zip(stream.iter()) {
            *byte ^= k;
        }
    }
}

/// Opens a grid-pad envelope with its disclosed message key `mk` (see
/// [`Session::seal_disclosing`]) and the verified randomness of the round
/// its header names: checks the tag in constant time and returns the
/// plaintext. Needs no session. A tag that checks proves the envelope was
/// made by someone holding `randomness`, so not before that round was
/// published.
pub fn open_disclosed(
    envelope: &Envelope,
    mk: &[u8; 32],
    randomness: &[u8; 32],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let Body::Grid(h) = &envelope.body else {
        return Err(OpenError::NotGrid);
    };
    let (enc, mac_key) = message_keys(mk, &h.chain_hash, h.round, randomness, h.n);
    let expected = mac(&mac_key, envelope.header_bytes(), &envelope.ciphertext);
    if !bool::from(expected.ct_eq(envelope.tag.as_slice())) {
        return Err(OpenError::BadTag);
    }
    let mut plaintext = Zeroizing::new(envelope.ciphertext.clone());
    apply_keystream(&enc, &mut plaintext);
    Ok(plaintext)
}

fn mac(key: &[u8; 32], header: &[u8], ciphertext: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(header);
    h.update(ciphertext);
    *h.finalize().as_bytes()
}

impl Session {
    /// A session from a pairing root (which the caller then erases). Its
    /// first epoch starts at its first seal or open.
    pub(crate) fn new(root: &[u8; 32], role: Role) -> Session {
        let mut id = [0u8; 16];
        id.copy_from_slice(&kdf::derive(kdf::SESSION_ID, &[root])[..16]);
        let (send_ck, recv_ck, ratchet_secret) = epoch_keys(root, role);
        Session {
            id,
            role,
            ratchet_secret,
            epoch: 0,
            epoch_started: None,
            send_ck,
            send_n: 0,
            recv: vec![RecvChain {
                epoch: 0,
                next_n: 0,
                ck: recv_ck,
            }],
            skipped: Vec::new(),
            offer_seed: None,
            offer_ek: None,
            reply_ct: None,
        }
    }

    /// Identifies the pairing (both sides have the same).
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current KEM-ratchet epoch.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Messages sealed in the current epoch.
    pub fn sent_in_epoch(&self) -> u64 {
        self.send_n
    }

    /// Seals `plaintext` bound to `binding` at time `now` (unix seconds).
    /// The updated session must be stored before the envelope leaves.
    pub fn seal(
        &mut self,
        binding: &RoundBinding,
        plaintext: &[u8],
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, EnvelopeError> {
        Ok(self.seal_disclosing(binding, plaintext, now, rng)?.0)
    }

    /// [`Session::seal`], also returning the message's own key `mk` (before
    /// it is bound to the round). Disclosing `mk` opens this one envelope
    /// and no other (it is a one-way image of the chain key), and lets
    /// anyone check, with the round's beacon, that the envelope is bound to
    /// that round ([`open_disclosed`]): the basis of not-before proofs.
    pub fn seal_disclosing(
        &mut self,
        binding: &RoundBinding,
        plaintext: &[u8],
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), EnvelopeError> {
        if plaintext.len() as u64 > MAX_PLAINTEXT {
            return Err(EnvelopeError::TooLarge);
        }
        let started = *self.epoch_started.get_or_insert(now);
        // One step at a time: while our reply is pending the peer has not
        // reached our epoch, so an offer waits until it has.
        let due = self.send_n >= RATCHET_EVERY || now.saturating_sub(started) >= EPOCH_MAX_AGE;
        if due && self.offer_seed.is_none() && self.reply_ct.is_none() && self.epoch < u32::MAX {
            let mut seed = Zeroizing::new([0u8; 64]);
            rng.fill_bytes(seed.as_mut());
            self.offer_seed = Some(*seed);
        }
        if self.offer_ek.is_none() {
            self.offer_ek = self
                .offer_seed
                .as_ref()
                .map(|seed| offer_key(seed).encapsulation_key().to_bytes().to_vec());
        }
        let kem_offer = self.offer_ek.clone();

        let n = self.send_n;
        let mk = Zeroizing::new(kdf::keyed(&self.send_ck, kdf::MSG));
        self.send_ck = kdf::keyed(&self.send_ck, kdf::NEXT);
        self.send_n += 1;

        let body = Body::Grid(GridHeader {
            epoch: self.epoch,
            n,
            chain_hash: binding.chain_hash,
            round: binding.round,
            signature_hint: binding.signature.clone(),
            kem_offer,
            kem_reply: self.reply_ct.clone(),
        });
        let header =
            Envelope::encode_header(&self.id, self.role.sending(), &body, plaintext.len() as u64);
        let (enc, mac_key) = message_keys(
            &mk,
            &binding.chain_hash,
            binding.round,
            &binding.randomness,
            n,
        );
        // One buffer: header, then the plaintext encrypted in place, then the
        // tag over both (contiguous, so hashed in one pass).
        let mut out = Vec::with_capacity(header.len() + plaintext.len() + GRID_TAG_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(plaintext);
        apply_keystream(&enc, &mut out[header.len()..]);
        let tag = *blake3::keyed_hash(&mac_key, &out).as_bytes();
        out.extend_from_slice(&tag);
        Ok((out, mk))
    }

    /// Opens a grid-pad envelope at time `now` (unix seconds). On any error
    /// the session is unchanged.
    pub fn open(
        &mut self,
        envelope: &Envelope,
        rounds: &dyn RoundSource,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Opened, OpenError> {
        let Body::Grid(h) = &envelope.body else {
            return Err(OpenError::NotGrid);
        };
        if envelope.session_id != self.id {
            return Err(OpenError::WrongSession);
        }
        if envelope.direction == self.role.sending() {
            return Err(OpenError::Reflected);
        }
        let randomness = rounds
            .randomness(&h.chain_hash, h.round, h.signature_hint.as_deref())
            .map_err(OpenError::Round)?;

        let mut next = self.clone();
        next.epoch_started.get_or_insert(now);
        if next.epoch.checked_add(1) == Some(h.epoch) {
            next.finish_offer(h, now)?;
        }
        let mk = Zeroizing::new(next.message_key(h.epoch, h.n)?);
        let (enc, mac_key) = message_keys(&mk, &h.chain_hash, h.round, &randomness, h.n);
        let expected = mac(&mac_key, envelope.header_bytes(), &envelope.ciphertext);
        if !bool::from(expected.ct_eq(envelope.tag.as_slice())) {
            return Err(OpenError::BadTag);
        }
        let mut plaintext = envelope.ciphertext.clone();
        apply_keystream(&enc, &mut plaintext);

        // Only a message of our current epoch counts: an offer on an older one
        // belongs to a step already taken or dropped (see the module doc).
        if h.epoch == next.epoch {
            // The peer sealed in our epoch, so it has our ciphertext.
            next.reply_ct = None;
            if let Some(offer) = &h.kem_offer {
                next.consider_offer(offer, now, rng)?;
            }
        }
        next.forget_old_epochs();
        *self = next;
        Ok(Opened {
            plaintext,
            chain_hash: h.chain_hash,
            round: h.round,
            epoch: h.epoch,
            n: h.n,
        })
    }

    /// The message key for (epoch, n), from the kept skipped keys or by
    /// advancing that epoch's receiving chain.
    fn message_key(&mut self, epoch: u32, n: u64) -> Result<[u8; 32], OpenError> {
        if let Some(i) = self
            .skipped
            .iter()
            .position(|s| s.epoch == epoch && s.n == n)
        {
            let key = self.skipped.swap_remove(i);
            return Ok(key.mk);
        }
        let chain = self
            .recv
            .iter_mut()
            .find(|c| c.epoch == epoch)
            .ok_or(OpenError::UnknownEpoch(epoch))?;
        if n < chain.next_n {
            return Err(OpenError::Replay { epoch, n });
        }
        if n - chain.next_n > MAX_GAP {
            return Err(OpenError::TooFarAhead {
                n,
                expected: chain.next_n,
            });
        }
        let mut skipped = Vec::new();
        while chain.next_n < n {
            skipped.push(SkippedKey {
                epoch,
                n: chain.next_n,
                mk: kdf::keyed(&chain.ck, kdf::MSG),
            });
            chain.ck = kdf::keyed(&chain.ck, kdf::NEXT);
            chain.next_n += 1;
        }
        let mk = kdf::keyed(&chain.ck, kdf::MSG);
        chain.ck = kdf::keyed(&chain.ck, kdf::NEXT);
        chain.next_n += 1;
        self.skipped.extend(skipped);
        if self.skipped.len() > MAX_SKIPPED {
            // The oldest are dropped (and zeroized): such late messages are lost.
            let excess = self.skipped.len() - MAX_SKIPPED;
            self.skipped.drain(..excess).for_each(|mut k| k.zeroize());
        }
        Ok(mk)
    }

    /// The peer answered our offer (either role): move to its epoch.
    fn finish_offer(&mut self, h: &GridHeader, now: u64) -> Result<(), OpenError> {
        let (Some(seed), Some(ct)) = (&self.offer_seed, &h.kem_reply) else {
            return Err(OpenError::UnknownEpoch(h.epoch));
        };
        let dk = offer_key(seed);
        let ct_arr = Array::try_from(ct.as_slice()).map_err(|_| OpenError::BadRatchet)?;
        let ss = Zeroizing::new(dk.decapsulate(&ct_arr));
        let ek = dk.encapsulation_key().to_bytes();
        self.step_epoch(&ss, &ek, ct, now)
    }

    /// The peer offered a step in our current epoch (so no reply of ours is
    /// pending): answer it, unless our own offer takes precedence (the
    /// initiator's wins a tie).
    fn consider_offer(
        &mut self,
        offer: &[u8],
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), OpenError> {
        if self.offer_seed.is_some() && self.role == Role::Initiator {
            // The responder drops its offer when it sees ours and answers it.
            return Ok(());
        }
        // A responder's own offer, if any, is dropped by the step.
        self.answer_offer(offer, now, rng)
    }

    /// Encapsulates to the peer's offer and moves to a new epoch.
    fn answer_offer(
        &mut self,
        offer: &[u8],
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), OpenError> {
        let ek_bytes = Array::try_from(offer).map_err(|_| OpenError::BadRatchet)?;
        let ek = EncapsulationKey::<MlKem768>::new(&ek_bytes).map_err(|_| OpenError::BadRatchet)?;
        let mut m = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(m.as_mut());
        let (ct, ss) = ek.encapsulate_deterministic(&Array::from(*m));
        let ss = Zeroizing::new(ss);
        self.step_epoch(&ss, offer, &ct, now)?;
        self.reply_ct = Some(ct.to_vec());
        Ok(())
    }

    /// Moves to the next epoch: its root mixes the ratchet secret with the
    /// new shared secret, gives the chain keys and the next ratchet secret,
    /// and is erased. Any offer of ours belonged to the epoch left behind.
    fn step_epoch(&mut self, ss: &[u8], ek: &[u8], ct: &[u8], now: u64) -> Result<(), OpenError> {
        let epoch = self.epoch.checked_add(1).ok_or(OpenError::BadRatchet)?;
        let root = Zeroizing::new(kdf::derive(
            kdf::RATCHET_ROOT,
            &[&self.ratchet_secret, ss, &epoch.to_be_bytes(), ek, ct],
        ));
        let (send_ck, recv_ck, ratchet_secret) = epoch_keys(&root, self.role);
        self.ratchet_secret = ratchet_secret;
        self.epoch = epoch;
        self.epoch_started = Some(now);
        self.send_ck = send_ck;
        self.send_n = 0;
        self.recv.push(RecvChain {
            epoch,
            next_n: 0,
            ck: recv_ck,
        });
        self.offer_seed.zeroize();
        self.offer_ek = None;
        self.reply_ct = None;
        Ok(())
    }

    /// Keeps receiving chains (and skipped keys) of this epoch and the one before.
    fn forget_old_epochs(&mut self) {
        let oldest = self.epoch.saturating_sub(1);
        self.recv.retain_mut(|c| {
            let keep = c.epoch >= oldest;
            if !keep {
                c.zeroize();
            }
            keep
        });
        self.skipped.retain_mut(|k| {
            let keep = k.epoch >= oldest;
            if !keep {
                k.zeroize();
            }
            keep
        });
    }

    /// Serializes the whole state (secrets included) for the store, in
    /// format version 2.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.u8(2).raw(&self.id).u8(match self.role {
            Role::Initiator => 0,
            Role::Responder => 1,
        });
        w.raw(&self.ratchet_secret).u32(self.epoch);
        match self.epoch_started {
            Some(at) => w.u8(1).u64(at),
            None => w.u8(0),
        };
        w.raw(&self.send_ck).u64(self.send_n);
        w.u8(self.recv.len() as u8);
        for c in &self.recv {
            w.u32(c.epoch).u64(c.next_n).raw(&c.ck);
        }
        w.u32(self.skipped.len() as u32);
        for k in &self.skipped {
            w.u32(k.epoch).u64(k.n).raw(&k.mk);
        }
        match &self.offer_seed {
            Some(seed) => w.u8(1).raw(seed),
            None => w.u8(0),
        };
        match &self.reply_ct {
            Some(ct) => w.u8(1).bytes16(ct),
            None => w.u8(0),
        };
        Zeroizing::new(w.finish())
    }

    /// Restores a session from [`Session::to_bytes`], of this release
    /// (version 2) or the previous one (version 1, which kept the root).
    pub fn from_bytes(bytes: &[u8]) -> Result<Session, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != 1 && version != 2 {
            return Err(WireError::Invalid("session version"));
        }
        let id = r.array::<16>("id")?;
        let role = match r.u8("role")? {
            0 => Role::Initiator,
            1 => Role::Responder,
            _ => return Err(WireError::Invalid("role")),
        };
        let (ratchet_secret, epoch, epoch_started) = if version == 1 {
            // Version 1 kept the epoch root. It becomes the ratchet secret by
            // the same one-way step as in `epoch_keys`, which the peer takes
            // too when it loads its own version-1 state, so the next KEM step
            // still agrees; the root itself goes. The epoch's age is unknown:
            // start 0 makes the first seal offer a step.
            let root = Zeroizing::new(r.array::<32>("root")?);
            let epoch = r.u32("epoch")?;
            (kdf::keyed(&root, kdf::RATCHET_SECRET), epoch, Some(0))
        } else {
            let ratchet_secret = r.array::<32>("ratchet secret")?;
            let epoch = r.u32("epoch")?;
            let started = match r.u8("epoch start")? {
                0 => None,
                1 => Some(r.u64("epoch start")?),
                _ => return Err(WireError::Invalid("epoch start")),
            };
            (ratchet_secret, epoch, started)
        };
        let send_ck = r.array::<32>("send chain")?;
        // No session lives to 2^64 messages, so counters at their end are
        // damage; refused here, the next seal or open never overflows them
        // (a receiving chain moves at most MAX_GAP + 1 at a time).
        let send_n = r.u64("send counter")?;
        if send_n == u64::MAX {
            return Err(WireError::Invalid("send counter"));
        }
        let mut recv = Vec::new();
        for _ in 0..r.u8("receive chains")?.min(4) {
            let epoch = r.u32("epoch")?;
            let next_n = r.u64("counter")?;
            if next_n >= u64::MAX - MAX_GAP {
                return Err(WireError::Invalid("counter"));
            }
            recv.push(RecvChain {
                epoch,
                next_n,
                ck: r.array::<32>("chain")?,
            });
        }
        let count = r.u32("skipped")? as usize;
        if count > MAX_SKIPPED {
            return Err(WireError::TooLong("skipped keys"));
        }
        let mut skipped = Vec::with_capacity(count);
        for _ in 0..count {
            skipped.push(SkippedKey {
                epoch: r.u32("epoch")?,
                n: r.u64("n")?,
                mk: r.array::<32>("key")?,
            });
        }
        // In version 1 only the initiator ever held an offer; from version 2
        // it is this side's own offer, whichever its role.
        let offer_seed = match r.u8("offer")? {
            0 => None,
            1 => Some(r.array::<64>("offer seed")?),
            _ => return Err(WireError::Invalid("offer")),
        };
        let reply_ct = match r.u8("reply")? {
            0 => None,
            1 => Some(r.bytes16(2048, "reply")?.to_vec()),
            _ => return Err(WireError::Invalid("reply")),
        };
        r.finish()?;
        Ok(Session {
            id,
            role,
            ratchet_secret,
            epoch,
            epoch_started,
            send_ck,
            send_n,
            recv,
            skipped,
            offer_seed,
            offer_ek: None,
            reply_ct,
        })
    }

    /// Test only: the chain key and message key the next seal will use.
    #[cfg(test)]
    pub(crate) fn next_send_keys(&self) -> ([u8; 32], [u8; 32]) {
        (self.send_ck, kdf::keyed(&self.send_ck, kdf::MSG))
    }
}

#[cfg(test)]
mod tests;
