//! A group's messages as front ends show them.

use std::collections::BTreeMap;

use zks_store::{GroupMessageRecord, Store};

use super::{
    FileBody, GroupDelivery, GroupFile, GroupInfo, GroupMember, GroupMessage, GroupQuote,
    GroupReactionInfo, Loaded, bad, load, peer_id_text,
};
use crate::wire::group::{Action, Key};
use crate::{Node, NodeError};

impl Node {
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

    pub(super) fn group_message_info(&self, id: i64) -> Result<GroupMessage, NodeError> {
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

    pub(super) fn group_hex_of(&self, message: i64) -> Result<String, NodeError> {
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

pub(super) fn info(store: &Store, me: &Key, loaded: &Loaded) -> Result<GroupInfo, NodeError> {
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
                .map(|q| crate::conversation::excerpt(&q.body))
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
