//! Linking, confirming and unlinking devices, and introducing a new
//! device to the contacts' devices.

use zks_pad::Invite;
use zks_store::{ContactRecord, DeviceInvite, Store};

use super::receive::DeviceNotice;
use super::{
    JOINING_SETTING, PERSON_SETTING, is_secondary, key_of, list_of, my_person_key, own_device_row,
    pending_name, this_device_name,
};
use crate::clock::now_secs;
use crate::pairing::{InviteCode, check_display_name, decode_code_input, free_contact_name};
use crate::wire::device::{Device, DeviceList, DeviceWire, Key, MAX_DEVICES, check_device_name};
use crate::{Node, NodeError, NodeEvent};

/// The name a device's pairing reply gives its row, and the person whose
/// device it is (none: a person's own row).
type ReplyRow = (String, Option<Vec<u8>>);

/// The setting that lists (hex keys) the contacts our device list and
/// our devices know of.
const SHARED_SETTING: &str = "device_shared";
/// How long an introduction invite stays valid.
const INTRO_VALID_SECS: u64 = 7 * 24 * 3600;
/// How long before an unanswered introduction is made again.
const INTRO_AGAIN_SECS: i64 = 24 * 3600;

fn bad(message: impl Into<String>) -> NodeError {
    NodeError::BadInput(message.into())
}

/// Refuses on a device that is not a primary.
fn primary_only(store: &Store, what: &str) -> Result<(), NodeError> {
    if is_secondary(store)? {
        return Err(bad(format!(
            "this device is linked to another; {what} on your primary device"
        )));
    }
    Ok(())
}

/// Every row a device list goes to: each contact with a session and
/// their devices, and our own devices but `except`.
fn list_receivers(store: &Store, except: &[u8]) -> Result<Vec<ContactRecord>, NodeError> {
    let mut out = Vec::new();
    for row in store.contacts()? {
        if row.identity_key != except && !store.session_state(row.id)?.is_empty() {
            out.push(row);
        }
    }
    Ok(out)
}

impl Node {
    /// Makes a code that links a new device to this one (the primary),
    /// valid for `ttl_secs`: the same hybrid exchange as pairing. The new
    /// device runs [`Node::join_device`] with it; it is linked once
    /// [`Node::confirm_device`] confirms it here.
    pub fn link_device(&self, ttl_secs: u64) -> Result<InviteCode, NodeError> {
        self.with_store_mut(|store| {
            primary_only(store, "link devices")?;
            let me = Node::identity(store)?.0.public_key();
            // This device, and every linked or joining one.
            if 1 + store.device_rows(&me)?.len() >= MAX_DEVICES {
                return Err(bad(format!(
                    "a person links at most {MAX_DEVICES} devices; unlink one first"
                )));
            }
            Ok(())
        })?;
        if self.advertised_addresses().is_empty() {
            return Err(bad(
                "this device is not online: start it (`zks daemon` or the app) so the new device can reach it",
            ));
        }
        let code = self.create_invite_marked(None, ttl_secs, Some(super::LINK_MARK))?;
        let invite = Invite::decode(&decode_code_input(code.text.as_bytes())?)?;
        self.with_store_mut(|store| {
            store.add_device_invite(
                &invite.hash(),
                &DeviceInvite {
                    kind: "link".into(),
                    person_key: None,
                    device_key: None,
                    name: String::new(),
                },
            )?;
            Ok(())
        })?;
        Ok(code)
    }

    /// Joins the person whose primary device made `code`, calling this
    /// device `name`. Only a new home (no contacts) may join; the primary
    /// must then confirm the device (comparing the safety code shown on
    /// both), after which it hands over its contacts and history.
    pub fn join_device(&self, code: &[u8], name: &str) -> Result<super::DevicesView, NodeError> {
        let name = check_display_name(name)?;
        check_device_name(&name).map_err(|e| bad(e.to_string()))?;
        let invite = Invite::decode(&decode_code_input(code)?)?;
        if !super::is_link_code(&invite) {
            return Err(bad(
                "this is a pairing invite, not a link code: on your primary device choose \"Link a new device\" (`zks device link`) and use that code",
            ));
        }
        if invite.sender.addresses.is_empty() {
            return Err(bad(
                "this link code has no address; start the primary device (`zks daemon` or the app) and make a new code",
            ));
        }
        let primary = invite.sender.identity_key;
        self.with_store_mut(|store| {
            if is_secondary(store)? {
                return Err(bad("this device is already linked (or joining)"));
            }
            if !store.contacts()?.is_empty() {
                return Err(bad(
                    "only a new home can join as a linked device; this one has contacts",
                ));
            }
            Node::identity(store)?;
            store.set_display_name(&name)?;
            Ok(())
        })?;
        let row_name = format!("{} (primary device)", invite.sender.name);
        self.accept_invite_as(code, Some(&row_name), Some(&primary))?;
        self.with_store_mut(|store| {
            store.set_setting(JOINING_SETTING, &hex::encode(primary))?;
            Ok(())
        })?;
        self.emit(NodeEvent::DevicesChanged);
        self.devices()
    }

    /// Confirms a device that joined with our link code: signs the new
    /// device list, sends it to the device and every contact, and hands
    /// the device our contacts and history — all queued in one
    /// transaction.
    pub fn confirm_device(&self, id: &str) -> Result<super::DevicesView, NodeError> {
        self.send_device_wires(
            |store| {
                primary_only(store, "confirm devices")?;
                Ok(())
            },
            |store| {
                let (identity, _) = Node::identity(store)?;
                let me = identity.public_key();
                let row = own_device_row(store, &me, id)?;
                let key = key_of(&row.identity_key).ok_or_else(|| bad("a damaged device key"))?;
                let (seq, mut devices) = match list_of(store, &me)? {
                    Some(list) if list.has(&key) => {
                        return Err(bad(format!("{} is linked already", pending_name(&row))));
                    }
                    Some(list) => (list.seq, list.devices),
                    None => (
                        0,
                        vec![Device {
                            key: me,
                            name: device_label(&this_device_name(store)?),
                            added_at: now_secs(),
                        }],
                    ),
                };
                devices.push(Device {
                    key,
                    name: device_label(&pending_name(&row)),
                    added_at: now_secs(),
                });
                let list = DeviceList::sign(&identity, seq + 1, devices)
                    .map_err(|e| bad(e.to_string()))?;
                store.put_device_list(&me, list.seq, &list.bytes)?;
                // Everyone we have a session with gets the list now; the
                // device, all of them.
                let mut shared: Vec<String> = Vec::new();
                for c in store.contacts()? {
                    if c.person_key.is_none() && !store.session_state(c.id)?.is_empty() {
                        shared.push(hex::encode(&c.identity_key));
                    }
                }
                store.set_setting(SHARED_SETTING, &shared)?;
                let mut wires = vec![(row.clone(), DeviceWire::List(list.clone()))];
                for wire in super::sync::handover(store)? {
                    wires.push((row.clone(), wire));
                }
                for other in list_receivers(store, &row.identity_key)? {
                    wires.push((other, DeviceWire::List(list.clone())));
                }
                Ok(wires)
            },
        )?;
        self.emit(NodeEvent::DevicesChanged);
        self.devices()
    }

    /// Unlinks one of our devices (or refuses one waiting for
    /// confirmation): the new list goes to every contact and our other
    /// devices, who stop sealing to it; its session is deleted here.
    pub fn remove_device(&self, id: &str) -> Result<super::DevicesView, NodeError> {
        self.send_device_wires(
            |_| Ok(()),
            |store| {
                primary_only(store, "unlink devices")?;
                let (identity, _) = Node::identity(store)?;
                let me = identity.public_key();
                let row = own_device_row(store, &me, id)?;
                let key = key_of(&row.identity_key).ok_or_else(|| bad("a damaged device key"))?;
                store.delete_contact_row(row.id)?;
                let Some(list) = list_of(store, &me)?.filter(|l| l.has(&key)) else {
                    // It was never confirmed: nobody else knows of it.
                    return Ok(Vec::new());
                };
                let devices = list.devices.into_iter().filter(|d| d.key != key).collect();
                let list = DeviceList::sign(&identity, list.seq + 1, devices)
                    .map_err(|e| bad(e.to_string()))?;
                store.put_device_list(&me, list.seq, &list.bytes)?;
                Ok(list_receivers(store, &row.identity_key)?
                    .into_iter()
                    .map(|r| (r, DeviceWire::List(list.clone())))
                    .collect())
            },
        )?;
        self.emit(NodeEvent::DevicesChanged);
        self.devices()
    }

    /// On a primary with linked devices, every 5 seconds: a contact paired
    /// since the devices were linked gets our device list, and our devices
    /// get the contact (and then introduce themselves to them).
    pub(crate) fn share_new_contacts(&self) -> Result<usize, NodeError> {
        self.send_device_wires(
            |_| Ok(()),
            |store| {
                if is_secondary(store)? {
                    return Ok(Vec::new());
                }
                let me = Node::identity(store)?.0.public_key();
                let Some(list) = list_of(store, &me)?.filter(|l| l.devices.len() > 1) else {
                    return Ok(Vec::new());
                };
                let mut shared: Vec<String> = store.setting(SHARED_SETTING)?.unwrap_or_default();
                let mut wires = Vec::new();
                let mut new = Vec::new();
                for c in store.contacts()? {
                    let key = hex::encode(&c.identity_key);
                    if c.person_key.is_some()
                        || shared.contains(&key)
                        || store.session_state(c.id)?.is_empty()
                    {
                        continue;
                    }
                    new.push(super::sync::sync_contact(store, &c)?);
                    wires.push((c, DeviceWire::List(list.clone())));
                    shared.push(key);
                }
                if new.is_empty() {
                    return Ok(Vec::new());
                }
                for d in store.device_rows(&me)? {
                    if key_of(&d.identity_key).is_some_and(|k| list.has(&k))
                        && !store.session_state(d.id)?.is_empty()
                    {
                        wires.push((d, DeviceWire::Contacts(new.clone())));
                    }
                }
                store.set_setting(SHARED_SETTING, &shared)?;
                Ok(wires)
            },
        )
    }

    /// On a linked device: introduces us to each device of each contact we
    /// have no session with yet (again after a day without an answer). The
    /// invite travels through our primary, and the contact's device takes
    /// it only because our key is in our person's signed list.
    pub(crate) fn start_device_intros(&self) -> Result<usize, NodeError> {
        let addresses = self.advertised_addresses();
        let now = now_secs();
        let plan = self.with_store_mut(|store| {
            if store.setting::<String>(PERSON_SETTING)?.is_none() || addresses.is_empty() {
                return Ok(Vec::new());
            }
            let mine = my_person_key(store)?;
            let mut plan: Vec<(Key, Key, String)> = Vec::new();
            for person in store.contacts()? {
                if person.person_key.is_some() {
                    continue;
                }
                let Some(pkey) = key_of(&person.identity_key) else {
                    continue;
                };
                let mut keys = vec![(pkey, person.name.clone())];
                if let Some(list) = list_of(store, &pkey)? {
                    for d in list.devices.iter().skip(1) {
                        keys.push((d.key, format!("{} ({})", person.name, d.name)));
                    }
                }
                for (key, name) in keys {
                    if key == mine {
                        continue;
                    }
                    let met = match store.contact_by_key(&key)? {
                        Some(row) => !store.session_state(row.id)?.is_empty(),
                        None => false,
                    };
                    let recent = store
                        .last_device_intro(&key)?
                        .is_some_and(|at| at + INTRO_AGAIN_SECS > now as i64);
                    if !met && !recent {
                        plan.push((pkey, key, name));
                    }
                }
            }
            Ok::<_, NodeError>(plan)
        })?;
        for (person, device, name) in &plan {
            self.send_device_wires(
                |_| Ok(()),
                |store| {
                    let (hash, invite) =
                        Node::intro_invite(store, &addresses, now + INTRO_VALID_SECS)?;
                    store.add_device_invite(
                        &hash,
                        &DeviceInvite {
                            kind: "intro".into(),
                            person_key: Some(person.to_vec()),
                            device_key: Some(device.to_vec()),
                            name: name.clone(),
                        },
                    )?;
                    let mine = my_person_key(store)?;
                    let primary = store
                        .contact_by_key(&mine)?
                        .ok_or_else(|| bad("this device's primary is not known here"))?;
                    Ok(vec![(
                        primary,
                        DeviceWire::Intro {
                            to: *device,
                            invite,
                        },
                    )])
                },
            )?;
        }
        Ok(plan.len())
    }

    /// What a pairing reply to one of our device invites names its row,
    /// and whose device the row is, checked: `Ok(None)` when the invite is
    /// not one of ours for devices.
    pub(crate) fn device_reply_name(
        &self,
        invite_hash: &[u8],
        sender: &Key,
        their_name: &str,
    ) -> Result<Option<ReplyRow>, NodeError> {
        self.with_store_mut(|store| {
            let Some(invite) = store.device_invite(invite_hash)? else {
                return Ok(None);
            };
            match invite.kind.as_str() {
                "link" => {
                    let name = format!(
                        "{} (device {})",
                        device_label(their_name),
                        &hex::encode(sender)[..8]
                    );
                    let me = Node::identity(store)?.0.public_key();
                    Ok(Some((free_contact_name(store, &name)?, Some(me.to_vec()))))
                }
                _ => {
                    if invite.device_key.as_deref() != Some(&sender[..]) {
                        return Err(bad("this invite was made for another device"));
                    }
                    // A person's own row (synced without a session) keeps
                    // its name: the pairing fills it in.
                    if let Some(row) = store.contact_by_key(sender)? {
                        return Ok(Some((row.name, None)));
                    }
                    let person = invite.person_key.filter(|p| p[..] != sender[..]);
                    Ok(Some((free_contact_name(store, &invite.name)?, person)))
                }
            }
        })
    }

    /// Acts on a device message once its transaction committed.
    pub(crate) fn after_device_message(&self, notice: &DeviceNotice) {
        let result = match notice {
            DeviceNotice::Forward { row, wire } => self
                .send_device_wires(
                    |_| Ok(()),
                    |store| Ok(vec![(store.contact(row)?, wire.clone())]),
                )
                .map(|_| ()),
            DeviceNotice::AcceptIntro {
                invite,
                person,
                name,
            } => self.accept_device_intro(invite, person, name),
            DeviceNotice::StartIntros => {
                self.emit(NodeEvent::DevicesChanged);
                self.start_device_intros().map(|_| ())
            }
            DeviceNotice::DevicesChanged => {
                self.emit(NodeEvent::DevicesChanged);
                Ok(())
            }
            DeviceNotice::Synced { contact } => {
                self.emit(NodeEvent::ConversationSynced {
                    contact: contact.clone(),
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!("a device message could not be acted on: {e}");
        }
    }

    /// Accepts the invite of a contact's new device, as a device of theirs.
    fn accept_device_intro(
        &self,
        invite: &[u8],
        person: &Key,
        name: &str,
    ) -> Result<(), NodeError> {
        let name = self.with_store(|store| free_contact_name(store, name))?;
        let accepted = match self.accept_invite_as(invite, Some(&name), Some(person)) {
            Ok(accepted) => accepted,
            Err(NodeError::BadInput(m)) if m.contains("already accepted") => return Ok(()),
            Err(e) => return Err(e),
        };
        tracing::info!(device = accepted.contact.name, "met a contact's new device");
        self.emit(NodeEvent::DevicesChanged);
        Ok(())
    }
}

/// A display name made fit for a device list.
fn device_label(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return "device".into();
    }
    let mut out = String::new();
    for c in name.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > crate::wire::device::MAX_DEVICE_NAME {
            break;
        }
        out.push(c);
    }
    out
}
