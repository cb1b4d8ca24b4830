//! The grid's libp2p swarm: TCP (Noise + Yamux) and QUIC, Identify, Ping,
//! AutoNAT, the circuit-relay client with DCUtR hole punching, a capped
//! circuit-relay v2 server that only seeders switch on, Kademlia
//! (`/zks/kad/1.0.0`) with provider records per (chain, chunk), GossipSub
//! (`zks/beacon/<chainhash>`, verified before forwarding), request-response
//! (`/zks/chunk/1.0.0`) serving ranges of chunks from the cache, mDNS on
//! LANs, and a block list for peers that sent bad signatures.
//!
//! After rust-libp2p's file-sharing example: one event loop owns the
//! `Swarm`; the rest of the program holds a cheap [`SwarmClient`] that sends
//! commands over a bounded channel and awaits oneshot replies.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use futures::{AsyncReadExt, AsyncWriteExt, SinkExt};
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::kad::store::RecordStore;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, allow_block_list, autonat, connection_limits, dcutr,
    gossipsub, identify, identity, kad, mdns, memory_connection_limits, noise, ping, relay,
    request_response, tcp, yamux,
};
use sha2::{Digest, Sha256};
use zks_beacon::{Beacon, ChainHash, ChainInfo, ReferenceVerifier, VerifiedBeacon};

use crate::cache::{BeaconCache, CHUNK_ROUNDS, chunk_of};

/// Protocol of chunk range requests.
pub const CHUNK_PROTOCOL: &str = "/zks/chunk/1.0.0";
/// Protocol asking a peer for a chain's `/info` JSON by chain hash.
pub const INFO_PROTOCOL: &str = "/zks/chain-info/1.0.0";
/// Largest chain info document accepted.
const MAX_INFO: usize = 4096;
/// Protocol carrying sealed messages between paired peers.
pub const MSG_PROTOCOL: &str = "/zks/msg/1.0.0";
/// Largest envelope carried by `/zks/msg/1.0.0`.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Largest acknowledgement.
const MAX_ACK: usize = 1024;
/// First byte of a `/zks/file/1.0.0` answer meaning "busy, ask again".
pub const FILE_BUSY: u8 = 4;
/// Requests per second (and burst) one peer may make on `/zks/msg/1.0.0`.
pub const MSG_RATE: u64 = 1000;
/// Chunk requests per second (and burst) one peer may make on
/// `/zks/file/1.0.0` (1 GiB/s of 1 MiB chunks).
pub const FILE_RATE: u64 = 1024;
/// Rounds (and burst) one peer may be served per second over
/// `/zks/chunk/1.0.0`: four whole chunks, well above what an honest sync
/// verifies; beyond it the answer is empty (ask someone else), as when the
/// node-wide upload cap is reached.
pub const CHUNK_PEER_RATE: u64 = 4 * 16_384;
/// Established incoming connections a node accepts in all.
pub const MAX_INCOMING: u32 = 128;
/// Incoming connections still in their handshake at once.
pub const MAX_PENDING_INCOMING: u32 = 32;
/// A gossiped round is considered only if it was (or will be) published
/// within this many seconds of our clock; others are ignored unverified.
pub const GOSSIP_WINDOW_SECS: u64 = 60;
/// Resident memory of the whole process above which new connections (in
/// and out) are refused until it falls again: a last line behind the caps
/// above, which keep a flooded daemon near 64 MiB.
pub const MAX_MEMORY: usize = 1 << 30;
/// Established connections with any one peer (TCP, QUIC, relayed, both ways).
pub const MAX_PER_PEER: u32 = 4;
/// Concurrent `/zks/msg/1.0.0` streams per connection: an outbox sends one
/// message per contact at a time, and each stream may hold a 256 KiB
/// envelope, so this bounds what one connection can make us buffer (2 MiB).
const MSG_STREAMS: usize = 8;
/// Concurrent `/zks/file/1.0.0` streams per connection (requests are 64
/// bytes; a receiver keeps 8 chunks in flight).
const FILE_STREAMS: usize = 32;

/// The per-peer request rates, connection caps and relay wait of a node (this
/// module's constants, lowered in tests that need to reach them quickly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages per second per peer.
    pub messages_per_sec: u64,
    /// File-chunk requests per second per peer.
    pub file_chunks_per_sec: u64,
    /// Beacon rounds served per second per peer.
    pub served_rounds_per_sec: u64,
    /// Established incoming connections in all.
    pub max_incoming: u32,
    /// Resident bytes of the process above which no new connection is made
    /// or accepted.
    pub max_memory_bytes: usize,
    /// How long to wait for a confirmed public address before taking
    /// relay slots ([`RESERVE_AFTER`]).
    pub reserve_after: Duration,
    /// How long a slot on our relay server lasts unless renewed
    /// ([`RELAY_RESERVATION_DURATION`]).
    pub relay_reservation: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            messages_per_sec: MSG_RATE,
            file_chunks_per_sec: FILE_RATE,
            served_rounds_per_sec: CHUNK_PEER_RATE,
            max_incoming: MAX_INCOMING,
            max_memory_bytes: MAX_MEMORY,
            reserve_after: RESERVE_AFTER,
            relay_reservation: RELAY_RESERVATION_DURATION,
        }
    }
}

/// Protocol pulling chunks of an offered file from a paired peer.
pub const FILE_PROTOCOL: &str = "/zks/file/1.0.0";
/// Largest file-chunk request.
pub const MAX_FILE_REQUEST: usize = 64;
/// Largest file-chunk response: a 1 MiB chunk with its framing.
pub const MAX_FILE_RESPONSE: usize = (1 << 20) + 4096;
/// Kademlia protocol name.
pub const KAD_PROTOCOL: &str = "/zks/kad/1.0.0";
/// Largest chunk response accepted (16384 rounds of 96-byte signatures and
/// previous signatures, with framing).
const MAX_RESPONSE: usize = 4 << 20;
/// How long a peer that sent a bad signature stays blocked.
pub const BAN: Duration = Duration::from_secs(600);
/// Commands waiting for the event loop.
const COMMAND_QUEUE: usize = 64;

/// Caps of the circuit-relay v2 server (on while the node seeds): slots
/// reserved at once, and per peer.
pub const RELAY_MAX_RESERVATIONS: usize = 64;
/// Reservations one peer may hold on this relay.
pub const RELAY_RESERVATIONS_PER_PEER: usize = 2;
/// How long a reservation lasts before the peer must renew it.
pub const RELAY_RESERVATION_DURATION: Duration = Duration::from_secs(3600);
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
/// How long a node waits for AutoNAT to confirm a public address before it
/// takes itself for unreachable (AutoNAT's first probe runs 15 s after
/// start; a probe that fails or a private verdict decides at once). The
/// default of [`Limits::reserve_after`].
pub const RESERVE_AFTER: Duration = Duration::from_secs(30);
/// A relay is asked for a slot at most this often (a refused or lost
/// reservation is retried on another relay first).
pub const RELAY_RETRY: Duration = Duration::from_secs(60);

/// The relay server's configuration: the caps above; libp2p's default rate
/// limits stay (per peer 30 reservations and 30 circuits per 2 minutes,
/// per IP address 60 of each per minute).
fn relay_config(limits: &Limits) -> relay::Config {
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

/// Why a swarm operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwarmError {
    /// The event loop has stopped.
    #[error("the grid network has stopped")]
    Stopped,
    /// Setting up the transport or listening failed.
    #[error("grid network: {0}")]
    Setup(String),
    /// A request to a peer failed or was refused.
    #[error("peer {peer}: {reason}")]
    Request {
        /// The peer.
        peer: PeerId,
        /// What failed.
        reason: String,
    },
}

/// A range request: rounds `first..=last` of one chain (within one chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    /// The chain.
    pub chain: [u8; 32],
    /// First round.
    pub first: u64,
    /// Last round.
    pub last: u64,
}

/// One served round: number, signature and (chained) previous signature.
pub type ServedRound = (u64, Vec<u8>, Option<Vec<u8>>);

/// The codec of `/zks/chunk/1.0.0`: fixed-size requests, length-prefixed
/// responses with explicit caps so a hostile peer cannot make us allocate.
#[derive(Debug, Clone, Default)]
pub struct ChunkCodec;

async fn read_exact_vec<T: futures::AsyncRead + Unpin>(
    io: &mut T,
    n: usize,
) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl request_response::Codec for ChunkCodec {
    type Protocol = StreamProtocol;
    type Request = RangeRequest;
    type Response = Vec<ServedRound>;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<RangeRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_exact_vec(io, 48).await?;
        let mut chain = [0u8; 32];
        chain.copy_from_slice(&buf[..32]);
        let first = u64::from_be_bytes(buf[32..40].try_into().map_err(|_| invalid("request"))?);
        let last = u64::from_be_bytes(buf[40..48].try_into().map_err(|_| invalid("request"))?);
        if first == 0 || last < first || last - first >= CHUNK_ROUNDS {
            return Err(invalid("range out of bounds"));
        }
        Ok(RangeRequest { chain, first, last })
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<ServedRound>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let mut body = Vec::new();
        io.take(MAX_RESPONSE as u64 + 1)
            .read_to_end(&mut body)
            .await?;
        if body.len() > MAX_RESPONSE {
            return Err(invalid("response too large"));
        }
        decode_response(&body).ok_or_else(|| invalid("malformed chunk response"))
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: RangeRequest,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        let mut buf = Vec::with_capacity(48);
        buf.extend_from_slice(&req.chain);
        buf.extend_from_slice(&req.first.to_be_bytes());
        buf.extend_from_slice(&req.last.to_be_bytes());
        io.write_all(&buf).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        rounds: Vec<ServedRound>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode_response(&rounds)).await?;
        io.close().await
    }
}

/// `count u32 | (round u64 | sig u8-len | prev u8-len)*`.
pub fn encode_response(rounds: &[ServedRound]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + rounds.len() * 110);
    out.extend_from_slice(&(rounds.len() as u32).to_be_bytes());
    for (round, sig, prev) in rounds {
        out.extend_from_slice(&round.to_be_bytes());
        out.push(sig.len().min(255) as u8);
        out.extend_from_slice(&sig[..sig.len().min(255)]);
        let prev = prev.as_deref().unwrap_or(&[]);
        out.push(prev.len().min(255) as u8);
        out.extend_from_slice(&prev[..prev.len().min(255)]);
    }
    out
}

/// The inverse of [`encode_response`]; `None` for anything malformed.
pub fn decode_response(body: &[u8]) -> Option<Vec<ServedRound>> {
    let count = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
    if count as u64 > CHUNK_ROUNDS {
        return None;
    }
    let mut pos = 4;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let round = u64::from_be_bytes(body.get(pos..pos + 8)?.try_into().ok()?);
        pos += 8;
        let sig_len = usize::from(*body.get(pos)?);
        let sig = body.get(pos + 1..pos + 1 + sig_len)?.to_vec();
        pos += 1 + sig_len;
        let prev_len = usize::from(*body.get(pos)?);
        let prev = body.get(pos + 1..pos + 1 + prev_len)?.to_vec();
        pos += 1 + prev_len;
        out.push((round, sig, (!prev.is_empty()).then_some(prev)));
    }
    (pos == body.len()).then_some(out)
}

/// The codec of `/zks/chain-info/1.0.0`: a 32-byte chain hash, answered by
/// the chain's info JSON (empty if unknown), at most 4 KiB.
#[derive(Debug, Clone, Default)]
pub struct InfoCodec;

impl request_response::Codec for InfoCodec {
    type Protocol = StreamProtocol;
    type Request = [u8; 32];
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<[u8; 32]>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let mut hash = [0u8; 32];
        io.read_exact(&mut hash).await?;
        Ok(hash)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let mut body = Vec::new();
        io.take(MAX_INFO as u64 + 1).read_to_end(&mut body).await?;
        if body.len() > MAX_INFO {
            return Err(invalid("chain info too large"));
        }
        Ok(body)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        hash: [u8; 32],
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&hash).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&body[..body.len().min(MAX_INFO)]).await?;
        io.close().await
    }
}

/// A length-capped byte codec for the protocols between paired peers
/// (`/zks/msg/1.0.0`, `/zks/file/1.0.0`): a request and a response, each
/// read to the end of its stream and refused past its cap.
#[derive(Debug, Clone, Copy)]
pub struct BytesCodec {
    max_request: usize,
    max_response: usize,
}

async fn read_capped<T: futures::AsyncRead + Unpin>(
    io: &mut T,
    cap: usize,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    io.take(cap as u64 + 1).read_to_end(&mut body).await?;
    if body.len() > cap {
        return Err(invalid("message too large"));
    }
    Ok(body)
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_response).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        if body.len() > self.max_request {
            return Err(invalid("request too large"));
        }
        io.write_all(&body).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        if body.len() > self.max_response {
            return Err(invalid("response too large"));
        }
        io.write_all(&body).await?;
        io.close().await
    }
}

/// A request-response behaviour for one paired-peer protocol: capped
/// request and response sizes, a request timeout, at most 32 streams.
fn paired_peer_behaviour(
    protocol: &'static str,
    max_request: usize,
    max_response: usize,
    timeout_secs: u64,
    streams: usize,
) -> request_response::Behaviour<BytesCodec> {
    request_response::Behaviour::with_codec(
        BytesCodec {
            max_request,
            max_response,
        },
        [(
            StreamProtocol::new(protocol),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(timeout_secs))
            .with_max_concurrent_streams(streams),
    )
}

/// Which protocol between paired peers a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerProtocol {
    /// `/zks/msg/1.0.0`: a sealed message, answered by an acknowledgement.
    Message,
    /// `/zks/file/1.0.0`: a request for one file chunk, answered by it.
    File,
}

/// Where the answer to an inbound request goes.
#[derive(Debug)]
pub struct InboundReply {
    protocol: PeerProtocol,
    channel: request_response::ResponseChannel<Vec<u8>>,
}

/// A request from a peer on a paired-peer protocol, with the way to answer.
#[derive(Debug)]
pub struct InboundMessage {
    /// The sending peer (authenticated by the connection).
    pub peer: PeerId,
    /// The protocol it came on.
    pub protocol: PeerProtocol,
    /// The request bytes (an envelope, or a chunk request).
    pub envelope: Vec<u8>,
    /// Where the answer goes ([`SwarmClient::acknowledge`]).
    pub reply: InboundReply,
}

/// Inbound messages waiting for the node; beyond this the sender is told
/// "busy" and retries later.
pub const INBOUND_QUEUE: usize = 256;

/// Our declared public addresses (`zks daemon --external`), each reported
/// first as a candidate, then confirmed. DCUtR offers a peer only the
/// candidates it heard of, and the swarm (like Identify) drops a candidate
/// that is confirmed already: an address confirmed outright would never be
/// offered in a hole punch, and a peer behind a NAT would get no address
/// of ours to dial.
#[derive(Default)]
struct Declared {
    queue: std::collections::VecDeque<Multiaddr>,
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
struct Behaviour {
    limits: connection_limits::Behaviour,
    declared: Declared,
    memory: memory_connection_limits::Behaviour,
    msg: request_response::Behaviour<BytesCodec>,
    file: request_response::Behaviour<BytesCodec>,
    info: request_response::Behaviour<InfoCodec>,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kademlia: kad::Behaviour<kad::store::MemoryStore>,
    gossipsub: gossipsub::Behaviour,
    chunks: request_response::Behaviour<ChunkCodec>,
    mdns: libp2p::swarm::behaviour::toggle::Toggle<mdns::tokio::Behaviour>,
    autonat: autonat::Behaviour,
    relay_client: relay::client::Behaviour,
    relay: relay::Behaviour,
    dcutr: dcutr::Behaviour,
}

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
    /// Where incoming `/zks/msg/1.0.0` messages and `/zks/file/1.0.0`
    /// requests go (`None`: refused).
    pub inbound: Option<mpsc::Sender<InboundMessage>>,
    /// Per-peer rates and connection caps ([`Limits::default`] in use).
    pub limits: Limits,
}

impl SwarmConfig {
    /// A swarm with identity `keypair` that listens nowhere, knows no peer
    /// or chain, has no upload cap, takes no messages and has the default
    /// [`Limits`]; set the fields that matter with `..SwarmConfig::new(k)`.
    pub fn new(keypair: identity::Keypair) -> SwarmConfig {
        SwarmConfig {
            keypair,
            listen: Vec::new(),
            bootstrap: Vec::new(),
            chains: Vec::new(),
            mdns: false,
            serve_rounds_per_sec: None,
            inbound: None,
            limits: Limits::default(),
        }
    }
}

enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Peers(oneshot::Sender<Vec<PeerId>>),
    Provide(ChainHash, u64),
    Providers(ChainHash, u64, oneshot::Sender<HashSet<PeerId>>),
    Request(
        PeerId,
        RangeRequest,
        oneshot::Sender<Result<Vec<ServedRound>, SwarmError>>,
    ),
    Ban(PeerId),
    Publish(ChainHash, Vec<u8>),
    Info(PeerId, ChainHash, oneshot::Sender<Option<Vec<u8>>>),
    AddChain(ChainInfo),
    PutCid(ChainHash, u64, String),
    SendMsg(
        PeerProtocol,
        PeerId,
        Vec<Multiaddr>,
        Vec<u8>,
        oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    ),
    Ack(InboundReply, Vec<u8>),
    GetCid(ChainHash, u64, PeerId, oneshot::Sender<Vec<String>>),
    PeerAddrs(PeerId, oneshot::Sender<Vec<Multiaddr>>),
    RelayServer(bool),
    External(Multiaddr),
    Connections(PeerId, oneshot::Sender<Vec<ConnectedPoint>>),
    Dial(PeerId, Vec<Multiaddr>),
}

/// A cheap handle to the swarm's event loop.
#[derive(Debug, Clone)]
pub struct SwarmClient {
    sender: mpsc::Sender<Command>,
    peer_id: PeerId,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

fn provider_key(chain: &ChainHash, chunk: u64) -> kad::RecordKey {
    kad::RecordKey::new(&format!("zks/{}/{chunk}", chain.to_hex()))
}

/// Each publisher has its own key, so nobody can overwrite another's value.
fn cid_key(chain: &ChainHash, chunk: u64, publisher: &PeerId) -> kad::RecordKey {
    kad::RecordKey::new(&format!("zks/{}/cid/{chunk}/{publisher}", chain.to_hex()))
}

/// Whether a DHT value looks like a CIDv1 string (it is checked against the
/// bytes it names anyway; this only keeps junk out).
fn plausible_cid(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?;
    (text.len() <= 100 && text.starts_with('b') && text.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| text.to_owned())
}

fn topic(chain: &ChainHash) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("zks/beacon/{}", chain.to_hex()))
}

impl SwarmClient {
    /// This node's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SwarmError> {
        let (tx, rx) = oneshot::channel();
        self.sender
            .clone()
            .send(make(tx))
            .await
            .map_err(|_| SwarmError::Stopped)?;
        rx.await.map_err(|_| SwarmError::Stopped)
    }

    /// The addresses the swarm listens on (with `/p2p/<peer id>`),
    /// relayed ones (`…/p2p-circuit/p2p/<peer id>`) once a relay accepted
    /// the reservation.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, SwarmError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerId>, SwarmError> {
        self.ask(Command::Peers).await
    }

    /// Announces that this node holds (part of) a chunk.
    pub async fn provide(&self, chain: ChainHash, chunk: u64) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::Provide(chain, chunk))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Peers that announced a chunk (waits at most `timeout`).
    pub async fn providers(
        &self,
        chain: ChainHash,
        chunk: u64,
        timeout: Duration,
    ) -> HashSet<PeerId> {
        let query = self.ask(|tx| Command::Providers(chain, chunk, tx));
        match tokio::time::timeout(timeout, query).await {
            Ok(Ok(peers)) => peers,
            _ => HashSet::new(),
        }
    }

    /// Asks `peer` for a range of rounds (unverified answer).
    pub async fn request(
        &self,
        peer: PeerId,
        request: RangeRequest,
    ) -> Result<Vec<ServedRound>, SwarmError> {
        self.ask(|tx| Command::Request(peer, request, tx)).await?
    }

    /// Disconnects and blocks a peer for [`BAN`].
    pub async fn ban(&self, peer: PeerId) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::Ban(peer))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Learns a chain from connected peers by its hash: accepted only if the
    /// info a peer sends hashes to `hash` (drand's chain-hash rule). The
    /// chain is then served and gossiped too.
    pub async fn learn_chain(&self, hash: ChainHash, timeout: Duration) -> Option<ChainInfo> {
        let peers = self.peers().await.ok()?;
        for peer in peers {
            let ask = self.ask(|tx| Command::Info(peer, hash, tx));
            let Ok(Ok(Some(body))) = tokio::time::timeout(timeout, ask).await else {
                continue;
            };
            if let Ok(info) = ChainInfo::from_info_json(&String::from_utf8_lossy(&body))
                && info.hash == hash
            {
                let _ = self
                    .sender
                    .clone()
                    .send(Command::AddChain(info.clone()))
                    .await;
                return Some(info);
            }
        }
        None
    }

    /// Publishes the CID of a complete chunk in the DHT (the swarm's chunk
    /// index, for gateway fetches).
    pub async fn publish_cid(
        &self,
        chain: ChainHash,
        chunk: u64,
        cid: String,
    ) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::PutCid(chain, chunk, cid))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Looks up the CIDs the chunk's providers published for it (waits at
    /// most about `timeout`). Each publisher has its own DHT key, so a liar
    /// cannot overwrite an honest value; all distinct values are returned
    /// and the bytes decide which is right.
    pub async fn find_cids(&self, chain: ChainHash, chunk: u64, timeout: Duration) -> Vec<String> {
        let providers = self.providers(chain, chunk, timeout).await;
        let lookups = providers.into_iter().map(|publisher| {
            let query = self.ask(move |tx| Command::GetCid(chain, chunk, publisher, tx));
            async move {
                tokio::time::timeout(timeout, query)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
            }
        });
        let mut out: Vec<String> = Vec::new();
        for cid in futures::future::join_all(lookups)
            .await
            .into_iter()
            .flatten()
        {
            if !out.contains(&cid) {
                out.push(cid);
            }
        }
        out
    }

    /// Sends an envelope to `peer` (dialing `addresses` if needed) and
    /// returns its acknowledgement.
    pub async fn send_message(
        &self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        envelope: Vec<u8>,
    ) -> Result<Vec<u8>, SwarmError> {
        self.ask(|tx| Command::SendMsg(PeerProtocol::Message, peer, addresses, envelope, tx))
            .await?
    }

    /// Asks `peer` for a file chunk (`/zks/file/1.0.0`) and returns its
    /// answer.
    pub async fn request_file_chunk(
        &self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, SwarmError> {
        self.ask(|tx| Command::SendMsg(PeerProtocol::File, peer, addresses, request, tx))
            .await?
    }

    /// Connects to `peer` at `addresses` unless already connected, without
    /// waiting for the outcome. A node coming online calls on its contacts
    /// this way, so that they learn its current addresses (Identify) and
    /// reach it again after it moved or restarted on another port.
    pub async fn dial(&self, peer: PeerId, addresses: Vec<Multiaddr>) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::Dial(peer, addresses))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Answers an inbound message or file request.
    pub async fn acknowledge(&self, reply: InboundReply, ack: Vec<u8>) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::Ack(reply, ack))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Where `peer` listens, as far as this swarm has learned (Identify,
    /// mDNS, the DHT). When nothing is known yet a DHT lookup starts, so a
    /// later call may know more.
    pub async fn peer_addresses(&self, peer: PeerId) -> Result<Vec<Multiaddr>, SwarmError> {
        self.ask(|tx| Command::PeerAddrs(peer, tx)).await
    }

    /// Turns the circuit-relay v2 server on or off (seeders relay for
    /// others, within the `RELAY_*` caps). Off, no reservation or circuit
    /// is accepted; circuits already open end within their caps.
    pub async fn set_relay_server(&self, on: bool) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::RelayServer(on))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Declares an address others reach this node at (e.g. a forwarded
    /// port). AutoNAT confirms public ones by itself; the relay server hands
    /// these out with its reservations, and a client refuses a reservation
    /// that carries none.
    pub async fn add_external_address(&self, addr: Multiaddr) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::External(addr))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// The open connections to `peer`, one endpoint each (a relayed one
    /// has `/p2p-circuit` in its address: `ConnectedPoint::is_relayed`).
    pub async fn connections(&self, peer: PeerId) -> Result<Vec<ConnectedPoint>, SwarmError> {
        self.ask(|tx| Command::Connections(peer, tx)).await
    }

    /// Serves and gossips another chain.
    pub async fn add_chain(&self, chain: ChainInfo) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(Command::AddChain(chain))
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Gossips a verified beacon to the chain's topic.
    pub async fn publish(&self, beacon: &VerifiedBeacon) -> Result<(), SwarmError> {
        let json = beacon.beacon().to_json().into_bytes();
        self.sender
            .clone()
            .send(Command::Publish(beacon.chain_hash(), json))
            .await
            .map_err(|_| SwarmError::Stopped)
    }
}

/// Where the answer to one of our paired-peer requests goes.
type PendingAnswer = oneshot::Sender<Result<Vec<u8>, SwarmError>>;

struct EventLoop {
    swarm: libp2p::Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    cache: Arc<BeaconCache>,
    chains: HashMap<ChainHash, ChainInfo>,
    pending_providers: HashMap<kad::QueryId, (oneshot::Sender<HashSet<PeerId>>, HashSet<PeerId>)>,
    pending_requests: HashMap<
        request_response::OutboundRequestId,
        oneshot::Sender<Result<Vec<ServedRound>, SwarmError>>,
    >,
    pending_info: HashMap<request_response::OutboundRequestId, oneshot::Sender<Option<Vec<u8>>>>,
    pending_msgs: HashMap<(PeerProtocol, request_response::OutboundRequestId), PendingAnswer>,
    inbound: Option<mpsc::Sender<InboundMessage>>,
    pending_cids: HashMap<kad::QueryId, (oneshot::Sender<Vec<String>>, Vec<String>)>,
    /// Upload cap, if any.
    upload: Option<UploadBudget>,
    banned: Vec<(PeerId, Instant)>,
    /// Where peers said (Identify), mDNS found or the DHT knows they listen.
    peer_addrs: HashMap<PeerId, Vec<Multiaddr>>,
    /// Request budgets per peer and paired-peer protocol.
    peer_rates: HashMap<(PeerId, PeerProtocol), UploadBudget>,
    /// Served-round budgets per peer (`/zks/chunk/1.0.0`).
    served: HashMap<PeerId, UploadBudget>,
    limits: Limits,
    /// The open connections (as many as the swarm holds).
    connections: HashMap<ConnectionId, (PeerId, ConnectedPoint)>,
    /// Peers reached only through a relay that we dialed directly, and
    /// when (see [`EventLoop::reverse_relayed`]).
    reversals: HashMap<PeerId, Instant>,
    /// Relay slots of our own: [`RELAY_SLOTS`] at most.
    relay: RelaySlots,
}

/// What the node knows about its reachability and the relay slots it holds
/// while it is not publicly reachable.
struct RelaySlots {
    started: Instant,
    /// AutoNAT said private, or one of its probes failed.
    probed_unreachable: bool,
    /// Connected peers whose Identify lists the relay hop protocol.
    hops: HashSet<PeerId>,
    /// Our relayed listeners and the relay of each.
    held: HashMap<ListenerId, PeerId>,
    /// When each relay may be asked again.
    retry: HashMap<PeerId, Instant>,
}

/// Peers whose addresses are remembered; beyond this the map starts over.
const REMEMBERED_PEERS: usize = 4096;

/// Takes `amount` from `key`'s token bucket (made at `rate` on first use);
/// false when the bucket is empty. At most [`REMEMBERED_PEERS`] buckets are
/// kept: beyond, the map starts over (a fresh bucket is full, so forgetting
/// only ever errs on the generous side).
fn take_from<K: std::hash::Hash + Eq>(
    budgets: &mut HashMap<K, UploadBudget>,
    key: K,
    rate: u64,
    amount: u64,
) -> bool {
    let now = Instant::now();
    if budgets.len() >= REMEMBERED_PEERS && !budgets.contains_key(&key) {
        budgets.clear();
    }
    budgets
        .entry(key)
        .or_insert_with(|| UploadBudget::new(rate, now))
        .take(amount, now)
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
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_behaviour(|key, relay_client| {
            let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kad_config.set_query_timeout(Duration::from_secs(10));
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
                msg: paired_peer_behaviour(MSG_PROTOCOL, MAX_MESSAGE, MAX_ACK, 20, MSG_STREAMS),
                file: paired_peer_behaviour(
                    FILE_PROTOCOL,
                    MAX_FILE_REQUEST,
                    MAX_FILE_RESPONSE,
                    30,
                    FILE_STREAMS,
                ),
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
                mdns: mdns.into(),
                autonat: autonat::Behaviour::new(peer_id, autonat::Config::default()),
                relay_client,
                relay: relay::Behaviour::new(peer_id, relay_config(&limits)),
                dcutr: dcutr::Behaviour::new(peer_id),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
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
    for addr in &config.bootstrap {
        if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() {
            swarm
                .behaviour_mut()
                .kademlia
                .add_address(&peer, addr.clone());
        }
        swarm.dial(addr.clone()).map_err(|e| setup(&e))?;
    }
    let (sender, commands) = mpsc::channel(COMMAND_QUEUE);
    let event_loop = EventLoop {
        swarm,
        commands,
        cache,
        chains: config.chains.iter().map(|c| (c.hash, c.clone())).collect(),
        pending_providers: HashMap::new(),
        pending_requests: HashMap::new(),
        pending_info: HashMap::new(),
        pending_msgs: HashMap::new(),
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
        relay: RelaySlots {
            started: Instant::now(),
            probed_unreachable: false,
            hops: HashSet::new(),
            held: HashMap::new(),
            retry: HashMap::new(),
        },
    };
    tokio::spawn(event_loop.run());
    Ok(SwarmClient { sender, peer_id })
}

impl EventLoop {
    fn peer_behaviour(
        &mut self,
        protocol: PeerProtocol,
    ) -> &mut request_response::Behaviour<BytesCodec> {
        match protocol {
            PeerProtocol::Message => &mut self.swarm.behaviour_mut().msg,
            PeerProtocol::File => &mut self.swarm.behaviour_mut().file,
        }
    }

    /// Requests from and answers of paired peers, on either protocol.
    fn on_peer_event(
        &mut self,
        protocol: PeerProtocol,
        event: request_response::Event<Vec<u8>, Vec<u8>>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let reply = InboundReply { protocol, channel };
                let busy = match protocol {
                    PeerProtocol::Message => b"busy".to_vec(),
                    PeerProtocol::File => vec![FILE_BUSY],
                };
                if !self.within_rate(peer, protocol) {
                    let _ = self
                        .peer_behaviour(protocol)
                        .send_response(reply.channel, busy);
                    return;
                }
                let refused = match &mut self.inbound {
                    Some(queue) => match queue.try_send(InboundMessage {
                        peer,
                        protocol,
                        envelope: request,
                        reply,
                    }) {
                        Ok(()) => None,
                        Err(e) => Some((e.into_inner().reply, busy)),
                    },
                    None => Some((reply, b"err:this node does not take messages".to_vec())),
                };
                if let Some((reply, ack)) = refused {
                    let _ = self
                        .peer_behaviour(protocol)
                        .send_response(reply.channel, ack);
                }
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(tx) = self.pending_msgs.remove(&(protocol, request_id)) {
                    let _ = tx.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tx) = self.pending_msgs.remove(&(protocol, request_id)) {
                    let _ = tx.send(Err(SwarmError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_event(event),
                command = self.commands.next() => match command {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = tick.tick() => {
                    self.unban_expired();
                    self.keep_relay_slots();
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

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(tx) => {
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
                let _ = tx.send(addrs);
            }
            Command::RelayServer(on) => {
                let status = if on {
                    relay::Status::Enable
                } else {
                    relay::Status::Disable
                };
                self.swarm.behaviour_mut().relay.set_status(Some(status));
            }
            Command::External(addr) => self.swarm.behaviour_mut().declared.queue.push_back(addr),
            Command::Connections(peer, tx) => {
                let _ = tx.send(
                    self.connections
                        .values()
                        .filter(|(p, _)| *p == peer)
                        .map(|(_, endpoint)| endpoint.clone())
                        .collect(),
                );
            }
            Command::Peers(tx) => {
                let _ = tx.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Provide(chain, chunk) => {
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .kademlia
                    .start_providing(provider_key(&chain, chunk))
                {
                    tracing::warn!("cannot announce chunk {chunk}: {e}");
                }
            }
            Command::Providers(chain, chunk, tx) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .kademlia
                    .get_providers(provider_key(&chain, chunk));
                self.pending_providers.insert(id, (tx, HashSet::new()));
            }
            Command::Request(peer, request, tx) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .chunks
                    .send_request(&peer, request);
                self.pending_requests.insert(id, tx);
            }
            Command::Ban(peer) => {
                tracing::warn!(%peer, "blocking a peer that sent a bad signature");
                self.swarm.behaviour_mut().blocked.block_peer(peer);
                self.swarm.behaviour_mut().kademlia.remove_peer(&peer);
                self.banned.push((peer, Instant::now() + BAN));
            }
            Command::Info(peer, hash, tx) => {
                let id = self.swarm.behaviour_mut().info.send_request(&peer, hash.0);
                self.pending_info.insert(id, tx);
            }
            Command::SendMsg(protocol, peer, addresses, envelope, tx) => {
                for addr in addresses {
                    self.swarm.add_peer_address(peer, addr);
                }
                let id = self.peer_behaviour(protocol).send_request(&peer, envelope);
                self.pending_msgs.insert((protocol, id), tx);
            }
            Command::Dial(peer, addresses) => {
                if !addresses.is_empty() && !self.swarm.is_connected(&peer) {
                    let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(addresses)
                        .build();
                    if let Err(e) = self.swarm.dial(opts) {
                        tracing::debug!(%peer, "cannot dial: {e}");
                    }
                }
            }
            Command::PeerAddrs(peer, tx) => {
                let known = self.peer_addrs.get(&peer).cloned().unwrap_or_default();
                if known.is_empty() {
                    self.swarm.behaviour_mut().kademlia.get_closest_peers(peer);
                }
                let _ = tx.send(known);
            }
            Command::Ack(reply, ack) => {
                let _ = self
                    .peer_behaviour(reply.protocol)
                    .send_response(reply.channel, ack);
            }
            Command::PutCid(chain, chunk, cid) => {
                let me = *self.swarm.local_peer_id();
                let record = kad::Record::new(cid_key(&chain, chunk, &me), cid.into_bytes());
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .kademlia
                    .put_record(record, kad::Quorum::One)
                {
                    tracing::warn!("cannot publish the CID of chunk {chunk}: {e}");
                }
            }
            Command::GetCid(chain, chunk, publisher, tx) => {
                let key = cid_key(&chain, chunk, &publisher);
                let local: Vec<String> = self
                    .swarm
                    .behaviour_mut()
                    .kademlia
                    .store_mut()
                    .get(&key)
                    .and_then(|r| plausible_cid(&r.value))
                    .into_iter()
                    .collect();
                let id = self.swarm.behaviour_mut().kademlia.get_record(key);
                self.pending_cids.insert(id, (tx, local));
            }
            Command::AddChain(chain) => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .subscribe(&topic(&chain.hash));
                self.chains.insert(chain.hash, chain);
            }
            Command::Publish(chain, data) => {
                // "No peers subscribed" is normal for a lone node.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic(&chain), data);
            }
        }
    }

    /// Whether `peer` may make another request on `protocol` now (a token
    /// bucket per peer: a flooding peer is answered "busy" and cannot fill
    /// the node's queue for everyone else).
    fn within_rate(&mut self, peer: PeerId, protocol: PeerProtocol) -> bool {
        let rate = match protocol {
            PeerProtocol::Message => self.limits.messages_per_sec,
            PeerProtocol::File => self.limits.file_chunks_per_sec,
        };
        take_from(&mut self.peer_rates, (peer, protocol), rate, 1)
    }

    /// Remembers where a peer listens (newest first, at most 8 addresses).
    fn remember(&mut self, peer: PeerId, addrs: &[Multiaddr]) {
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

    /// Connection reversal: a peer we are connected to only through a
    /// relay, which lists direct addresses, is dialed at them. If it is
    /// reachable (a public peer that reached us, behind our NAT, through
    /// our relay slot) this gives a direct connection, so the relay is no
    /// longer needed. DCUtR cannot do it: its hole punch expects both sides'
    /// connection attempts to cross, and when one simply accepts the
    /// other's, both wait as listeners. Tried at most once per
    /// [`RELAY_RETRY`] per peer.
    fn reverse_relayed(&mut self, peer: PeerId, listen: &[Multiaddr]) {
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

    /// Keeps up to [`RELAY_SLOTS`] relay reservations while the node is not
    /// publicly reachable (AutoNAT said private or a probe failed, or no
    /// public address was confirmed within [`Limits::reserve_after`]), on
    /// connected peers that offer the hop protocol (seeders); drops them all
    /// once a public address is confirmed. A slot lost (relay gone, reservation
    /// refused) is taken on another relay; each relay is asked at most once
    /// per [`RELAY_RETRY`].
    fn keep_relay_slots(&mut self) {
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

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
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
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(event)) => {
                match &event {
                    autonat::Event::StatusChanged { new, .. } => {
                        tracing::info!(status = ?new, "AutoNAT");
                        self.relay.probed_unreachable = *new == autonat::NatStatus::Private;
                    }
                    autonat::Event::OutboundProbe(autonat::OutboundProbeEvent::Error {
                        ..
                    }) => self.relay.probed_unreachable = true,
                    _ => {}
                }
                tracing::debug!(?event, "autonat");
                self.keep_relay_slots();
            }
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
                if info.protocols.contains(&relay::HOP_PROTOCOL_NAME) {
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
                for addr in info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kademlia
                        .add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(
                kad::Event::OutboundQueryProgressed {
                    result: kad::QueryResult::GetClosestPeers(Ok(found)),
                    ..
                },
            )) => {
                for peer in found.peers {
                    self.remember(peer.peer_id, &peer.addrs);
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
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(
                kad::Event::OutboundQueryProgressed {
                    id,
                    result: kad::QueryResult::GetProviders(result),
                    step,
                    ..
                },
            )) => {
                if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result
                    && let Some((_, found)) = self.pending_providers.get_mut(&id)
                {
                    found.extend(providers);
                }
                if step.last
                    && let Some((tx, found)) = self.pending_providers.remove(&id)
                {
                    let _ = tx.send(found);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kademlia(
                kad::Event::OutboundQueryProgressed {
                    id,
                    result: kad::QueryResult::GetRecord(result),
                    step,
                    ..
                },
            )) => {
                if let Ok(kad::GetRecordOk::FoundRecord(peer_record)) = result
                    && let Some(cid) = plausible_cid(&peer_record.record.value)
                    && let Some((_, found)) = self.pending_cids.get_mut(&id)
                    && !found.contains(&cid)
                {
                    found.push(cid);
                }
                if step.last
                    && let Some((tx, found)) = self.pending_cids.remove(&id)
                {
                    let _ = tx.send(found);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Chunks(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let rounds = self.serve(peer, &request);
                    if self
                        .swarm
                        .behaviour_mut()
                        .chunks
                        .send_response(channel, rounds)
                        .is_err()
                    {
                        tracing::debug!(%peer, "chunk response not sent (peer gone)");
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(tx) = self.pending_requests.remove(&request_id) {
                        let _ = tx.send(Ok(response));
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Chunks(
                request_response::Event::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                },
            )) => {
                if let Some(tx) = self.pending_requests.remove(&request_id) {
                    let _ = tx.send(Err(SwarmError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Msg(event)) => {
                self.on_peer_event(PeerProtocol::Message, event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::File(event)) => {
                self.on_peer_event(PeerProtocol::File, event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Info(request_response::Event::Message {
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let body = self
                        .chains
                        .get(&ChainHash(request))
                        .map(|c| c.to_info_json().into_bytes())
                        .unwrap_or_default();
                    let _ = self.swarm.behaviour_mut().info.send_response(channel, body);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(tx) = self.pending_info.remove(&request_id) {
                        let _ = tx.send(Some(response));
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Info(
                request_response::Event::OutboundFailure { request_id, .. },
            )) => {
                if let Some(tx) = self.pending_info.remove(&request_id) {
                    let _ = tx.send(None);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
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
            _ => {}
        }
    }

    /// Serves a range from the cache: only what is held, never more than asked.
    /// Takes `rounds` from the upload budget; false when over the cap.
    fn take_upload(&mut self, rounds: u64) -> bool {
        self.upload
            .as_mut()
            .is_none_or(|b| b.take(rounds, Instant::now()))
    }

    fn serve(&mut self, peer: PeerId, request: &RangeRequest) -> Vec<ServedRound> {
        let rounds = request.last.saturating_sub(request.first) + 1;
        if !take_from(
            &mut self.served,
            peer,
            self.limits.served_rounds_per_sec,
            rounds,
        ) {
            tracing::debug!(%peer, "peer over its serving rate; answering a chunk request empty");
            return Vec::new();
        }
        if !self.take_upload(rounds) {
            tracing::debug!("upload cap reached; answering a chunk request empty");
            return Vec::new();
        }
        let Some(chain) = self.chains.get(&ChainHash(request.chain)) else {
            return Vec::new();
        };
        if chunk_of(request.first) != chunk_of(request.last) {
            return Vec::new();
        }
        match self.cache.get_range(chain, request.first..=request.last) {
            Ok(held) => held
                .into_iter()
                .map(|b| {
                    let b = b.beacon();
                    (
                        b.round(),
                        b.signature().to_vec(),
                        b.previous_signature().map(<[u8]>::to_vec),
                    )
                })
                .collect(),
            Err(e) => {
                tracing::warn!("cannot serve a chunk range: {e}");
                Vec::new()
            }
        }
    }

    /// Verifies a gossiped beacon; a valid one is cached and forwarded.
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

/// A token bucket of rounds per second with up to one second of burst.
#[derive(Debug, Clone)]
pub struct UploadBudget {
    rate: u64,
    tokens: f64,
    last: Instant,
}

impl UploadBudget {
    /// A full bucket of `rate` rounds per second.
    pub fn new(rate: u64, now: Instant) -> UploadBudget {
        UploadBudget {
            rate,
            tokens: rate as f64,
            last: now,
        }
    }

    /// Takes `rounds` at time `now`; false when over the cap. A request
    /// larger than a second's budget is allowed once the bucket is full,
    /// leaving a debt that later requests wait out.
    pub fn take(&mut self, rounds: u64, now: Instant) -> bool {
        let rate = self.rate as f64;
        self.tokens =
            (self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
        if self.tokens >= (rounds as f64).min(rate) {
            self.tokens -= rounds as f64;
            true
        } else {
            false
        }
    }
}

/// The served rounds as beacons of `chain` (unverified), skipping any that
/// are malformed or outside `first..=last`.
pub fn to_beacons(
    chain: &ChainInfo,
    first: u64,
    last: u64,
    served: Vec<ServedRound>,
) -> (Vec<Beacon>, usize) {
    let mut bad = 0;
    let mut out = Vec::new();
    for (round, sig, prev) in served {
        if round < first || round > last {
            bad += 1;
            continue;
        }
        match Beacon::new(chain.scheme, round, sig, prev) {
            Ok(b) => out.push(b),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_budget_refills_at_its_rate_and_carries_debt() {
        let t0 = Instant::now();
        let mut b = UploadBudget::new(1000, t0);
        assert!(b.take(600, t0));
        assert!(!b.take(600, t0), "only 400 left");
        assert!(
            b.take(600, t0 + Duration::from_millis(200)),
            "400 + 200 refilled"
        );
        // A request larger than a second's budget passes on a full bucket,
        // then everything waits until the debt is paid.
        let t1 = t0 + Duration::from_secs(10);
        assert!(b.take(5000, t1));
        assert!(!b.take(1, t1 + Duration::from_secs(3)));
        assert!(b.take(1, t1 + Duration::from_millis(4100)));
    }

    /// The byte codecs of `/zks/msg/1.0.0` and `/zks/file/1.0.0` read at
    /// most their cap plus one byte from a stream, whatever the peer sends,
    /// and refuse to write more than the peer would read.
    #[test]
    fn byte_codecs_stop_reading_at_their_caps() {
        use request_response::Codec;
        let proto = StreamProtocol::new(MSG_PROTOCOL);
        let mut codec = BytesCodec {
            max_request: MAX_MESSAGE,
            max_response: MAX_ACK,
        };
        futures::executor::block_on(async {
            let exact = vec![1u8; MAX_MESSAGE];
            let mut io = futures::io::Cursor::new(exact.clone());
            assert_eq!(codec.read_request(&proto, &mut io).await.unwrap(), exact);
            // A peer sending 16 MiB: refused after reading the cap + 1.
            let mut io = futures::io::Cursor::new(vec![1u8; 16 << 20]);
            assert!(codec.read_request(&proto, &mut io).await.is_err());
            assert_eq!(io.position(), MAX_MESSAGE as u64 + 1, "no more was read");
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_ACK + 1]);
            assert!(codec.read_response(&proto, &mut io).await.is_err());
            let mut sink = futures::io::Cursor::new(Vec::new());
            assert!(
                codec
                    .write_request(&proto, &mut sink, vec![0; MAX_MESSAGE + 1])
                    .await
                    .is_err()
            );
            assert!(sink.get_ref().is_empty(), "nothing of it was sent");
            let mut file = BytesCodec {
                max_request: MAX_FILE_REQUEST,
                max_response: MAX_FILE_RESPONSE,
            };
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_FILE_RESPONSE + 10]);
            assert!(file.read_response(&proto, &mut io).await.is_err());
            let mut io = futures::io::Cursor::new(vec![0u8; 65]);
            assert!(file.read_request(&proto, &mut io).await.is_err());
        });
    }

    #[test]
    fn chunk_responses_round_trip_and_garbage_is_refused() {
        let rounds: Vec<ServedRound> =
            vec![(1, vec![7; 48], None), (2, vec![8; 96], Some(vec![9; 96]))];
        assert_eq!(
            decode_response(&encode_response(&rounds)),
            Some(rounds.clone())
        );
        let encoded = encode_response(&rounds);
        for cut in 0..encoded.len() {
            assert_eq!(decode_response(&encoded[..cut]), None, "cut {cut}");
        }
        assert_eq!(
            decode_response(&[0xff, 0xff, 0xff, 0xff]),
            None,
            "count over a chunk"
        );
        let mut extra = encoded;
        extra.push(0);
        assert_eq!(decode_response(&extra), None);
    }
}
