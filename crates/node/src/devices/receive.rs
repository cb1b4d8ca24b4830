//! Which conversation an opened message belongs to, and what device
//! messages do when they arrive (inside the transaction that stores them).

use zks_pad::Mode;
use zks_store::{ContactRecord, Store, SyncedMessage};

use super::{
    JOINING_SETTING, PERSON_SETTING, UNLINKED_SETTING, is_listed, key_of, list_of, my_person_key,
};
use crate::wire::device::{DeviceList, DeviceWire, Key, SyncContact, SyncMessage};
use crate::wire::group::GroupWire;
use crate::{Node, NodeError};

/// What to do once a device message's transaction committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceNotice {
    /// Pass an introduction on to the contact row `row`.
    Forward { row: String, wire: DeviceWire },
    /// Accept a contact's new device's invite, naming it `name`, as a
    /// device of `person`.
    AcceptIntro {
        invite: Vec<u8>,
        person: Key,
        name: String,
    },
    /// Introduce this (newly linked) device to the contacts' devices.
    StartIntros,
    /// Our devices changed (linked, unlinked, a list arrived).
    DevicesChanged,
    /// Messages of the conversation with `contact` arrived from our own
    /// devices (a copy of a sent message, the handed-over history).
    Synced { contact: String },
}

/// Where an opened plaintext goes.
pub(crate) struct Routed {
    /// The conversation that stores it.
    pub conversation: ContactRecord,
    /// What to classify and store (the message a copy carries).
    pub plaintext: Vec<u8>,
    /// The ref every device's copy shares, when it is a copy.
    pub reference: Option<Vec<u8>>,
    /// A copy of a message we sent (from another device of ours).
    pub mine: bool,
    /// A device message already acted on: store only its bookkeeping.
    pub handled: bool,
    /// What to do after the commit.
    pub notice: Option<DeviceNotice>,
}

impl Routed {
    /// The ref to store: the one all copies share, else the envelope's.
    pub(crate) fn reference_or(&self, envelope_hash: &[u8; 32]) -> Vec<u8> {
        self.reference
            .clone()
            .unwrap_or_else(|| envelope_hash[..crate::wire::chat::REF_LEN].to_vec())
    }
}

fn bad(message: impl Into<String>) -> NodeError {
    NodeError::BadInput(message.into())
}

/// The person's own row for a row that may be another device of theirs.
fn person_row(store: &Store, record: &ContactRecord) -> Result<ContactRecord, NodeError> {
    let Some(person) = &record.person_key else {
        return Ok(record.clone());
    };
    match store.contact_by_key(person)? {
        Some(row) if row.person_key.is_none() => Ok(row),
        _ => Err(bad(format!(
            "{} is a device of someone who is not your contact",
            record.name
        ))),
    }
}

/// Whether a plaintext is chat (text or a conversation control), which
/// belongs to the person's conversation whichever of their devices sent it.
fn is_chat(plaintext: &[u8]) -> bool {
    !zks_pad::file::FileMessage::is_file_message(plaintext)
        && !GroupWire::is_group_message(plaintext)
        && !DeviceWire::is_device_message(plaintext)
}

/// Routes a plaintext that arrived over `record`'s session; device
/// messages are checked and acted on here.
pub(crate) fn route(
    store: &mut Store,
    record: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
) -> Result<Routed, NodeError> {
    let mine_person = my_person_key(store)?;
    let own_device = record.person_key.as_deref() == Some(mine_person.as_slice());
    let plain = |conversation: ContactRecord| Routed {
        conversation,
        plaintext: plaintext.to_vec(),
        reference: None,
        mine: false,
        handled: false,
        notice: None,
    };
    if !DeviceWire::is_device_message(plaintext) {
        if own_device {
            return Err(bad(
                "one of your own devices sent a message that is not a device message",
            ));
        }
        if record.person_key.is_some() && is_chat(plaintext) {
            return Ok(plain(person_row(store, record)?));
        }
        // Files and group messages stay with the device that sent them.
        return Ok(plain(record.clone()));
    }
    if mode != Mode::Grid {
        return Err(bad("device messages travel under the grid pad only"));
    }
    let wire = DeviceWire::parse(plaintext).map_err(|e| bad(e.to_string()))?;
    let handled = |record: &ContactRecord, notice: Option<DeviceNotice>| Routed {
        conversation: record.clone(),
        plaintext: Vec::new(),
        reference: None,
        mine: false,
        handled: true,
        notice,
    };
    let from_my_primary = own_device
        && record.identity_key == mine_person
        && store.setting::<String>(PERSON_SETTING)?.is_some();
    match wire {
        DeviceWire::Copy { reference, inner } => {
            if own_device {
                return Err(bad("a copy for another device came from one of your own"));
            }
            if !is_chat(&inner) {
                return Err(bad("a device copy that is not a chat message"));
            }
            let conversation = person_row(store, record)?;
            if store.message_by_ref(conversation.id, &reference)?.is_some() {
                return Err(bad("a device copy of a message this device already has"));
            }
            Ok(Routed {
                conversation,
                plaintext: inner,
                reference: Some(reference.to_vec()),
                mine: false,
                handled: false,
                notice: None,
            })
        }
        DeviceWire::Sent {
            person,
            reference,
            inner,
        } => {
            if !own_device || !is_listed(store, &mine_person, record)? {
                return Err(bad(
                    "a copy of a sent message came from a device that is not one of yours",
                ));
            }
            if !is_chat(&inner) {
                return Err(bad("a device copy that is not a chat message"));
            }
            let conversation = match store.contact_by_key(&person)? {
                Some(row) if row.person_key.is_none() => row,
                _ => {
                    return Err(bad(
                        "a copy of a message sent to someone this device does not know",
                    ));
                }
            };
            if store.message_by_ref(conversation.id, &reference)?.is_some() {
                return Err(bad("a device copy of a message this device already has"));
            }
            let contact = conversation.name.clone();
            Ok(Routed {
                conversation,
                plaintext: inner,
                reference: Some(reference.to_vec()),
                mine: true,
                handled: false,
                notice: Some(DeviceNotice::Synced { contact }),
            })
        }
        DeviceWire::List(list) => {
            let person = list.person;
            if record.identity_key != person && record.person_key.as_deref() != Some(&person[..]) {
                return Err(bad(format!(
                    "{} sent a device list of someone else",
                    record.name
                )));
            }
            let notice = take_list(store, &list, &mine_person)?;
            Ok(handled(record, notice))
        }
        DeviceWire::Intro { to, invite } => {
            let invite_key = zks_pad::Invite::decode(&invite)
                .map_err(|e| bad(format!("a damaged introduction: {e}")))?
                .sender
                .identity_key;
            if own_device {
                if !is_listed(store, &mine_person, record)? || invite_key != record.identity_key[..]
                {
                    return Err(bad(
                        "an introduction from a device that is not a linked device of yours",
                    ));
                }
                let target = store
                    .contact_by_key(&to)?
                    .filter(|row| row.person_key.as_deref() != Some(&mine_person[..]))
                    .ok_or_else(|| bad("an introduction to a device this one does not know"))?;
                let notice = DeviceNotice::Forward {
                    row: target.name,
                    wire: DeviceWire::Intro { to, invite },
                };
                return Ok(handled(record, Some(notice)));
            }
            let me = Node::identity(store)?.0.public_key();
            if to != me {
                return Err(bad("an introduction meant for another device"));
            }
            let person_row = person_row(store, record)?;
            let person = key_of(&person_row.identity_key).ok_or_else(|| bad("a damaged key"))?;
            let list = list_of(store, &person)?;
            let device = list
                .as_ref()
                .and_then(|l| l.devices.iter().find(|d| d.key == invite_key))
                .ok_or_else(|| {
                    bad(format!(
                        "an introduction of a device that is not in {}'s device list",
                        person_row.name
                    ))
                })?;
            if store.contact_by_key(&invite_key)?.is_some() {
                // Met already (the same introduction twice).
                return Ok(handled(record, None));
            }
            let name = format!("{} ({})", person_row.name, device.name);
            Ok(handled(
                record,
                Some(DeviceNotice::AcceptIntro {
                    invite,
                    person,
                    name,
                }),
            ))
        }
        DeviceWire::Contacts(contacts) => {
            if !from_my_primary {
                return Err(bad(
                    "a contact list that did not come from your primary device",
                ));
            }
            for c in &contacts {
                take_contact(store, c, &mine_person)?;
            }
            Ok(handled(record, Some(DeviceNotice::StartIntros)))
        }
        DeviceWire::History { person, messages } => {
            if !from_my_primary {
                return Err(bad("history that did not come from your primary device"));
            }
            let conversation = match store.contact_by_key(&person)? {
                Some(row) if row.person_key.is_none() => row,
                _ => return Err(bad("history with someone this device does not know")),
            };
            let synced = messages
                .iter()
                .map(synced_message)
                .collect::<Result<Vec<_>, _>>()?;
            store.add_synced_messages(conversation.id, &synced)?;
            Ok(handled(
                record,
                Some(DeviceNotice::Synced {
                    contact: conversation.name,
                }),
            ))
        }
    }
}

/// Keeps a newer device list; our own tells us we were linked or
/// unlinked; a contact's drops the devices it no longer names.
fn take_list(
    store: &mut Store,
    list: &DeviceList,
    mine_person: &Key,
) -> Result<Option<DeviceNotice>, NodeError> {
    if !store.put_device_list(&list.person, list.seq, &list.bytes)? {
        return Ok(None);
    }
    if list.person == *mine_person {
        let me = Node::identity(store)?.0.public_key();
        if list.has(&me) {
            store.set_setting(PERSON_SETTING, &hex::encode(list.person))?;
            store.delete_setting(JOINING_SETTING)?;
        } else if store.setting::<String>(PERSON_SETTING)?.is_some() {
            store.set_setting(UNLINKED_SETTING, &true)?;
            store.delete_setting(PERSON_SETTING)?;
        }
    }
    for row in store.device_rows(&list.person)? {
        let listed = key_of(&row.identity_key).is_some_and(|k| list.has(&k));
        if !listed && row.identity_key != list.person {
            store.delete_contact_row(row.id)?;
        }
    }
    Ok(Some(DeviceNotice::DevicesChanged))
}

/// Adds a contact the primary handed over (without a session until our
/// introduction to them completes) and their device list.
fn take_contact(store: &mut Store, c: &SyncContact, mine_person: &Key) -> Result<(), NodeError> {
    let key = hex::decode(&c.key)
        .ok()
        .and_then(|k| Key::try_from(k.as_slice()).ok())
        .ok_or_else(|| bad("a handed-over contact with a damaged key"))?;
    if key == *mine_person {
        return Ok(());
    }
    let peer_id = zks_pad::peer_id_of(&key)
        .map_err(|e| bad(format!("a handed-over contact with a bad key: {e}")))?
        .to_string();
    if c.addresses.len() > 8 {
        return Err(bad("a handed-over contact with too many addresses"));
    }
    if store.contact_by_key(&key)?.is_none() {
        crate::pairing::check_display_name(&c.name)?;
        let name = crate::pairing::free_contact_name(store, &c.name)?;
        store.add_synced_contact(
            &name,
            &peer_id,
            &key,
            &c.addresses,
            &c.safety_code,
            c.verified,
        )?;
    }
    if let Some(hex_list) = &c.devices {
        let bytes = hex::decode(hex_list).map_err(|_| bad("a damaged device list"))?;
        let list = DeviceList::parse(&bytes).map_err(|e| bad(e.to_string()))?;
        if list.person != key {
            return Err(bad("a handed-over contact with someone else's device list"));
        }
        store.put_device_list(&key, list.seq, &list.bytes)?;
    }
    Ok(())
}

fn hex_field(text: &str, len: usize, what: &str) -> Result<Vec<u8>, NodeError> {
    hex::decode(text)
        .ok()
        .filter(|b| len == 0 || b.len() == len)
        .ok_or_else(|| bad(format!("handed-over history with a damaged {what}")))
}

fn synced_message(m: &SyncMessage) -> Result<SyncedMessage, NodeError> {
    let body = hex_field(&m.body, 0, "body")?;
    if body.first() == Some(&0) {
        return Err(bad("handed-over history with a message that is not text"));
    }
    Ok(SyncedMessage {
        message: zks_store::NewMessage {
            outgoing: m.outgoing,
            mode: "grid".into(),
            kind: "text".into(),
            body,
            chain_hash: m
                .chain_hash
                .as_deref()
                .map(|c| hex_field(c, 32, "chain hash"))
                .transpose()?,
            round: m.round,
            reference: Some(hex_field(&m.r#ref, crate::wire::chat::REF_LEN, "ref")?),
            reply_to: m
                .reply_to
                .as_deref()
                .map(|r| hex_field(r, crate::wire::chat::REF_LEN, "reply"))
                .transpose()?,
            ..Default::default()
        },
        created_at: m.created_at,
        edited_at: m.edited_at,
        deleted_at: m.deleted_at,
    })
}
