//! The grid's libp2p swarm: TCP (Noise + Yamux) and QUIC, Identify, Ping,
//! DNS, AutoNAT, the circuit-relay client with DCUtR hole punching, a capped
//! circuit-relay v2 server that only seeders switch on, Kademlia
//! (`/zks/kad/1.0.0`) with provider records per (chain, chunk), the public
//! Amino DHT (`/ipfs/kad/1.0.0`) for finding the grid and contacts, GossipSub
//! (`zks/beacon/<chainhash>`, verified before forwarding), request-response
//! (`/zks/chunk/1.0.0`) serving ranges of chunks from the cache, offline
//! mailboxes (`/zks/mailbox/1.0.0`, seeders only), Bitswap
//! (`/ipfs/bitswap/1.2.0`) serving complete chunks by CID, mDNS on
//! LANs, and a block list for peers that sent bad signatures.
//!
//! After rust-libp2p's file-sharing example: one event loop owns the
//! `Swarm`; the rest of the program holds a cheap [`SwarmClient`] that sends
//! commands over a bounded channel and awaits oneshot replies.
//!
//! # Modules
//!
//! - [`behaviour`]: [`SwarmConfig`], the combined libp2p behaviour and
//!   [`start`], which builds the swarm and spawns its event loop.
//! - [`client`]: [`SwarmClient`] and the commands it sends to the loop.
//! - [`event_loop`]: the task owning the swarm; routes commands and events
//!   to the protocol modules, keeps connections, addresses and bans.
//! - [`chunk`]: `/zks/chunk/1.0.0`, ranges of rounds served from the cache.
//! - [`bitswap`]: `/ipfs/bitswap/1.2.0`, complete chunks by CID to and
//!   from any IPFS node.
//! - [`info`]: `/zks/chain-info/1.0.0`, a chain's info by its hash.
//! - [`mailbox`]: `/zks/mailbox/1.0.0`, sealed envelopes held for offline
//!   recipients by seeders (storage in [`crate::mailbox`]).
//! - [`direct`]: request/response protocols between paired peers, carried
//!   for their owner (the node) as it describes them.
//! - [`gossip`]: the `zks/beacon/<chain hash>` topics and judging what
//!   arrives on them.
//! - [`dht`]: Kademlia record keys (chunk providers, chunk CIDs).
//! - [`amino`]: the public Amino DHT (`/ipfs/kad/1.0.0`): grid discovery,
//!   chunk CIDs for IPFS nodes, rendezvous keys, [`NetworkStatus`].
//! - [`relay_slots`]: the relay server's caps, relay slots while not
//!   publicly reachable, connection reversal.
//! - [`budget`]: [`Limits`], token buckets and per-peer rates.
//! - [`trim`]: closing the connections of peers unused the longest.

mod amino;
mod behaviour;
pub mod bitswap;
mod budget;
mod chunk;
mod client;
mod dht;
mod direct;
mod event_loop;
mod gossip;
mod info;
mod mailbox;
mod relay_slots;
mod trim;

pub use amino::{
    AMINO_PROTOCOL, NetworkStatus, WANTED_GRID_PEERS, cid_multihash, grid_key, sha256_multihash,
};
pub use behaviour::{SwarmConfig, start};
pub use budget::{
    CHUNK_PEER_RATE, DHT_REFRESH, IDLE_TIMEOUT, KEEP_PEERS, Limits, MAX_INCOMING, MAX_MEMORY,
    MAX_PENDING_INCOMING, MAX_PER_PEER, RELAY_PROBES, RELAY_RESERVATION_DURATION, RESERVE_AFTER,
    UploadBudget,
};
pub use chunk::{
    CHUNK_PROTOCOL, ChunkCodec, GridCounters, HEAD_ROUND, RangeRequest, ServedRound,
    decode_response, encode_response, to_beacons,
};
pub use client::SwarmClient;
pub use dht::KAD_PROTOCOL;
pub use direct::{BytesCodec, DirectProtocol, INBOUND_QUEUE, InboundMessage, InboundReply};
pub use event_loop::BAN;
pub use gossip::GOSSIP_WINDOW_SECS;
pub use info::{INFO_PROTOCOL, InfoCodec};
pub use mailbox::{
    DEPOSITS_PER_SEC, MAILBOX_PROTOCOL, MAX_REQUEST as MAILBOX_MAX_REQUEST,
    MAX_RESPONSE as MAILBOX_MAX_RESPONSE, MailboxCodec, MailboxRequest, decode_acked,
    decode_deposited, decode_fetched, encode_fetched,
};
pub use relay_slots::{
    RELAY_CIRCUIT_BYTES, RELAY_CIRCUIT_DURATION, RELAY_CIRCUITS_PER_PEER, RELAY_KEY_BUCKETS,
    RELAY_MAX_CIRCUITS, RELAY_MAX_RESERVATIONS, RELAY_RESERVATIONS_PER_PEER, RELAY_RETRY,
    RELAY_SLOTS, RELAY_SWEEP_MAX, relay_bucket,
};

use libp2p::PeerId;

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
    /// The peer does not speak the protocol (an older or other program).
    #[error("peer {peer} does not speak {protocol}")]
    Unsupported {
        /// The peer.
        peer: PeerId,
        /// The protocol asked for.
        protocol: String,
    },
}

/// The I/O error a codec returns for bytes that break its protocol.
fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// Reads a whole stream of at most `cap` bytes; one byte more is the error
/// `too_large`, and nothing beyond it is read.
async fn read_capped<T: futures::AsyncRead + Unpin>(
    io: &mut T,
    cap: usize,
    too_large: &str,
) -> std::io::Result<Vec<u8>> {
    use futures::AsyncReadExt;
    let mut body = Vec::new();
    io.take(cap as u64 + 1).read_to_end(&mut body).await?;
    if body.len() > cap {
        return Err(invalid(too_large));
    }
    Ok(body)
}

/// Writes `body` and closes the stream, or refuses a body over `cap` with
/// the error `too_large` before writing anything.
async fn write_capped<T: futures::AsyncWrite + Unpin>(
    io: &mut T,
    body: &[u8],
    cap: usize,
    too_large: &str,
) -> std::io::Result<()> {
    use futures::AsyncWriteExt;
    if body.len() > cap {
        return Err(invalid(too_large));
    }
    io.write_all(body).await?;
    io.close().await
}
