//! A member's group message arriving: what to store with it, and what to
//! do once it is stored.

use zks_pad::Mode;
use zks_store::{ContactRecord, GroupChange, GroupMessageRecord, Store};

use super::{COPY_BODY, COPY_KIND, FileBody, Fold, GroupNotice, bad, contact_with_key, parse_ops};
use crate::content::Incoming;
use crate::wire::group::{Change, GroupId, GroupWire, ID_LEN, Key, Op};
use crate::{Node, NodeError, NodeEvent};

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
    let mut incoming = Incoming::plain(COPY_KIND, COPY_BODY);
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
            // A group we do not hold and are not in is none of our business
            // (a contact cannot make us hold strangers' groups). One we
            // hold we were in: its later changes still count (a member
            // removed keeps learning how the group it saw ends up).
            if existing.is_none() && !after.members.contains_key(me) {
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
}
