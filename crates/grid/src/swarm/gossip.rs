//! GossipSub topics `zks/beacon/<chain hash>`: new rounds pushed to
//! everyone, each verified (or found held already) before it is cached and
//! forwarded; a peer forwarding a false round is banned.
//!
//! Wire format: a message is a beacon's drand JSON, at most 4 KiB, signed
//! by its publisher; its id is the SHA-256 of the bytes, so one round is
//! one message whoever publishes it.

use std::time::Instant;

use libp2p::gossipsub;
use zks_beacon::{Beacon, ChainHash, ChainInfo, ReferenceVerifier};

use super::event_loop::{BAN, EventLoop};

/// A gossiped round is considered only if it was (or will be) published
/// within this many seconds of our clock; others are ignored unverified.
pub const GOSSIP_WINDOW_SECS: u64 = 60;

/// The topic of `chain`'s rounds.
pub(super) fn topic(chain: &ChainHash) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("zks/beacon/{}", chain.to_hex()))
}

impl EventLoop {
    /// Serves `chain` and joins its topic.
    pub(super) fn add_chain(&mut self, chain: ChainInfo) {
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic(&chain.hash));
        self.chains.insert(chain.hash, chain);
    }

    /// Gossips a verified round's JSON on `chain`'s topic.
    pub(super) fn publish(&mut self, chain: ChainHash, json: Vec<u8>) {
        // "No peers subscribed" is normal for a lone node.
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic(&chain), json);
    }

    /// A gossiped message: judged, then accepted, ignored or rejected (and
    /// its sender banned).
    pub(super) fn on_gossip_event(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let acceptance = self.judge_gossip(&message, unix_now());
        if matches!(acceptance, gossipsub::MessageAcceptance::Reject) {
            self.swarm
                .behaviour_mut()
                .blocked
                .block_peer(propagation_source);
            self.banned.push((propagation_source, Instant::now() + BAN));
        }
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &propagation_source, acceptance);
    }

    /// What to do with a gossiped round at Unix time `now`: forward and
    /// cache it when it verifies; ignore it (unverified, no penalty) when
    /// it is not a round of around now, since only new rounds are gossiped
    /// and an old one costs a verification for nothing; accept one held
    /// already without verifying it again when it is the held round to the
    /// byte; reject (and ban the sender) anything else that fails.
    fn judge_gossip(&self, message: &gossipsub::Message, now: u64) -> gossipsub::MessageAcceptance {
        use gossipsub::MessageAcceptance::{Accept, Ignore, Reject};
        let Some(chain) = self
            .chains
            .values()
            .find(|c| topic(&c.hash).hash() == message.topic)
        else {
            return Reject;
        };
        let Ok(beacon) = Beacon::from_json(chain.scheme, &String::from_utf8_lossy(&message.data))
        else {
            return Reject;
        };
        if chain.time_of_round(beacon.round()).abs_diff(now) > GOSSIP_WINDOW_SECS {
            return Ignore;
        }
        match self.cache.get(chain, beacon.round()) {
            // Signatures are unique: another one for a held round is false.
            Ok(Some(held)) => {
                return if held.beacon() == &beacon {
                    Accept
                } else {
                    Reject
                };
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("cannot read the cache: {e}");
                return Ignore;
            }
        }
        let Ok(verifier) = ReferenceVerifier::new(chain) else {
            return Ignore;
        };
        let Ok(verified) = verifier.verified(beacon) else {
            return Reject;
        };
        if let Err(e) = self.cache.put(chain, &[verified]) {
            tracing::warn!("cannot cache a gossiped beacon: {e}");
        }
        Accept
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
