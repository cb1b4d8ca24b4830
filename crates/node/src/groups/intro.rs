//! Introductions: pairing with members who are not our contacts through
//! a member who is both's.

use super::{INTRO_AGAIN_SECS, INTRO_VALID_SECS, contact_with_key, load};
use crate::wire::group::{Action, GroupId, GroupWire};
use crate::{Node, NodeError, NodeEvent};

impl Node {
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
                let (hash, invite) = Node::intro_invite(store, &addresses, now + INTRO_VALID_SECS)?;
                store.add_group_intro(&hash, key, name)?;
                Ok(invite)
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
    pub(super) fn accept_intro(&self, invite: &[u8], name: &str) -> Result<(), NodeError> {
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
}
