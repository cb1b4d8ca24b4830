//! Not-before proofs (decision 0069): a self-contained file showing that one
//! of our grid-pad messages was sealed no earlier than the drand round its
//! key is bound to, which anyone can check without a home or a network.
//!
//! A grid-pad message's key is `KDF(mk, chain ‖ round ‖ randomness ‖ n)`
//! (`zks_pad::session`). The proof discloses the envelope as sent, its
//! message key `mk` (a one-way image of the sender's chain key: it opens
//! this envelope and no other) and the round's beacon. The checker verifies
//! the beacon's BLS signature under the chain's key, derives the bound key
//! from `mk` and the round's randomness, checks the envelope's tag with it
//! and decrypts it to the text. A tag that checks could only be computed by
//! someone holding the round's randomness, which nobody had before the
//! round was published (unless the chain's signers colluded to sign early).
//!
//! What it does not show: when, after the round, the envelope was made, or
//! that it was ever sent; the envelope's ref (the first 16 bytes of its
//! BLAKE3 hash) is what the recipient can compare with the message they
//! received. The sender's own clock reading is included, marked unproven.

use serde::{Deserialize, Serialize};
use zks_beacon::{Beacon, ChainInfo, ReferenceVerifier};
use zks_pad::Envelope;
use zks_pad::envelope::Body;

use crate::wire::chat::ref_of;
use crate::{Node, NodeError};

/// The format tag of a proof file.
pub const PROOF_FORMAT: &str = "zks-not-before-proof/1";

/// A not-before proof, as written to a file (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotBeforeProof {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// What the proof shows, in words (not checked).
    pub statement: String,
    /// The chain, as drand's `/info` JSON.
    pub chain: serde_json::Value,
    /// The round's beacon, as drand's `/public/<round>` JSON.
    pub beacon: serde_json::Value,
    /// The envelope as sent (hex).
    pub envelope: String,
    /// The first 16 bytes of the envelope's BLAKE3 hash (hex): the id both
    /// sides keep for the message.
    pub envelope_ref: String,
    /// The message's own key (hex), which opens this envelope only.
    pub message_key: String,
    /// The message text.
    pub text: String,
    /// When the sender's clock says it was sent (Unix seconds; not proven).
    pub sent_at: i64,
}

/// What a proof that checks shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProofCheck {
    /// The chain's name.
    pub chain: String,
    /// The chain's hash (hex).
    pub chain_hash: String,
    /// A chain built into this release (drand's League of Entropy chains);
    /// otherwise the proof is only as good as the chain's key holder.
    pub league_of_entropy: bool,
    /// The round.
    pub round: u64,
    /// Unix time the round was published: the message was sealed no
    /// earlier.
    pub not_before: u64,
    /// The text.
    pub text: String,
    /// The envelope's ref (hex).
    pub envelope_ref: String,
    /// The sender's clock reading at sending (not proven).
    pub sent_at: i64,
}

fn bad(why: impl std::fmt::Display) -> NodeError {
    NodeError::BadInput(format!("not a valid not-before proof: {why}"))
}

/// Checks a proof file's JSON, with nothing but this release's code: no
/// home, no network.
pub fn verify_proof(json: &str) -> Result<ProofCheck, NodeError> {
    let proof: NotBeforeProof =
        serde_json::from_str(json).map_err(|e| bad(format!("unreadable ({e})")))?;
    if proof.format != PROOF_FORMAT {
        return Err(bad(format!(
            "format {:?}, expected {PROOF_FORMAT:?}",
            proof.format
        )));
    }
    let chain = ChainInfo::from_info_json(&proof.chain.to_string()).map_err(bad)?;
    let builtin = ChainInfo::builtins()
        .into_iter()
        .find(|c| c.hash == chain.hash);
    let beacon = Beacon::from_json(chain.scheme, &proof.beacon.to_string()).map_err(bad)?;
    let verified = ReferenceVerifier::new(&chain)
        .map_err(bad)?
        .verified(beacon)
        .map_err(|e| bad(format!("the beacon does not verify: {e}")))?;
    let bytes = hex::decode(&proof.envelope).map_err(|_| bad("the envelope is not hex"))?;
    let envelope = Envelope::parse(&bytes).map_err(|e| bad(format!("the envelope: {e}")))?;
    let Body::Grid(header) = &envelope.body else {
        return Err(bad("the envelope is not a grid-pad envelope"));
    };
    if header.chain_hash != chain.hash.0 || header.round != verified.round() {
        return Err(bad(format!(
            "the envelope is bound to round {} of chain {}, the beacon is round {} of {}",
            header.round,
            hex::encode(header.chain_hash),
            verified.round(),
            chain.hash.to_hex()
        )));
    }
    let mut mk = [0u8; 32];
    hex::decode_to_slice(&proof.message_key, &mut mk)
        .map_err(|_| bad("the message key is not 32 bytes of hex"))?;
    let plaintext = zks_pad::open_disclosed(&envelope, &mk, &verified.beacon().randomness())
        .map_err(|e| {
            bad(format!(
                "the envelope does not open with this key and round: {e}"
            ))
        })?;
    if plaintext.as_slice() != proof.text.as_bytes() {
        return Err(bad("the envelope holds another text than the one given"));
    }
    let reference = hex::encode(ref_of(&bytes));
    if reference != proof.envelope_ref {
        return Err(bad(format!(
            "the envelope's ref is {reference}, not {}",
            proof.envelope_ref
        )));
    }
    Ok(ProofCheck {
        league_of_entropy: builtin.is_some(),
        chain: builtin.map_or(chain.name.clone(), |c| c.name),
        chain_hash: chain.hash.to_hex(),
        round: verified.round(),
        not_before: chain.time_of_round(verified.round()),
        text: proof.text,
        envelope_ref: reference,
        sent_at: proof.sent_at,
    })
}

impl Node {
    /// A not-before proof for our grid-pad chat message `message_id` (its
    /// round's beacon must be in the beacon cache, where sealing found it).
    pub fn export_proof(&self, message_id: i64) -> Result<NotBeforeProof, NodeError> {
        let (message, disclosed, chains) = self.with_store(|store| {
            let message = store
                .message(message_id)
                .map_err(|_| NodeError::BadInput(format!("there is no message {message_id}")))?;
            Ok((
                message,
                store.message_proof(message_id)?,
                crate::beacons::known_chains(store)?,
            ))
        })?;
        let not_provable = |why: &str| {
            NodeError::BadInput(format!(
                "message {message_id} has no not-before proof: {why}"
            ))
        };
        if !message.outgoing {
            return Err(not_provable(
                "it is not yours (only its sender holds what a proof discloses)",
            ));
        }
        if message.mode != "grid" {
            return Err(not_provable(
                "it was sealed with the one-time pad, which is bound to no round",
            ));
        }
        let Some((envelope, key)) = disclosed else {
            return Err(not_provable(
                "only chat text sent with this release has one, and not after an edit or a delete",
            ));
        };
        let (Some(hash), Some(round)) = (message.chain_hash.as_deref(), message.round) else {
            return Err(not_provable("it is bound to no round"));
        };
        let chain = chains
            .iter()
            .find(|c| c.hash.0[..] == *hash)
            .ok_or_else(|| not_provable("its chain is not known here"))?;
        let beacon = self
            .binding_cache()?
            .get(chain, round)
            .map_err(NodeError::grid)?
            .ok_or_else(|| {
                not_provable(&format!(
                    "round {round} of {} is no longer in the beacon cache (fetch it with zks fetch)",
                    chain.name
                ))
            })?;
        let beacon_json: serde_json::Value = serde_json::from_str(&beacon.beacon().to_json())
            .map_err(|e| NodeError::Corrupt(format!("a beacon's JSON: {e}")))?;
        let chain_json: serde_json::Value = serde_json::from_str(&chain.to_info_json())
            .map_err(|e| NodeError::Corrupt(format!("a chain's JSON: {e}")))?;
        Ok(NotBeforeProof {
            format: PROOF_FORMAT.into(),
            statement: format!(
                "This message was sealed no earlier than round {round} of the drand chain {}: its key is bound to that round's randomness, which did not exist before the round was published. Check it with `zks proof verify`.",
                chain.name
            ),
            chain: chain_json,
            beacon: beacon_json,
            envelope_ref: hex::encode(ref_of(&envelope)),
            envelope: hex::encode(&envelope),
            message_key: hex::encode(&key),
            text: String::from_utf8_lossy(&message.body).into_owned(),
            sent_at: message.created_at,
        })
    }
}
