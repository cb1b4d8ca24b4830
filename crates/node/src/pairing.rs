//! Pairing through codes (text, QR image or file) and the contact list.
//! Network delivery of replies comes with messaging; these calls work offline.

use serde::Serialize;
use zks_pad::{
    Identity, Invite, Paired, PendingInvite, Reply, Role, accept, invite::code_kind, peer_id_of,
};
use zks_qr as qr;
use zks_store::{ContactRecord, NewContact, Store};

use crate::clock::now_secs;
use crate::{Node, NodeError};

/// How long after its expiry an invite's reply is still accepted, so that a
/// reply made just before expiry can be finished.
pub const FINISH_GRACE_SECS: u64 = 24 * 3600;

/// A fresh invite to show or send.
#[derive(Debug, Clone, Serialize)]
pub struct InviteCode {
    /// The `ZKS1:` text form (also what the QR code holds).
    pub text: String,
    /// Unix time after which it is refused.
    pub expires_at: u64,
    /// The name it introduces us by.
    pub name: String,
    /// The invite link's `ZKS1:` text (a QR code of version ≤ 10 that a
    /// camera reads): the full invite is fetched over the network from this
    /// node. `None` when this node has no address to give (not online).
    pub link_text: Option<String>,
}

/// A contact as front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contact {
    /// Local name.
    pub name: String,
    /// libp2p PeerId.
    pub peer_id: String,
    /// Safety code digit groups.
    pub safety_code: String,
    /// Whether the safety code was compared in person and confirmed.
    pub verified: bool,
    /// Addresses the contact gave.
    pub addresses: Vec<String>,
    /// Our role: `initiator` (we showed the invite) or `responder`.
    pub role: String,
    /// The one-time pad shared with this contact, if any.
    pub pad: Option<crate::pads::PadStatus>,
    /// Restored from a backup without keys: pair again before messaging.
    pub needs_pairing: bool,
    /// The disappearing-messages timer: seconds a message lives, 0 = off.
    pub timer_secs: u32,
    /// Who changed the timer last: we (`true`) or the contact.
    pub timer_set_by_me: bool,
    /// When the timer was last changed (Unix seconds, the changer's
    /// clock); `null` if never.
    pub timer_set_at: Option<i64>,
    /// The contact's other linked devices we seal to (decision 0072): the
    /// names their signed device list gives.
    pub devices: Vec<String>,
}

/// The name contacts see in our invites and replies.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DisplayName {
    /// The name (empty until chosen).
    pub name: String,
    /// Whether the person chose it; until then invites are refused and
    /// replies carry no name.
    pub chosen: bool,
}

/// Why an invite without a name is refused before one was chosen.
pub const NAME_NOT_CHOSEN: &str = "choose the name your contacts will see before making an invite";

/// Why marking a contact as verified without a comparison is refused.
pub const NOT_COMPARED: &str = "compare the safety code first: give the code their device shows, or confirm that you compared all 40 digits and they match";

/// Longest display name in characters (also at most this many bytes of
/// UTF-8: the invite's limit).
pub const MAX_DISPLAY_NAME: usize = zks_pad::invite::MAX_NAME;

/// Checks a display name the person typed: trimmed, 1 to
/// [`MAX_DISPLAY_NAME`] characters (and bytes of UTF-8), no control
/// characters (line breaks, tabs, bidirectional-text overrides that could
/// disguise it). Returns it trimmed.
pub fn check_display_name(name: &str) -> Result<String, NodeError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NodeError::BadInput(
            "the name is empty; type the name your contacts should see".into(),
        ));
    }
    if name.chars().count() > MAX_DISPLAY_NAME || name.len() > MAX_DISPLAY_NAME {
        return Err(NodeError::BadInput(format!(
            "the name is too long: at most {MAX_DISPLAY_NAME} characters (and {MAX_DISPLAY_NAME} bytes of UTF-8, fewer characters outside Latin script)"
        )));
    }
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if let Some(c) = name.chars().find(|&c| c.is_control() || bidi(c)) {
        return Err(NodeError::BadInput(format!(
            "the name contains a control character ({}); use letters, digits, spaces and punctuation",
            c.escape_unicode()
        )));
    }
    Ok(name.to_owned())
}

/// The result of accepting an invite: the reply to give back, and the contact.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedInvite {
    /// The reply's `ZKS1:` text form (also its QR content).
    pub reply_text: String,
    /// The new contact.
    pub contact: Contact,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Initiator => "initiator",
        Role::Responder => "responder",
    }
}

/// Turns what a person has (a `ZKS1:` text, a file holding one, a QR code
/// PNG, or raw code bytes) into the code's bytes.
pub fn decode_code_input(input: &[u8]) -> Result<Vec<u8>, NodeError> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if input.starts_with(PNG) {
        return Ok(qr::from_text(&qr::decode_png(input)?)?);
    }
    if code_kind(input).is_some() {
        return Ok(input.to_vec());
    }
    match std::str::from_utf8(input) {
        Ok(text) => Ok(qr::from_text(text)?),
        Err(_) => Err(NodeError::BadInput(
            "this is neither a ZKS1: code, a QR code image (PNG) nor a code file".into(),
        )),
    }
}

impl Node {
    /// This node's identity, created on first use, with the name new
    /// invites and replies introduce us by: the one the person chose, or
    /// empty until they do (nothing from the system is sent silently).
    pub(crate) fn identity(store: &mut Store) -> Result<(Identity, String), NodeError> {
        let (seed, name) = match store.identity()? {
            Some(found) => found,
            None => {
                let fresh = Identity::generate(&mut rand_core::OsRng);
                store.create_identity(fresh.seed(), "")?
            }
        };
        // Homes made before the name was asked for hold the system's user
        // name, never chosen: it is not sent either.
        let name = if store.display_name_chosen()? {
            name
        } else {
            String::new()
        };
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| NodeError::Corrupt("the stored identity is damaged".into()))?;
        let identity = Identity::from_seed(&seed).map_err(|e| NodeError::Corrupt(e.to_string()))?;
        Ok((identity, name))
    }

    /// This node's libp2p identity (the same Ed25519 key as its PeerId).
    pub fn libp2p_keypair(&self) -> Result<zks_pad::libp2p_identity::Keypair, NodeError> {
        self.with_store_mut(|store| Ok(Node::identity(store)?.0.libp2p_keypair()))
    }

    /// This node's PeerId and display name (empty until chosen).
    pub fn whoami(&self) -> Result<(String, String), NodeError> {
        self.with_store_mut(|store| {
            let (identity, name) = Node::identity(store)?;
            Ok((identity.peer_id().to_string(), name))
        })
    }

    /// The name contacts see in our invites and replies, and whether the
    /// person chose it yet (front ends ask for it before pairing).
    pub fn display_name(&self) -> Result<DisplayName, NodeError> {
        self.with_store_mut(|store| {
            let (_, name) = Node::identity(store)?;
            Ok(DisplayName {
                chosen: store.display_name_chosen()?,
                name,
            })
        })
    }

    /// Sets the name contacts see in our new invites and replies (see
    /// [`check_display_name`]); returns it as stored.
    pub fn set_display_name(&self, name: &str) -> Result<DisplayName, NodeError> {
        let name = check_display_name(name)?;
        self.with_store_mut(|store| {
            Node::identity(store)?;
            store.set_display_name(&name)?;
            Ok(DisplayName { name, chosen: true })
        })
    }

    /// Makes an invite valid for `ttl_secs`. `name`, when given, becomes our
    /// display name first (see [`Self::set_display_name`]); without one, a
    /// name must have been chosen before: an invite introduces us by it.
    pub fn create_invite(
        &self,
        name: Option<&str>,
        ttl_secs: u64,
    ) -> Result<InviteCode, NodeError> {
        self.create_invite_marked(name, ttl_secs, None)
    }

    /// [`Self::create_invite`] with its nonce marked `mark` (a link code
    /// for a device: decision 0072).
    pub(crate) fn create_invite_marked(
        &self,
        name: Option<&str>,
        ttl_secs: u64,
        mark: Option<[u8; 4]>,
    ) -> Result<InviteCode, NodeError> {
        let chosen = name.map(check_display_name).transpose()?;
        self.with_store_mut(|store| {
            no_pairing_on_linked_device(store)?;
            let (identity, mut my_name) = Node::identity(store)?;
            if let Some(name) = chosen {
                store.set_display_name(&name)?;
                my_name = name;
            } else if !store.display_name_chosen()? {
                return Err(NodeError::BadInput(NAME_NOT_CHOSEN.into()));
            }
            let expires_at = now_secs().saturating_add(ttl_secs);
            let pending = PendingInvite::create_marked(
                &identity,
                &my_name,
                &self.advertised_addresses(),
                expires_at,
                mark,
                &mut rand_core::OsRng,
            );
            store.add_pending_invite(&pending.invite().hash(), &pending.to_bytes(), expires_at)?;
            Ok(InviteCode {
                text: qr::to_text(pending.invite().as_bytes())?,
                expires_at,
                name: my_name,
                link_text: crate::link::link_text(pending.invite(), &self.advertised_addresses()),
            })
        })
    }

    /// An invite that introduces us through someone both sides trust (a
    /// group member, our primary device), valid until `expires_at`, kept
    /// pending: its hash and bytes.
    pub(crate) fn intro_invite(
        store: &mut Store,
        addresses: &[String],
        expires_at: u64,
    ) -> Result<([u8; 32], Vec<u8>), NodeError> {
        let (identity, my_name) = Node::identity(store)?;
        let my_name = if my_name.trim().is_empty() {
            "someone".to_owned()
        } else {
            my_name
        };
        let pending = PendingInvite::create(
            &identity,
            &my_name,
            addresses,
            expires_at,
            &mut rand_core::OsRng,
        );
        let hash = pending.invite().hash();
        store.add_pending_invite(&hash, &pending.to_bytes(), expires_at)?;
        Ok((hash, pending.invite().as_bytes().to_vec()))
    }

    /// Accepts an invite (any form [`decode_code_input`] takes), adding the
    /// inviter as a contact named `as_name` or by its own name.
    pub fn accept_invite(
        &self,
        input: &[u8],
        as_name: Option<&str>,
    ) -> Result<AcceptedInvite, NodeError> {
        self.with_store(no_pairing_on_linked_device)?;
        if crate::devices::is_link_code(&Invite::decode(&decode_code_input(input)?)?) {
            return Err(NodeError::BadInput(
                "this is a code that links a device to its owner, not a pairing invite; on a new device, join with it (`zks device join`, or Join in the app)".into(),
            ));
        }
        self.accept_invite_as(input, as_name, None)
    }

    /// [`Self::accept_invite`], the new row being another device of the
    /// person `person` (decision 0072) from the moment it exists.
    pub(crate) fn accept_invite_as(
        &self,
        input: &[u8],
        as_name: Option<&str>,
        person: Option<&[u8]>,
    ) -> Result<AcceptedInvite, NodeError> {
        let bytes = decode_code_input(input)?;
        let invite = Invite::decode(&bytes)?;
        self.with_store_mut(|store| {
            if store.invite_used(&invite.hash())? {
                return Err(NodeError::BadInput(
                    "this invite was already accepted; ask for a new one".into(),
                ));
            }
            let (identity, my_name) = Node::identity(store)?;
            let (reply, paired) = accept(
                &invite,
                &identity,
                &my_name,
                &self.advertised_addresses(),
                now_secs(),
                &mut rand_core::OsRng,
            )?;
            let mut record = new_contact(as_name, &paired, Role::Responder)?;
            // The reply also goes to the inviter over the network, first in
            // the outbox, when the invite says where they listen.
            if !paired.peer.addresses.is_empty() {
                record.reply = Some(reply.as_bytes().to_vec());
            }
            let name = record.name.clone();
            let id = complete_as(store, &invite.hash(), &record, person)?;
            let contact = contact_from(store, stored_contact(store, id, &name)?)?;
            Ok(AcceptedInvite {
                reply_text: qr::to_text(reply.as_bytes())?,
                contact,
            })
        })
    }

    /// Finishes a pairing with the reply to one of our invites. The same
    /// reply again (say, scanned after it arrived over the network) gives
    /// the contact it made and changes nothing.
    pub fn finish_pairing(
        &self,
        input: &[u8],
        as_name: Option<&str>,
    ) -> Result<Contact, NodeError> {
        self.finish_pairing_as(input, as_name, None)
    }

    /// [`Self::finish_pairing`], the new row being another device of the
    /// person `person` (decision 0072) from the moment it exists.
    pub(crate) fn finish_pairing_as(
        &self,
        input: &[u8],
        as_name: Option<&str>,
        person: Option<&[u8]>,
    ) -> Result<Contact, NodeError> {
        let bytes = decode_code_input(input)?;
        let reply = Reply::decode(&bytes)?;
        self.with_store_mut(|store| {
            let Some((state, expires_at)) = store.pending_invite(&reply.invite_hash)? else {
                // The same device's reply again (it may have arrived over the
                // network first): the pairing is done, nothing changes.
                if let Some(known) = paired_by(store, &reply)? {
                    return Ok(known);
                }
                let why = if store.invite_used(&reply.invite_hash)? {
                    "the invite this reply answers was already used for a pairing"
                } else {
                    "this reply answers an invite that was not made on this device"
                };
                return Err(NodeError::BadInput(why.into()));
            };
            let now = now_secs();
            if now > expires_at.saturating_add(FINISH_GRACE_SECS) {
                return Err(zks_pad::CodeError::Expired(now - expires_at).into());
            }
            let pending = PendingInvite::from_bytes(&state)?;
            let paired = pending.finish(&reply)?;
            let record = new_contact(as_name, &paired, Role::Initiator)?;
            let name = record.name.clone();
            let id = match complete_as(store, &reply.invite_hash, &record, person) {
                Ok(id) => id,
                // Another process (the daemon, given the same reply over the
                // network) finished it in between: the same answer as above.
                Err(e) => match paired_by(store, &reply)? {
                    Some(known) => return Ok(known),
                    None => return Err(e),
                },
            };
            contact_from(store, stored_contact(store, id, &name)?)
        })
    }

    /// A pairing reply that arrived over the network from `peer`: finishes
    /// the pairing (naming the contact as the reply does) and answers with
    /// the acknowledgement to send back. A reply for a pairing finished
    /// earlier (say, from its text form) is acknowledged as a duplicate.
    pub(crate) fn receive_pairing_reply(&self, bytes: &[u8], peer: &str) -> Vec<u8> {
        let reply = match Reply::decode(bytes) {
            Ok(reply) => reply,
            Err(e) => return format!("err:bad_code: {e}").into_bytes(),
        };
        let from = peer_id_of(&reply.sender.identity_key).map(|p| p.to_string());
        if from.as_deref() != Ok(peer) {
            return b"err:bad_input: this reply was signed by another device".to_vec();
        }
        let known = self.with_store(|store| {
            Ok(store.invite_used(&reply.invite_hash)?
                && store.contacts()?.iter().any(|c| c.peer_id == peer))
        });
        if matches!(known, Ok(true)) {
            return crate::ACK_DUPLICATE.to_vec();
        }
        // An introduction through a group: only the member it was made
        // for may answer, and gets the group's name for them.
        let intro = self.with_store(|store| {
            Ok(match store.group_intro(&reply.invite_hash)? {
                Some((member, name)) => Some((member, free_contact_name(store, &name)?)),
                None => None,
            })
        });
        let as_name = match intro {
            Ok(Some((member, _))) if member != reply.sender.identity_key => {
                return b"err:bad_input: this invite was made for another group member".to_vec();
            }
            Ok(Some((_, name))) => Some(name),
            Ok(None) => None,
            Err(e) => return format!("err:{}: {e}", e.code()).into_bytes(),
        };
        // A device joining us, or one of ours meeting a contact's device
        // (decision 0072): only the device it was made for may answer.
        let (as_name, person) = match self.device_reply_name(
            &reply.invite_hash,
            &reply.sender.identity_key,
            &reply.sender.name,
        ) {
            Ok(Some((name, person))) => (Some(name), person),
            Ok(None) => (as_name, None),
            Err(e) => return format!("err:{}: {e}", e.code()).into_bytes(),
        };
        match self.finish_pairing_as(bytes, as_name.as_deref(), person.as_deref()) {
            Ok(contact) => {
                if person.is_some() {
                    self.emit(crate::NodeEvent::DevicesChanged);
                }
                tracing::info!(contact = contact.name, "pairing finished over the network");
                self.emit(crate::NodeEvent::PairingFinished {
                    contact: contact.name,
                });
                crate::ACK_OK.to_vec()
            }
            Err(e) => format!("err:{}: {e}", e.code()).into_bytes(),
        }
    }

    /// Every contact.
    pub fn contacts(&self) -> Result<Vec<Contact>, NodeError> {
        self.with_store(|store| {
            store
                .contacts()?
                .into_iter()
                // Other devices of a person are no contacts of their own
                // (decision 0072).
                .filter(|c| c.person_key.is_none())
                .map(|c| contact_from(store, c))
                .collect()
        })
    }

    /// Marks a contact as verified after comparing the safety code. The
    /// comparison is required: either `code`, the code the contact's device
    /// shows, which must match, or `compared`, the person's word that they
    /// compared all 40 digits and they match.
    pub fn verify_contact(
        &self,
        name: &str,
        code: Option<&str>,
        compared: bool,
    ) -> Result<Contact, NodeError> {
        self.with_store_mut(|store| {
            let contact = store.contact(name)?;
            match code {
                Some(code) => {
                    let given = zks_pad::SafetyCode::parse(code).ok_or_else(|| {
                        NodeError::BadInput("a safety code is 40 digits (8 groups of 5)".into())
                    })?;
                    if given.to_string() != contact.safety_code {
                        return Err(NodeError::BadInput(format!(
                            "the safety code does not match the one of {name}; do not mark this contact as verified"
                        )));
                    }
                }
                None if !compared => return Err(NodeError::BadInput(NOT_COMPARED.into())),
                None => {}
            }
            store.set_verified(contact.id)?;
            contact_from(store, store.contact(name)?)
        })
    }
}

/// Completes a pairing in one transaction, the new row being another
/// device of `person` when given (decision 0072).
fn complete_as(
    store: &mut Store,
    invite_hash: &[u8],
    record: &NewContact,
    person: Option<&[u8]>,
) -> Result<i64, NodeError> {
    store.atomically(|store| {
        let id = store.complete_pairing(invite_hash, record)?;
        if person.is_some() {
            store.set_person_key(id, person)?;
        }
        Ok(id)
    })
}

/// Pairing happens on a person's primary device (decision 0072): a
/// contact paired on a linked device would be unknown to the others.
fn no_pairing_on_linked_device(store: &Store) -> Result<(), NodeError> {
    if crate::devices::is_secondary(store)? {
        return Err(NodeError::BadInput(
            "this device is linked to your primary device; pair with new contacts there (they reach this device by themselves)".into(),
        ));
    }
    Ok(())
}

/// The contact that `reply`'s device became when its invite was used by
/// it already (the same reply finished twice), if so.
fn paired_by(store: &Store, reply: &Reply) -> Result<Option<Contact>, NodeError> {
    if !store.invite_used(&reply.invite_hash)? {
        return Ok(None);
    }
    let Ok(replier) = peer_id_of(&reply.sender.identity_key).map(|p| p.to_string()) else {
        return Ok(None);
    };
    match store.contacts()?.into_iter().find(|c| c.peer_id == replier) {
        Some(known) => Ok(Some(contact_from(store, known)?)),
        None => Ok(None),
    }
}

/// The contact to store for a finished pairing.
fn new_contact(
    as_name: Option<&str>,
    paired: &Paired,
    role: Role,
) -> Result<NewContact, NodeError> {
    Ok(NewContact {
        name: contact_name(as_name, &paired.peer.name),
        peer_id: peer_id_of(&paired.peer.identity_key)
            .map_err(|e| NodeError::BadInput(e.to_string()))?
            .to_string(),
        identity_key: paired.peer.identity_key.to_vec(),
        addresses: paired.peer.addresses.clone(),
        safety_code: paired.safety_code.to_string(),
        role: role_name(role).into(),
        session_id: paired.session.id().to_vec(),
        session: paired.session.to_bytes().to_vec(),
        rendezvous: Some(paired.rendezvous.to_vec()),
        reply: None,
    })
}

/// `name`, or `name (2)`, `name (3)`… : the first no contact has.
pub(crate) fn free_contact_name(store: &Store, name: &str) -> Result<String, NodeError> {
    let taken: Vec<String> = store.contacts()?.into_iter().map(|c| c.name).collect();
    let base = contact_name(None, name);
    if !taken.contains(&base) {
        return Ok(base);
    }
    Ok((2..)
        .map(|n| format!("{base} ({n})"))
        .find(|n| !taken.contains(n))
        .expect("a free name"))
}

fn contact_name(as_name: Option<&str>, their_name: &str) -> String {
    let chosen = as_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(their_name.trim());
    if chosen.is_empty() {
        "contact".to_owned()
    } else {
        chosen.to_owned()
    }
}

/// The contact a pairing stored (row `id`; a device paired again keeps its
/// earlier name).
fn stored_contact(store: &Store, id: i64, name: &str) -> Result<ContactRecord, NodeError> {
    match store.contacts()?.into_iter().find(|c| c.id == id) {
        Some(c) => Ok(c),
        None => Ok(store.contact(name)?),
    }
}

pub(crate) fn contact_from(store: &Store, c: ContactRecord) -> Result<Contact, NodeError> {
    let pad = store.active_pad(c.id)?.map(|p| crate::pads::status_of(&p));
    let needs_pairing = store.session_state(c.id)?.is_empty();
    let devices = crate::devices::other_devices(store, &c)?;
    Ok(Contact {
        name: c.name,
        peer_id: c.peer_id,
        safety_code: c.safety_code,
        verified: c.verified,
        addresses: c.addresses,
        role: c.role,
        pad,
        needs_pairing,
        timer_secs: c.timer_secs,
        timer_set_by_me: c.timer_set_by_me,
        timer_set_at: (c.timer_set_at > 0).then_some(c.timer_set_at),
        devices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_name_is_trimmed_and_bad_ones_are_refused_clearly() {
        assert_eq!(check_display_name("  Alice B.  ").unwrap(), "Alice B.");
        assert_eq!(check_display_name("Zoë 🙂").unwrap(), "Zoë 🙂");
        let long = "a".repeat(MAX_DISPLAY_NAME);
        assert_eq!(check_display_name(&long).unwrap(), long);
        for (bad, says) in [
            ("", "empty"),
            ("   \t ", "empty"),
            (&*"a".repeat(MAX_DISPLAY_NAME + 1), "too long"),
            // 22 characters but 66 bytes: the invite would cut it.
            (&*"語".repeat(22), "too long"),
            ("Alice\nBob", "control character"),
            ("Al\u{0}ice", "control character"),
            ("Al\u{1b}[31mice", "control character"),
            ("Alice\u{202e}ecilA", "control character"),
        ] {
            let err = check_display_name(bad).unwrap_err();
            assert_eq!(err.code(), "bad_input", "{bad:?}");
            assert!(err.to_string().contains(says), "{bad:?}: {err}");
        }
    }

    #[tokio::test]
    async fn no_invite_before_a_name_is_chosen_and_no_system_name_is_sent() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = crate::test_support::started(&tmp.path().join("alice")).await;
        let bob = crate::test_support::started(&tmp.path().join("bob")).await;
        let fresh = alice.display_name().unwrap();
        assert_eq!(
            fresh,
            DisplayName {
                name: String::new(),
                chosen: false
            }
        );
        let err = alice.create_invite(None, 600).unwrap_err();
        assert_eq!(err.to_string(), NAME_NOT_CHOSEN);
        for bad in ["", "x\ny", &"n".repeat(65)] {
            assert_eq!(alice.set_display_name(bad).unwrap_err().code(), "bad_input");
            assert!(alice.create_invite(Some(bad), 600).is_err(), "{bad:?}");
        }
        assert!(
            !alice.display_name().unwrap().chosen,
            "bad names change nothing"
        );

        let set = alice.set_display_name("  Alice ").unwrap();
        assert_eq!(
            set,
            DisplayName {
                name: "Alice".into(),
                chosen: true
            }
        );
        assert_eq!(alice.whoami().unwrap().1, "Alice");
        let invite = alice.create_invite(None, 600).unwrap();
        assert_eq!(invite.name, "Alice");

        // Bob never chose a name: his reply carries none, so Alice names him.
        let accepted = bob.accept_invite(invite.text.as_bytes(), None).unwrap();
        assert_eq!(accepted.contact.name, "Alice");
        let contact = alice
            .finish_pairing(accepted.reply_text.as_bytes(), None)
            .unwrap();
        assert_eq!(contact.name, "contact");
    }

    #[tokio::test]
    async fn marking_verified_needs_the_matching_code_or_an_explicit_comparison() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = crate::test_support::started(&tmp.path().join("alice")).await;
        let bob = crate::test_support::started(&tmp.path().join("bob")).await;
        let invite = alice.create_invite(Some("Alice"), 600).unwrap();
        let accepted = bob.accept_invite(invite.text.as_bytes(), None).unwrap();
        let bob_at_alice = alice
            .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
            .unwrap();

        let err = alice.verify_contact("Bob", None, false).unwrap_err();
        assert_eq!(err.to_string(), NOT_COMPARED);
        let wrong = "00000 00000 00000 00000 00000 00000 00000 00000";
        assert!(
            alice.verify_contact("Bob", Some(wrong), true).is_err(),
            "a typed code must match"
        );
        assert!(alice.verify_contact("Bob", Some("123"), false).is_err());
        assert!(!alice.contacts().unwrap()[0].verified);

        let verified = alice
            .verify_contact("Bob", Some(&bob_at_alice.safety_code), false)
            .unwrap();
        assert!(verified.verified);
        let by_word = bob.verify_contact("Alice", None, true).unwrap();
        assert!(by_word.verified);
    }
}
