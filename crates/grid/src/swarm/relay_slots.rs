//! NAT traversal and relaying: the capped circuit-relay v2 server seeders
//! switch on, and on the other side the relay slots a node that is not
//! publicly reachable holds (AutoNAT decides), plus connection reversal
//! towards peers reached only through a relay.
//!
//! Relays are found three ways: among connected peers (Identify lists the
//! hop protocol), on the Amino DHT (a few of its servers are dialled, many
//! of which relay), and on the grid's own Kademlia: a publicly reachable
//! node whose relay server is on provides one of [`RELAY_KEY_BUCKETS`] keys
//! (`zks/relay/v1/<bucket>`, the bucket drawn from its peer id), and a node
//! short of relays looks the buckets up one after another, starting from
//! its own, until a lookup finds relays to dial. Spreading relays over
//! several keys keeps the first twenty relays to announce from being the
//! only ones anybody finds (a DHT node keeps twenty providers a key, the
//! first to come) and spreads the lookups over eight sets of DHT nodes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::PeerCondition;
use libp2p::{Multiaddr, PeerId, autonat, kad, relay};
use sha2::{Digest, Sha256};

use super::budget::{Limits, RELAY_PROBES, REMEMBERED_PEERS};
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
/// A relay is asked for a slot at most this often (a refused or lost
/// reservation is retried on another relay first).
pub const RELAY_RETRY: Duration = Duration::from_secs(60);

/// Grid DHT keys relays are spread over.
pub const RELAY_KEY_BUCKETS: u8 = 8;
/// The longest pause between two sweeps of the relay keys that found
/// nobody new (the first is [`RELAY_RETRY`]; it doubles after each).
pub const RELAY_SWEEP_MAX: Duration = Duration::from_secs(1800);

/// The grid DHT key relays of `bucket` provide.
pub(super) fn relay_key(bucket: u8) -> kad::RecordKey {
    kad::RecordKey::new(&format!("zks/relay/v1/{bucket}"))
}

/// The bucket of `peer`: where it announces itself when it relays, and
/// where it starts looking when it needs a relay.
pub fn relay_bucket(peer: &PeerId) -> u8 {
    Sha256::digest(peer.to_bytes())[0] % RELAY_KEY_BUCKETS
}

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
    /// AutoNAT said private, or a server failed to dial us back.
    pub(super) probed_unreachable: bool,
    /// Connected peers whose Identify lists the relay hop protocol.
    pub(super) hops: HashSet<PeerId>,
    /// Our relayed listeners and the relay of each.
    pub(super) held: HashMap<ListenerId, PeerId>,
    /// When each relay may be asked again.
    pub(super) retry: HashMap<PeerId, Instant>,
    /// When DHT servers were last dialled to find relays.
    pub(super) last_probe: Option<Instant>,
    /// Whether our relay server is on (seeding).
    pub(super) serving: bool,
    /// The relay key we provide on the grid DHT, while we relay and are
    /// publicly reachable.
    pub(super) announced: Option<kad::RecordKey>,
    /// The relay-key lookup in flight.
    pub(super) lookup: Option<kad::QueryId>,
    /// Buckets left in the current sweep, and relays it found and dialled.
    pub(super) sweep: Vec<u8>,
    pub(super) sweep_found: usize,
    /// When the next sweep may start, and the pause after it.
    pub(super) next_sweep: Option<Instant>,
    pub(super) sweep_pause: Duration,
    /// Relays a lookup found and we dialled, and until when they are not
    /// dialled again for being found (a relay that left keeps its provider
    /// record for up to two days).
    pub(super) tried: HashMap<PeerId, Instant>,
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
            serving: false,
            announced: None,
            lookup: None,
            sweep: Vec::new(),
            sweep_found: 0,
            next_sweep: None,
            sweep_pause: RELAY_RETRY,
            tried: HashMap::new(),
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
        self.relay.serving = on;
        self.announce_relay(false);
    }

    /// Provides our relay key on the grid DHT while our relay server is on
    /// and we are publicly reachable (a relay nobody can dial is no use to
    /// a node behind a NAT), and stops providing it otherwise. `again`
    /// announces it anew if it is announced already: a provider record
    /// carries our addresses as they were when it was sent, and libp2p
    /// sends it again only every 12 hours.
    pub(super) fn announce_relay(&mut self, again: bool) {
        let wanted = self.relay.serving && self.publicly_reachable();
        let bucket = relay_bucket(self.swarm.local_peer_id());
        let kademlia = &mut self.swarm.behaviour_mut().kademlia;
        match (wanted, self.relay.announced.take()) {
            (true, None) => match kademlia.start_providing(relay_key(bucket)) {
                Ok(_) => {
                    tracing::info!(bucket, "announcing our relay on the grid DHT");
                    self.relay.announced = Some(relay_key(bucket));
                }
                Err(e) => tracing::warn!("cannot announce our relay: {e}"),
            },
            (false, Some(key)) => kademlia.stop_providing(&key),
            (true, Some(key)) if again => {
                if let Err(e) = kademlia.start_providing(key.clone()) {
                    tracing::warn!("cannot announce our relay again: {e}");
                }
                self.relay.announced = Some(key);
            }
            (_, kept) => self.relay.announced = kept,
        }
    }

    /// Looks the next relay key up on the grid DHT, unless a lookup is in
    /// flight. A sweep goes through the buckets one lookup at a time,
    /// starting from our own, and ends early once it found and dialled
    /// enough relays to fill our slots (their Identify then makes them
    /// candidates). The next sweep waits [`RELAY_RETRY`], doubled after
    /// each sweep that found nobody, up to [`RELAY_SWEEP_MAX`].
    fn find_relays(&mut self) {
        if self.relay.lookup.is_some() {
            return;
        }
        if self.relay.sweep.is_empty() {
            let now = Instant::now();
            if self.relay.next_sweep.is_some_and(|at| at > now) {
                return;
            }
            self.relay.next_sweep = Some(now + self.relay.sweep_pause);
            self.relay.sweep_pause = (self.relay.sweep_pause * 2).min(RELAY_SWEEP_MAX);
            self.relay.sweep_found = 0;
            let start = relay_bucket(self.swarm.local_peer_id());
            // Popped from the end: our own bucket first.
            self.relay.sweep = (0..RELAY_KEY_BUCKETS)
                .rev()
                .map(|i| (start + i) % RELAY_KEY_BUCKETS)
                .collect();
        }
        if let Some(bucket) = self.relay.sweep.pop() {
            let id = self
                .swarm
                .behaviour_mut()
                .kademlia
                .get_providers(relay_key(bucket));
            self.relay.lookup = Some(id);
        }
    }

    /// Whether `id` is our relay-key lookup.
    pub(super) fn is_relay_lookup(&self, id: kad::QueryId) -> bool {
        self.relay.lookup == Some(id)
    }

    /// Progress of the relay-key lookup: relays found are dialled (at most
    /// [`RELAY_PROBES`] of them a lookup; not those connected, nor those
    /// asked or dialled in the last [`RELAY_RETRY`]); when it ends the
    /// counters are kept and, while we are still short of relays, the
    /// sweep goes on.
    pub(super) fn on_relay_providers(
        &mut self,
        providers: HashSet<PeerId>,
        last: Option<&kad::QueryStats>,
    ) {
        let me = *self.swarm.local_peer_id();
        let now = Instant::now();
        self.relay.tried.retain(|_, until| *until > now);
        let fresh: Vec<PeerId> = providers
            .into_iter()
            .filter(|p| *p != me && !self.swarm.is_connected(p))
            .filter(|p| !self.relay.retry.contains_key(p) && !self.relay.tried.contains_key(p))
            .take(RELAY_PROBES)
            .collect();
        if !fresh.is_empty() {
            // Found some: the next sweep waits the shortest pause, and
            // this one ends once it has found enough.
            self.relay.sweep_found += fresh.len();
            self.relay.sweep_pause = RELAY_RETRY;
            if self.relay.held.len() + self.relay.sweep_found >= RELAY_SLOTS {
                self.relay.sweep.clear();
            }
        }
        for peer in fresh {
            tracing::info!(%peer, "relay found on the grid DHT");
            if self.relay.tried.len() < REMEMBERED_PEERS {
                self.relay.tried.insert(peer, now + RELAY_RETRY);
            }
            self.dial_found(peer, PeerCondition::DisconnectedAndNotDialing);
        }
        if let Some(stats) = last {
            self.counters.relay_lookups += 1;
            self.counters.relay_lookup_requests += u64::from(stats.num_requests());
            self.counters.relay_lookup_millis +=
                stats.duration().map_or(0, |d| d.as_millis() as u64);
            self.relay.lookup = None;
            self.keep_relay_slots();
        }
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
            // Only a server that tried to dial us back and failed says we
            // are unreachable; one that refused to try (our address is not
            // one it dials, it is rate-limited), no server at hand or a
            // lost request say nothing.
            autonat::Event::OutboundProbe(autonat::OutboundProbeEvent::Error {
                error: autonat::OutboundProbeError::Response(autonat::ResponseError::DialError),
                ..
            }) => {
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
    /// those that do become candidates. At most
    /// [`Limits::amino_relay_probes`] dials per [`RELAY_RETRY`].
    fn meet_relays(&mut self) {
        let now = Instant::now();
        if self.limits.amino_relay_probes == 0
            || self
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
            .take(self.limits.amino_relay_probes)
            .collect();
        for peer in fresh {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, "cannot dial a DHT server for a relay: {e}");
            }
        }
    }

    /// Keeps up to [`RELAY_SLOTS`] relay reservations while the node is not
    /// publicly reachable (AutoNAT said private or a server failed to dial
    /// us back, or no public address was confirmed within
    /// [`Limits::reserve_after`]), on connected peers that offer the hop
    /// protocol (seeders), looking for more (Amino servers, the grid DHT's
    /// relay keys) while too few are in sight; drops them all once a public
    /// address is confirmed. A slot lost (relay gone, reservation refused)
    /// is taken on another relay; each relay is asked at most once per
    /// [`RELAY_RETRY`].
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
            self.find_relays();
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
