//! A node's long-term identity: an Ed25519 key, which is also its libp2p
//! PeerId. It signs pairing invites and replies, binding the pairing keys to
//! the PeerId the network will later dial.

use libp2p_identity::{PeerId, ed25519};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// An Ed25519 identity (libp2p PeerId). The secret is zeroized on drop.
pub struct Identity {
    seed: Zeroizing<[u8; 32]>,
    keypair: ed25519::Keypair,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("peer_id", &self.peer_id())
            .finish_non_exhaustive()
    }
}

/// A stored identity secret that is not a valid Ed25519 seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored identity key is damaged")]
pub struct BadIdentity;

impl Identity {
    /// A fresh identity from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Identity {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        // Any 32 bytes are a valid Ed25519 secret seed.
        Identity::from_seed(&seed).unwrap_or_else(|_| unreachable!("32-byte seed"))
    }

    /// Restores an identity from its 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Identity, BadIdentity> {
        let mut copy = Zeroizing::new(*seed);
        let secret = ed25519::SecretKey::try_from_bytes(copy.as_mut()).map_err(|_| BadIdentity)?;
        let keypair = ed25519::Keypair::from(secret);
        Ok(Identity {
            seed: Zeroizing::new(*seed),
            keypair,
        })
    }

    /// The secret seed, for storing (encrypted at rest once the store supports it).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.keypair.public().to_bytes()
    }

    /// The libp2p PeerId of this identity.
    pub fn peer_id(&self) -> PeerId {
        peer_id_of(&self.public_key()).unwrap_or_else(|_| unreachable!("own key is valid"))
    }

    /// Signs `message` with the identity key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let sig = self.keypair.sign(message);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig[..64.min(sig.len())]);
        out
    }

    /// The libp2p keypair, for the network layer.
    pub fn libp2p_keypair(&self) -> libp2p_identity::Keypair {
        libp2p_identity::Keypair::from(self.keypair.clone())
    }
}

/// The PeerId of an Ed25519 public key.
pub fn peer_id_of(public_key: &[u8; 32]) -> Result<PeerId, BadIdentity> {
    let pk = ed25519::PublicKey::try_from_bytes(public_key).map_err(|_| BadIdentity)?;
    Ok(libp2p_identity::PublicKey::from(pk).to_peer_id())
}

/// Checks an Ed25519 signature by `public_key` over `message`.
pub fn verify_signature(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    ed25519::PublicKey::try_from_bytes(public_key)
        .map(|pk| pk.verify(message, signature))
        .unwrap_or(false)
}
