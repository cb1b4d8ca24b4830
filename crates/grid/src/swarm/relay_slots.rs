//! NAT traversal and relaying: the capped circuit-relay v2 server seeders
//! switch on, and on the other side the relay slots a node that is not
//! publicly reachable holds (AutoNAT decides), plus connection reversal
//! towards peers reached only through a relay.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, autonat, relay};

use super::budget::{Limits, REMEMBERED_PEERS};
use super::event_loop::EventLoop;

/// Caps of the circuit-relay v2 server (on while the node seeds): slots
/// reserved at once, and per peer.
pub const RELAY_MAX_RESERVATIONS: usize = 64;
/// Reservations one peer may hold on this relay.
pub const RELAY_RESERVATIONS_PER_PEER: usize = 2;
/// Relayed connections (circuits) open at once, and per peer.
pub const RELAY_MAX_CIRCUITS: usize = 16;
/// Circuits one peer may be an end of.
pub const RELAY_CIRCUITS_PER_PEER: usize = 4;
/// A circuit is closed after this long (enough to hole-punch or carry a
/// few messages; not a free long-lived tunnel).
pub const RELAY_CIRCUIT_DURATION: Duration = Duration::from_secs(120);
/// A circuit is closed after relaying this many bytes (a few chunk answers
/// or 1 MiB file chunks, or many messages).
pub const RELAY_CIRCUIT_BYTES: u64 = 4 << 20;

/// Relay slots a node that is not publicly reachable holds at once (on
/// different relays).
pub const RELAY_SLOTS: usize = 2;
/// Amino DHT servers dialled at once when too few relays are in sight.
pub const RELAY_PROBES: usize = 4;
/// A relay is asked for a slot at most this often (a refused or lost
/// reservation is retried on another relay first).
pub const RELAY_RETRY: Duration = Duration::from_secs(60);

/// The relay server's configuration: the caps above; libp2p's default rate
/// limits stay (per peer 30 reservations and 30 circuits per 2 minutes,
/// per IP address 60 of each per minute).
pub(super) fn relay_config(limits: &Limits) -> relay::Config {
    relay::Config {
        max_reservations: RELAY_MAX_RESERVATIONS,
        max_reservations_per_peer: RELAY_RESERVATIONS_PER_PEER,
        reservation_duration: limits.relay_reservation,
        max_circuits: RELAY_MAX_CIRCUITS,
        max_circuits_per_peer: RELAY_CIRCUITS_PER_PEER,
        max_circuit_duration: RELAY_CIRCUIT_DURATION,
        max_circuit_bytes: RELAY_CIRCUIT_BYTES,
        ..relay::Config::default()
    }
}

/// What the node knows about its reachability and the relay slots it holds
/// while it is not publicly reachable.
pub(super) struct RelaySlots {
    pub(super) started: Instant,
    /// AutoNAT said private, or one of its probes failed.
    pub(super) probed_unreachable: bool,
    /// Connected peers whose Identify lists the relay hop protocol.
    pub(super) hops: HashSet<PeerId>,
    /// Our relayed listeners and the relay of each.
    pub(super) held: HashMap<ListenerId, PeerId>,
    /// When each relay may be asked again.
    pub(super) retry: HashMap<PeerId, Instant>,
    /// When DHT servers were last dialled to find relays.
    pub(super) last_probe: Option<Instant>,
}

impl RelaySlots {
    /// No slot held yet, nothing probed: the state at start.
    pub(super) fn new() -> RelaySlots {
        RelaySlots {
            started: Instant::now(),
            probed_unreachable: false,
            hops: HashSet::new(),
            held: HashMap::new(),
            retry: HashMap::new(),
            last_probe: None,
        }
    }
}

impl EventLoop {
    /// Switches our relay server on (seeding) or off.
    pub(super) fn set_relay_server(&mut self, on: bool) {
        let status = if on {
            relay::Status::Enable
        } else {
            relay::Status::Disable
        };
        self.swarm.behaviour_mut().relay.set_status(Some(status));
    }

    /// AutoNAT's verdicts and failed probes: what decides whether to hold
    /// relay slots.
    pub(super) fn on_autonat_event(&mut self, event: &autonat::Event) {
        match event {
            autonat::Event::StatusChanged { new, .. } => {
                tracing::info!(status = ?new, "AutoNAT");
                self.relay.probed_unreachable = *new == autonat::NatStatus::Private;
                self.amino_state.nat = new.clone();
            }
            autonat::Event::OutboundProbe(autonat::OutboundProbeEvent::Error { .. }) => {
                self.relay.probed_unreachable = true;
            }
            _ => {}
        }
        tracing::debug!(?event, "autonat");
        self.keep_relay_slots();
    }

    /// A peer's Identify said whether it offers the relay hop protocol: a
    /// new relay may give us a slot, and one that stopped relaying gets its
    /// slot back.
    pub(super) fn on_relay_hop(&mut self, peer_id: PeerId, offers_hop: bool) {
        if offers_hop {
            if self.relay.hops.insert(peer_id) {
                self.keep_relay_slots();
            }
        } else if self.relay.hops.remove(&peer_id) {
            // It stopped relaying: give its slot back.
            let gone: Vec<ListenerId> = self
                .relay
                .held
                .iter()
                .filter(|(_, r)| **r == peer_id)
                .map(|(l, _)| *l)
                .collect();
            for listener in gone {
                self.swarm.remove_listener(listener);
            }
        }
    }

    /// Connection reversal: a peer we are connected to only through a
    /// relay, which lists direct addresses, is dialed at them. If it is
    /// reachable (a public peer that reached us, behind our NAT, through
    /// our relay slot) this gives a direct connection, so the relay is no
    /// longer needed. DCUtR cannot do it: its hole punch expects both sides'
    /// connection attempts to cross, and when one simply accepts the
    /// other's, both wait as listeners. Tried at most once per
    /// [`RELAY_RETRY`] per peer.
    pub(super) fn reverse_relayed(&mut self, peer: PeerId, listen: &[Multiaddr]) {
        let mut points = self.connections.values().filter(|(p, _)| *p == peer);
        if points.clone().next().is_none() || !points.all(|(_, e)| e.is_relayed()) {
            return;
        }
        let direct: Vec<Multiaddr> = listen
            .iter()
            .filter(|a| !a.iter().any(|p| p == Protocol::P2pCircuit))
            .cloned()
            .collect();
        let now = Instant::now();
        if direct.is_empty()
            || self
                .reversals
                .get(&peer)
                .is_some_and(|at| now.duration_since(*at) < RELAY_RETRY)
        {
            return;
        }
        if self.reversals.len() >= REMEMBERED_PEERS {
            self.reversals.clear();
        }
        self.reversals.insert(peer, now);
        let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
            .condition(libp2p::swarm::dial_opts::PeerCondition::Always)
            .addresses(direct)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, "connection reversal: cannot dial: {e}");
        }
    }

    /// Whether this node is publicly reachable: a confirmed or declared
    /// external address that is not itself relayed.
    fn publicly_reachable(&self) -> bool {
        self.swarm
            .external_addresses()
            .any(|a| !a.iter().any(|p| p == Protocol::P2pCircuit))
    }

    /// Where we reach `relay` directly: the address we dialed it at, else
    /// one it announced.
    fn relay_addr(&self, relay: PeerId) -> Option<Multiaddr> {
        let direct = |a: &Multiaddr| !a.iter().any(|p| p == Protocol::P2pCircuit);
        let dialed = self
            .connections
            .values()
            .find_map(|(peer, endpoint)| match endpoint {
                ConnectedPoint::Dialer { address, .. } if *peer == relay && direct(address) => {
                    Some(address.clone())
                }
                _ => None,
            });
        let addr = dialed.or_else(|| {
            self.peer_addrs
                .get(&relay)?
                .iter()
                .find(|a| direct(a))
                .cloned()
        })?;
        // Without its `/p2p/<relay>` ending; it is added back below.
        Some(
            addr.into_iter()
                .filter(|p| !matches!(p, Protocol::P2p(_)))
                .collect(),
        )
    }

    /// Too few relays in sight: connects to a few Amino DHT servers we are
    /// not connected to (public nodes, many of which run a limited relay);
    /// their Identify then says whether they offer the hop protocol, and
    /// those that do become candidates. At most [`RELAY_PROBES`] dials per
    /// [`RELAY_RETRY`].
    fn meet_relays(&mut self) {
        let now = Instant::now();
        if self
            .relay
            .last_probe
            .is_some_and(|at| now.duration_since(at) < RELAY_RETRY)
        {
            return;
        }
        self.relay.last_probe = Some(now);
        let mut servers: Vec<PeerId> = Vec::new();
        for bucket in self.swarm.behaviour_mut().amino.kbuckets() {
            for entry in bucket.iter() {
                servers.push(*entry.node.key.preimage());
            }
        }
        let fresh: Vec<PeerId> = servers
            .into_iter()
            .filter(|p| !self.swarm.is_connected(p) && !self.relay.retry.contains_key(p))
            .take(RELAY_PROBES)
            .collect();
        for peer in fresh {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, "cannot dial a DHT server for a relay: {e}");
            }
        }
    }

    /// Keeps up to [`RELAY_SLOTS`] relay reservations while the node is not
    /// publicly reachable (AutoNAT said private or a probe failed, or no
    /// public address was confirmed within [`Limits::reserve_after`]), on
    /// connected peers that offer the hop protocol (seeders); drops them all
    /// once a public address is confirmed. A slot lost (relay gone, reservation
    /// refused) is taken on another relay; each relay is asked at most once
    /// per [`RELAY_RETRY`].
    pub(super) fn keep_relay_slots(&mut self) {
        let unreachable = !self.publicly_reachable()
            && (self.relay.probed_unreachable
                || self.relay.started.elapsed() >= self.limits.reserve_after);
        if !unreachable {
            for (listener, relay) in std::mem::take(&mut self.relay.held) {
                tracing::info!(%relay, "publicly reachable: releasing the relay slot");
                self.swarm.remove_listener(listener);
            }
            return;
        }
        let now = Instant::now();
        self.relay.retry.retain(|_, at| *at > now);
        let candidates: Vec<PeerId> = self
            .relay
            .hops
            .iter()
            .filter(|p| !self.relay.held.values().any(|r| r == *p))
            .filter(|p| !self.relay.retry.contains_key(p))
            .copied()
            .collect();
        if self.relay.held.len() + candidates.len() < RELAY_SLOTS {
            self.meet_relays();
        }
        for relay in candidates {
            if self.relay.held.len() >= RELAY_SLOTS {
                break;
            }
            let Some(addr) = self.relay_addr(relay) else {
                continue;
            };
            let circuit = addr.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit);
            self.relay.retry.insert(relay, now + RELAY_RETRY);
            match self.swarm.listen_on(circuit.clone()) {
                Ok(listener) => {
                    tracing::info!(%circuit, "not publicly reachable: reserving a relay slot");
                    self.relay.held.insert(listener, relay);
                }
                Err(e) => tracing::debug!(%circuit, "cannot listen through a relay: {e}"),
            }
        }
    }
}
