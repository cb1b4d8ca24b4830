//! What a primary hands a device it links: its contacts (with their
//! device lists) and the history of chat under the grid pad, in parts
//! that each fit one message. Each part is stored by the device in one
//! transaction and acknowledged, and the rest stay in the outbox: a sync
//! cut by a kill goes on where it stopped, and a part seen twice adds
//! nothing (messages are matched by ref).

use zks_store::{ContactRecord, Store};

use super::{key_of, list_of};
use crate::NodeError;
use crate::wire::device::{DeviceWire, MAX_SYNC_ITEMS, SyncContact, SyncMessage};

/// Largest encoded history part (well under a message's 256 KiB).
const PART_BYTES: usize = 96 * 1024;
/// Longest text handed over (hex doubles it; longer ones stay here).
const MAX_BODY: usize = 32 * 1024;

/// A contact as a linked device gets it, with their device list.
pub(crate) fn sync_contact(store: &Store, c: &ContactRecord) -> Result<SyncContact, NodeError> {
    let devices = match key_of(&c.identity_key) {
        Some(key) => list_of(store, &key)?.map(|l| hex::encode(&l.bytes)),
        None => None,
    };
    Ok(SyncContact {
        name: c.name.clone(),
        key: hex::encode(&c.identity_key),
        addresses: c.addresses.clone(),
        safety_code: c.safety_code.clone(),
        verified: c.verified,
        devices,
    })
}

/// The contact list and history parts for a device we link.
pub(crate) fn handover(store: &Store) -> Result<Vec<DeviceWire>, NodeError> {
    let people: Vec<_> = store
        .contacts()?
        .into_iter()
        .filter(|c| c.person_key.is_none())
        .collect();
    let mut contacts = Vec::new();
    for c in &people {
        contacts.push(sync_contact(store, c)?);
    }
    let mut wires = Vec::new();
    for part in contacts.chunks(MAX_SYNC_ITEMS) {
        wires.push(DeviceWire::Contacts(part.to_vec()));
    }
    for c in &people {
        let Some(person) = key_of(&c.identity_key) else {
            continue;
        };
        let mut part: Vec<SyncMessage> = Vec::new();
        let mut size = 0;
        for m in store.messages(c.id)? {
            // Chat under the grid pad only: a pad's messages stay on the
            // device that shares the pad; timelocked and disappearing
            // messages stay where they are.
            let Some(reference) = &m.reference else {
                continue;
            };
            if m.mode != "grid"
                || m.kind != "text"
                || m.opens_at.is_some()
                || m.expires_at.is_some()
                || m.body.len() > MAX_BODY
            {
                continue;
            }
            let item = SyncMessage {
                r#ref: hex::encode(reference),
                outgoing: m.outgoing,
                body: hex::encode(&m.body),
                reply_to: m.reply_to.as_ref().map(hex::encode),
                chain_hash: m.chain_hash.as_ref().map(hex::encode),
                round: m.round,
                created_at: m.created_at,
                edited_at: m.edited_at,
                deleted_at: m.deleted_at,
            };
            let item_size = item.body.len() + 256;
            if !part.is_empty() && (size + item_size > PART_BYTES || part.len() == MAX_SYNC_ITEMS) {
                wires.push(DeviceWire::History {
                    person,
                    messages: std::mem::take(&mut part),
                });
                size = 0;
            }
            size += item_size;
            part.push(item);
        }
        if !part.is_empty() {
            wires.push(DeviceWire::History {
                person,
                messages: part,
            });
        }
    }
    Ok(wires)
}
