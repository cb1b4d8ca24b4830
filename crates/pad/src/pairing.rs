//! The hybrid pairing: X25519 + ML-KEM-768, both secrets into one root.
//!
//! 1. The inviter makes fresh X25519 and ML-KEM keys and shows an [`Invite`].
//! 2. The invitee encapsulates to the ML-KEM key, adds its own X25519 key and
//!    answers with a [`Reply`].
//! 3. Both compute `root = derive_key("zks pairing v1 root", x25519_ss ‖
//!    mlkem_ss ‖ H(invite ‖ reply))`: either secret alone keeps the root
//!    secret, and the transcript hash binds every byte both sides saw.
//! 4. Both show the same [`SafetyCode`], derived from the transcript.

use ml_kem::array::Array;
use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, MlKem768};
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};
use zeroize::Zeroizing;

use crate::identity::Identity;
use crate::invite::{CodeError, Invite, MLKEM_CT_LEN, MLKEM_EK_LEN, Reply, Sender};
use crate::kdf;
use crate::session::{Role, Session};
use crate::wire::{Reader, Writer};

/// Why a pairing step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// The invite or reply itself is unacceptable.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// Accepting one's own invite.
    #[error("this is your own invite; it must be accepted on the other device")]
    OwnInvite,
    /// The reply answers another invite than the pending one.
    #[error("this reply answers a different invite")]
    WrongInvite,
    /// The peer's keys are unusable (invalid ML-KEM key, low-order X25519 point).
    #[error("the other device's keys are invalid ({0})")]
    BadKey(&'static str),
    /// The stored pending invite is damaged.
    #[error("the stored pending invite is damaged")]
    BadState,
}

/// What the inviter keeps until the reply arrives: the invite and its secrets.
pub struct PendingInvite {
    invite: Invite,
    x25519: StaticSecret,
    mlkem_seed: Zeroizing<[u8; 64]>,
}

impl std::fmt::Debug for PendingInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingInvite")
            .field("nonce", &self.invite.nonce)
            .finish_non_exhaustive()
    }
}

/// The result of a pairing, the same on both sides except for the role.
pub struct Paired {
    /// The other side as it described itself (its key is authenticated).
    pub peer: Sender,
    /// The safety code both sides show.
    pub safety_code: SafetyCode,
    /// The message session, ready to seal and open.
    pub session: Session,
    /// The pair's rendezvous secret (see [`crate::rendezvous`]), kept for
    /// the life of the pairing.
    pub rendezvous: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Paired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paired")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

fn mlkem_key(seed: &[u8; 64]) -> DecapsulationKey<MlKem768> {
    DecapsulationKey::<MlKem768>::from_seed(Array::from(*seed))
}

impl PendingInvite {
    /// Makes an invite valid until `expires_at`.
    pub fn create(
        identity: &Identity,
        name: &str,
        addresses: &[String],
        expires_at: u64,
        rng: &mut impl CryptoRngCore,
    ) -> PendingInvite {
        PendingInvite::create_marked(identity, name, addresses, expires_at, None, rng)
    }

    /// [`PendingInvite::create`] whose nonce begins with `mark` (the rest
    /// stays random): a purpose the invite's signature covers, such as a
    /// code that links a device rather than pairs a contact.
    pub fn create_marked(
        identity: &Identity,
        name: &str,
        addresses: &[String],
        expires_at: u64,
        mark: Option<[u8; 4]>,
        rng: &mut impl CryptoRngCore,
    ) -> PendingInvite {
        let x25519 = StaticSecret::random_from_rng(&mut *rng);
        let mut randomness = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(randomness.as_mut());
        let mut mlkem_seed = Zeroizing::new([0u8; 64]);
        let mut xof = blake3::Hasher::new_derive_key(kdf::MLKEM_SEED);
        xof.update(randomness.as_ref());
        xof.finalize_xof().fill(mlkem_seed.as_mut());
        let ek = mlkem_key(&mlkem_seed)
            .encapsulation_key()
            .to_bytes()
            .to_vec();
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        if let Some(mark) = mark {
            nonce[..4].copy_from_slice(&mark);
        }
        let invite = Invite::create(
            identity,
            name,
            addresses,
            XPublic::from(&x25519).to_bytes(),
            ek,
            nonce,
            expires_at,
        );
        PendingInvite {
            invite,
            x25519,
            mlkem_seed,
        }
    }

    /// The invite to show.
    pub fn invite(&self) -> &Invite {
        &self.invite
    }

    /// Completes the pairing with the invitee's reply.
    pub fn finish(&self, reply: &Reply) -> Result<Paired, PairingError> {
        if reply.invite_hash != self.invite.hash() {
            return Err(PairingError::WrongInvite);
        }
        let dk = mlkem_key(&self.mlkem_seed);
        let ct = Array::try_from(reply.mlkem_ct.as_slice())
            .map_err(|_| PairingError::BadKey("ml-kem ciphertext size"))?;
        let mlkem_ss = Zeroizing::new(dk.decapsulate(&ct));
        let x_ss = self.x25519.diffie_hellman(&XPublic::from(reply.x25519));
        if !x_ss.was_contributory() {
            return Err(PairingError::BadKey("x25519 low-order point"));
        }
        Ok(complete(
            &self.invite,
            reply,
            x_ss.as_bytes(),
            &mlkem_ss,
            Role::Initiator,
        ))
    }

    /// Serializes the pending invite, secrets included, for the store.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.u8(1)
            .raw(self.x25519.as_bytes())
            .raw(self.mlkem_seed.as_ref());
        w.bytes32(self.invite.as_bytes());
        Zeroizing::new(w.finish())
    }

    /// Restores a pending invite from [`PendingInvite::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PendingInvite, PairingError> {
        let mut r = Reader::new(bytes);
        let parse = |r: &mut Reader<'_>| -> Result<_, crate::wire::WireError> {
            let version = r.u8("version")?;
            let x = Zeroizing::new(r.array::<32>("x25519")?);
            let seed = Zeroizing::new(r.array::<64>("seed")?);
            let invite = r.bytes32(64 * 1024, "invite")?.to_vec();
            r.finish()?;
            Ok((version, x, seed, invite))
        };
        let (version, x, seed, invite) = parse(&mut r).map_err(|_| PairingError::BadState)?;
        if version != 1 {
            return Err(PairingError::BadState);
        }
        let invite = Invite::decode(&invite).map_err(|_| PairingError::BadState)?;
        Ok(PendingInvite {
            invite,
            x25519: StaticSecret::from(*x),
            mlkem_seed: seed,
        })
    }
}

/// Accepts an invite (checked fresh at `now`), returning the reply to send
/// back and the finished pairing on this side.
pub fn accept(
    invite: &Invite,
    identity: &Identity,
    name: &str,
    addresses: &[String],
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<(Reply, Paired), PairingError> {
    invite.check_fresh(now)?;
    if invite.sender.identity_key == identity.public_key() {
        return Err(PairingError::OwnInvite);
    }
    let ek_bytes = Array::try_from(invite.mlkem_ek.as_slice())
        .map_err(|_| PairingError::BadKey("ml-kem key size"))?;
    let ek = EncapsulationKey::<MlKem768>::new(&ek_bytes)
        .map_err(|_| PairingError::BadKey("ml-kem encapsulation key"))?;
    let mut m = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(m.as_mut());
    let (ct, mlkem_ss) = ek.encapsulate_deterministic(&Array::from(*m));
    let mlkem_ss = Zeroizing::new(mlkem_ss);
    debug_assert_eq!(ct.len(), MLKEM_CT_LEN);
    debug_assert_eq!(ek_bytes.len(), MLKEM_EK_LEN);

    let x25519 = StaticSecret::random_from_rng(&mut *rng);
    let x_ss = x25519.diffie_hellman(&XPublic::from(invite.x25519));
    if !x_ss.was_contributory() {
        return Err(PairingError::BadKey("x25519 low-order point"));
    }
    let reply = Reply::create(
        identity,
        name,
        addresses,
        XPublic::from(&x25519).to_bytes(),
        ct.to_vec(),
        invite.hash(),
    );
    let paired = complete(invite, &reply, x_ss.as_bytes(), &mlkem_ss, Role::Responder);
    Ok((reply, paired))
}

fn complete(
    invite: &Invite,
    reply: &Reply,
    x_ss: &[u8; 32],
    mlkem_ss: &[u8],
    role: Role,
) -> Paired {
    let transcript = kdf::derive(
        kdf::TRANSCRIPT,
        &[
            &(invite.as_bytes().len() as u64).to_be_bytes(),
            invite.as_bytes(),
            reply.as_bytes(),
        ],
    );
    let root = Zeroizing::new(kdf::derive(kdf::ROOT, &[x_ss, mlkem_ss, &transcript]));
    let peer = match role {
        Role::Initiator => reply.sender.clone(),
        Role::Responder => invite.sender.clone(),
    };
    Paired {
        peer,
        safety_code: SafetyCode::from_transcript(&transcript),
        session: Session::new(&root, role),
        rendezvous: Zeroizing::new(kdf::derive(kdf::RENDEZVOUS_SECRET, &[&root[..]])),
    }
}

/// The code two people compare to rule out a man in the middle: 8 groups of
/// 5 digits (about 133 bits) derived from the whole pairing transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyCode([u32; 8]);

impl SafetyCode {
    fn from_transcript(transcript: &[u8; 32]) -> SafetyCode {
        let mut bytes = [0u8; 64];
        let mut xof = blake3::Hasher::new_derive_key(kdf::SAFETY_CODE);
        xof.update(transcript);
        xof.finalize_xof().fill(&mut bytes);
        let mut groups = [0u32; 8];
        for (group, chunk) in groups.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // 64 random bits reduced mod 10⁵: bias below 2⁻⁴⁶.
            *group = (u64::from_be_bytes(word) % 100_000) as u32;
        }
        SafetyCode(groups)
    }

    /// The digit groups, e.g. `["04721", "88310", …]`.
    pub fn groups(&self) -> Vec<String> {
        self.0.iter().map(|g| format!("{g:05}")).collect()
    }

    /// Parses the form [`SafetyCode::to_string`] prints (spaces optional).
    pub fn parse(text: &str) -> Option<SafetyCode> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() != 40 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut groups = [0u32; 8];
        for (g, chunk) in groups.iter_mut().zip(digits.chunks(5)) {
            *g = chunk
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        }
        Some(SafetyCode(groups))
    }
}

impl std::fmt::Display for SafetyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.groups().join(" "))
    }
}

#[cfg(test)]
mod tests;
