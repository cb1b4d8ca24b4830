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

use std::collections::BTreeMap;

use rand_core::RngCore;
use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::Mode;
use zks_store::{ContactRecord, GroupChange, GroupMessageRecord, GroupRecord, NewGroupText, Store};

use crate::content::{Incoming, Outgoing};
use crate::wire::group::{
    Action, Change, GroupId, GroupWire, ID_LEN, Key, MAX_MEMBERS, Op, check_name, group_id,
};
use crate::{Node, NodeError, NodeEvent};

/// What a member is, at a point of the fold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemberState {
    name: String,
    admin: bool,
}

/// A group's state: what its ops say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fold {
    id: GroupId,
    name: String,
    creator: Key,
    members: BTreeMap<Key, MemberState>,
    epoch: u64,
    /// The highest lamport of its ops.
    lamport: u64,
}

impl Fold {
    /// Folds `ops` (any order, duplicates allowed); `None` without a valid
    /// creation.
    pub(crate) fn of(id: &GroupId, mut ops: Vec<Op>) -> Option<Fold> {
        ops.retain(|op| &op.group == id);
        ops.sort_by_key(|op| (op.lamport, op.author, op.id()));
        ops.dedup_by(|a, b| a.bytes == b.bytes);
        let lamport = ops.iter().map(|op| op.lamport).max().unwrap_or(0);
        let start = ops
            .iter()
            .position(|op| matches!(op.action, Action::Create { .. }))?;
        let Action::Create { name, creator, .. } = &ops[start].action else {
            return None;
        };
        let mut fold = Fold {
            id: *id,
            name: name.clone(),
            creator: ops[start].author,
            members: BTreeMap::from([(
                ops[start].author,
                MemberState {
                    name: creator.clone(),
                    admin: true,
                },
            )]),
            epoch: 1,
            lamport,
        };
        for op in &ops[start + 1..] {
            if fold.apply(op) {
                fold.epoch += 1;
            }
        }
        Some(fold)
    }

    /// Applies one op; whether it counted.
    fn apply(&mut self, op: &Op) -> bool {
        let Some(author) = self.members.get(&op.author).cloned() else {
            return false;
        };
        match &op.action {
            Action::Create { .. } => false,
            Action::Add { member, name } => {
                if !author.admin
                    || self.members.contains_key(member)
                    || self.members.len() >= MAX_MEMBERS
                {
                    return false;
                }
                self.members.insert(
                    *member,
                    MemberState {
                        name: name.clone(),
                        admin: false,
                    },
                );
                true
            }
            Action::Remove { member } => {
                if !author.admin || *member == self.creator || self.members.remove(member).is_none()
                {
                    return false;
                }
                self.keep_an_admin();
                true
            }
            Action::Rename { name } => {
                if !author.admin {
                    return false;
                }
                self.name = name.clone();
                true
            }
            Action::Leave => {
                self.members.remove(&op.author);
                self.keep_an_admin();
                true
            }
            Action::Admin { member } => match self.members.get_mut(member) {
                Some(m) if author.admin && !m.admin => {
                    m.admin = true;
                    true
                }
                _ => false,
            },
        }
    }

    fn keep_an_admin(&mut self) {
        if !self.members.values().any(|m| m.admin)
            && let Some(first) = self.members.values_mut().next()
        {
            first.admin = true;
        }
    }

    fn is_admin(&self, key: &Key) -> bool {
        self.members.get(key).is_some_and(|m| m.admin)
    }
}

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

/// Longest excerpt of a quoted message, in characters.
const EXCERPT_CHARS: usize = 120;
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

/// A group message arriving from `contact`: what to store with it.
pub(crate) fn incoming(
    store: &Store,
    contact: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
) -> Result<Incoming, NodeError> {
    let (seed, _) = store.identity()?.ok_or_else(|| {
        NodeError::Corrupt("a message arrived before this home had an identity".into())
    })?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::Corrupt("the stored identity is damaged".into()))?;
    let me = &zks_pad::Identity::from_seed(&seed)
        .map_err(|e| NodeError::Corrupt(e.to_string()))?
        .public_key();
    let wire =
        GroupWire::parse(plaintext).map_err(|e| bad(format!("a damaged group message: {e}")))?;
    let gid = *wire.group();
    let existing = store
        .groups()?
        .into_iter()
        .find(|g| g.group_id.as_slice() == gid);
    let known: Vec<Op> = match &existing {
        Some(g) => parse_ops(&store.group_ops(g.id)?),
        None => Vec::new(),
    };
    let before = Fold::of(&gid, known.clone());
    let sender: Key = contact
        .identity_key
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::Corrupt("a contact's identity key is damaged".into()))?;
    let mut incoming = Incoming {
        kind: COPY_KIND,
        body: COPY_BODY.to_vec(),
        transfer: None,
        notice: None,
        change: None,
        reply_to: None,
        timelock: None,
        group: None,
        group_change: None,
    };
    match wire {
        GroupWire::Ops { ops, .. } => {
            let new: Vec<Op> = ops
                .into_iter()
                .filter(|op| !known.iter().any(|k| k.bytes == op.bytes))
                .collect();
            let mut all = known;
            all.extend(new.iter().cloned());
            let Some(after) = Fold::of(&gid, all) else {
                return Err(bad(
                    "group changes without the group's creation (the group is unknown here)",
                ));
            };
            // A group we are not in and never were is none of our business
            // (a contact cannot make us hold strangers' groups).
            if !after.members.contains_key(me)
                && !before.as_ref().is_some_and(|b| b.members.contains_key(me))
            {
                return Err(bad("changes of a group you are not in"));
            }
            let appeared = after
                .members
                .keys()
                .filter(|k| *k != me && before.as_ref().is_none_or(|b| !b.members.contains_key(*k)))
                .copied()
                .collect();
            incoming.group_change = Some(GroupChange::Ops {
                group_id: gid.to_vec(),
                ops: new
                    .iter()
                    .map(|op| (op.id().to_vec(), op.bytes.clone()))
                    .collect(),
            });
            incoming.group = Some(GroupNotice::Ops {
                group: gid,
                appeared,
            });
        }
        GroupWire::Text {
            id,
            lamport,
            reply,
            text,
            ..
        } => {
            member_fold(before.as_ref(), me, &sender, contact)?;
            if std::str::from_utf8(&text).is_err() {
                return Err(bad("a group message's text is not UTF-8"));
            }
            let reply = reply.map(|(a, m)| (a.to_vec(), m.to_vec()));
            let m = Received::new(&sender, mode, id, lamport, "text", text);
            incoming.group_change = Some(m.with(reply, None).into_change(&gid));
            incoming.group = Some(GroupNotice::Text {
                group: gid,
                news: true,
            });
        }
        GroupWire::File {
            id,
            lamport,
            size,
            blake3,
            name,
            ..
        } => {
            member_fold(before.as_ref(), me, &sender, contact)?;
            let body = FileBody {
                name: crate::content::safe_file_name(&name),
                size,
                blake3: hex::encode(blake3),
            }
            .encode();
            let m = Received::new(&sender, mode, id, lamport, "file", body);
            incoming.group_change = Some(m.into_change(&gid));
            incoming.group = Some(GroupNotice::Text {
                group: gid,
                news: true,
            });
        }
        GroupWire::Change {
            id,
            lamport,
            target,
            change,
            ..
        } => {
            member_fold(before.as_ref(), me, &sender, contact)?;
            let (kind, body) = match change {
                Change::React(emoji) => (
                    "react",
                    emoji
                        .map(|e| crate::wire::chat::check_emoji(&e))
                        .transpose()
                        .map_err(|e| bad(e.to_string()))?
                        .unwrap_or_default()
                        .into_bytes(),
                ),
                Change::Edit(text) => {
                    if std::str::from_utf8(&text).is_err() {
                        return Err(bad("a group edit's text is not UTF-8"));
                    }
                    ("edit", text)
                }
                Change::Delete => ("delete", Vec::new()),
            };
            if kind != "react" && target.0 != sender {
                return Err(bad(format!(
                    "{} may only edit or delete their own group messages",
                    contact.name
                )));
            }
            let target = Some((target.0.to_vec(), target.1.to_vec()));
            let m = Received::new(&sender, mode, id, lamport, kind, body);
            incoming.group_change = Some(m.with(None, target).into_change(&gid));
            incoming.group = Some(GroupNotice::Text {
                group: gid,
                news: false,
            });
        }
        GroupWire::Intro { to, invite, .. } => {
            let Some(fold) = before else {
                return Err(bad("an introduction for a group unknown here"));
            };
            if !fold.members.contains_key(&sender) {
                return Err(bad(format!(
                    "{} is not a member of the group {}",
                    contact.name, fold.name
                )));
            }
            let from = zks_pad::Invite::decode(&invite)
                .map_err(|e| bad(format!("a damaged introduction: {e}")))?
                .sender
                .identity_key;
            let (Some(inviter), true) = (fold.members.get(&from), fold.members.contains_key(&to))
            else {
                return Err(bad(
                    "an introduction between people who are not both in the group",
                ));
            };
            if from == to {
                return Err(bad("an introduction of a member to themselves"));
            }
            incoming.group = Some(if &to == me {
                GroupNotice::Intro {
                    invite,
                    name: inviter.name.clone(),
                }
            } else {
                GroupNotice::Forward {
                    group: gid,
                    to,
                    invite,
                }
            });
        }
    }
    Ok(incoming)
}

/// The group a member's message is for, refused unless both we and the
/// sender (`contact`, whose key is `sender`) are members of it here.
fn member_fold<'a>(
    before: Option<&'a Fold>,
    me: &Key,
    sender: &Key,
    contact: &ContactRecord,
) -> Result<&'a Fold, NodeError> {
    let Some(fold) = before else {
        return Err(bad("a message to a group unknown here"));
    };
    if !fold.members.contains_key(me) {
        return Err(bad(format!(
            "a message to the group {}, which you are no longer in",
            fold.name
        )));
    }
    if !fold.members.contains_key(sender) {
        return Err(bad(format!(
            "{} is not a member of the group {}",
            contact.name, fold.name
        )));
    }
    Ok(fold)
}

/// A member's group message as it is stored here.
struct Received(GroupMessageRecord);

impl Received {
    fn new(
        sender: &Key,
        mode: Mode,
        id: [u8; ID_LEN],
        lamport: u64,
        kind: &str,
        body: Vec<u8>,
    ) -> Received {
        Received(GroupMessageRecord {
            id: 0,
            group_row: 0,
            msg_id: id.to_vec(),
            author: sender.to_vec(),
            outgoing: false,
            lamport,
            body,
            reply: None,
            mode: Some(crate::content::mode_name(mode).into()),
            created_at: 0,
            kind: kind.into(),
            target: None,
            edited_at: None,
            deleted_at: None,
        })
    }

    /// With the message it quotes and the one it changes.
    fn with(
        mut self,
        reply: Option<(Vec<u8>, Vec<u8>)>,
        target: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Received {
        self.0.reply = reply;
        self.0.target = target;
        self
    }

    fn into_change(self, gid: &GroupId) -> GroupChange {
        GroupChange::Text {
            group_id: gid.to_vec(),
            message: Box::new(self.0),
        }
    }
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

    /// Introduces us to the members of `gid` who are not our contacts
    /// (decision 0071): for each whose key is greater than ours (so only
    /// one of two makes an invite), at most once a day, a pairing invite
    /// travels to them through members who are our contacts — the one who
    /// added them first. They accept it by themselves if it comes from a
    /// member of the group, and their reply comes back over the network;
    /// we finish only a reply signed by that member's key.
    pub(crate) fn start_intros(&self, gid: &GroupId) -> Result<usize, NodeError> {
        let me = self.my_key()?;
        let now = crate::clock::now_secs();
        let plan = self.with_store(|store| {
            let Some(record) = store
                .groups()?
                .into_iter()
                .find(|g| g.group_id.as_slice() == gid)
            else {
                return Ok(Vec::new());
            };
            let Some(loaded) = load(store, record)? else {
                return Ok(Vec::new());
            };
            if !loaded.fold.members.contains_key(&me) {
                return Ok(Vec::new());
            }
            let mut plan = Vec::new();
            for (key, member) in &loaded.fold.members {
                if *key <= me || contact_with_key(store, key)?.is_some() {
                    continue;
                }
                if store
                    .last_group_intro(key)?
                    .is_some_and(|at| at + INTRO_AGAIN_SECS > now as i64)
                {
                    continue;
                }
                // Who can carry it: the member who added them, else every
                // member who is our contact.
                let adder = loaded.ops.iter().find_map(|op| match &op.action {
                    Action::Add { member, .. } if member == key => Some(op.author),
                    _ => None,
                });
                let mut relays = Vec::new();
                if let Some(adder) = adder
                    && let Some(c) = contact_with_key(store, &adder)?
                {
                    relays.push(c.name);
                }
                if relays.is_empty() {
                    for k in loaded.fold.members.keys() {
                        if let Some(c) = contact_with_key(store, k)? {
                            relays.push(c.name);
                        }
                    }
                }
                if !relays.is_empty() {
                    plan.push((*key, member.name.clone(), relays));
                }
            }
            Ok(plan)
        })?;
        let addresses = self.advertised_addresses();
        if addresses.is_empty() {
            // Their reply could not reach us: wait until we are online.
            return Ok(0);
        }
        for (key, name, relays) in &plan {
            let invite = self.with_store_mut(|store| {
                let (identity, my_name) = Node::identity(store)?;
                let my_name = if my_name.trim().is_empty() {
                    "someone".to_owned()
                } else {
                    my_name
                };
                let expires_at = now + INTRO_VALID_SECS;
                let pending = zks_pad::PendingInvite::create(
                    &identity,
                    &my_name,
                    &addresses,
                    expires_at,
                    &mut rand_core::OsRng,
                );
                let hash = pending.invite().hash();
                store.add_pending_invite(&hash, &pending.to_bytes(), expires_at)?;
                store.add_group_intro(&hash, key, name)?;
                Ok(pending.invite().as_bytes().to_vec())
            })?;
            let wire = GroupWire::Intro {
                group: *gid,
                to: *key,
                invite,
            };
            for relay in relays {
                self.send_wire(relay, &wire)?;
            }
        }
        Ok(plan.len())
    }

    /// Accepts a group member's invite that came through the group, naming
    /// them `name` (made unique); their reply goes back over the network.
    fn accept_intro(&self, invite: &[u8], name: &str) -> Result<(), NodeError> {
        let key = zks_pad::Invite::decode(invite)?.sender.identity_key;
        if self
            .with_store(|store| contact_with_key(store, &key))?
            .is_some()
        {
            return Ok(());
        }
        let name = self.with_store(|store| crate::pairing::free_contact_name(store, name))?;
        match self.accept_invite(invite, Some(&name)) {
            Ok(accepted) => {
                tracing::info!(
                    contact = accepted.contact.name,
                    "paired with a group member"
                );
                self.emit(NodeEvent::PairingFinished {
                    contact: accepted.contact.name,
                });
                Ok(())
            }
            // The same invite through a second member.
            Err(NodeError::BadInput(m)) if m.contains("already accepted") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends `text` to `group` (quoting its message `reply_to`): stored
    /// here with one copy per member, then sealed for each (a pad copy to
    /// a member we share a true pad with, a grid-pad copy to the others).
    pub fn group_send(
        &self,
        group: &str,
        text: &[u8],
        reply_to: Option<i64>,
    ) -> Result<GroupMessage, NodeError> {
        Outgoing::text(text)?;
        if std::str::from_utf8(text).is_err() {
            return Err(bad("a group message must be UTF-8 text"));
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(bad("the message is empty"));
        }
        let id = self.fan_out(group, |store, loaded| {
            let reply = match reply_to {
                None => None,
                Some(r) => {
                    let quoted = store
                        .group_message(r)?
                        .filter(|m| m.group_row == loaded.record.id && is_shown(&m.kind))
                        .ok_or_else(|| bad(format!("the group has no message {r}")))?;
                    if quoted.deleted_at.is_some() {
                        return Err(bad(format!(
                            "message {r} was deleted; there is nothing to quote"
                        )));
                    }
                    Some((quoted.author, quoted.msg_id))
                }
            };
            Ok(("text", text.to_vec(), reply, None))
        })?;
        self.group_message_info(id)
    }

    /// Shares the file at `path` with `group`: each member who is our
    /// contact gets it as a pairwise transfer (under the pair's true pad
    /// when one is imported and has room, else the grid pad), and the group
    /// shows it as one message. Members accept it as any file.
    pub fn group_send_file(
        &self,
        group: &str,
        path: &std::path::Path,
    ) -> Result<GroupMessage, NodeError> {
        let me = self.my_key()?;
        let recipients = self.with_store(|store| {
            let loaded = self.find_group(store, group)?;
            if !loaded.fold.members.contains_key(&me) {
                return Err(bad(format!(
                    "you are no longer in the group {}",
                    loaded.fold.name
                )));
            }
            let live = live_contacts(store)?;
            let mut out = Vec::new();
            for key in loaded.fold.members.keys().filter(|k| **k != me) {
                if let Some(c) = live.get(key) {
                    out.push((c.name.clone(), store.active_pad(c.id)?.is_some()));
                }
            }
            Ok(out)
        })?;
        if recipients.is_empty() {
            return Err(bad(
                "no member of this group is your contact yet; nothing would reach anyone",
            ));
        }
        let mut offered = None;
        for (contact, has_pad) in &recipients {
            let sent = if *has_pad {
                self.send_file(contact, path, Mode::Pad)
                    .or_else(|_| self.send_file(contact, path, Mode::Grid))
            } else {
                self.send_file(contact, path, Mode::Grid)
            };
            match sent {
                Ok(t) => offered = offered.or(Some(t)),
                // A bad file fails the same for everyone: stop at the first.
                Err(e) if offered.is_none() => return Err(e),
                Err(e) => tracing::warn!("cannot offer the file to {contact}: {e}"),
            }
        }
        let offered = offered.expect("at least one offer");
        let id = self.fan_out(group, |_, _| {
            Ok((
                "file",
                FileBody {
                    name: offered.name.clone(),
                    size: offered.size,
                    blake3: offered.blake3.clone(),
                }
                .encode(),
                None,
                None,
            ))
        })?;
        self.group_message_info(id)
    }

    /// Sets our reaction to group message `message_id` (`None` takes it
    /// back), for every member.
    pub fn group_react(
        &self,
        message_id: i64,
        emoji: Option<&str>,
    ) -> Result<GroupMessage, NodeError> {
        let emoji = emoji
            .map(|e| crate::wire::chat::check_emoji(e.trim()))
            .transpose()
            .map_err(|e| bad(e.to_string()))?;
        let group = self.group_of_message(message_id)?;
        self.fan_out(&group, |store, loaded| {
            let target = self.target_of(store, loaded, message_id, None)?;
            Ok((
                "react",
                emoji.unwrap_or_default().into_bytes(),
                None,
                Some(target),
            ))
        })?;
        self.group_message_info(message_id)
    }

    /// Replaces the text of our group message `message_id` (sent less
    /// than 24 hours ago) at every member.
    pub fn group_edit(&self, message_id: i64, text: &[u8]) -> Result<GroupMessage, NodeError> {
        Outgoing::text(text)?;
        if std::str::from_utf8(text).is_err() || text.iter().all(u8::is_ascii_whitespace) {
            return Err(bad("the new text is empty or not UTF-8"));
        }
        let group = self.group_of_message(message_id)?;
        self.fan_out(&group, |store, loaded| {
            let target = self.target_of(store, loaded, message_id, Some("edit"))?;
            Ok(("edit", text.to_vec(), None, Some(target)))
        })?;
        self.group_message_info(message_id)
    }

    /// Deletes our group message `message_id` (sent less than 24 hours
    /// ago) for every member.
    pub fn group_delete(&self, message_id: i64) -> Result<GroupMessage, NodeError> {
        let group = self.group_of_message(message_id)?;
        self.fan_out(&group, |store, loaded| {
            let target = self.target_of(store, loaded, message_id, Some("delete"))?;
            Ok(("delete", Vec::new(), None, Some(target)))
        })?;
        self.group_message_info(message_id)
    }

    /// The group (hex id) of message `message_id`.
    fn group_of_message(&self, message_id: i64) -> Result<String, NodeError> {
        self.with_store(|store| {
            store
                .group_message(message_id)?
                .filter(|m| is_shown(&m.kind))
                .ok_or_else(|| bad(format!("there is no group message {message_id}")))?;
            Ok(())
        })?;
        self.group_hex_of(message_id)
    }

    /// The (author, id) of text `message_id` of `loaded`; with `own`, it
    /// must be ours, recent and not deleted (what `own` names is refused
    /// otherwise).
    fn target_of(
        &self,
        store: &Store,
        loaded: &Loaded,
        message_id: i64,
        own: Option<&str>,
    ) -> Result<(Vec<u8>, Vec<u8>), NodeError> {
        let m = store
            .group_message(message_id)?
            .filter(|m| m.group_row == loaded.record.id && is_shown(&m.kind))
            .ok_or_else(|| bad(format!("there is no group message {message_id}")))?;
        if m.deleted_at.is_some() {
            return Err(bad(format!("message {message_id} was deleted")));
        }
        if own == Some("edit") && m.kind != "text" {
            return Err(bad(format!(
                "message {message_id} is a file; only a text can be edited"
            )));
        }
        if let Some(what) = own {
            if !m.outgoing {
                return Err(bad(format!(
                    "only its sender may {what} message {message_id}"
                )));
            }
            let age = crate::clock::now_secs().saturating_sub(m.created_at.max(0) as u64);
            if age > crate::wire::chat::EDIT_WINDOW_SECS {
                return Err(bad(format!(
                    "message {message_id} was sent more than 24 hours ago; it can no longer be changed for everyone"
                )));
            }
        }
        Ok((m.author, m.msg_id))
    }

    /// Stores what `make` returns (kind, body, quoted, target) as our
    /// group message with one pending copy per other member, in one
    /// transaction, then seals the copies; returns its row.
    #[allow(clippy::type_complexity)]
    fn fan_out(
        &self,
        group: &str,
        make: impl FnOnce(
            &Store,
            &Loaded,
        ) -> Result<
            (
                &'static str,
                Vec<u8>,
                Option<(Vec<u8>, Vec<u8>)>,
                Option<(Vec<u8>, Vec<u8>)>,
            ),
            NodeError,
        >,
    ) -> Result<i64, NodeError> {
        let me = self.my_key()?;
        let (id, gid) = self.with_store_mut(|store| {
            let loaded = self.find_group(store, group)?;
            let fold = &loaded.fold;
            if !fold.members.contains_key(&me) {
                return Err(bad(format!("you are no longer in the group {}", fold.name)));
            }
            let (kind, body, reply, target) = make(store, &loaded)?;
            let live = live_contacts(store)?;
            let copies = fold
                .members
                .keys()
                .filter(|k| **k != me)
                .map(|key| (key.to_vec(), live.get(key).map(|c| c.id)))
                .collect();
            let mut msg_id = [0u8; ID_LEN];
            rand_core::OsRng.fill_bytes(&mut msg_id);
            let lamport = fold.lamport.max(store.group_lamport(loaded.record.id)?) + 1;
            let id = store.add_group_text(
                loaded.record.id,
                &NewGroupText {
                    msg_id: msg_id.to_vec(),
                    author: me.to_vec(),
                    lamport,
                    body,
                    reply,
                    kind: kind.into(),
                    target,
                    copies,
                },
            )?;
            Ok((id, hex::encode(fold.id)))
        })?;
        self.seal_group_copies()?;
        self.emit(NodeEvent::GroupMessage {
            group: gid,
            from: None,
        });
        Ok(id)
    }

    /// Seals every copy of our group messages not sealed yet (after a
    /// crash, the ones the fan-out did not reach); returns how many.
    pub fn seal_group_copies(&self) -> Result<usize, NodeError> {
        let mut sealed = 0;
        loop {
            let pending = self.with_store(|store| Ok(store.pending_group_copies(64)?))?;
            if pending.is_empty() {
                break;
            }
            // Each group's fold once per batch, not once per copy.
            let mut folds: BTreeMap<i64, Option<Fold>> = BTreeMap::new();
            for copy in pending {
                let (contact, member_now) = self.with_store(|store| {
                    let contact = store.contact_by_id(copy.contact_id).ok();
                    let fold = match folds.entry(copy.message.group_row) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => {
                            let ops = parse_ops(&store.group_ops(copy.message.group_row)?);
                            e.insert(
                                <GroupId>::try_from(copy.group_id.as_slice())
                                    .ok()
                                    .and_then(|gid| Fold::of(&gid, ops)),
                            )
                        }
                    };
                    let key: Option<Key> = copy.member.as_slice().try_into().ok();
                    let member = fold
                        .as_ref()
                        .zip(key)
                        .is_some_and(|(f, k)| f.members.contains_key(&k));
                    Ok((contact, member))
                })?;
                let Some(contact) = contact.filter(|_| member_now) else {
                    self.with_store_mut(|store| {
                        Ok(store.drop_group_copy(copy.message.id, &copy.member)?)
                    })?;
                    continue;
                };
                let Some(wire) = wire_of(&copy.group_id, &copy.message) else {
                    self.with_store_mut(|store| {
                        Ok(store.drop_group_copy(copy.message.id, &copy.member)?)
                    })?;
                    continue;
                };
                let wire = wire.encode();
                let change = GroupChange::Copy {
                    group_message: copy.message.id,
                    member: copy.member.clone(),
                };
                let has_pad =
                    self.with_store(|store| Ok(store.active_pad(contact.id)?.is_some()))?;
                let pad = has_pad.then(|| {
                    self.seal_inner(&contact.name, Mode::Pad, true, |_, _| {
                        Ok(copy_outgoing(wire.clone(), Some(change.clone())))
                    })
                });
                let sealed_elsewhere = || {
                    self.with_store(|store| {
                        Ok(store.group_copy_sealed(copy.message.id, &copy.member)?)
                    })
                    .unwrap_or(true)
                };
                match pad {
                    Some(Ok(_)) => {}
                    // Another process sealed it meanwhile.
                    Some(Err(_)) if sealed_elsewhere() => continue,
                    // No pad, or not enough of it left: the grid pad.
                    _ => {
                        if let Some(Err(e)) = &pad {
                            tracing::info!(
                                "a group copy for {} goes by the grid pad: {e}",
                                contact.name
                            );
                        }
                        if let Err(e) = self.seal_inner(&contact.name, Mode::Grid, true, |_, _| {
                            Ok(copy_outgoing(wire.clone(), Some(change.clone())))
                        }) {
                            if sealed_elsewhere() {
                                continue;
                            }
                            tracing::warn!("cannot seal a group copy for {}: {e}", contact.name);
                            self.with_store_mut(|store| {
                                Ok(store.drop_group_copy(copy.message.id, &copy.member)?)
                            })?;
                            continue;
                        }
                    }
                }
                sealed += 1;
            }
        }
        if sealed > 0 {
            self.inner.outbox_wake.notify_one();
        }
        Ok(sealed)
    }

    /// Every 5 seconds until the node stops: seals group copies a crash
    /// left unsealed (another process's fan-out too), and introduces us to
    /// members who are not our contacts yet (again after a day without
    /// an answer).
    pub(crate) async fn group_copy_loop(self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.seal_group_copies() {
                tracing::warn!("cannot seal group copies: {e}");
            }
            let groups = self.with_store(|store| Ok(store.groups()?));
            for g in groups.unwrap_or_default() {
                if let Some(gid) = gid_of(&g)
                    && let Err(e) = self.start_intros(&gid)
                {
                    tracing::warn!("cannot introduce ourselves to group members: {e}");
                }
            }
        }
    }

    /// After a group message from `from` was stored.
    pub(crate) fn after_group_message(&self, from: &str, notice: &GroupNotice) {
        match notice {
            GroupNotice::Ops { group, appeared } => {
                if let Err(e) = self.introduce_own_ops(group, appeared) {
                    tracing::warn!("cannot send our group changes to new members: {e}");
                }
                if let Err(e) = self.start_intros(group) {
                    tracing::warn!("cannot introduce ourselves to group members: {e}");
                }
                self.emit(NodeEvent::GroupChanged {
                    group: hex::encode(group),
                });
            }
            GroupNotice::Intro { invite, name } => {
                if let Err(e) = self.accept_intro(invite, name) {
                    tracing::warn!("cannot accept an introduction from {name}: {e}");
                }
            }
            GroupNotice::Forward { group, to, invite } => {
                let contact = self.with_store(|store| contact_with_key(store, to));
                if let Ok(Some(contact)) = contact {
                    let wire = GroupWire::Intro {
                        group: *group,
                        to: *to,
                        invite: invite.clone(),
                    };
                    if let Err(e) = self.send_wire(&contact.name, &wire) {
                        tracing::warn!("cannot pass an introduction on to {}: {e}", contact.name);
                    }
                }
            }
            GroupNotice::Text { group, news } => {
                tracing::debug!(from, "group message");
                self.emit(NodeEvent::GroupMessage {
                    group: hex::encode(group),
                    from: news.then(|| from.to_owned()),
                });
            }
        }
    }

    /// Sends our log of `gid` to members that just appeared when we made
    /// changes ourselves: what we changed while they were being added
    /// reaches them too (the whole log, so that it reads on its own).
    fn introduce_own_ops(&self, gid: &GroupId, appeared: &[Key]) -> Result<(), NodeError> {
        if appeared.is_empty() {
            return Ok(());
        }
        let me = self.my_key()?;
        let (ours, recipients) = self.with_store(|store| {
            let Some(record) = store
                .groups()?
                .into_iter()
                .find(|g| g.group_id.as_slice() == gid)
            else {
                return Ok((Vec::new(), Vec::new()));
            };
            let all = parse_ops(&store.group_ops(record.id)?);
            // Only if we changed something ourselves; then the whole log,
            // so it reads even if it arrives before the adder's copy.
            let ops = if all.iter().any(|op| op.author == me) {
                all
            } else {
                Vec::new()
            };
            let mut recipients = Vec::new();
            for key in appeared {
                if let Some(c) = contact_with_key(store, key)? {
                    recipients.push(c.name);
                }
            }
            Ok((ops, recipients))
        })?;
        if ours.is_empty() {
            return Ok(());
        }
        for name in recipients {
            self.send_ops(&name, gid, &ours)?;
        }
        Ok(())
    }

    /// The messages of `group`, in the group's order.
    pub fn group_messages(&self, group: &str) -> Result<Vec<GroupMessage>, NodeError> {
        let me = self.my_key()?;
        self.with_store(|store| {
            let loaded = self.find_group(store, group)?;
            let names = Names::of(store, &me, &loaded)?;
            let messages = store.group_messages(loaded.record.id)?;
            let reactions = store.group_reactions(loaded.record.id)?;
            messages
                .iter()
                .map(|m| message_info(store, &names, m, &messages, &reactions))
                .collect()
        })
    }

    fn group_message_info(&self, id: i64) -> Result<GroupMessage, NodeError> {
        let me = self.my_key()?;
        self.with_store(|store| {
            let m = store
                .group_message(id)?
                .ok_or_else(|| bad(format!("there is no group message {id}")))?;
            let record = store
                .groups()?
                .into_iter()
                .find(|g| g.id == m.group_row)
                .ok_or_else(|| NodeError::Corrupt("a group message without its group".into()))?;
            let loaded = load(store, record)?
                .ok_or_else(|| NodeError::Corrupt("a group lost its creation".into()))?;
            let names = Names::of(store, &me, &loaded)?;
            let messages = store.group_messages(loaded.record.id)?;
            let reactions = store.group_reactions(loaded.record.id)?;
            message_info(store, &names, &m, &messages, &reactions)
        })
    }

    fn group_hex_of(&self, message: i64) -> Result<String, NodeError> {
        self.with_store(|store| {
            let m = store
                .group_message(message)?
                .ok_or_else(|| bad(format!("there is no group message {message}")))?;
            Ok(store
                .groups()?
                .into_iter()
                .find(|g| g.id == m.group_row)
                .map(|g| hex::encode(g.group_id))
                .unwrap_or_default())
        })
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

/// The names members go by here: our contact's name, else the group's.
struct Names {
    me: Key,
    by_key: BTreeMap<Key, (String, bool)>,
    /// Members who are our contacts: their contact row.
    contact_ids: BTreeMap<Vec<u8>, i64>,
}

impl Names {
    fn of(store: &Store, me: &Key, loaded: &Loaded) -> Result<Names, NodeError> {
        let mut by_key = BTreeMap::new();
        // Former members too (their messages stay).
        for op in &loaded.ops {
            match &op.action {
                Action::Add { member, name } => {
                    by_key.entry(*member).or_insert((name.clone(), false));
                }
                Action::Create { creator, .. } => {
                    by_key.entry(op.author).or_insert((creator.clone(), false));
                }
                _ => {}
            }
        }
        for (key, m) in &loaded.fold.members {
            by_key.insert(*key, (m.name.clone(), false));
        }
        let mut contact_ids = BTreeMap::new();
        for c in store.contacts()? {
            if let Ok(key) = <Key>::try_from(c.identity_key.as_slice())
                && by_key.contains_key(&key)
            {
                let live = !store.session_state(c.id)?.is_empty();
                contact_ids.insert(key.to_vec(), c.id);
                by_key.insert(key, (c.name, live));
            }
        }
        Ok(Names {
            me: *me,
            by_key,
            contact_ids,
        })
    }

    fn name(&self, key: &[u8]) -> String {
        if key == self.me {
            return "you".into();
        }
        <Key>::try_from(key)
            .ok()
            .and_then(|k| self.by_key.get(&k))
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| "someone who left".into())
    }
}

fn info(store: &Store, me: &Key, loaded: &Loaded) -> Result<GroupInfo, NodeError> {
    let names = Names::of(store, me, loaded)?;
    let mut members: Vec<GroupMember> = loaded
        .fold
        .members
        .iter()
        .map(|(key, m)| GroupMember {
            name: names.name(key),
            peer_id: peer_id_text(key),
            admin: m.admin,
            me: key == me,
            contact: key == me || names.by_key.get(key).is_some_and(|(_, live)| *live),
        })
        .collect();
    members.sort_by(|a, b| (!a.admin, !a.me, &a.name).cmp(&(!b.admin, !b.me, &b.name)));
    Ok(GroupInfo {
        id: hex::encode(&loaded.record.group_id),
        name: loaded.fold.name.clone(),
        epoch: loaded.fold.epoch,
        admin: loaded.fold.is_admin(me),
        member: loaded.fold.members.contains_key(me),
        members,
        created_at: loaded.record.created_at,
    })
}

fn message_info(
    store: &Store,
    names: &Names,
    m: &GroupMessageRecord,
    all: &[GroupMessageRecord],
    reactions: &[zks_store::GroupReaction],
) -> Result<GroupMessage, NodeError> {
    let quote = m.reply.as_ref().map(|(author, id)| {
        let quoted = all.iter().find(|q| &q.author == author && &q.msg_id == id);
        GroupQuote {
            message_id: quoted.map(|q| q.id),
            author: names.name(author),
            excerpt: quoted
                .map(|q| {
                    let text = String::from_utf8_lossy(&q.body);
                    let mut e: String = text.chars().take(EXCERPT_CHARS).collect();
                    if text.chars().nth(EXCERPT_CHARS).is_some() {
                        e.push('…');
                    }
                    e
                })
                .unwrap_or_default(),
        }
    });
    let file = match m.kind.as_str() {
        "file" => FileBody::decode(&m.body).map(|f| {
            // The pairwise offer of the same content from the author.
            let transfer = (!m.outgoing)
                .then(|| {
                    let from = names.contact_ids.get(m.author.as_slice())?;
                    let hash = hex::decode(&f.blake3).ok()?;
                    store
                        .transfers()
                        .ok()?
                        .into_iter()
                        .find(|t| !t.outgoing && t.contact_id == *from && t.blake3 == hash)
                        .map(|t| hex::encode(t.transfer_id))
                })
                .flatten();
            GroupFile {
                name: f.name,
                size: f.size,
                blake3: f.blake3,
                transfer,
            }
        }),
        _ => None,
    };
    let deliveries = if m.outgoing {
        store
            .group_copies(m.id)?
            .into_iter()
            .map(|c| GroupDelivery {
                name: names.name(&c.member),
                state: match (c.sealed, c.contact_id, c.state) {
                    (true, _, Some(state)) => state,
                    // The pairwise message went after it was delivered.
                    (true, _, None) => "delivered".into(),
                    (false, Some(_), _) => "sealing".into(),
                    (false, None, _) => "not_sent".into(),
                },
                mode: c.mode,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(GroupMessage {
        id: m.id,
        author: names.name(&m.author),
        author_peer_id: <Key>::try_from(m.author.as_slice())
            .map(|k| peer_id_text(&k))
            .unwrap_or_default(),
        outgoing: m.outgoing,
        text: match &file {
            Some(f) => f.name.clone(),
            None => String::from_utf8_lossy(&m.body).into_owned(),
        },
        created_at: m.created_at,
        quote,
        mode: m.mode.clone(),
        deliveries,
        reactions: reactions
            .iter()
            .filter(|r| r.target.0 == m.author && r.target.1 == m.msg_id)
            .map(|r| GroupReactionInfo {
                emoji: r.emoji.clone(),
                by: names.name(&r.reactor),
                mine: r.reactor == names.me,
            })
            .collect(),
        edited: m.edited_at.is_some(),
        deleted: m.deleted_at.is_some(),
        file,
    })
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

/// Whether a group message of `kind` shows in the conversation.
fn is_shown(kind: &str) -> bool {
    matches!(kind, "text" | "file")
}

/// The group message that carries our stored `m` (`None`: damaged).
fn wire_of(group_id: &[u8], m: &GroupMessageRecord) -> Option<GroupWire> {
    let pair = |(a, i): &(Vec<u8>, Vec<u8>)| -> Option<(Key, [u8; ID_LEN])> {
        Some((a.as_slice().try_into().ok()?, i.as_slice().try_into().ok()?))
    };
    let group: GroupId = group_id.try_into().ok()?;
    let id: [u8; ID_LEN] = m.msg_id.as_slice().try_into().ok()?;
    let change = match m.kind.as_str() {
        "text" => {
            return Some(GroupWire::Text {
                group,
                id,
                lamport: m.lamport,
                reply: m.reply.as_ref().and_then(pair),
                text: m.body.clone(),
            });
        }
        "file" => {
            let file = FileBody::decode(&m.body)?;
            return Some(GroupWire::File {
                group,
                id,
                lamport: m.lamport,
                size: file.size,
                blake3: hex::decode(&file.blake3).ok()?.try_into().ok()?,
                name: file.name,
            });
        }
        "react" if m.body.is_empty() => Change::React(None),
        "react" => Change::React(Some(String::from_utf8(m.body.clone()).ok()?)),
        "edit" => Change::Edit(m.body.clone()),
        "delete" => Change::Delete,
        _ => return None,
    };
    Some(GroupWire::Change {
        group,
        id,
        lamport: m.lamport,
        target: m.target.as_ref().and_then(pair)?,
        change,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{paired, relay};
    use zks_pad::Identity;

    /// Alice made group "Team" with Bob, and Bob holds it.
    async fn team(dir: &std::path::Path) -> (Node, Node) {
        let (alice, bob) = paired(dir).await;
        alice.create_group("Team", &["Bob".into()]).unwrap();
        assert!(relay(&alice, "Bob", &bob).iter().all(Result::is_ok));
        assert_eq!(bob.group("Team").unwrap().members.len(), 2);
        (alice, bob)
    }

    fn queued(node: &Node, contact: &str) -> usize {
        node.with_store(|store| {
            let id = store.contact(contact)?.id;
            Ok(store.queued_run(id, usize::MAX, usize::MAX)?.len())
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_group_messages_are_refused_and_change_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = team(tmp.path()).await;
        let gid: GroupId = hex::decode(alice.group("Team").unwrap().id)
            .unwrap()
            .try_into()
            .unwrap();
        let before = (
            bob.groups().unwrap(),
            bob.group_messages("Team").unwrap().len(),
        );
        let unchanged = |bob: &Node| {
            assert_eq!(
                (
                    bob.groups().unwrap(),
                    bob.group_messages("Team").unwrap().len()
                ),
                before
            );
        };
        // An op whose signature was changed.
        let identity = alice
            .with_store_mut(|store| Ok(Node::identity(store)?.0))
            .unwrap();
        let mut forged = Op::sign(
            &identity,
            gid,
            9,
            Action::Rename {
                name: "Ours".into(),
            },
        )
        .unwrap();
        let last = forged.bytes.len() - 1;
        forged.bytes[last] ^= 1;
        alice
            .send_wire(
                "Bob",
                &GroupWire::Ops {
                    group: gid,
                    ops: vec![forged],
                },
            )
            .unwrap();
        // A text to a group Bob does not know.
        alice
            .send_wire(
                "Bob",
                &GroupWire::Text {
                    group: [7; ID_LEN],
                    id: [1; ID_LEN],
                    lamport: 1,
                    reply: None,
                    text: b"hi".to_vec(),
                },
            )
            .unwrap();
        // An introduction whose invite is no member's.
        let stranger = zks_pad::PendingInvite::create(
            &Identity::from_seed(&[9; 32]).unwrap(),
            "Mallory",
            &["/ip4/127.0.0.1/tcp/1".into()],
            crate::clock::now_secs() + 60,
            &mut rand_core::OsRng,
        );
        alice
            .send_wire(
                "Bob",
                &GroupWire::Intro {
                    group: gid,
                    to: bob.my_key().unwrap(),
                    invite: stranger.invite().as_bytes().to_vec(),
                },
            )
            .unwrap();
        // A group Bob is not in: Alice's own new group of one.
        let nonce = [8; ID_LEN];
        let other = group_id(&identity.public_key(), &nonce);
        let create = Op::sign(
            &identity,
            other,
            1,
            Action::Create {
                nonce,
                name: "Not yours".into(),
                creator: "Alice".into(),
            },
        )
        .unwrap();
        alice
            .send_wire(
                "Bob",
                &GroupWire::Ops {
                    group: other,
                    ops: vec![create],
                },
            )
            .unwrap();
        // A damaged one.
        alice
            .seal_inner("Bob", Mode::Grid, true, |_, _| {
                Ok(copy_outgoing(b"\0ZKG\x01\x02short".to_vec(), None))
            })
            .unwrap();
        let results = relay(&alice, "Bob", &bob);
        assert_eq!(results.len(), 5);
        for r in &results {
            let e = r.as_ref().expect_err("refused");
            assert!(matches!(e, NodeError::BadInput(_)), "{e}");
        }
        unchanged(&bob);

        // Once removed, Bob's texts are refused by Alice.
        alice.group_remove("Team", "Bob").unwrap();
        relay(&alice, "Bob", &bob);
        assert!(!bob.group("Team").unwrap().member);
        assert!(bob.group_send("Team", b"still here?", None).is_err());
        bob.send_wire(
            "Alice",
            &GroupWire::Text {
                group: gid,
                id: [2; ID_LEN],
                lamport: 50,
                reply: None,
                text: b"still here?".to_vec(),
            },
        )
        .unwrap();
        let refused = relay(&bob, "Alice", &alice);
        assert!(refused.last().unwrap().is_err());
        assert!(alice.group_messages("Team").unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reactions_edits_and_deletes_reach_every_member_and_only_authors_change_texts() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = team(tmp.path()).await;
        let sent = alice.group_send("Team", b"lunch at 12?", None).unwrap();
        let mut at_bob_events = bob.subscribe();
        relay(&alice, "Bob", &bob);
        // A member's new text is news (who sent it); a reaction is not.
        let news = |events: &mut tokio::sync::broadcast::Receiver<NodeEvent>| {
            let mut found = Vec::new();
            while let Ok(e) = events.try_recv() {
                if let NodeEvent::GroupMessage { from, .. } = e {
                    found.push(from);
                }
            }
            found
        };
        assert_eq!(news(&mut at_bob_events), [Some("Alice".to_owned())]);
        let mut at_alice_events = alice.subscribe();
        let at_bob = bob.group_messages("Team").unwrap()[0].clone();
        assert_eq!(at_bob.text, "lunch at 12?");

        bob.group_react(at_bob.id, Some("👍")).unwrap();
        assert!(bob.group_react(at_bob.id, Some("not an emoji")).is_err());
        assert!(
            bob.group_edit(at_bob.id, b"mine now").is_err(),
            "only its sender"
        );
        assert!(bob.group_delete(at_bob.id).is_err(), "only its sender");
        relay(&bob, "Alice", &alice);
        assert_eq!(news(&mut at_alice_events), [None]);
        let mine = &alice.group_messages("Team").unwrap()[0];
        assert_eq!(
            mine.reactions,
            [GroupReactionInfo {
                emoji: "👍".into(),
                by: "Bob".into(),
                mine: false
            }]
        );
        // A hostile Bob sending an edit of Alice's message is refused.
        let gid: GroupId = hex::decode(alice.group("Team").unwrap().id)
            .unwrap()
            .try_into()
            .unwrap();
        let alice_key = alice.my_key().unwrap();
        let msg_id: [u8; ID_LEN] = alice
            .with_store(|store| Ok(store.group_message(sent.id)?.unwrap().msg_id))
            .unwrap()
            .try_into()
            .unwrap();
        bob.send_wire(
            "Alice",
            &GroupWire::Change {
                group: gid,
                id: [5; ID_LEN],
                lamport: 99,
                target: (alice_key, msg_id),
                change: Change::Edit(b"forged".to_vec()),
            },
        )
        .unwrap();
        assert!(relay(&bob, "Alice", &alice)[0].is_err());
        assert_eq!(
            alice.group_messages("Team").unwrap()[0].text,
            "lunch at 12?"
        );

        alice.group_edit(sent.id, b"lunch at 1?").unwrap();
        relay(&alice, "Bob", &bob);
        let edited = &bob.group_messages("Team").unwrap()[0];
        assert_eq!((edited.text.as_str(), edited.edited), ("lunch at 1?", true));
        assert_eq!(edited.reactions.len(), 1);
        bob.group_react(at_bob.id, None).unwrap();
        relay(&bob, "Alice", &alice);
        assert!(
            alice.group_messages("Team").unwrap()[0]
                .reactions
                .is_empty()
        );

        alice.group_delete(sent.id).unwrap();
        relay(&alice, "Bob", &bob);
        let gone = &bob.group_messages("Team").unwrap()[0];
        assert!(gone.deleted && gone.text.is_empty() && gone.reactions.is_empty());
        assert!(bob.group_react(at_bob.id, Some("👍")).is_err(), "deleted");
        assert_eq!(
            bob.group_messages("Team").unwrap().len(),
            1,
            "changes are not shown as messages"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_carries_groups_and_their_messages() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = team(tmp.path()).await;
        let sent = alice.group_send("Team", b"keep me", None).unwrap();
        relay(&alice, "Bob", &bob);
        let at_bob = bob.group_messages("Team").unwrap()[0].id;
        bob.group_react(at_bob, Some("👍")).unwrap();
        relay(&bob, "Alice", &alice);
        alice.group_edit(sent.id, b"keep me, edited").unwrap();
        let backup = tmp.path().join("alice.zksbackup");
        alice
            .write_backup(&backup, b"long enough passphrase")
            .unwrap();
        let restored = crate::test_support::started(&tmp.path().join("restored")).await;
        restored
            .restore_backup(&backup, b"long enough passphrase")
            .unwrap();
        let mut expected = alice.groups().unwrap();
        // Restored contacts must be paired again before anything reaches them.
        expected[0]
            .members
            .iter_mut()
            .filter(|m| !m.me)
            .for_each(|m| m.contact = false);
        assert_eq!(restored.groups().unwrap(), expected);
        let (before, after) = (
            alice.group_messages("Team").unwrap(),
            restored.group_messages("Team").unwrap(),
        );
        assert_eq!(after.len(), 1);
        assert_eq!(
            (
                after[0].text.as_str(),
                after[0].edited,
                after[0].reactions.clone()
            ),
            (before[0].text.as_str(), true, before[0].reactions.clone())
        );
        // Bob has no session with the restored home: a message is not sent.
        let m = restored.group_send("Team", b"after restore", None).unwrap();
        assert_eq!(m.deliveries[0].state, "not_sent");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fan_out_cut_by_a_crash_is_finished_once_even_by_two_sealers() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = team(tmp.path()).await;
        // The text and its pending copy are stored, then the process dies
        // before sealing: nothing was queued for Bob.
        let me = alice.my_key().unwrap();
        alice
            .with_store_mut(|store| {
                let loaded = alice.find_group(store, "Team")?;
                let bob_id = store.contact("Bob")?.id;
                let bob_key = store.contact("Bob")?.identity_key;
                store.add_group_text(
                    loaded.record.id,
                    &NewGroupText {
                        msg_id: vec![3; ID_LEN],
                        author: me.to_vec(),
                        lamport: 10,
                        body: b"after the crash".to_vec(),
                        reply: None,
                        kind: "text".into(),
                        target: None,
                        copies: vec![(bob_key, Some(bob_id))],
                    },
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(queued(&alice, "Bob"), 0);
        // Two sealers at once (the daemon's loop and a CLI) seal it once.
        let (a1, a2) = (alice.clone(), alice.clone());
        let t1 = std::thread::spawn(move || a1.seal_group_copies().unwrap());
        let t2 = std::thread::spawn(move || a2.seal_group_copies().unwrap());
        assert_eq!(t1.join().unwrap() + t2.join().unwrap(), 1);
        assert_eq!(queued(&alice, "Bob"), 1);
        assert_eq!(alice.seal_group_copies().unwrap(), 0);
        relay(&alice, "Bob", &bob);
        let got = bob.group_messages("Team").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "after the crash");
        let sent = &alice.group_messages("Team").unwrap()[0];
        assert_eq!(sent.deliveries.len(), 1);
        assert_eq!(sent.deliveries[0].state, "delivered");
    }

    fn who(seed: u8) -> Identity {
        Identity::from_seed(&[seed; 32]).unwrap()
    }

    struct G {
        id: GroupId,
        ops: Vec<Op>,
    }

    impl G {
        fn new(creator: &Identity) -> G {
            let nonce = [5; ID_LEN];
            let id = group_id(&creator.public_key(), &nonce);
            let create = Op::sign(
                creator,
                id,
                1,
                Action::Create {
                    nonce,
                    name: "Team".into(),
                    creator: "A".into(),
                },
            )
            .unwrap();
            G {
                id,
                ops: vec![create],
            }
        }

        fn op(&mut self, by: &Identity, lamport: u64, action: Action) -> Op {
            let op = Op::sign(by, self.id, lamport, action).unwrap();
            self.ops.push(op.clone());
            op
        }

        fn fold(&self) -> Fold {
            Fold::of(&self.id, self.ops.clone()).unwrap()
        }
    }

    fn add(who: &Identity) -> Action {
        Action::Add {
            member: who.public_key(),
            name: "m".into(),
        }
    }

    #[test]
    fn the_fold_follows_the_rules_whatever_order_the_ops_came_in() {
        let (a, b, c, d) = (who(1), who(2), who(3), who(4));
        let mut g = G::new(&a);
        g.op(&a, 2, add(&b));
        g.op(&a, 3, add(&c));
        // B is no admin: its add and rename do not count.
        g.op(&b, 4, add(&d));
        g.op(&b, 4, Action::Rename { name: "B's".into() });
        let fold = g.fold();
        assert_eq!(fold.members.len(), 3);
        assert_eq!((fold.name.as_str(), fold.epoch), ("Team", 3));
        // Made admin, B may.
        g.op(
            &a,
            5,
            Action::Admin {
                member: b.public_key(),
            },
        );
        g.op(&b, 6, add(&d));
        assert!(g.fold().members.contains_key(&d.public_key()));
        // Nobody removes the creator; a member may leave.
        g.op(
            &b,
            7,
            Action::Remove {
                member: a.public_key(),
            },
        );
        g.op(&c, 7, Action::Leave);
        let fold = g.fold();
        assert!(fold.members.contains_key(&a.public_key()));
        assert!(!fold.members.contains_key(&c.public_key()));
        // Any order of the same ops, repeats included, folds the same.
        let mut shuffled = g.ops.clone();
        shuffled.reverse();
        shuffled.push(g.ops[2].clone());
        assert_eq!(Fold::of(&g.id, shuffled).unwrap(), fold);
        // Without the creation there is no group.
        assert!(Fold::of(&g.id, g.ops[1..].to_vec()).is_none());
    }

    #[test]
    fn concurrent_changes_by_two_admins_end_the_same_everywhere() {
        let (a, b, c, x, y) = (who(1), who(2), who(3), who(4), who(5));
        let mut g = G::new(&a);
        g.op(&a, 2, add(&b));
        g.op(&a, 3, add(&c));
        g.op(
            &a,
            4,
            Action::Admin {
                member: b.public_key(),
            },
        );
        let base = g.ops.clone();
        // A adds X while B removes C and adds Y, neither knowing.
        let from_a = Op::sign(&a, g.id, 5, add(&x)).unwrap();
        let from_b = vec![
            Op::sign(
                &b,
                g.id,
                5,
                Action::Remove {
                    member: c.public_key(),
                },
            )
            .unwrap(),
            Op::sign(&b, g.id, 6, add(&y)).unwrap(),
        ];
        let mut at_a = base.clone();
        at_a.push(from_a.clone());
        at_a.extend(from_b.clone());
        let mut at_b = base.clone();
        at_b.extend(from_b);
        at_b.push(from_a);
        let (fa, fb) = (
            Fold::of(&g.id, at_a).unwrap(),
            Fold::of(&g.id, at_b).unwrap(),
        );
        assert_eq!(fa, fb);
        let keys: Vec<Key> = fa.members.keys().copied().collect();
        let mut want = vec![
            a.public_key(),
            b.public_key(),
            x.public_key(),
            y.public_key(),
        ];
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn the_last_admin_leaving_hands_the_group_on() {
        let (a, b, c) = (who(1), who(2), who(3));
        let mut g = G::new(&a);
        g.op(&a, 2, add(&b));
        g.op(&a, 3, add(&c));
        g.op(&a, 4, Action::Leave);
        let fold = g.fold();
        assert_eq!(fold.members.len(), 2);
        assert_eq!(fold.members.values().filter(|m| m.admin).count(), 1);
        let first = *fold.members.keys().next().unwrap();
        assert!(fold.is_admin(&first));
    }
}
