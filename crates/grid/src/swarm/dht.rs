//! Kademlia (`/zks/kad/1.0.0`): provider records per (chain, chunk), so a
//! syncing node finds who holds a chunk, and per-publisher records of the
//! CID of a complete chunk, the swarm's index for IPFS gateway fetches.
//!
//! Record keys: `zks/<chain hex>/<chunk>` (providers) and
//! `zks/<chain hex>/cid/<chunk>/<publisher peer id>` (a CIDv1 string, at
//! most 100 bytes; checked against the bytes it names before use).

use std::collections::HashSet;

use futures::channel::oneshot;
use libp2p::kad::store::RecordStore;
use libp2p::swarm::dial_opts::PeerCondition;
use libp2p::{PeerId, kad};
use zks_beacon::ChainHash;

use super::event_loop::EventLoop;

/// Kademlia protocol name.
pub const KAD_PROTOCOL: &str = "/zks/kad/1.0.0";

/// Times an announcement (our provider record, sent to the key's closest
/// DHT nodes) is started again after its query timed out. libp2p sends no
/// record at all when the lookup of the closest nodes does not finish in
/// time, and would try again only at its 12-hourly republication.
const ANNOUNCE_RETRIES: u8 = 2;

/// The provider record key of one chunk of `chain`.
pub(super) fn provider_key(chain: &ChainHash, chunk: u64) -> kad::RecordKey {
    kad::RecordKey::new(&format!("zks/{}/{chunk}", chain.to_hex()))
}

/// Each publisher has its own key, so nobody can overwrite another's value.
pub(super) fn cid_key(chain: &ChainHash, chunk: u64, publisher: &PeerId) -> kad::RecordKey {
    kad::RecordKey::new(&format!("zks/{}/cid/{chunk}/{publisher}", chain.to_hex()))
}

/// Whether a DHT value looks like a CIDv1 string (it is checked against the
/// bytes it names anyway; this only keeps junk out).
pub(super) fn plausible_cid(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?;
    (text.len() <= 100 && text.starts_with('b') && text.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| text.to_owned())
}

impl EventLoop {
    /// Announces in the DHT that we hold (part of) `chunk`.
    pub(super) fn provide(&mut self, chain: ChainHash, chunk: u64) {
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .kademlia
            .start_providing(provider_key(&chain, chunk))
        {
            tracing::warn!("cannot announce chunk {chunk}: {e}");
        }
    }

    /// Starts a lookup of `chunk`'s providers, answered on `reply` when it
    /// ends.
    pub(super) fn find_providers(
        &mut self,
        chain: ChainHash,
        chunk: u64,
        reply: oneshot::Sender<HashSet<PeerId>>,
    ) {
        let id = self
            .swarm
            .behaviour_mut()
            .kademlia
            .get_providers(provider_key(&chain, chunk));
        self.pending_providers.insert(id, (reply, HashSet::new()));
    }

    /// Publishes the CID of a complete chunk under our own key, and
    /// provides it on the Amino DHT so that IPFS nodes find our copy.
    pub(super) fn put_cid(&mut self, chain: ChainHash, chunk: u64, cid: String) {
        if let Some(multihash) = super::amino::cid_multihash(&cid) {
            self.provide_key(&multihash, true);
        }
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

    /// Starts a lookup of the CID `publisher` stored for `chunk` (our own
    /// store's copy counts too), answered on `reply` when it ends.
    pub(super) fn get_cid(
        &mut self,
        chain: ChainHash,
        chunk: u64,
        publisher: PeerId,
        reply: oneshot::Sender<Vec<String>>,
    ) {
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
        self.pending_cids.insert(id, (reply, local));
    }

    /// Dials the providers just found that we are not connected to, while
    /// their lookup still runs: libp2p's Kademlia knows a provider's
    /// addresses (sent with its record) only until the query ends, and
    /// afterwards only those in its routing table. A grid of a few dozen
    /// nodes has everyone there; one of hundreds does not, and a chunk
    /// request to a provider outside it failed with no address to dial.
    fn connect_providers(&mut self, providers: HashSet<PeerId>) {
        let me = *self.swarm.local_peer_id();
        for peer in providers.into_iter().filter(|p| *p != me) {
            self.dial_found(peer, PeerCondition::DisconnectedAndNotDialing);
        }
    }

    /// An announcement ended: counted, and started again after a timeout
    /// (at most [`ANNOUNCE_RETRIES`] times, and only while we still
    /// provide the key).
    fn on_announced(&mut self, result: Result<kad::AddProviderOk, kad::AddProviderError>) {
        let key = match result {
            Ok(kad::AddProviderOk { key }) => {
                self.counters.announcements += 1;
                self.announce_retries.remove(&key);
                return;
            }
            Err(kad::AddProviderError::Timeout { key }) => key,
        };
        let tries = self.announce_retries.remove(&key).unwrap_or(0);
        let kademlia = &mut self.swarm.behaviour_mut().kademlia;
        let ours = kademlia.store_mut().provided().any(|r| r.key == key);
        if tries >= ANNOUNCE_RETRIES || !ours {
            self.counters.announcements_lost += 1;
            tracing::debug!(?key, "an announcement timed out and is given up");
            return;
        }
        if let Err(e) = kademlia.start_providing(key.clone()) {
            tracing::warn!("cannot announce again: {e}");
            return;
        }
        if self.announce_retries.len() >= super::budget::REMEMBERED_PEERS {
            self.announce_retries.clear();
        }
        self.announce_retries.insert(key, tries + 1);
    }

    /// Progress of our DHT queries: providers and CID records found, and
    /// peers' addresses learned on the way.
    pub(super) fn on_kad_event(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::StartProviding(result),
                ..
            } => self.on_announced(result),
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(result),
                ..
            } => {
                let peers = match result {
                    Ok(found) => found.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                for peer in &peers {
                    self.remember(peer.peer_id, &peer.addrs);
                }
                if let Some(reply) = self.pending_closest.remove(&id) {
                    let _ = reply.send(peers.into_iter().map(|p| p.peer_id).collect());
                }
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(result),
                step,
                stats,
            } if self.is_relay_lookup(id) => {
                let found = match result {
                    Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => providers,
                    _ => HashSet::new(),
                };
                self.on_relay_providers(found, step.last.then_some(&stats));
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(result),
                step,
                stats,
            } => {
                if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result
                    && let Some((_, found)) = self.pending_providers.get_mut(&id)
                {
                    found.extend(providers.iter().copied());
                    self.connect_providers(providers);
                }
                if step.last
                    && let Some((tx, found)) = self.pending_providers.remove(&id)
                {
                    self.counters.lookups += 1;
                    self.counters.lookup_requests += u64::from(stats.num_requests());
                    self.counters.lookup_millis +=
                        stats.duration().map_or(0, |d| d.as_millis() as u64);
                    let _ = tx.send(found);
                }
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetRecord(result),
                step,
                ..
            } => {
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
            _ => {}
        }
    }
}
