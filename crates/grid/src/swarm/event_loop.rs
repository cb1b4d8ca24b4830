//! The event loop: the one task that owns the `Swarm`. It takes commands
//! from [`SwarmClient`](super::SwarmClient)s and events from the network
//! and routes each to the module of its protocol; it also keeps the
//! connection table, the peer address book and the ban list.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, identify, kad, mdns, relay, request_response};
use zks_beacon::{ChainHash, ChainInfo};

use super::SwarmError;
use super::amino::AMINO_PROTOCOL;
use super::amino::Amino;
use super::behaviour::{Behaviour, BehaviourEvent};
use super::budget::{Limits, REMEMBERED_PEERS, UploadBudget};
use super::chunk::{RangeAnswer, ServedRound};
use super::client::Command;
use super::dht::KAD_PROTOCOL;
use super::direct::{DirectProtocol, InboundMessage};
use super::relay_slots::RelaySlots;
use crate::cache::BeaconCache;

/// How long a peer that sent a bad signature stays blocked.
pub const BAN: Duration = Duration::from_secs(600);

/// Where the answer to one of our paired-peer requests goes.
type PendingAnswer = oneshot::Sender<Result<Vec<u8>, SwarmError>>;

pub(super) struct EventLoop {
    pub(super) swarm: libp2p::Swarm<Behaviour>,
    pub(super) commands: mpsc::Receiver<Command>,
    /// Chunk ranges read off the swarm task, back for the loop to answer,
    /// and the sender those tasks get a copy of (bounded by the open
    /// `/zks/chunk` streams).
    pub(super) range_answers: mpsc::UnboundedReceiver<RangeAnswer>,
    pub(super) range_answer_tx: mpsc::UnboundedSender<RangeAnswer>,
    /// Permits to read a chunk range from the cache.
    pub(super) chunk_readers: Arc<tokio::sync::Semaphore>,
    pub(super) cache: Arc<BeaconCache>,
    pub(super) chains: HashMap<ChainHash, ChainInfo>,
    pub(super) pending_providers:
        HashMap<kad::QueryId, (oneshot::Sender<HashSet<PeerId>>, HashSet<PeerId>)>,
    pub(super) pending_requests: HashMap<
        request_response::OutboundRequestId,
        oneshot::Sender<Result<Vec<ServedRound>, SwarmError>>,
    >,
    pub(super) pending_info:
        HashMap<request_response::OutboundRequestId, oneshot::Sender<Option<Vec<u8>>>>,
    /// The direct protocols, in the order of the `Direct` behaviour.
    pub(super) direct: Vec<DirectProtocol>,
    pub(super) pending_msgs: HashMap<(usize, request_response::OutboundRequestId), PendingAnswer>,
    pub(super) inbound: Option<mpsc::Sender<InboundMessage>>,
    pub(super) pending_cids: HashMap<kad::QueryId, (oneshot::Sender<Vec<String>>, Vec<String>)>,
    /// Upload cap, if any.
    pub(super) upload: Option<UploadBudget>,
    pub(super) banned: Vec<(PeerId, Instant)>,
    /// Where peers said (Identify), mDNS found or the DHT knows they listen.
    pub(super) peer_addrs: HashMap<PeerId, Vec<Multiaddr>>,
    /// Request budgets per peer and direct protocol.
    pub(super) peer_rates: HashMap<(PeerId, usize), UploadBudget>,
    /// Served-round budgets per peer (`/zks/chunk/1.0.0`).
    pub(super) served: HashMap<PeerId, UploadBudget>,
    pub(super) limits: Limits,
    /// The open connections (as many as the swarm holds).
    pub(super) connections: HashMap<ConnectionId, (PeerId, ConnectedPoint)>,
    /// Peers reached only through a relay that we dialed directly, and
    /// when (see [`EventLoop::reverse_relayed`]).
    pub(super) reversals: HashMap<PeerId, Instant>,
    /// Relay slots of our own: [`RELAY_SLOTS`] at most.
    pub(super) relay: RelaySlots,
    /// The Amino DHT: lookups in flight, grid membership, reachability.
    pub(super) amino_state: Amino,
    /// Connected peers whose Identify lists our Kademlia (grid peers).
    pub(super) grid_peers: HashSet<PeerId>,
    /// The mailbox store (`/zks/mailbox/1.0.0`), if this node may host.
    pub(super) mailbox: Option<Arc<crate::mailbox::MailboxStore>>,
    /// Mailbox answers computed off the swarm task, and their sender.
    pub(super) mailbox_answers: mpsc::UnboundedReceiver<super::mailbox::MailboxAnswer>,
    pub(super) mailbox_answer_tx: mpsc::UnboundedSender<super::mailbox::MailboxAnswer>,
    /// Our mailbox requests waiting for their answers.
    pub(super) pending_mailbox: HashMap<request_response::OutboundRequestId, PendingAnswer>,
    /// Closest-peer lookups in flight.
    pub(super) pending_closest: HashMap<kad::QueryId, oneshot::Sender<Vec<PeerId>>>,
    /// Announcements started again after a timeout, and how often.
    pub(super) announce_retries: HashMap<kad::RecordKey, u8>,
    /// Deposit budgets per depositor.
    pub(super) deposits: HashMap<PeerId, UploadBudget>,
    /// When expired mailbox envelopes were last swept.
    pub(super) last_sweep: Option<Instant>,
    /// Chunk requests served and provider lookups made so far.
    pub(super) counters: super::GridCounters,
    /// When each connected peer was last used (see `trim`).
    pub(super) last_used: super::trim::LastUsed,
    /// When the loop started (a peer never used counts from then).
    pub(super) started: Instant,
}

impl EventLoop {
    pub(super) async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_event(event),
                command = self.commands.next() => match command {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                // Never ends: the loop holds a sender itself.
                Some(answer) = self.range_answers.next() => {
                    self.respond_range(answer.peer, answer.channel, answer.rounds);
                }
                Some(answer) = self.mailbox_answers.next() => {
                    self.respond_mailbox(answer.channel, answer.answer);
                }
                _ = tick.tick() => {
                    self.unban_expired();
                    self.keep_relay_slots();
                    self.discover_grid();
                    self.trim_connections();
                    if self.last_sweep.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
                        self.last_sweep = Some(Instant::now());
                        self.sweep_mailboxes();
                    }
                }
            }
        }
    }

    fn unban_expired(&mut self) {
        let now = Instant::now();
        let (expired, kept): (Vec<_>, Vec<_>) =
            self.banned.drain(..).partition(|(_, until)| *until <= now);
        self.banned = kept;
        for (peer, _) in expired {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
    }

    /// Routes a client's command to the module that carries it out.
    fn on_command(&mut self, command: Command) {
        match &command {
            Command::Dial { peer, .. }
            | Command::RequestRange { peer, .. }
            | Command::SendDirect { peer, .. }
            | Command::Mailbox { peer, .. }
            | Command::ChainInfo { peer, .. } => self.used(*peer),
            _ => {}
        }
        match command {
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.listen_addrs());
            }
            Command::Peers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::GridPeers { reply } => {
                let _ = reply.send(self.grid_peers.iter().copied().collect());
            }
            Command::Connections { peer, reply } => {
                let _ = reply.send(self.connections_to(peer));
            }
            Command::PeerAddrs { peer, reply } => {
                let _ = reply.send(self.peer_addrs_of(peer));
            }
            Command::Dial { peer, addresses } => self.dial(peer, addresses),
            Command::Ban { peer } => self.ban(peer),
            Command::Seeding { on } => {
                self.set_relay_server(on);
                self.set_grid_member(on);
            }
            Command::ProvideKey { key, on } => self.provide_key(&key, on),
            Command::FindProvider { key, peer, reply } => self.find_provider(&key, peer, reply),
            Command::NetworkStatus { reply } => {
                let _ = reply.send(self.network_status());
            }
            Command::External { addr } => self.swarm.behaviour_mut().declared.queue.push_back(addr),
            Command::Provide { chain, chunk } => self.provide(chain, chunk),
            Command::Providers {
                chain,
                chunk,
                reply,
            } => self.find_providers(chain, chunk, reply),
            Command::PutCid { chain, chunk, cid } => self.put_cid(chain, chunk, cid),
            Command::GetCid {
                chain,
                chunk,
                publisher,
                reply,
            } => self.get_cid(chain, chunk, publisher, reply),
            Command::RequestRange {
                peer,
                request,
                reply,
            } => self.request_range(peer, request, reply),
            Command::ChainInfo { peer, chain, reply } => self.ask_chain_info(peer, chain, reply),
            Command::SendDirect {
                protocol,
                peer,
                addresses,
                request,
                reply,
            } => self.send_direct(&protocol, peer, addresses, request, reply),
            Command::Respond { to, answer } => self.respond(to, answer),
            Command::AddChain { chain } => self.add_chain(chain),
            Command::Publish { chain, json } => self.publish(chain, json),
            Command::Mailbox {
                peer,
                addresses,
                request,
                reply,
            } => self.send_mailbox(peer, addresses, request, reply),
            Command::ClosestPeers { key, reply } => {
                let id = self.swarm.behaviour_mut().kademlia.get_closest_peers(key);
                self.pending_closest.insert(id, reply);
            }
            Command::Counters { reply } => {
                let _ = reply.send(self.counters);
            }
            Command::OffersMailboxes { reply } => {
                let _ = reply.send(self.offers_mailboxes());
            }
        }
    }

    /// Our listen addresses with `/p2p/<our id>`, relayed ones included.
    fn listen_addrs(&self) -> Vec<Multiaddr> {
        let me = *self.swarm.local_peer_id();
        let relayed = self
            .swarm
            .external_addresses()
            .filter(|a| a.iter().any(|p| p == Protocol::P2pCircuit));
        let mut addrs: Vec<Multiaddr> = Vec::new();
        for addr in self.swarm.listeners().chain(relayed) {
            let addr = match addr.iter().last() {
                Some(Protocol::P2p(_)) => addr.clone(),
                _ => addr.clone().with(Protocol::P2p(me)),
            };
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        addrs
    }

    /// The endpoints of our open connections to `peer`.
    fn connections_to(&self, peer: PeerId) -> Vec<ConnectedPoint> {
        self.connections
            .values()
            .filter(|(p, _)| *p == peer)
            .map(|(_, endpoint)| endpoint.clone())
            .collect()
    }

    /// Where `peer` listens as far as we know; when we know nothing, a DHT
    /// lookup starts so that a later call may know more.
    fn peer_addrs_of(&mut self, peer: PeerId) -> Vec<Multiaddr> {
        let known = self.peer_addrs.get(&peer).cloned().unwrap_or_default();
        if known.is_empty() {
            self.swarm.behaviour_mut().kademlia.get_closest_peers(peer);
        }
        known
    }

    /// Dials `peer` at `addresses` unless connected already.
    fn dial(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if !addresses.is_empty() && !self.swarm.is_connected(&peer) {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(addresses)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, "cannot dial: {e}");
            }
        }
    }

    /// Disconnects and blocks `peer` for [`BAN`].
    fn ban(&mut self, peer: PeerId) {
        tracing::warn!(%peer, "blocking a peer that sent a bad signature");
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.swarm.behaviour_mut().kademlia.remove_peer(&peer);
        self.banned.push((peer, Instant::now() + BAN));
    }

    /// Remembers where a peer listens (newest first, at most 8 addresses).
    pub(super) fn remember(&mut self, peer: PeerId, addrs: &[Multiaddr]) {
        if addrs.is_empty() {
            return;
        }
        if self.peer_addrs.len() >= REMEMBERED_PEERS && !self.peer_addrs.contains_key(&peer) {
            self.peer_addrs.clear();
        }
        let known = self.peer_addrs.entry(peer).or_default();
        for addr in addrs.iter().rev() {
            known.retain(|a| a != addr);
            known.insert(0, addr.clone());
        }
        known.truncate(8);
    }
    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        if let Some(peer) = used_by(&event) {
            self.used(peer);
        }
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                tracing::info!(%address, "reachable at");
                self.announce_again();
                self.announce_relay(true);
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                tracing::info!(%address, "no longer reachable at");
                self.announce_relay(false);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                tracing::info!(%address, "no longer listening");
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(relay) = self.relay.held.remove(&listener_id) {
                    tracing::info!(%relay, ?reason, "relay slot lost");
                    self.keep_relay_slots();
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(event)) => self.on_autonat_event(&event),
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => {
                tracing::info!(?event, "relay client");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(event)) => match &event.result {
                Ok(_) => {
                    tracing::info!(peer = %event.remote_peer_id, "hole punch: direct connection");
                }
                Err(e) => tracing::info!(peer = %event.remote_peer_id, "hole punch failed: {e}"),
            },
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                if !endpoint.is_relayed() && self.reversals.contains_key(&peer_id) {
                    tracing::info!(peer = %peer_id, "connection reversal: direct connection");
                }
                self.connections.insert(connection_id, (peer_id, endpoint));
                self.used(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.connections.remove(&connection_id);
                if num_established == 0 {
                    self.relay.hops.remove(&peer_id);
                    self.grid_peers.remove(&peer_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => {
                tracing::debug!(?event, "relay server");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                self.remember(peer_id, &info.listen_addrs);
                self.reverse_relayed(peer_id, &info.listen_addrs);
                self.on_relay_hop(peer_id, info.protocols.contains(&relay::HOP_PROTOCOL_NAME));
                // Each Kademlia learns the peers that speak its protocol.
                let grid = info.protocols.iter().any(|p| p.as_ref() == KAD_PROTOCOL);
                let public = info.protocols.iter().any(|p| p.as_ref() == AMINO_PROTOCOL);
                if grid {
                    self.grid_peers.insert(peer_id);
                } else {
                    self.swarm.behaviour_mut().kademlia.remove_peer(&peer_id);
                }
                if !public {
                    self.swarm.behaviour_mut().amino.remove_peer(&peer_id);
                }
                for addr in info.listen_addrs {
                    let behaviour = self.swarm.behaviour_mut();
                    if grid {
                        behaviour.kademlia.add_address(&peer_id, addr.clone());
                    }
                    if public {
                        behaviour.amino.add_address(&peer_id, addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    self.remember(peer, std::slice::from_ref(&addr));
                    self.swarm
                        .behaviour_mut()
                        .kademlia
                        .add_address(&peer, addr.clone());
                    let _ = self.swarm.dial(addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(event)) => self.on_kad_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Amino(event)) => self.on_amino_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Chunks(event)) => self.on_chunk_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mailbox(event)) => self.on_mailbox_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Direct((index, event))) => {
                self.on_direct_event(index, event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Info(event)) => self.on_info_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip_event(event),
            _ => {}
        }
    }
}

/// The peer a request or answer on one of our request/response protocols
/// came from: such a peer is in use (see `trim`).
fn used_by(event: &SwarmEvent<BehaviourEvent>) -> Option<PeerId> {
    use request_response::Event::Message;
    match event {
        SwarmEvent::Behaviour(BehaviourEvent::Chunks(Message { peer, .. }))
        | SwarmEvent::Behaviour(BehaviourEvent::Mailbox(Message { peer, .. }))
        | SwarmEvent::Behaviour(BehaviourEvent::Info(Message { peer, .. }))
        | SwarmEvent::Behaviour(BehaviourEvent::Direct((_, Message { peer, .. }))) => Some(*peer),
        _ => None,
    }
}
