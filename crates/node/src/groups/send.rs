//! Our texts, files, reactions, edits and deletes: stored with one pending
//! copy per member, then sealed for each.

use std::collections::BTreeMap;

use rand_core::RngCore;
use zks_pad::Mode;
use zks_store::{GroupChange, GroupMessageRecord, NewGroupText, Store};

use super::{
    FileBody, Fold, GroupMessage, Loaded, bad, copy_outgoing, gid_of, live_contacts, parse_ops,
};
use crate::content::Outgoing;
use crate::wire::group::{Change, GroupId, GroupWire, ID_LEN, Key};
use crate::{Node, NodeError, NodeEvent};

impl Node {
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
            // A linked device meets its contacts' devices the same way
            // (decision 0072); nothing to do on a primary.
            if let Err(e) = self.start_device_intros() {
                tracing::warn!("cannot introduce this device to contacts' devices: {e}");
            }
            if let Err(e) = self.share_new_contacts() {
                tracing::warn!("cannot tell our devices and new contacts of each other: {e}");
            }
        }
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
