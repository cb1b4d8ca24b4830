//! The public libp2p network IPFS runs (the Amino DHT, `/ipfs/kad/1.0.0`):
//! how a fresh node finds the grid, how contacts find each other again
//! after their addresses changed, and where NATed nodes find relays.
//!
//! - **Membership.** A second Kademlia behaviour speaking the standard
//!   protocol, bootstrapped from the configured peers (by default the public
//!   IPFS bootstrap list, resolved with libp2p-dns). Its mode is libp2p's
//!   automatic one: a client until the swarm has a confirmed external
//!   address (AutoNAT said we are publicly reachable, or one was declared),
//!   then a server.
//! - **Grid discovery.** Seeders provide one well-known key per chain, the
//!   multihash of the CIDv1 of `zks-grid/v1/<chain hash hex>`; every node
//!   looks its chains' keys up while it knows few grid peers and dials the
//!   providers, then syncs over our own protocols.
//! - **Chunks.** A complete chunk's CID (raw, sha2-256) is provided here too,
//!   so IPFS nodes find the grid's copies (served over Bitswap).
//! - **Rendezvous.** Opaque keys (derived by the node from a secret only two
//!   contacts share, rotating daily) are provided and looked up; a lookup
//!   that finds the wanted peer dials it at the addresses in its provider
//!   record, relayed ones included (DCUtR then tries a direct connection).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use libp2p::swarm::dial_opts::PeerCondition;
use libp2p::{PeerId, autonat, kad};
use sha2::{Digest, Sha256};
use zks_beacon::ChainHash;

use super::event_loop::EventLoop;

/// The Amino DHT's protocol name (IPFS's public Kademlia).
pub const AMINO_PROTOCOL: &str = "/ipfs/kad/1.0.0";

/// Below this many connected grid peers (peers speaking our Kademlia), the
/// node looks the grid keys up again.
pub const WANTED_GRID_PEERS: usize = 4;

/// The first pause between grid-key lookups while grid peers are wanted;
/// it doubles after each lookup that finds nobody new, up to
/// [`GRID_LOOKUP_MAX`] (an idle node on a DHT without seeders would
/// otherwise spend megabytes an hour asking), and starts again here when a
/// lookup finds someone.
const GRID_LOOKUP_EVERY: Duration = Duration::from_secs(30);
/// The longest pause between grid-key lookups.
const GRID_LOOKUP_MAX: Duration = Duration::from_secs(1800);

/// Providers of a grid key dialled per lookup.
const GRID_DIALS: usize = 8;

/// Keys provided on the Amino DHT at most (grid keys, complete chunks,
/// rendezvous keys). libp2p's default store keeps 1,024.
const MAX_PROVIDED_KEYS: usize = 1 << 17;

/// The multihash (sha2-256) of `bytes`: what Amino DHT keys are.
pub fn sha256_multihash(bytes: &[u8]) -> Vec<u8> {
    let mut key = vec![0x12, 0x20];
    key.extend_from_slice(&Sha256::digest(bytes));
    key
}

/// The Amino DHT key under which the seeders of `chain` announce
/// themselves: the multihash of the raw block `zks-grid/v1/<chain hex>`
/// (the CID `ipfs block put` would give those bytes names the same key).
pub fn grid_key(chain: &ChainHash) -> Vec<u8> {
    sha256_multihash(format!("zks-grid/v1/{}", chain.to_hex()).as_bytes())
}

/// The multihash inside a CIDv1 string (base32, `b…`) of a raw sha2-256
/// block, as the grid's chunk CIDs are; `None` for anything else.
pub fn cid_multihash(cid: &str) -> Option<Vec<u8>> {
    // version 1, raw codec (0x55), then the multihash.
    super::bitswap::parse_chunk_cid(cid).map(|bytes| bytes[2..].to_vec())
}

/// The Amino Kademlia behaviour: the standard protocol, a store that may
/// hold as many provided keys as a seeder announces.
pub(super) fn behaviour(peer_id: PeerId) -> kad::Behaviour<kad::store::MemoryStore> {
    let mut config = kad::Config::new(libp2p::StreamProtocol::new(AMINO_PROTOCOL));
    config.set_query_timeout(Duration::from_secs(30));
    let store = kad::store::MemoryStore::with_config(
        peer_id,
        kad::store::MemoryStoreConfig {
            max_provided_keys: MAX_PROVIDED_KEYS,
            ..kad::store::MemoryStoreConfig::default()
        },
    );
    kad::Behaviour::with_config(peer_id, store, config)
}

/// The Amino side of the event loop: queries in flight and what we provide.
pub(super) struct Amino {
    /// Rendezvous lookups: the peer wanted, and where to say whether it
    /// was found (and dialled).
    pub(super) finds: HashMap<kad::QueryId, (PeerId, Option<oneshot::Sender<bool>>)>,
    /// Grid-key lookups in flight.
    pub(super) grid_lookups: HashMap<kad::QueryId, usize>,
    /// When the grid keys were last looked up.
    pub(super) last_grid_lookup: Option<Instant>,
    /// The pause before the next grid-key lookup.
    pub(super) grid_lookup_pause: Duration,
    /// Whether we announce ourselves as a grid member (seeding).
    pub(super) member: bool,
    /// The last reachability AutoNAT reported.
    pub(super) nat: autonat::NatStatus,
    /// Whether our provided keys went out to DHT peers (a key provided
    /// while the routing table was empty reached nobody).
    pub(super) announced: bool,
}

impl Amino {
    pub(super) fn new() -> Amino {
        Amino {
            finds: HashMap::new(),
            grid_lookups: HashMap::new(),
            last_grid_lookup: None,
            grid_lookup_pause: GRID_LOOKUP_EVERY,
            member: false,
            nat: autonat::NatStatus::Unknown,
            announced: false,
        }
    }
}

/// What the node knows of its place in the networks, for the UI.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NetworkStatus {
    /// Amino DHT mode: `client` or `server`.
    pub dht_mode: String,
    /// Peers in our Amino DHT routing table.
    pub dht_peers: usize,
    /// Connected grid peers (their Identify lists `/zks/kad/1.0.0`).
    pub grid_peers: usize,
    /// Connected peers.
    pub connected: usize,
    /// AutoNAT's verdict: `public`, `private` or `unknown`.
    pub nat: String,
    /// The relays we hold a slot on (peer ids).
    pub relays: Vec<String>,
    /// Whether we announce ourselves as a grid member (seeding).
    pub grid_member: bool,
}

fn routing_table_size<S: kad::store::RecordStore + Send + 'static>(
    kad: &mut kad::Behaviour<S>,
) -> usize {
    kad.kbuckets().map(|b| b.num_entries()).sum()
}

impl EventLoop {
    /// Announces (`on`) or stops announcing this node as a grid member: the
    /// grid key of every chain it serves, on the Amino DHT.
    pub(super) fn set_grid_member(&mut self, on: bool) {
        self.amino_state.member = on;
        let keys: Vec<Vec<u8>> = self.chains.keys().map(grid_key).collect();
        for key in keys {
            self.provide_key(&key, on);
        }
    }

    /// Starts or stops providing `key` on the Amino DHT.
    pub(super) fn provide_key(&mut self, key: &[u8], on: bool) {
        let key = kad::RecordKey::new(&key);
        let amino = &mut self.swarm.behaviour_mut().amino;
        if on {
            if let Err(e) = amino.start_providing(key) {
                tracing::warn!("cannot announce a key on the Amino DHT: {e}");
            }
        } else {
            amino.stop_providing(&key);
        }
    }

    /// Announces every provided key again, once the routing table has a
    /// peer and whenever a new external address is confirmed: libp2p itself
    /// re-announces only every 12 hours, and a provider record carries our
    /// confirmed external addresses, without which Amino servers (kubo,
    /// js-libp2p) drop it.
    pub(super) fn announce_again(&mut self) {
        self.amino_state.announced = true;
        let amino = &mut self.swarm.behaviour_mut().amino;
        let keys: Vec<kad::RecordKey> = {
            use kad::store::RecordStore;
            amino
                .store_mut()
                .provided()
                .map(|r| r.key.clone())
                .collect()
        };
        for key in keys {
            if let Err(e) = amino.start_providing(key) {
                tracing::warn!("cannot announce a key on the Amino DHT: {e}");
            }
        }
    }

    /// Looks `key`'s providers up and dials `wanted` if it is one; `reply`
    /// says whether it was found.
    pub(super) fn find_provider(
        &mut self,
        key: &[u8],
        wanted: PeerId,
        reply: oneshot::Sender<bool>,
    ) {
        let id = self
            .swarm
            .behaviour_mut()
            .amino
            .get_providers(kad::RecordKey::new(&key));
        self.amino_state.finds.insert(id, (wanted, Some(reply)));
    }

    /// Connected peers that speak our Kademlia (grid peers).
    fn grid_peers_connected(&self) -> usize {
        self.grid_peers.len()
    }

    /// While few grid peers are connected, looks the chains' grid keys up
    /// on the Amino DHT (after a pause of [`GRID_LOOKUP_EVERY`] that
    /// doubles while lookups find nobody new).
    pub(super) fn discover_grid(&mut self) {
        if self.grid_peers_connected() >= WANTED_GRID_PEERS
            || self.chains.is_empty()
            || routing_table_size(&mut self.swarm.behaviour_mut().amino) == 0
            || self
                .amino_state
                .last_grid_lookup
                .is_some_and(|t| t.elapsed() < self.amino_state.grid_lookup_pause)
        {
            return;
        }
        if self.amino_state.last_grid_lookup.is_some() {
            self.amino_state.grid_lookup_pause =
                (self.amino_state.grid_lookup_pause * 2).min(GRID_LOOKUP_MAX);
        }
        self.amino_state.last_grid_lookup = Some(Instant::now());
        let keys: Vec<Vec<u8>> = self.chains.keys().map(grid_key).collect();
        for key in keys {
            let id = self
                .swarm
                .behaviour_mut()
                .amino
                .get_providers(kad::RecordKey::new(&key));
            self.amino_state.grid_lookups.insert(id, 0);
        }
    }

    /// Progress of our Amino queries.
    pub(super) fn on_amino_event(&mut self, event: kad::Event) {
        let (id, result, step) = match event {
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => (id, result, step),
            kad::Event::ModeChanged { new_mode } => {
                tracing::info!(mode = %new_mode, "Amino DHT mode");
                return;
            }
            kad::Event::RoutingUpdated { .. } => {
                if !self.amino_state.announced {
                    self.announce_again();
                }
                self.discover_grid();
                return;
            }
            _ => return,
        };
        let kad::QueryResult::GetProviders(result) = result else {
            return;
        };
        let me = *self.swarm.local_peer_id();
        if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result {
            // Dialled now, while the query still holds the addresses the
            // provider records carried (Kademlia hands them to the dial).
            if let Some((wanted, reply)) = self.amino_state.finds.get_mut(&id)
                && providers.contains(wanted)
            {
                let wanted = *wanted;
                if let Some(reply) = reply.take() {
                    let _ = reply.send(true);
                }
                self.dial_found(wanted, PeerCondition::Always);
            }
            if let Some(dialled) = self.amino_state.grid_lookups.get_mut(&id) {
                let fresh: Vec<PeerId> = providers
                    .into_iter()
                    .filter(|p| *p != me && !self.swarm.is_connected(p))
                    .take(GRID_DIALS.saturating_sub(*dialled))
                    .collect();
                *dialled += fresh.len();
                if !fresh.is_empty() {
                    self.amino_state.grid_lookup_pause = GRID_LOOKUP_EVERY;
                }
                for peer in fresh {
                    tracing::info!(%peer, "grid member found on the Amino DHT");
                    self.dial_found(peer, PeerCondition::Always);
                }
            }
        }
        if step.last {
            if let Some((_, Some(reply))) = self.amino_state.finds.remove(&id) {
                let _ = reply.send(false);
            }
            self.amino_state.grid_lookups.remove(&id);
        }
    }

    /// Dials a peer found on the DHT by its id alone, unless connected:
    /// the Kademlia that found it supplies the addresses its query learned,
    /// as long as that query runs. Rendezvous peers are dialled with
    /// [`PeerCondition::Always`], even while another dial is pending: that
    /// one may be hanging on an address the peer left.
    pub(super) fn dial_found(&mut self, peer: PeerId, condition: PeerCondition) {
        if self.swarm.is_connected(&peer) {
            return;
        }
        let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
            .condition(condition)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, "cannot dial a peer found on the DHT: {e}");
        }
    }

    /// Our place in the networks, for the UI.
    pub(super) fn network_status(&mut self) -> NetworkStatus {
        let behaviour = self.swarm.behaviour_mut();
        let dht_peers = routing_table_size(&mut behaviour.amino);
        let dht_mode = behaviour.amino.mode().to_string();
        NetworkStatus {
            dht_mode,
            dht_peers,
            grid_peers: self.grid_peers.len(),
            connected: self.swarm.connected_peers().count(),
            nat: match self.amino_state.nat {
                autonat::NatStatus::Public(_) => "public",
                autonat::NatStatus::Private => "private",
                autonat::NatStatus::Unknown => "unknown",
            }
            .to_owned(),
            relays: {
                let mut relays: Vec<String> =
                    self.relay.held.values().map(ToString::to_string).collect();
                relays.sort();
                relays.dedup();
                relays
            },
            grid_member: self.amino_state.member,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_cids_give_their_multihash() {
        let bytes = b"a complete chunk";
        let cid = crate::cache::chunk_cid(bytes);
        assert_eq!(cid_multihash(&cid), Some(sha256_multihash(bytes)));
    }

    #[test]
    fn other_cids_and_junk_give_none() {
        // CIDv1 dag-pb (0x70) of the empty directory, and CIDv0.
        assert_eq!(
            cid_multihash("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"),
            None
        );
        assert_eq!(
            cid_multihash("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"),
            None
        );
        assert_eq!(cid_multihash("b!!"), None);
        assert_eq!(cid_multihash(""), None);
    }

    #[test]
    fn grid_keys_differ_per_chain_and_are_multihashes() {
        let a = grid_key(&ChainHash([1; 32]));
        let b = grid_key(&ChainHash([2; 32]));
        assert_ne!(a, b);
        assert_eq!(&a[..2], &[0x12, 0x20]);
        assert_eq!(a.len(), 34);
    }
}
