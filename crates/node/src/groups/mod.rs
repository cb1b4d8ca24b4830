//! Groups (decision 0071): up to [`MAX_MEMBERS`] people, each message
//! fanned out as one pairwise copy per member over the sessions we already
//! have. A member with whom we share a true pad gets a pad copy, the others
//! a grid-pad copy; what protected each copy is kept and shown per member.
//! No server sees a group.
//!
//! Membership is a set of signed ops ([`crate::wire::group`]). Every member
//! folds the ops it holds in the same order — (lamport, author key, op id)
//! — with the same rules, so members holding the same ops hold the same
//! member list, and concurrent changes by two admins end in the same state
//! everywhere once the ops have spread:
//! - the creator's `create` starts it (the creator is its first admin);
//! - `add`, `remove`, `rename` and `admin` count only when their author is
//!   an admin at that point of the fold; the creator cannot be removed;
//! - `leave` counts when its author is a member; when the last admin
//!   leaves, the remaining member with the smallest key becomes admin;
//! - every op that counts raises the epoch by one.
//!
//! How ops spread: their author sends them to every member before and
//! after the change (so a removed member learns it); an adder also sends
//! the whole log to the new member; and a member that made changes itself
//! sends its whole log to a member it sees appear, so a change made
//! concurrently with an add reaches the new member too.
//!
//! Texts carry a lamport clock (one more than anything the author had seen
//! in the group) and are shown in (lamport, author key, message id) order
//! on every member; a copy that arrives twice is stored once. A member
//! accepts a text only from a member of its current fold, and senders fan
//! out to the members of theirs, so a removed member receives nothing sent
//! after the sender learned of the removal.
//!
//! Here: the types front ends see and membership changes; `fold` the
//! rules; `receive` what arrives; `send` our texts, files and changes and
//! their fan-out; `intro` introductions of members who are not contacts;
//! `view` the messages as shown.

mod fold;
mod intro;
mod receive;
mod send;
#[cfg(test)]
mod tests;
mod view;

use std::collections::BTreeMap;

use rand_core::RngCore;
use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::Mode;
use zks_store::{ContactRecord, GroupChange, GroupRecord, Store};

use crate::content::Outgoing;
use crate::wire::group::{
    Action, GroupId, GroupWire, ID_LEN, Key, MAX_MEMBERS, Op, check_name, group_id,
};
use crate::{Node, NodeError, NodeEvent};

pub(crate) use fold::Fold;
pub(crate) use receive::incoming;
use view::info;

/// A member of a group as front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupMember {
    /// Our contact's name for them, else the name the group gives them.
    pub name: String,
    /// Their PeerId.
    pub peer_id: String,
    /// An admin (may add, remove and rename).
    pub admin: bool,
    /// Us.
    pub me: bool,
    /// They are our contact: our messages reach them. A member who is not
    /// gets nothing from us (pair with them to write to them).
    pub contact: bool,
}

/// A group as front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupInfo {
    /// Its id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// How many changes made it what it is.
    pub epoch: u64,
    /// Its members, admins first, then by name.
    pub members: Vec<GroupMember>,
    /// We are an admin.
    pub admin: bool,
    /// We are a member (else we left or were removed: read only).
    pub member: bool,
    /// Unix time we learned of it.
    pub created_at: i64,
}

/// Where one copy of our group message is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupDelivery {
    /// The member.
    pub name: String,
    /// `sealing`, `queued`, `delivered`, `failed` or `not_sent` (the
    /// member is no contact of ours, or left before it was sealed).
    pub state: String,
    /// `pad` (perfect secrecy) or `grid` (post-quantum), once sealed.
    pub mode: Option<String>,
}

/// The message a group reply quotes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupQuote {
    /// Its id here (`null`: not here).
    pub message_id: Option<i64>,
    /// Its author.
    pub author: String,
    /// The start of its text.
    pub excerpt: String,
}

/// A message of a group as front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupMessage {
    /// Its id here.
    pub id: i64,
    /// Its author.
    pub author: String,
    /// Its author's PeerId.
    pub author_peer_id: String,
    /// Ours.
    pub outgoing: bool,
    /// The text.
    pub text: String,
    /// Unix time stored here.
    pub created_at: i64,
    /// The message it quotes.
    pub quote: Option<GroupQuote>,
    /// A received message: the mode of the copy that brought it.
    pub mode: Option<String>,
    /// Ours: each member's copy.
    pub deliveries: Vec<GroupDelivery>,
    /// The members' reactions.
    pub reactions: Vec<GroupReactionInfo>,
    /// Edited by its author.
    pub edited: bool,
    /// Deleted for everyone by its author (the text is empty).
    pub deleted: bool,
    /// A file shared with the group (its `text` is the file's name).
    pub file: Option<GroupFile>,
}

/// A file shared with a group, as its message shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupFile {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its BLAKE3 hash (hex).
    pub blake3: String,
    /// A received one: our transfer of it from its author (hex id), once
    /// the offer arrived (accept it like any file).
    pub transfer: Option<String>,
}

/// What a `file` group message stores as its body.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
struct FileBody {
    name: String,
    size: u64,
    blake3: String,
}

impl FileBody {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a file body serializes")
    }

    fn decode(body: &[u8]) -> Option<FileBody> {
        serde_json::from_slice(body).ok()
    }
}

/// One member's reaction to a group message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupReactionInfo {
    /// The emoji.
    pub emoji: String,
    /// Who reacted.
    pub by: String,
    /// Ours.
    pub mine: bool,
}

/// What a group message did, acted on after its transaction committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupNotice {
    /// Ops arrived; `appeared` are members we did not know before them.
    Ops {
        /// The group.
        group: GroupId,
        /// Members that appeared.
        appeared: Vec<Key>,
    },
    /// A text, file, reaction, edit or delete arrived.
    Text {
        /// The group.
        group: GroupId,
        /// A new text or file (not a reaction, edit or delete).
        news: bool,
    },
    /// A member who is not our contact sent us a pairing invite through
    /// the group: accept it, naming them `name`.
    Intro {
        /// The invite.
        invite: Vec<u8>,
        /// The group's name for them.
        name: String,
    },
    /// A member's invite for another member who is our contact: pass it on.
    Forward {
        /// The group.
        group: GroupId,
        /// The member it is for.
        to: Key,
        /// The invite.
        invite: Vec<u8>,
    },
}

/// The kind and body pairwise group copies are kept under in the pairwise
/// history (not shown in the conversation).
const COPY_KIND: &str = "control";
const COPY_BODY: &[u8] = b"group";

/// How long an introduction's invite is valid.
const INTRO_VALID_SECS: u64 = 7 * 24 * 3600;
/// How long before a member who did not answer is invited again.
const INTRO_AGAIN_SECS: i64 = 24 * 3600;

/// A stored group: its record, ops and fold.
struct Loaded {
    record: GroupRecord,
    ops: Vec<Op>,
    fold: Fold,
}

/// Ops read back from our store (checked when they arrived).
fn parse_ops(stored: &[Vec<u8>]) -> Vec<Op> {
    stored
        .iter()
        .filter_map(|b| Op::parse_stored(b).ok())
        .collect()
}

fn gid_of(record: &GroupRecord) -> Option<GroupId> {
    record.group_id.as_slice().try_into().ok()
}

fn load(store: &Store, record: GroupRecord) -> Result<Option<Loaded>, NodeError> {
    let Some(id) = gid_of(&record) else {
        return Ok(None);
    };
    let ops = parse_ops(&store.group_ops(record.id)?);
    Ok(Fold::of(&id, ops.clone()).map(|fold| Loaded { record, ops, fold }))
}

/// The live contact (paired, with a session) whose identity key is `key`.
fn contact_with_key(store: &Store, key: &Key) -> Result<Option<ContactRecord>, NodeError> {
    Ok(live_contacts(store)?.remove(key))
}

/// Every live contact (paired, with a session) by identity key.
fn live_contacts(store: &Store) -> Result<BTreeMap<Key, ContactRecord>, NodeError> {
    let mut out = BTreeMap::new();
    for c in store.contacts()? {
        if let Ok(key) = <Key>::try_from(c.identity_key.as_slice())
            && !store.session_state(c.id)?.is_empty()
        {
            out.insert(key, c);
        }
    }
    Ok(out)
}

fn peer_id_text(key: &Key) -> String {
    zks_pad::peer_id_of(key)
        .map(|p| p.to_string())
        .unwrap_or_default()
}

fn bad(message: impl Into<String>) -> NodeError {
    NodeError::BadInput(message.into())
}

impl Node {
    /// Our identity key.
    fn my_key(&self) -> Result<Key, NodeError> {
        self.with_store_mut(|store| Ok(Node::identity(store)?.0.public_key()))
    }

    /// The group named `name` (or whose hex id starts with it, 4 digits at
    /// least).
    fn find_group(&self, store: &Store, name: &str) -> Result<Loaded, NodeError> {
        let mut found = Vec::new();
        for record in store.groups()? {
            let Some(loaded) = load(store, record)? else {
                continue;
            };
            let hex_id = hex::encode(loaded.record.group_id.as_slice());
            if loaded.fold.name == name
                || (name.len() >= 4 && hex_id.starts_with(&name.to_ascii_lowercase()))
            {
                found.push(loaded);
            }
        }
        match found.len() {
            0 => Err(bad(format!("there is no group {name:?}"))),
            1 => Ok(found.pop().expect("one")),
            n => Err(bad(format!(
                "{n} groups are called {name:?}; name one by its id (zks groups)"
            ))),
        }
    }

    /// Every group we are or were in, newest first.
    pub fn groups(&self) -> Result<Vec<GroupInfo>, NodeError> {
        let me = self.my_key()?;
        self.with_store(|store| {
            let mut out = Vec::new();
            for record in store.groups()?.into_iter().rev() {
                if let Some(loaded) = load(store, record)? {
                    out.push(info(store, &me, &loaded)?);
                }
            }
            Ok(out)
        })
    }

    /// One group.
    pub fn group(&self, name: &str) -> Result<GroupInfo, NodeError> {
        let me = self.my_key()?;
        self.with_store(|store| info(store, &me, &self.find_group(store, name)?))
    }

    /// Makes a group named `name` with `members` (contacts' names) and
    /// tells them.
    pub fn create_group(&self, name: &str, members: &[String]) -> Result<GroupInfo, NodeError> {
        check_name(name.trim()).map_err(|e| bad(e.to_string()))?;
        if self.with_store(crate::devices::is_secondary)? {
            return Err(bad(
                "groups live on your primary device in this release; make the group there",
            ));
        }
        let name = name.trim();
        if members.len() + 1 > MAX_MEMBERS {
            return Err(bad(format!(
                "a group has at most {MAX_MEMBERS} members, you included"
            )));
        }
        let (ops, recipients) = self.with_store_mut(|store| {
            let (identity, my_name) = Node::identity(store)?;
            let my_name = if my_name.trim().is_empty() {
                "me".to_owned()
            } else {
                my_name
            };
            let mut chosen: Vec<ContactRecord> = Vec::new();
            for m in members {
                let c = self.live_contact(store, m)?;
                if c.identity_key == identity.public_key() {
                    return Err(bad("you are in the group already"));
                }
                if chosen.iter().any(|o| o.identity_key == c.identity_key) {
                    return Err(bad(format!("{m} is named twice")));
                }
                chosen.push(c);
            }
            let mut nonce = [0u8; ID_LEN];
            rand_core::OsRng.fill_bytes(&mut nonce);
            let gid = group_id(&identity.public_key(), &nonce);
            let sign = |lamport: u64, action: Action| {
                Op::sign(&identity, gid, lamport, action).map_err(|e| bad(e.to_string()))
            };
            let mut ops = vec![sign(
                1,
                Action::Create {
                    nonce,
                    name: name.to_owned(),
                    creator: clip_name(&my_name),
                },
            )?];
            for (i, c) in chosen.iter().enumerate() {
                ops.push(sign(
                    2 + i as u64,
                    Action::Add {
                        member: key_of(c)?,
                        name: clip_name(&c.name),
                    },
                )?);
            }
            store.add_group_ops(&gid, &op_rows(&ops))?;
            Ok((ops, chosen))
        })?;
        let gid = ops[0].group;
        for c in &recipients {
            self.send_ops(&c.name, &gid, &ops)?;
        }
        self.emit(NodeEvent::GroupChanged {
            group: hex::encode(gid),
        });
        self.group(&hex::encode(gid))
    }

    /// Adds contact `contact` to `group` (admins only).
    pub fn group_add(&self, group: &str, contact: &str) -> Result<GroupInfo, NodeError> {
        let added = self.with_store(|store| self.live_contact(store, contact))?;
        let key = key_of(&added)?;
        self.change_group(group, |fold, _| {
            if fold.members.contains_key(&key) {
                return Err(bad(format!("{contact} is in the group already")));
            }
            if fold.members.len() >= MAX_MEMBERS {
                return Err(bad(format!("a group has at most {MAX_MEMBERS} members")));
            }
            Ok(Action::Add {
                member: key,
                name: clip_name(&added.name),
            })
        })
    }

    /// Removes member `member` (a contact's or the group's name for them)
    /// from `group` (admins only).
    pub fn group_remove(&self, group: &str, member: &str) -> Result<GroupInfo, NodeError> {
        self.change_group(group, |fold, store| {
            let key = member_key(store, fold, member)?;
            if key == fold.creator {
                return Err(bad("the group's creator cannot be removed"));
            }
            Ok(Action::Remove { member: key })
        })
    }

    /// Renames `group` (admins only).
    pub fn group_rename(&self, group: &str, name: &str) -> Result<GroupInfo, NodeError> {
        check_name(name.trim()).map_err(|e| bad(e.to_string()))?;
        self.change_group(group, |_, _| {
            Ok(Action::Rename {
                name: name.trim().to_owned(),
            })
        })
    }

    /// Makes member `member` an admin of `group` (admins only).
    pub fn group_admin(&self, group: &str, member: &str) -> Result<GroupInfo, NodeError> {
        self.change_group(group, |fold, store| {
            Ok(Action::Admin {
                member: member_key(store, fold, member)?,
            })
        })
    }

    /// Leaves `group`: the others are told, and we get nothing new from it.
    pub fn group_leave(&self, group: &str) -> Result<GroupInfo, NodeError> {
        self.change_group(group, |_, _| Ok(Action::Leave))
    }

    /// Signs the op `make` returns, stores it and sends it to every member
    /// before and after it (a new member gets the whole log).
    fn change_group(
        &self,
        group: &str,
        make: impl FnOnce(&Fold, &Store) -> Result<Action, NodeError>,
    ) -> Result<GroupInfo, NodeError> {
        let (gid, op, log, before, after) = self.with_store_mut(|store| {
            let (identity, _) = Node::identity(store)?;
            let me = identity.public_key();
            let loaded = self.find_group(store, group)?;
            let fold = &loaded.fold;
            if !fold.members.contains_key(&me) {
                return Err(bad(format!("you are no longer in the group {}", fold.name)));
            }
            let action = make(fold, store)?;
            let admin_only = !matches!(action, Action::Leave);
            if admin_only && !fold.is_admin(&me) {
                return Err(bad(format!("only an admin of {} may change it", fold.name)));
            }
            let lamport = fold.lamport.max(store.group_lamport(loaded.record.id)?) + 1;
            let op =
                Op::sign(&identity, fold.id, lamport, action).map_err(|e| bad(e.to_string()))?;
            let mut log = loaded.ops.clone();
            log.push(op.clone());
            let after = Fold::of(&fold.id, log.clone())
                .ok_or_else(|| NodeError::Corrupt("a group lost its creation".into()))?;
            if after.epoch == fold.epoch {
                return Err(bad("that changes nothing in the group"));
            }
            store.add_group_ops(&fold.id, &op_rows(std::slice::from_ref(&op)))?;
            Ok((fold.id, op, log, fold.clone(), after))
        })?;
        let me = self.my_key()?;
        let mut told = std::collections::BTreeSet::new();
        for key in before.members.keys().chain(after.members.keys()) {
            if *key == me || !told.insert(*key) {
                continue;
            }
            let contact = self.with_store(|store| contact_with_key(store, key))?;
            let Some(contact) = contact else { continue };
            let ops = if before.members.contains_key(key) {
                std::slice::from_ref(&op)
            } else {
                log.as_slice()
            };
            self.send_ops(&contact.name, &gid, ops)?;
        }
        self.emit(NodeEvent::GroupChanged {
            group: hex::encode(gid),
        });
        self.group(&hex::encode(gid))
    }

    /// Seals and queues ops of group `gid` for `contact`.
    fn send_ops(&self, contact: &str, gid: &GroupId, ops: &[Op]) -> Result<(), NodeError> {
        self.send_wire(
            contact,
            &GroupWire::Ops {
                group: *gid,
                ops: ops.to_vec(),
            },
        )
    }

    /// Seals and queues a group message for `contact` (grid pad: ops and
    /// introductions name members and keys, not what anyone says).
    fn send_wire(&self, contact: &str, wire: &GroupWire) -> Result<(), NodeError> {
        self.seal_inner(contact, Mode::Grid, true, |_, _| {
            Ok(copy_outgoing(wire.encode(), None))
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    /// A contact we can write to.
    fn live_contact(&self, store: &Store, name: &str) -> Result<ContactRecord, NodeError> {
        let c = store
            .contact(name)
            .map_err(|_| bad(format!("there is no contact {name:?}")))?;
        if store.session_state(c.id)?.is_empty() {
            return Err(bad(format!(
                "{name} was restored from a backup without keys: pair again first"
            )));
        }
        Ok(c)
    }
}

/// The member of `fold` named `name` (our contact's name or the group's).
fn member_key(store: &Store, fold: &Fold, name: &str) -> Result<Key, NodeError> {
    if let Ok(c) = store.contact(name)
        && let Ok(key) = <Key>::try_from(c.identity_key.as_slice())
        && fold.members.contains_key(&key)
    {
        return Ok(key);
    }
    let named: Vec<&Key> = fold
        .members
        .iter()
        .filter(|(_, m)| m.name == name)
        .map(|(k, _)| k)
        .collect();
    match named.as_slice() {
        [one] => Ok(**one),
        [] => Err(bad(format!("{name} is not a member of {}", fold.name))),
        _ => Err(bad(format!(
            "{} members of {} are called {name}",
            named.len(),
            fold.name
        ))),
    }
}

fn key_of(c: &ContactRecord) -> Result<Key, NodeError> {
    c.identity_key
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::Corrupt("a contact's identity key is damaged".into()))
}

/// A name cut to what an op carries.
fn clip_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > crate::wire::group::MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    if out.trim().is_empty() {
        "someone".into()
    } else {
        out
    }
}

fn op_rows(ops: &[Op]) -> Vec<(Vec<u8>, Vec<u8>)> {
    ops.iter()
        .map(|op| (op.id().to_vec(), op.bytes.clone()))
        .collect()
}

/// A pairwise copy of a group message.
fn copy_outgoing(plaintext: Vec<u8>, group: Option<GroupChange>) -> Outgoing {
    Outgoing {
        plaintext: Zeroizing::new(plaintext),
        kind: COPY_KIND,
        body: COPY_BODY.to_vec(),
        transfer: None,
        change: None,
        reply_to: None,
        timelock: None,
        group,
    }
}
