//! How the swarm is put together: the [`SwarmConfig`] a node starts it
//! with, the combined libp2p behaviour (transports, caps, every protocol),
//! and [`start`], which builds it and spawns the event loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use libp2p::swarm::{ConnectionId, NetworkBehaviour};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, allow_block_list, autonat, connection_limits, dcutr,
    gossipsub, identify, identity, kad, mdns, memory_connection_limits, noise, ping, relay,
    request_response, tcp, yamux,
};
use sha2::{Digest, Sha256};
use zks_beacon::ChainInfo;

use super::SwarmError;
use super::amino::{self, Amino};
use super::budget::{Limits, MAX_PENDING_INCOMING, MAX_PER_PEER, UploadBudget};
use super::chunk::{CHUNK_PROTOCOL, CHUNK_READERS, ChunkCodec};
use super::client::{COMMAND_QUEUE, SwarmClient};
use super::dht::KAD_PROTOCOL;
use super::direct::{Direct, DirectProtocol, InboundMessage};
use super::event_loop::EventLoop;
use super::gossip::topic;
use super::info::{INFO_PROTOCOL, InfoCodec};
use super::mailbox::{MAILBOX_PROTOCOL, MailboxCodec};
use super::relay_slots::{RelaySlots, relay_config};
use crate::cache::BeaconCache;

/// How to start the swarm.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// The node's identity (its PeerId).
    pub keypair: identity::Keypair,
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Peers to connect to first (`…/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// Chains whose gossip topics to join and whose chunks to serve.
    pub chains: Vec<ChainInfo>,
    /// Discover peers on the LAN with mDNS (off in tests).
    pub mdns: bool,
    /// Upload cap: rounds served to peers per second (`None`: no cap).
    /// Requests beyond it get an empty answer and ask someone else.
    pub serve_rounds_per_sec: Option<u64>,
    /// The request/response protocols between paired peers this swarm
    /// carries (the node's messenger describes them; none by default).
    pub direct: Vec<DirectProtocol>,
    /// Where inbound requests on the [`direct`](Self::direct) protocols go
    /// (`None`: each is answered with its protocol's `refused` bytes).
    pub inbound: Option<mpsc::Sender<InboundMessage>>,
    /// Per-peer rates and connection caps ([`Limits::default`] in use).
    pub limits: Limits,
    /// The mailbox store to serve `/zks/mailbox/1.0.0` from; offered only
    /// while seeding and publicly reachable (`None`: never offered).
    pub mailbox: Option<Arc<crate::mailbox::MailboxStore>>,
    /// Also carry libp2p's in-process memory transport (`/memory/N`
    /// addresses, Noise and Yamux over a channel): hundreds of nodes in one
    /// test process, which loopback TCP would hold two file descriptors a
    /// connection for. Off in the app.
    pub memory_transport: bool,
}

impl SwarmConfig {
    /// A swarm with identity `keypair` that listens nowhere, knows no peer
    /// or chain, has no upload cap, carries no direct protocol and has the default
    /// [`Limits`]; set the fields that matter with `..SwarmConfig::new(k)`.
    pub fn new(keypair: identity::Keypair) -> SwarmConfig {
        SwarmConfig {
            keypair,
            listen: Vec::new(),
            bootstrap: Vec::new(),
            chains: Vec::new(),
            mdns: false,
            serve_rounds_per_sec: None,
            direct: Vec::new(),
            inbound: None,
            limits: Limits::default(),
            mailbox: None,
            memory_transport: false,
        }
    }
}

/// Our declared public addresses (`zks daemon --external`), each reported
/// first as a candidate, then confirmed. DCUtR offers a peer only the
/// candidates it heard of, and the swarm (like Identify) drops a candidate
/// that is confirmed already: an address confirmed outright would never be
/// offered in a hole punch, and a peer behind a NAT would get no address
/// of ours to dial.
#[derive(Default)]
pub(super) struct Declared {
    pub(super) queue: std::collections::VecDeque<Multiaddr>,
    confirm: Option<Multiaddr>,
}

impl NetworkBehaviour for Declared {
    type ConnectionHandler = libp2p::swarm::dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<libp2p::swarm::THandler<Self>, libp2p::swarm::ConnectionDenied> {
        Ok(libp2p::swarm::dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: libp2p::core::Endpoint,
        _: libp2p::core::transport::PortUse,
    ) -> Result<libp2p::swarm::THandler<Self>, libp2p::swarm::ConnectionDenied> {
        Ok(libp2p::swarm::dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: libp2p::swarm::FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: libp2p::swarm::THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<libp2p::swarm::ToSwarm<Self::ToSwarm, libp2p::swarm::THandlerInEvent<Self>>>
    {
        use libp2p::swarm::ToSwarm;
        if let Some(addr) = self.confirm.take() {
            return std::task::Poll::Ready(ToSwarm::ExternalAddrConfirmed(addr));
        }
        match self.queue.pop_front() {
            Some(addr) => {
                self.confirm = Some(addr.clone());
                std::task::Poll::Ready(ToSwarm::NewExternalAddrCandidate(addr))
            }
            None => std::task::Poll::Pending,
        }
    }
}

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) limits: connection_limits::Behaviour,
    pub(super) declared: Declared,
    pub(super) memory: memory_connection_limits::Behaviour,
    pub(super) direct: Direct,
    pub(super) info: request_response::Behaviour<InfoCodec>,
    pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) kademlia: kad::Behaviour<kad::store::MemoryStore>,
    pub(super) amino: kad::Behaviour<kad::store::MemoryStore>,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) chunks: request_response::Behaviour<ChunkCodec>,
    pub(super) mailbox: request_response::Behaviour<MailboxCodec>,
    pub(super) mdns: libp2p::swarm::behaviour::toggle::Toggle<mdns::tokio::Behaviour>,
    pub(super) autonat: autonat::Behaviour,
    pub(super) relay_client: relay::client::Behaviour,
    pub(super) relay: relay::Behaviour,
    pub(super) dcutr: dcutr::Behaviour,
    pub(super) bitswap: libp2p_stream::Behaviour,
}

/// Starts the swarm and its event loop (a tokio task) over `cache`.
pub async fn start(
    config: SwarmConfig,
    cache: Arc<BeaconCache>,
) -> Result<SwarmClient, SwarmError> {
    let setup = |e: &dyn std::fmt::Display| SwarmError::Setup(e.to_string());
    let peer_id = config.keypair.public().to_peer_id();
    let mdns_on = config.mdns;
    let limits = config.limits;
    let direct = Direct::new(&config.direct);
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_quic()
        .with_other_transport(|key| {
            use libp2p::Transport;
            use libp2p::core::transport::{MemoryTransport, OptionalTransport, upgrade};
            let memory = MemoryTransport::default()
                .upgrade(upgrade::Version::V1)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(if config.memory_transport {
                OptionalTransport::some(memory)
            } else {
                OptionalTransport::none()
            })
        })
        .map_err(|e| setup(&e))?
        // `/dns4`, `/dns6` and `/dnsaddr` addresses (the public bootstrap
        // list is `/dnsaddr/bootstrap.libp2p.io/…`).
        .with_dns()
        .map_err(|e| setup(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_behaviour(|key, relay_client| {
            let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kad_config.set_query_timeout(Duration::from_secs(10));
            kad_config.set_periodic_bootstrap_interval(Some(limits.dht_refresh));
            let gossip_config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .max_transmit_size(4096)
                // A round is one message whoever publishes it: seeders that
                // each fetched the head publish the same bytes, and a peer
                // cannot make us verify one round again by re-signing it.
                .message_id_fn(|m: &gossipsub::Message| {
                    gossipsub::MessageId::from(Sha256::digest(&m.data).to_vec())
                })
                .build()
                .map_err(|e| e.to_string())?;
            let mdns = if mdns_on {
                Some(
                    mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                        .map_err(|e| e.to_string())?,
                )
            } else {
                None
            };
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_incoming(Some(limits.max_incoming))
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                declared: Declared::default(),
                memory: memory_connection_limits::Behaviour::with_max_bytes(
                    limits.max_memory_bytes,
                ),
                direct,
                info: request_response::Behaviour::with_codec(
                    InfoCodec,
                    [(
                        StreamProtocol::new(INFO_PROTOCOL),
                        request_response::ProtocolSupport::Full,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(10)),
                ),
                blocked: allow_block_list::Behaviour::default(),
                // Pushed at once when the listen addresses change (a relay
                // slot won), so peers and the DHT learn the relayed address.
                identify: identify::Behaviour::new(
                    identify::Config::new("/zks/id/1.0.0".into(), key.public())
                        .with_push_listen_addr_updates(true),
                ),
                ping: ping::Behaviour::default(),
                kademlia: kad::Behaviour::with_config(
                    peer_id,
                    kad::store::MemoryStore::new(peer_id),
                    kad_config,
                ),
                amino: amino::behaviour(peer_id),
                gossipsub: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )?,
                chunks: request_response::Behaviour::with_codec(
                    ChunkCodec,
                    [(
                        StreamProtocol::new(CHUNK_PROTOCOL),
                        request_response::ProtocolSupport::Full,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(64),
                ),
                mailbox: request_response::Behaviour::with_codec(
                    MailboxCodec,
                    [(
                        StreamProtocol::new(MAILBOX_PROTOCOL),
                        request_response::ProtocolSupport::Full,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(20))
                        .with_max_concurrent_streams(16),
                ),
                mdns: mdns.into(),
                autonat: autonat::Behaviour::new(peer_id, autonat::Config::default()),
                relay_client,
                relay: relay::Behaviour::new(peer_id, relay_config(&limits)),
                dcutr: dcutr::Behaviour::new(peer_id),
                bitswap: libp2p_stream::Behaviour::new(),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle_timeout))
        .build();
    swarm
        .behaviour_mut()
        .kademlia
        .set_mode(Some(kad::Mode::Server));
    // Relaying is the seeders' job: off until seeding switches it on.
    swarm
        .behaviour_mut()
        .relay
        .set_status(Some(relay::Status::Disable));
    for addr in &config.listen {
        swarm.listen_on(addr.clone()).map_err(|e| setup(&e))?;
    }
    for chain in &config.chains {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic(&chain.hash))
            .map_err(|e| setup(&e))?;
    }
    // Bootstrap peers may be grid peers, public Amino DHT servers or both:
    // each Kademlia keeps those that turn out to speak its protocol.
    for addr in &config.bootstrap {
        if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() {
            let behaviour = swarm.behaviour_mut();
            behaviour.kademlia.add_address(&peer, addr.clone());
            behaviour.amino.add_address(&peer, addr.clone());
        }
        swarm.dial(addr.clone()).map_err(|e| setup(&e))?;
    }
    let (sender, commands) = mpsc::channel(COMMAND_QUEUE);
    let (range_answer_tx, range_answers) = mpsc::unbounded();
    let (mailbox_answer_tx, mailbox_answers) = mpsc::unbounded();
    let bitswap = super::bitswap::start(
        swarm.behaviour().bitswap.new_control(),
        cache.clone(),
        config.chains.clone(),
        config.serve_rounds_per_sec,
        config.limits.served_rounds_per_sec,
    );
    let event_loop = EventLoop {
        swarm,
        commands,
        range_answers,
        range_answer_tx,
        chunk_readers: Arc::new(tokio::sync::Semaphore::new(CHUNK_READERS)),
        cache,
        chains: config.chains.iter().map(|c| (c.hash, c.clone())).collect(),
        pending_providers: HashMap::new(),
        pending_requests: HashMap::new(),
        pending_info: HashMap::new(),
        pending_msgs: HashMap::new(),
        direct: config.direct.clone(),
        inbound: config.inbound.clone(),
        pending_cids: HashMap::new(),
        upload: config
            .serve_rounds_per_sec
            .map(|r| UploadBudget::new(r, Instant::now())),
        banned: Vec::new(),
        peer_addrs: HashMap::new(),
        peer_rates: HashMap::new(),
        served: HashMap::new(),
        limits: config.limits,
        connections: HashMap::new(),
        reversals: HashMap::new(),
        relay: RelaySlots::new(),
        amino_state: Amino::new(),
        grid_peers: std::collections::HashSet::new(),
        mailbox: config.mailbox.clone(),
        mailbox_answers,
        mailbox_answer_tx,
        pending_mailbox: HashMap::new(),
        pending_closest: HashMap::new(),
        announce_retries: HashMap::new(),
        deposits: HashMap::new(),
        last_sweep: None,
        counters: super::GridCounters::default(),
        last_used: HashMap::new(),
        started: Instant::now(),
    };
    tokio::spawn(event_loop.run());
    Ok(SwarmClient {
        sender,
        peer_id,
        bitswap,
    })
}
