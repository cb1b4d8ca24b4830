//! The fold: a group's ops, in one order, into its member list (the rules
//! are in the module's documentation).

use std::collections::BTreeMap;

use crate::wire::group::{Action, GroupId, Key, MAX_MEMBERS, Op};

/// What a member is, at a point of the fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberState {
    pub(crate) name: String,
    pub(crate) admin: bool,
}

/// A group's state: what its ops say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fold {
    pub(crate) id: GroupId,
    pub(crate) name: String,
    pub(crate) creator: Key,
    pub(crate) members: BTreeMap<Key, MemberState>,
    pub(crate) epoch: u64,
    /// The highest lamport of its ops.
    pub(crate) lamport: u64,
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

    pub(crate) fn is_admin(&self, key: &Key) -> bool {
        self.members.get(key).is_some_and(|m| m.admin)
    }
}
