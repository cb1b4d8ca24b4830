//! Trimming connections. GossipSub keeps a stream open to every connected
//! peer that speaks it, so libp2p never closes a grid connection as idle:
//! every grid peer a DHT query, a lookup or a sync ever touched would stay
//! connected for good. In a grid of two hundred nodes that is every node to
//! every other; at thousands, a seeder's incoming connections fill up
//! ([`MAX_INCOMING`](super::MAX_INCOMING)) with peers that no longer need
//! it, and it refuses the ones that do. So the loop keeps its own account
//! of when each peer was last *used* (connected, a request either way on
//! the chunk, chain-info, mailbox or direct protocols, or a dial asked
//! for), and on
//! each tick, while more than [`Limits::keep_peers`](super::Limits) peers
//! are connected, closes the connections of the peers unused the longest,
//! once unused for [`Limits::idle_timeout`](super::Limits). Spared: the
//! relays we hold slots on and our GossipSub mesh (the peers new rounds
//! come from).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use libp2p::PeerId;

use super::event_loop::EventLoop;

impl EventLoop {
    /// Notes that `peer` was used just now.
    pub(super) fn used(&mut self, peer: PeerId) {
        if self.last_used.len() >= super::budget::REMEMBERED_PEERS
            && !self.last_used.contains_key(&peer)
        {
            self.last_used.retain(|p, _| self.swarm.is_connected(p));
        }
        self.last_used.insert(peer, Instant::now());
    }

    /// Closes the connections of the peers unused the longest while more
    /// than `keep_peers` are connected (see the module documentation).
    pub(super) fn trim_connections(&mut self) {
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let keep = self.limits.keep_peers;
        if connected.len() <= keep {
            return;
        }
        let mut spared: HashSet<PeerId> = self.relay.held.values().copied().collect();
        spared.extend(self.swarm.behaviour().gossipsub.all_mesh_peers().copied());
        let now = Instant::now();
        let idle = self.limits.idle_timeout;
        let mut idle_peers: Vec<(Instant, PeerId)> = connected
            .iter()
            .filter(|p| !spared.contains(p))
            .filter_map(|p| {
                let at = self.last_used.get(p).copied().unwrap_or(self.started);
                (now.duration_since(at) >= idle).then_some((at, *p))
            })
            .collect();
        idle_peers.sort();
        let excess = connected.len() - keep;
        for (_, peer) in idle_peers.into_iter().take(excess) {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let still: HashSet<PeerId> = connected.into_iter().collect();
        self.last_used.retain(|p, _| still.contains(p));
    }
}

/// When each connected peer was last used.
pub(super) type LastUsed = HashMap<PeerId, Instant>;
