//! Linked devices (decision 0072): one person on several devices.
//!
//! Each device keeps its own key (its PeerId); the person's identity is
//! the key of the primary device, the one that links the others. The
//! primary signs the person's device list ([`DeviceList`]) and sends it to
//! its devices and to every contact. A contact's device that learns a new
//! device is introduced to it through the primary (a pairing invite made
//! by the new device, accepted only if its key is in the signed list), so
//! every device of one person has its own pairwise session with every
//! device of another. Sending to a person seals a copy to each of their
//! devices and one to each of ours ([`fan_out`]), in the transaction that
//! stores the message, all naming the ref of the first copy: reactions,
//! edits and deletes then find the same message everywhere. Messages
//! under a true pad are never copied (the pad belongs to one pair of
//! devices). Unlinking is a new list without the device: contacts delete
//! its session and stop sealing to it.

mod link;
mod receive;
mod sync;
#[cfg(test)]
mod tests;

use serde::Serialize;
use zks_store::{ContactRecord, Store};

use crate::content::Outgoing;
use crate::wire::chat::Ref;
use crate::wire::device::{DeviceList, DeviceWire, Key};
use crate::wire::group::GroupWire;
use crate::{Node, NodeError};

pub(crate) use receive::{DeviceNotice, Routed, route};

/// What the nonce of a link code begins with (covered by the invite's
/// signature): a code that links a device is never taken for a pairing
/// invite, nor the other way round.
pub(crate) const LINK_MARK: [u8; 4] = *b"zkDL";

/// Whether an invite is a link code for a device.
pub(crate) fn is_link_code(invite: &zks_pad::Invite) -> bool {
    invite.nonce[..4] == LINK_MARK
}

/// The setting a linked device keeps its person's key in (hex).
const PERSON_SETTING: &str = "device_person";
/// The setting a linked device keeps the primary it joined in (hex)
/// until the primary confirmed it.
const JOINING_SETTING: &str = "device_joining";
/// The setting that says this device was unlinked.
const UNLINKED_SETTING: &str = "device_unlinked";
/// The body of the bookkeeping message a device message leaves.
pub(crate) const DEVICE_BODY: &[u8] = b"device";

/// One device of ours, as Settings → Devices shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceInfo {
    /// Its key (hex): the id the commands take (any unique prefix of 4
    /// digits or more).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The primary device (the identity; it links and unlinks).
    pub primary: bool,
    /// This device.
    pub this_device: bool,
    /// `linked`, or `pending` (joined, waiting for confirmation on the
    /// primary).
    pub state: String,
    /// Unix time it was linked (0 when pending).
    pub added_at: i64,
    /// Unix time a message of it last arrived here; `null` if never (or
    /// this device).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_seen: Option<i64>,
    /// Safety code of the link (pending and linked devices the primary
    /// paired with); empty otherwise.
    pub safety_code: String,
}

/// The names of a contact's other devices that we seal to: in their
/// signed list, with a session here.
pub(crate) fn other_devices(store: &Store, c: &ContactRecord) -> Result<Vec<String>, NodeError> {
    let Some(list) = list_of(store, &c.identity_key)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for row in store.device_rows(&c.identity_key)? {
        if let Some(d) = list
            .devices
            .iter()
            .find(|d| d.key[..] == row.identity_key[..])
            && has_session(store, &row)?
        {
            names.push(d.name.clone());
        }
    }
    Ok(names)
}

/// This device's place among the person's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DevicesView {
    /// `primary` (no device linked to it, or it linked them), `linked`
    /// (linked to a primary), `joining` (waiting for the primary's
    /// confirmation) or `unlinked` (the primary removed it).
    pub role: String,
    /// The devices, the primary first.
    pub devices: Vec<DeviceInfo>,
}

/// Whether an outgoing message goes to the person's other devices too:
/// chat (text, replies, reactions, edits, deletes, the timer) under the
/// grid pad; never a file transfer (pairwise, to one device), a group
/// copy (the group fans out by itself) or a device message.
fn is_copied(out: &Outgoing) -> bool {
    let p = out.plaintext.as_slice();
    out.transfer.is_none()
        && out.group.is_none()
        && !DeviceWire::is_device_message(p)
        && !GroupWire::is_group_message(p)
        && !zks_pad::file::FileMessage::is_file_message(p)
}

/// The person key of this home: ours when we are a primary; the primary's
/// when we are a linked device (or joining one).
pub(crate) fn my_person_key(store: &mut Store) -> Result<Key, NodeError> {
    for setting in [PERSON_SETTING, JOINING_SETTING] {
        if let Some(hex_key) = store.setting::<String>(setting)? {
            return key_of_hex(&hex_key);
        }
    }
    Ok(Node::identity(store)?.0.public_key())
}

/// Whether this home is a linked device (or joining or unlinked one).
pub(crate) fn is_secondary(store: &Store) -> Result<bool, NodeError> {
    Ok(store.setting::<String>(PERSON_SETTING)?.is_some()
        || store.setting::<String>(JOINING_SETTING)?.is_some()
        || store.setting::<bool>(UNLINKED_SETTING)?.unwrap_or(false))
}

fn key_of_hex(text: &str) -> Result<Key, NodeError> {
    hex::decode(text)
        .ok()
        .and_then(|b| Key::try_from(b.as_slice()).ok())
        .ok_or_else(|| NodeError::Corrupt("a stored device key is damaged".into()))
}

fn key_of(bytes: &[u8]) -> Option<Key> {
    Key::try_from(bytes).ok()
}

/// A person's newest device list, if we hold one.
pub(crate) fn list_of(store: &Store, person: &[u8]) -> Result<Option<DeviceList>, NodeError> {
    match store.device_list(person)? {
        // Stored only after its signature was checked.
        Some((_, bytes)) => Ok(DeviceList::parse(&bytes).ok()),
        None => Ok(None),
    }
}

/// Whether a row has a live session (not restored or synced without keys).
fn has_session(store: &Store, row: &ContactRecord) -> Result<bool, NodeError> {
    Ok(!store.session_state(row.id)?.is_empty())
}

/// Whether `row` is a confirmed device of the person `person` (in their
/// signed list).
fn is_listed(store: &Store, person: &[u8], row: &ContactRecord) -> Result<bool, NodeError> {
    Ok(match (list_of(store, person)?, key_of(&row.identity_key)) {
        (Some(list), Some(key)) => list.has(&key),
        _ => false,
    })
}

/// The bookkeeping record of an outgoing device message.
fn device_outgoing(wire: &DeviceWire) -> Outgoing {
    Outgoing {
        plaintext: zeroize::Zeroizing::new(wire.encode()),
        kind: "control",
        body: DEVICE_BODY.to_vec(),
        transfer: None,
        change: None,
        reply_to: None,
        timelock: None,
        group: None,
    }
}

impl Node {
    /// Inside the transaction that stores a message sealed for `record`
    /// (ref `reference`): seals a copy for each other device of that
    /// person and each other device of ours (decision 0072).
    pub(crate) fn device_copies(
        &self,
        store: &mut Store,
        record: &ContactRecord,
        out: &Outgoing,
        reference: &Ref,
        binding: &zks_pad::RoundBinding,
    ) -> Result<(), NodeError> {
        if record.person_key.is_some() || !is_copied(out) {
            return Ok(());
        }
        let Some(person) = key_of(&record.identity_key) else {
            return Ok(());
        };
        let mine = my_person_key(store)?;
        let mut targets = Vec::new();
        for row in store.device_rows(&person)? {
            if has_session(store, &row)? && is_listed(store, &person, &row)? {
                targets.push((
                    row,
                    DeviceWire::Copy {
                        reference: *reference,
                        inner: out.plaintext.to_vec(),
                    },
                ));
            }
        }
        for row in store.device_rows(&mine)? {
            if has_session(store, &row)? && is_listed(store, &mine, &row)? {
                targets.push((
                    row,
                    DeviceWire::Sent {
                        person,
                        reference: *reference,
                        inner: out.plaintext.to_vec(),
                    },
                ));
            }
        }
        for (row, wire) in targets {
            self.seal_grid_in(store, &row, &device_outgoing(&wire), binding, true)?;
        }
        Ok(())
    }

    /// Seals and queues device messages for contact rows, all in one
    /// transaction after `first` ran in it (nothing is queued if any
    /// fails).
    pub(crate) fn send_device_wires(
        &self,
        first: impl FnOnce(&mut Store) -> Result<(), NodeError>,
        wires: impl FnOnce(&mut Store) -> Result<Vec<(ContactRecord, DeviceWire)>, NodeError>,
    ) -> Result<usize, NodeError> {
        let n = self.with_store_mut(|store| {
            store.atomically(|store| {
                first(store)?;
                let wires = wires(store)?;
                if wires.is_empty() {
                    return Ok(0);
                }
                let binding = self.current_binding(store)?;
                for (row, wire) in &wires {
                    self.seal_grid_in(store, row, &device_outgoing(wire), &binding, true)?;
                }
                Ok::<_, NodeError>(wires.len())
            })
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(n)
    }

    /// This device and the person's others, as Settings → Devices shows
    /// them.
    pub fn devices(&self) -> Result<DevicesView, NodeError> {
        self.with_store_mut(|store| {
            let me = Node::identity(store)?.0.public_key();
            let person = my_person_key(store)?;
            let role = if store.setting::<bool>(UNLINKED_SETTING)?.unwrap_or(false) {
                "unlinked"
            } else if store.setting::<String>(PERSON_SETTING)?.is_some() {
                "linked"
            } else if store.setting::<String>(JOINING_SETTING)?.is_some() {
                "joining"
            } else {
                "primary"
            };
            let list = list_of(store, &person)?;
            let rows = store.device_rows(&person)?;
            let last_seen = |store: &Store, key: &[u8]| -> Result<Option<i64>, NodeError> {
                match rows.iter().find(|r| r.identity_key == key) {
                    Some(row) => Ok(store.last_received_at(row.id)?),
                    None => Ok(None),
                }
            };
            let code = |key: &[u8]| {
                rows.iter()
                    .find(|r| r.identity_key == key)
                    .map(|r| r.safety_code.clone())
                    .unwrap_or_default()
            };
            let mut devices = Vec::new();
            match &list {
                Some(list) => {
                    for (i, d) in list.devices.iter().enumerate() {
                        devices.push(DeviceInfo {
                            id: hex::encode(d.key),
                            name: d.name.clone(),
                            primary: i == 0,
                            this_device: d.key == me,
                            state: "linked".into(),
                            added_at: d.added_at as i64,
                            last_seen: if d.key == me {
                                None
                            } else {
                                last_seen(store, &d.key)?
                            },
                            safety_code: code(&d.key),
                        });
                    }
                }
                None => {
                    // Joining: the primary, and this device waiting.
                    if let Some(row) = rows.iter().find(|r| r.identity_key == person) {
                        devices.push(DeviceInfo {
                            id: hex::encode(person),
                            name: pending_name(row),
                            primary: true,
                            this_device: false,
                            state: "linked".into(),
                            added_at: 0,
                            last_seen: store.last_received_at(row.id)?,
                            safety_code: row.safety_code.clone(),
                        });
                    }
                    devices.push(DeviceInfo {
                        id: hex::encode(me),
                        name: this_device_name(store)?,
                        primary: role == "primary",
                        this_device: true,
                        state: if role == "joining" {
                            "pending"
                        } else {
                            "linked"
                        }
                        .into(),
                        added_at: 0,
                        last_seen: None,
                        safety_code: String::new(),
                    });
                }
            }
            // Devices that joined and wait for the primary's confirmation.
            if role == "primary" {
                for row in &rows {
                    let listed = list
                        .as_ref()
                        .is_some_and(|l| key_of(&row.identity_key).is_some_and(|k| l.has(&k)));
                    if !listed {
                        devices.push(DeviceInfo {
                            id: hex::encode(&row.identity_key),
                            name: pending_name(row),
                            primary: false,
                            this_device: false,
                            state: "pending".into(),
                            added_at: 0,
                            last_seen: store.last_received_at(row.id)?,
                            safety_code: row.safety_code.clone(),
                        });
                    }
                }
            }
            Ok(DevicesView {
                role: role.into(),
                devices,
            })
        })
    }
}

/// The name this device goes by: the display name it was given.
fn this_device_name(store: &mut Store) -> Result<String, NodeError> {
    let (_, name) = Node::identity(store)?;
    Ok(if name.trim().is_empty() {
        "this device".into()
    } else {
        name
    })
}

/// The name a device gave (its row is named `<name> (device …)`, or
/// `<name> (primary device)` on a linked one).
fn pending_name(row: &ContactRecord) -> String {
    row.name
        .rsplit_once(" (device")
        .or_else(|| row.name.rsplit_once(" (primary device)"))
        .map(|(n, _)| n.to_owned())
        .unwrap_or_else(|| row.name.clone())
}

/// The row of our own device whose key starts with `id` (4 hex digits at
/// least).
fn own_device_row(store: &Store, person: &Key, id: &str) -> Result<ContactRecord, NodeError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() < 4 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(NodeError::BadInput(format!(
            "{id:?} is not a device id (4 or more hex digits, as `zks devices` shows)"
        )));
    }
    let found: Vec<ContactRecord> = store
        .device_rows(person)?
        .into_iter()
        .filter(|r| hex::encode(&r.identity_key).starts_with(&id))
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one")),
        0 => Err(NodeError::BadInput(format!(
            "no linked or joining device has the id {id}"
        ))),
        _ => Err(NodeError::BadInput(format!(
            "more than one device id starts with {id}; give more digits"
        ))),
    }
}
