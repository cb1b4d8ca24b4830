//! [`SwarmClient`], the cheap handle the rest of the program holds: each
//! method sends a [`Command`] to the event loop and, when it needs an
//! answer, awaits it on a oneshot channel.

use std::collections::HashSet;
use std::time::Duration;

use futures::SinkExt;
use futures::channel::{mpsc, oneshot};
use libp2p::core::ConnectedPoint;
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use zks_beacon::{ChainHash, ChainInfo, VerifiedBeacon};

use super::SwarmError;
use super::amino::NetworkStatus;
use super::chunk::{RangeRequest, ServedRound};
use super::direct::InboundReply;

/// Commands waiting for the event loop.
pub(super) const COMMAND_QUEUE: usize = 64;

/// What a [`SwarmClient`] asks of the event loop; `reply` carries the
/// answer back when there is one.
pub(super) enum Command {
    /// Our listen addresses, relayed ones included.
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    /// The connected peers.
    Peers { reply: oneshot::Sender<Vec<PeerId>> },
    /// The connected peers identified as grid nodes.
    GridPeers { reply: oneshot::Sender<Vec<PeerId>> },
    /// Announce in the DHT that we hold (part of) a chunk.
    Provide { chain: ChainHash, chunk: u64 },
    /// Look up a chunk's providers in the DHT.
    Providers {
        chain: ChainHash,
        chunk: u64,
        reply: oneshot::Sender<HashSet<PeerId>>,
    },
    /// Ask a peer for a range of rounds (`/zks/chunk/1.0.0`).
    RequestRange {
        peer: PeerId,
        request: RangeRequest,
        reply: oneshot::Sender<Result<Vec<ServedRound>, SwarmError>>,
    },
    /// Disconnect and block a peer for a while.
    Ban { peer: PeerId },
    /// Gossip a verified round (its drand JSON) on the chain's topic.
    Publish { chain: ChainHash, json: Vec<u8> },
    /// Ask a peer for a chain's info (`/zks/chain-info/1.0.0`).
    ChainInfo {
        peer: PeerId,
        chain: ChainHash,
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
    /// Serve and gossip another chain.
    AddChain { chain: ChainInfo },
    /// Publish the CID of a complete chunk in the DHT.
    PutCid {
        chain: ChainHash,
        chunk: u64,
        cid: String,
    },
    /// Look up the CID one publisher stored for a chunk.
    GetCid {
        chain: ChainHash,
        chunk: u64,
        publisher: PeerId,
        reply: oneshot::Sender<Vec<String>>,
    },
    /// Send a request to a paired peer on a direct protocol.
    SendDirect {
        protocol: StreamProtocol,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    },
    /// Answer an inbound direct request.
    Respond { to: InboundReply, answer: Vec<u8> },
    /// Where a peer listens, as far as we know.
    PeerAddrs {
        peer: PeerId,
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    /// Switch seeding's network roles (relay server, grid membership) on
    /// or off.
    Seeding { on: bool },
    /// Start or stop providing a key on the Amino DHT.
    ProvideKey { key: Vec<u8>, on: bool },
    /// Look a key's providers up on the Amino DHT; dial `peer` if found.
    FindProvider {
        key: Vec<u8>,
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    /// Our place in the networks.
    NetworkStatus {
        reply: oneshot::Sender<NetworkStatus>,
    },
    /// Declare an address others reach us at.
    External { addr: Multiaddr },
    /// The open connections to a peer.
    Connections {
        peer: PeerId,
        reply: oneshot::Sender<Vec<ConnectedPoint>>,
    },
    /// Send a request on `/zks/mailbox/1.0.0`.
    Mailbox {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    },
    /// Look up the grid peers closest to a key.
    ClosestPeers {
        key: Vec<u8>,
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    /// Whether this node offers mailboxes now.
    OffersMailboxes { reply: oneshot::Sender<bool> },
    /// What this node did for the grid so far.
    Counters {
        reply: oneshot::Sender<super::GridCounters>,
    },
    /// Connect to a peer unless connected already.
    Dial {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
    },
}

/// A cheap handle to the swarm's event loop.
#[derive(Debug, Clone)]
pub struct SwarmClient {
    pub(super) sender: mpsc::Sender<Command>,
    pub(super) peer_id: PeerId,
    pub(super) bitswap: super::bitswap::Handle,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl SwarmClient {
    /// This node's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Sends `command` to the event loop without waiting for an answer.
    async fn tell(&self, command: Command) -> Result<(), SwarmError> {
        self.sender
            .clone()
            .send(command)
            .await
            .map_err(|_| SwarmError::Stopped)
    }

    /// Sends the command `make` builds around a reply channel and awaits
    /// the answer; a loop that stopped (or dropped the channel) is
    /// [`SwarmError::Stopped`].
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SwarmError> {
        let (reply, answer) = oneshot::channel();
        self.tell(make(reply)).await?;
        answer.await.map_err(|_| SwarmError::Stopped)
    }

    /// The addresses the swarm listens on (with `/p2p/<peer id>`),
    /// relayed ones (`…/p2p-circuit/p2p/<peer id>`) once a relay accepted
    /// the reservation.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, SwarmError> {
        self.ask(|reply| Command::ListenAddrs { reply }).await
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerId>, SwarmError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// Connected peers identified as grid nodes (they speak the grid's
    /// DHT protocol, so the chunk protocol too); a peer counts once
    /// Identify told us its protocols, a moment after connecting.
    pub async fn grid_peers(&self) -> Result<Vec<PeerId>, SwarmError> {
        self.ask(|reply| Command::GridPeers { reply }).await
    }

    /// Announces that this node holds (part of) a chunk.
    pub async fn provide(&self, chain: ChainHash, chunk: u64) -> Result<(), SwarmError> {
        self.tell(Command::Provide { chain, chunk }).await
    }

    /// Peers that announced a chunk (waits at most `timeout`).
    pub async fn providers(
        &self,
        chain: ChainHash,
        chunk: u64,
        timeout: Duration,
    ) -> HashSet<PeerId> {
        let query = self.ask(|reply| Command::Providers {
            chain,
            chunk,
            reply,
        });
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
        self.ask(|reply| Command::RequestRange {
            peer,
            request,
            reply,
        })
        .await?
    }

    /// Disconnects and blocks a peer for [`BAN`](super::BAN).
    pub async fn ban(&self, peer: PeerId) -> Result<(), SwarmError> {
        self.tell(Command::Ban { peer }).await
    }

    /// Learns a chain from connected peers by its hash: accepted only if the
    /// info a peer sends hashes to `hash` (drand's chain-hash rule). The
    /// chain is then served and gossiped too.
    pub async fn learn_chain(&self, hash: ChainHash, timeout: Duration) -> Option<ChainInfo> {
        let peers = self.peers().await.ok()?;
        for peer in peers {
            let ask = self.ask(|reply| Command::ChainInfo {
                peer,
                chain: hash,
                reply,
            });
            let Ok(Ok(Some(body))) = tokio::time::timeout(timeout, ask).await else {
                continue;
            };
            if let Ok(info) = ChainInfo::from_info_json(&String::from_utf8_lossy(&body))
                && info.hash == hash
            {
                self.bitswap.add_chain(info.clone());
                let _ = self
                    .tell(Command::AddChain {
                        chain: info.clone(),
                    })
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
        self.tell(Command::PutCid { chain, chunk, cid }).await
    }

    /// Looks up the CIDs the chunk's providers published for it (waits at
    /// most about `timeout`). Each publisher has its own DHT key, so a liar
    /// cannot overwrite an honest value; all distinct values are returned
    /// and the bytes decide which is right.
    pub async fn find_cids(&self, chain: ChainHash, chunk: u64, timeout: Duration) -> Vec<String> {
        let providers = self.providers(chain, chunk, timeout).await;
        let lookups = providers.into_iter().map(|publisher| {
            let query = self.ask(move |reply| Command::GetCid {
                chain,
                chunk,
                publisher,
                reply,
            });
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

    /// Sends `request` to `peer` on the direct protocol `protocol` (one
    /// of [`SwarmConfig::direct`](super::SwarmConfig::direct)), dialing
    /// `addresses` if needed, and returns the peer's answer.
    pub async fn send_direct(
        &self,
        protocol: StreamProtocol,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, SwarmError> {
        self.ask(|reply| Command::SendDirect {
            protocol,
            peer,
            addresses,
            request,
            reply,
        })
        .await?
    }

    /// Connects to `peer` at `addresses` unless already connected, without
    /// waiting for the outcome. A node coming online calls on its contacts
    /// this way, so that they learn its current addresses (Identify) and
    /// reach it again after it moved or restarted on another port.
    pub async fn dial(&self, peer: PeerId, addresses: Vec<Multiaddr>) -> Result<(), SwarmError> {
        self.tell(Command::Dial { peer, addresses }).await
    }

    /// Answers an inbound request on a direct protocol.
    pub async fn acknowledge(&self, reply: InboundReply, ack: Vec<u8>) -> Result<(), SwarmError> {
        self.tell(Command::Respond {
            to: reply,
            answer: ack,
        })
        .await
    }

    /// Where `peer` listens, as far as this swarm has learned (Identify,
    /// mDNS, the DHT). When nothing is known yet a DHT lookup starts, so a
    /// later call may know more.
    pub async fn peer_addresses(&self, peer: PeerId) -> Result<Vec<Multiaddr>, SwarmError> {
        self.ask(|reply| Command::PeerAddrs { peer, reply }).await
    }

    /// Turns seeding's network roles on or off: the circuit-relay v2
    /// server (seeders relay for others, within the `RELAY_*` caps; off, no
    /// reservation or circuit is accepted and circuits already open end
    /// within their caps), and announcing this node as a grid member on the
    /// Amino DHT (the grid key of each chain it serves).
    pub async fn set_seeding(&self, on: bool) -> Result<(), SwarmError> {
        self.tell(Command::Seeding { on }).await
    }

    /// Starts (`on`) or stops providing `key` (a multihash) on the Amino
    /// DHT; libp2p re-announces provided keys by itself.
    pub async fn provide_key(&self, key: Vec<u8>, on: bool) -> Result<(), SwarmError> {
        self.tell(Command::ProvideKey { key, on }).await
    }

    /// Looks up the providers of `key` on the Amino DHT and, if `peer` is
    /// one of them, dials it at the addresses its provider record carries.
    /// Whether it was found, within `timeout`.
    pub async fn find_provider(
        &self,
        key: Vec<u8>,
        peer: PeerId,
        timeout: Duration,
    ) -> Result<bool, SwarmError> {
        let query = self.ask(|reply| Command::FindProvider { key, peer, reply });
        tokio::time::timeout(timeout, query)
            .await
            .unwrap_or(Ok(false))
    }

    /// The node's place in the networks: Amino DHT mode and routing table,
    /// grid peers, reachability, relay slots.
    pub async fn network_status(&self) -> Result<NetworkStatus, SwarmError> {
        self.ask(|reply| Command::NetworkStatus { reply }).await
    }

    /// Declares an address others reach this node at (e.g. a forwarded
    /// port). AutoNAT confirms public ones by itself; the relay server hands
    /// these out with its reservations, and a client refuses a reservation
    /// that carries none.
    pub async fn add_external_address(&self, addr: Multiaddr) -> Result<(), SwarmError> {
        self.tell(Command::External { addr }).await
    }

    /// The open connections to `peer`, one endpoint each (a relayed one
    /// has `/p2p-circuit` in its address: `ConnectedPoint::is_relayed`).
    pub async fn connections(&self, peer: PeerId) -> Result<Vec<ConnectedPoint>, SwarmError> {
        self.ask(|reply| Command::Connections { peer, reply }).await
    }

    /// Serves and gossips another chain.
    pub async fn add_chain(&self, chain: ChainInfo) -> Result<(), SwarmError> {
        self.bitswap.add_chain(chain.clone());
        self.tell(Command::AddChain { chain }).await
    }

    /// Gossips a verified beacon to the chain's topic.
    pub async fn publish(&self, beacon: &VerifiedBeacon) -> Result<(), SwarmError> {
        let json = beacon.beacon().to_json().into_bytes();
        self.tell(Command::Publish {
            chain: beacon.chain_hash(),
            json,
        })
        .await
    }

    /// Fetches the block `cid` (a chunk's CIDv1, raw, sha2-256, in base32)
    /// from `peer` over Bitswap (`/ipfs/bitswap/1.2.0`): dials the peer at
    /// the addresses this swarm knows unless connected, sends a want-block
    /// with sendDontHave and waits at most `timeout` for the block or
    /// DONT_HAVE, then withdraws the want. The bytes returned hash to
    /// `cid`; a peer whose block does not is banned (the engine only ever
    /// hands over bytes that hash to the CID, so this is a last check).
    pub async fn bitswap_block(
        &self,
        peer: PeerId,
        cid: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, SwarmError> {
        let fail = |reason: String| SwarmError::Request { peer, reason };
        let bytes = super::bitswap::parse_chunk_cid(cid)
            .ok_or_else(|| fail(format!("{cid:?} is not a CIDv1 raw sha2-256 CID")))?;
        if !self.peers().await?.contains(&peer) {
            let addresses = self.peer_addresses(peer).await?;
            self.dial(peer, addresses).await?;
        }
        let answer = tokio::time::timeout(timeout, self.bitswap.want(peer, bytes.clone())).await;
        self.bitswap.cancel(peer, bytes).await;
        match answer {
            Ok(Ok(block)) if crate::cache::cid_matches(cid, &block) => Ok(block),
            Ok(Ok(_)) => {
                self.ban(peer).await?;
                Err(fail("sent a block that does not hash to its CID".into()))
            }
            Ok(Err(reason)) => Err(fail(reason)),
            Err(_) => Err(fail(format!("no Bitswap block within {timeout:?}"))),
        }
    }

    /// Sends raw request bytes on `/zks/mailbox/1.0.0` to `peer` (dialing
    /// `addresses` if given and not connected) and returns the raw answer;
    /// [`mailbox_deposit`](Self::mailbox_deposit), [`mailbox_fetch`](Self::mailbox_fetch)
    /// and [`mailbox_ack`](Self::mailbox_ack) build and read them.
    pub async fn mailbox_request(
        &self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, SwarmError> {
        self.ask(|reply| Command::Mailbox {
            peer,
            addresses,
            request,
            reply,
        })
        .await?
    }

    async fn mailbox_typed<T>(
        &self,
        peer: PeerId,
        request: super::MailboxRequest,
        decode: fn(&[u8]) -> Option<Result<T, crate::mailbox::Refusal>>,
    ) -> Result<Result<T, crate::mailbox::Refusal>, SwarmError> {
        let answer = self
            .mailbox_request(peer, Vec::new(), request.encode())
            .await?;
        decode(&answer).ok_or_else(|| SwarmError::Request {
            peer,
            reason: "malformed mailbox answer".into(),
        })
    }

    /// Deposits `envelope` in mailbox `id` on `peer`: the `seq` it is
    /// stored under, or the host's refusal.
    pub async fn mailbox_deposit(
        &self,
        peer: PeerId,
        id: [u8; 32],
        envelope: Vec<u8>,
    ) -> Result<Result<u64, crate::mailbox::Refusal>, SwarmError> {
        let request = super::MailboxRequest::Deposit { id, envelope };
        self.mailbox_typed(peer, request, super::mailbox::decode_deposited)
            .await
    }

    /// The envelopes mailbox `id` on `peer` holds after cursor `after`.
    pub async fn mailbox_fetch(
        &self,
        peer: PeerId,
        id: [u8; 32],
        after: u64,
    ) -> Result<Result<crate::mailbox::Fetched, crate::mailbox::Refusal>, SwarmError> {
        let request = super::MailboxRequest::Fetch { id, after };
        self.mailbox_typed(peer, request, super::mailbox::decode_fetched)
            .await
    }

    /// Deletes the envelopes of mailbox `id` on `peer` up to cursor `upto`:
    /// how many were deleted.
    pub async fn mailbox_ack(
        &self,
        peer: PeerId,
        id: [u8; 32],
        upto: u64,
    ) -> Result<Result<u32, crate::mailbox::Refusal>, SwarmError> {
        let request = super::MailboxRequest::Ack { id, upto };
        self.mailbox_typed(peer, request, super::mailbox::decode_acked)
            .await
    }

    /// The grid peers closest to `key` (a Kademlia lookup, at most
    /// `timeout`), closest first, with the connected grid peers added:
    /// the candidate mailbox hosts for a mailbox id.
    pub async fn closest_peers(&self, key: Vec<u8>, timeout: Duration) -> Vec<PeerId> {
        let target = libp2p::kad::KBucketKey::new(key.clone());
        let query = self.ask(|reply| Command::ClosestPeers { key, reply });
        let mut found = match tokio::time::timeout(timeout, query).await {
            Ok(Ok(peers)) => peers,
            _ => Vec::new(),
        };
        for peer in self.peers().await.unwrap_or_default() {
            if !found.contains(&peer) {
                found.push(peer);
            }
        }
        found.retain(|p| *p != self.peer_id);
        found.sort_by_key(|p| target.distance(&libp2p::kad::KBucketKey::from(*p)));
        found
    }

    /// Chunk requests this node served and provider lookups it made since
    /// it started.
    pub async fn counters(&self) -> Result<super::GridCounters, SwarmError> {
        self.ask(|reply| Command::Counters { reply }).await
    }

    /// Whether this node offers mailboxes now (a store, seeding on and
    /// publicly reachable).
    pub async fn offers_mailboxes(&self) -> Result<bool, SwarmError> {
        self.ask(|reply| Command::OffersMailboxes { reply }).await
    }
}
