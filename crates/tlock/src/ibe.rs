//! Identity-based encryption to a drand round (Boneh–Franklin with the
//! Fujisaki–Okamoto transform, as drand's kyber `ibe` package, `tlock` and
//! `tlock-js` do it), for chains whose signatures are on G1 and whose public
//! key is on G2 (`bls-unchained-g1-rfc9380`: quicknet and our devnets).
//!
//! The identity of round `r` is the round's beacon message `sha256(u64_be(r))`
//! hashed to G1; the round's signature is the private key of that identity.
//! A ciphertext of a 16-byte message `M` is
//!
//! ```text
//! σ ← random 16 bytes          r = H3(σ ‖ M)           U = r·G2
//! V = σ ⊕ H2(e(H(id), P)^r)    W = M ⊕ H4(σ)
//! ```
//!
//! and opening recomputes σ from `e(signature, U)`, `M` from σ, and checks
//! `U = H3(σ ‖ M)·G2` (a ciphertext that was tampered with, or a wrong
//! signature, fails that check). The hashes are SHA-256 with the tags
//! `IBE-H2`, `IBE-H3`, `IBE-H4`; H2 hashes the pairing result in the byte
//! order of the kilic/kyber BLS12-381 library every drand tool uses.

use blstrs::{G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;
use zks_beacon::DST_G1;

/// Length of the message the IBE layer carries (an age file key).
pub const MESSAGE_LEN: usize = 16;
/// Length of a ciphertext: U (compressed G2) ‖ V ‖ W.
pub const CIPHERTEXT_LEN: usize = 96 + 2 * MESSAGE_LEN;

/// Why a ciphertext could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IbeError {
    /// The public key is not a point of G2 other than the identity.
    #[error("the chain's public key is not a usable G2 point")]
    PublicKey,
    /// U is not a point of G2.
    #[error("the timelock stanza does not hold a G2 point")]
    Point,
    /// The signature is not a point of G1.
    #[error("the beacon signature is not a G1 point")]
    Signature,
    /// The consistency check failed: a damaged ciphertext or the wrong key.
    #[error("the beacon does not open this timelock (wrong round or chain, or damaged)")]
    Check,
}

/// The identity of `round`: what drand signs for an unchained round.
fn identity(round: u64) -> [u8; 32] {
    Sha256::digest(round.to_be_bytes()).into()
}

/// Encrypts `message` to `round` under the chain key `public_key`
/// (compressed G2).
pub fn encrypt(
    public_key: &[u8],
    round: u64,
    message: &[u8; MESSAGE_LEN],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<[u8; CIPHERTEXT_LEN], IbeError> {
    let master = g2_point(public_key).ok_or(IbeError::PublicKey)?;
    if bool::from(master.is_identity()) {
        return Err(IbeError::PublicKey);
    }
    let qid = G1Projective::hash_to_curve(&identity(round), DST_G1, &[]).to_affine();
    let mut sigma = [0u8; MESSAGE_LEN];
    rng.fill_bytes(&mut sigma);
    let r = h3(&sigma, message);
    let u = (G2Projective::generator() * r).to_affine();
    // e(Q_id, P)^r, computed as e(r·Q_id, P).
    let r_gid = pairing(&(G1Projective::from(qid) * r).to_affine(), &master);
    let mut out = [0u8; CIPHERTEXT_LEN];
    out[..96].copy_from_slice(&u.to_compressed());
    let mask = h2(&r_gid);
    let h4 = h4(&sigma);
    for i in 0..MESSAGE_LEN {
        out[96 + i] = sigma[i] ^ mask[i];
        out[96 + MESSAGE_LEN + i] = message[i] ^ h4[i];
    }
    sigma.zeroize();
    Ok(out)
}

/// Opens `ciphertext` with the round's signature (compressed G1; the caller
/// verified it as the beacon of the round the ciphertext names).
pub fn decrypt(
    signature: &[u8],
    ciphertext: &[u8; CIPHERTEXT_LEN],
) -> Result<[u8; MESSAGE_LEN], IbeError> {
    let sig: [u8; 48] = signature.try_into().map_err(|_| IbeError::Signature)?;
    let sig =
        Option::<G1Affine>::from(G1Affine::from_compressed(&sig)).ok_or(IbeError::Signature)?;
    let u = g2_point(&ciphertext[..96]).ok_or(IbeError::Point)?;
    let mask = h2(&pairing(&sig, &u));
    let mut sigma = [0u8; MESSAGE_LEN];
    for i in 0..MESSAGE_LEN {
        sigma[i] = ciphertext[96 + i] ^ mask[i];
    }
    let h4 = h4(&sigma);
    let mut message = [0u8; MESSAGE_LEN];
    for i in 0..MESSAGE_LEN {
        message[i] = ciphertext[96 + MESSAGE_LEN + i] ^ h4[i];
    }
    let r = h3(&sigma, &message);
    sigma.zeroize();
    let expected = (G2Projective::generator() * r).to_affine().to_compressed();
    if bool::from(expected.ct_eq(&ciphertext[..96])) {
        Ok(message)
    } else {
        message.zeroize();
        Err(IbeError::Check)
    }
}

fn g2_point(bytes: &[u8]) -> Option<G2Affine> {
    let bytes: [u8; 96] = bytes.try_into().ok()?;
    G2Affine::from_compressed(&bytes).into()
}

/// H2: SHA-256 of `IBE-H2` and the pairing result, cut to the message length.
fn h2(gt_bytes: &[u8; 576]) -> [u8; MESSAGE_LEN] {
    let mut hash = Sha256::new();
    hash.update(b"IBE-H2");
    hash.update(gt_bytes);
    let digest = hash.finalize();
    let mut out = [0u8; MESSAGE_LEN];
    out.copy_from_slice(&digest[..MESSAGE_LEN]);
    out
}

/// H3: a scalar from σ and the message. `h = SHA-256(IBE-H3 ‖ σ ‖ M)`, then
/// for i = 1, 2, …: `SHA-256(u16_le(i) ‖ h)` with the top bit cleared, read
/// big-endian, until it is below the group order.
fn h3(sigma: &[u8; MESSAGE_LEN], message: &[u8; MESSAGE_LEN]) -> Scalar {
    let mut hash = Sha256::new();
    hash.update(b"IBE-H3");
    hash.update(sigma);
    hash.update(message);
    let seed = hash.finalize();
    for i in 1u16..u16::MAX {
        let mut hash = Sha256::new();
        hash.update(i.to_le_bytes());
        hash.update(seed);
        let mut bytes: [u8; 32] = hash.finalize().into();
        bytes[0] >>= 1;
        if let Some(scalar) = Option::<Scalar>::from(Scalar::from_bytes_be(&bytes)) {
            return scalar;
        }
    }
    // Each try succeeds with probability > 0.9; 65,534 failures in a row
    // do not happen.
    unreachable!("no scalar in 65534 tries")
}

/// H4: SHA-256 of `IBE-H4` and σ, cut to the message length.
fn h4(sigma: &[u8; MESSAGE_LEN]) -> [u8; MESSAGE_LEN] {
    let mut hash = Sha256::new();
    hash.update(b"IBE-H4");
    hash.update(sigma);
    let digest = hash.finalize();
    let mut out = [0u8; MESSAGE_LEN];
    out.copy_from_slice(&digest[..MESSAGE_LEN]);
    out
}

/// The pairing e(p, q), encoded in the 576 bytes kyber (kilic) uses: the
/// twelve base-field coefficients, big-endian, from the highest to the
/// lowest (`c1` before `c0` at every level of the tower Fp2 ⊂ Fp6 ⊂ Fp12).
fn pairing(p: &G1Affine, q: &G2Affine) -> [u8; 576] {
    let gt = blst::blst_fp12::miller_loop(q.as_ref(), p.as_ref()).final_exp();
    // blst writes coefficient (fp12 j, fp6 i, fp2 k) at ((i·2 + j)·2 + k)·48.
    let blst_order = gt.to_bendian();
    let mut out = [0u8; 576];
    let mut at = 0;
    for j in [1, 0] {
        for i in [2, 1, 0] {
            for k in [1, 0] {
                let from = ((i * 2 + j) * 2 + k) * 48;
                out[at..at + 48].copy_from_slice(&blst_order[from..from + 48]);
                at += 48;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use zks_beacon::{DevnetSigner, Scheme};

    #[test]
    fn a_devnet_round_opens_what_was_locked_to_it_and_no_other() {
        let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_700_000_000);
        let key = signer.chain().public_key.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let message = *b"sixteen byte key";
        let ct = encrypt(&key, 42, &message, &mut rng).unwrap();
        let right = signer.sign(42, None).unwrap();
        assert_eq!(decrypt(right.signature(), &ct).unwrap(), message);
        let wrong = signer.sign(43, None).unwrap();
        assert_eq!(decrypt(wrong.signature(), &ct), Err(IbeError::Check));
        for at in [0, 50, 96, 100, 112, 127] {
            let mut bad = ct;
            bad[at] ^= 1;
            assert!(decrypt(right.signature(), &bad).is_err(), "byte {at}");
        }
        assert_eq!(decrypt(&[0u8; 47], &ct), Err(IbeError::Signature));
    }

    #[test]
    fn the_identity_is_not_a_public_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let identity = G2Affine::identity().to_compressed();
        assert_eq!(
            encrypt(&identity, 1, &[0; 16], &mut rng),
            Err(IbeError::PublicKey)
        );
        assert_eq!(
            encrypt(&[1u8; 96], 1, &[0; 16], &mut rng),
            Err(IbeError::PublicKey)
        );
    }
}
