//! The grid from a node's side: the sources it fetches beacons from, the
//! fetch cascade over its cache, and seeding (following the chain heads,
//! keeping pinned ranges, announcing and serving chunks) that can be turned
//! on and off while the node runs. `zks fetch`, `zks seed`, `zks daemon` and
//! the desktop app all go through here.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use zks_beacon::{ChainHash, ChainInfo};
use zks_grid::{BeaconCache, DrandHttp, FetchCascade, IpfsGateway, SwarmClient, SwarmConfig};

use crate::clock::now_secs;
use crate::reach::{default_listen, loopback_only};
use crate::status::{LiveGrid, SeedStatus};
use crate::{Node, NodeError};

/// Per-request timeout of HTTP sources (drand API, gateways).
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an online node that has a recent round to bind messages to
/// looks for a newer one (its peers' heads, then the cascade).
const BINDING_REFRESH: Duration = Duration::from_secs(60);
/// The first wait after a pass that found nothing newer (the peers may not
/// be connected yet); it doubles up to [`BINDING_REFRESH`].
const BINDING_RETRY: Duration = Duration::from_secs(5);
/// How long one peer may take to answer a head request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an online node rereads the seeding switch.
const SETTINGS_POLL: Duration = Duration::from_secs(2);
/// Rounds behind the head a seeding pass makes sure it holds.
const HEAD_WINDOW: u64 = 10;

/// Where beacons come from and what this node gives.
#[derive(Debug, Clone, Default)]
pub struct GridSources {
    /// Grid peers to connect to first.
    pub bootstrap: Vec<libp2p::Multiaddr>,
    /// Addresses to listen on for grid peers.
    pub listen: Vec<libp2p::Multiaddr>,
    /// Discover grid peers on the LAN with mDNS.
    pub mdns: bool,
    /// Upload cap: rounds served to peers per second.
    pub serve_rate: Option<u64>,
    /// Disk cap of the beacon cache in bytes.
    pub cache_budget: u64,
    /// drand HTTP API base URLs (none: no HTTP layer).
    pub drand_urls: Vec<String>,
    /// IPFS trustless gateways (none: no gateway layer).
    pub gateways: Vec<String>,
    /// Where to read the chunk index (default: each gateway's).
    pub chunk_index: Option<String>,
}

impl Node {
    /// The cascade over this home's cache with `sources`: over `swarm` when
    /// given (the node is online), else over a swarm of its own when peers,
    /// listen addresses or mDNS are asked for, else without a swarm layer.
    pub async fn open_cascade(
        &self,
        sources: &GridSources,
        chains: &[ChainInfo],
        swarm: Option<SwarmClient>,
    ) -> Result<FetchCascade, NodeError> {
        let cache = Arc::new(
            BeaconCache::open(&self.cache_dir(), sources.cache_budget.max(1))
                .map_err(NodeError::grid)?,
        );
        let http = if sources.drand_urls.is_empty() {
            None
        } else {
            Some(DrandHttp::new(&sources.drand_urls, HTTP_TIMEOUT).map_err(NodeError::grid)?)
        };
        let cascade = FetchCascade::new(cache.clone(), http);
        if let Some(swarm) = swarm {
            return Ok(cascade.with_swarm(swarm));
        }
        if sources.bootstrap.is_empty() && sources.listen.is_empty() && !sources.mdns {
            return Ok(cascade);
        }
        let config = SwarmConfig {
            listen: if sources.listen.is_empty() {
                default_listen()
            } else {
                sources.listen.clone()
            },
            bootstrap: sources.bootstrap.clone(),
            chains: chains.to_vec(),
            mdns: sources.mdns && !loopback_only(),
            serve_rounds_per_sec: sources.serve_rate,
            direct: crate::wire::direct_protocols(),
            ..SwarmConfig::new(self.libp2p_keypair()?)
        };
        let client = zks_grid::swarm::start(config, cache)
            .await
            .map_err(NodeError::grid)?;
        if !sources.bootstrap.is_empty() {
            // Give the first connections a moment before asking for providers.
            for _ in 0..40 {
                if !client.peers().await.map_err(NodeError::grid)?.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(cascade.with_swarm(client))
    }

    /// The chain by name or hash; a hash this home does not know is learned
    /// from the HTTP sources or the grid peers (accepted only if the info
    /// hashes to it) and remembered.
    pub async fn resolve_chain(
        &self,
        name: &str,
        cascade: &FetchCascade,
    ) -> Result<ChainInfo, NodeError> {
        if let Ok(chain) = self.chain(name) {
            return Ok(chain);
        }
        let Ok(hash) = name.parse::<ChainHash>() else {
            return self.chain(name);
        };
        let mut info = None;
        if let Some(http) = cascade.http() {
            info = http.info(&hash).await.ok();
        }
        if info.is_none()
            && let Some(swarm) = cascade.swarm()
        {
            info = swarm.learn_chain(hash, Duration::from_secs(5)).await;
        }
        let info = info.ok_or_else(|| {
            NodeError::Beacon(format!(
                "chain {hash} is not known here and no source or peer could describe it"
            ))
        })?;
        self.add_chain(&info.to_info_json())?;
        if let Some(swarm) = cascade.swarm() {
            swarm
                .add_chain(info.clone())
                .await
                .map_err(NodeError::grid)?;
        }
        Ok(info)
    }

    /// Adds the gateway layer and `chain`'s chunk index, if gateways are set.
    pub async fn with_gateway(
        &self,
        cascade: FetchCascade,
        sources: &GridSources,
        chain: &ChainInfo,
    ) -> Result<FetchCascade, NodeError> {
        if sources.gateways.is_empty() {
            return Ok(cascade);
        }
        let gateway = IpfsGateway::new(&sources.gateways, HTTP_TIMEOUT).map_err(NodeError::grid)?;
        let indexes = gateway
            .load_index(sources.chunk_index.as_deref(), chain)
            .await
            .map_err(NodeError::Io)?;
        let cascade = cascade.with_gateway(gateway);
        for index in indexes {
            cascade.add_index(index);
        }
        Ok(cascade)
    }

    /// Everything `zks fetch` and `zks beacon get` need: the cascade with
    /// every configured source and the chain resolved through it.
    pub async fn open_chain(
        &self,
        name: &str,
        sources: &GridSources,
    ) -> Result<(FetchCascade, ChainInfo), NodeError> {
        let known: Vec<ChainInfo> = self.chain(name).ok().into_iter().collect();
        let cascade = self.open_cascade(sources, &known, None).await?;
        let chain = self.resolve_chain(name, &cascade).await?;
        let cascade = self.with_gateway(cascade, sources, &chain).await?;
        Ok((cascade, chain))
    }

    /// The sources the settings describe (for the app and the daemon).
    pub fn sources_from_settings(&self) -> Result<GridSources, NodeError> {
        let s = self.settings()?;
        // Under ZKS_LOOPBACK_ONLY (tests) only sources on this machine.
        let allowed = |url: &String| {
            !loopback_only()
                || ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| url.starts_with(p))
        };
        Ok(GridSources {
            bootstrap: s.bootstrap_peers(),
            listen: Vec::new(),
            mdns: s.mdns,
            serve_rate: s.upload_rounds_per_sec,
            cache_budget: s.cache_budget_bytes,
            drand_urls: s.drand_urls.into_iter().filter(allowed).collect(),
            gateways: s.gateways.into_iter().filter(allowed).collect(),
            chunk_index: None,
        })
    }
}

/// What seeding keeps.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// The chains followed.
    pub chains: Vec<ChainInfo>,
    /// Rounds of the first chain kept in full (pinned in the cache).
    pub pin: Option<RangeInclusive<u64>>,
}

/// A running seeder; stops when dropped.
#[derive(Debug)]
pub struct Seeder {
    enabled: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    status: Arc<Mutex<SeedStatus>>,
    task: tokio::task::JoinHandle<()>,
}

impl Seeder {
    /// Turns seeding on or off; a pass starts at once when turned on.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .enabled = on;
        self.wake.notify_one();
    }

    /// The seeder's state.
    pub fn status(&self) -> SeedStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Seeder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Node {
    /// Starts seeding `plan` through `cascade`: each period (the shortest
    /// chain period) while enabled, fetch the last rounds before each head
    /// (and the pinned range), then announce the chunks held. While enabled
    /// the swarm also runs the circuit-relay server.
    pub fn start_seeding(
        &self,
        cascade: Arc<FetchCascade>,
        plan: SeedPlan,
        enabled: bool,
    ) -> Seeder {
        if let (Some(pin), Some(first)) = (&plan.pin, plan.chains.first()) {
            cascade.cache().pin(first.hash, pin.clone());
        }
        let enabled = Arc::new(AtomicBool::new(enabled));
        let wake = Arc::new(tokio::sync::Notify::new());
        let status = Arc::new(Mutex::new(SeedStatus {
            enabled: enabled.load(Ordering::Relaxed),
            ..SeedStatus::default()
        }));
        let (on, woken, shared) = (enabled.clone(), wake.clone(), status.clone());
        let task = tokio::spawn(async move {
            let period = plan
                .chains
                .iter()
                .map(|c| c.period)
                .min()
                .unwrap_or(3)
                .max(1);
            let mut relaying = false;
            let mut gossiped = BTreeMap::new();
            loop {
                let seeding = on.load(Ordering::Relaxed);
                // Seeders relay for others (circuit relay v2, capped in the
                // swarm); a node that does not seed relays for nobody.
                if seeding != relaying
                    && let Some(swarm) = cascade.swarm()
                    && swarm.set_seeding(seeding).await.is_ok()
                {
                    relaying = seeding;
                }
                if seeding {
                    let error = seed_pass(&cascade, &plan, &mut gossiped).await;
                    let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    s.passes += 1;
                    s.last_pass_at = Some(now_secs());
                    s.last_error = error;
                }
                let _ = tokio::time::timeout(Duration::from_secs(period), woken.notified()).await;
            }
        });
        Seeder {
            enabled,
            wake,
            status,
            task,
        }
    }
}

/// One seeding pass; the last error, if any. A head round held now and
/// newer than the last one gossiped for its chain (`gossiped`) is published
/// on the chain's GossipSub topic, so peers that do not fetch get it pushed.
async fn seed_pass(
    cascade: &FetchCascade,
    plan: &SeedPlan,
    gossiped: &mut BTreeMap<ChainHash, u64>,
) -> Option<String> {
    let now = now_secs();
    let mut error = None;
    for (i, chain) in plan.chains.iter().enumerate() {
        let head = chain.round_at(now);
        if head == 0 {
            continue;
        }
        let range = match (&plan.pin, i) {
            (Some(pin), 0) => *pin.start()..=(*pin.end()).min(head),
            _ => head.saturating_sub(HEAD_WINDOW).max(1)..=head,
        };
        match cascade.fetch(chain, range, now).await {
            Ok(report) => {
                tracing::info!(chain = %chain.name, held = report.held(), failed = report.failed.len(), "seeding pass");
                if let Some((round, reason)) = report.failed.first() {
                    error = Some(format!("{}: round {round}: {reason}", chain.name));
                }
            }
            Err(e) => error = Some(format!("{}: {e}", chain.name)),
        }
        if gossiped.get(&chain.hash).is_none_or(|last| *last < head)
            && let Some(swarm) = cascade.swarm()
            && let Ok(Some(beacon)) = cascade.cache().get(chain, head)
            && swarm.publish(&beacon).await.is_ok()
        {
            gossiped.insert(chain.hash, head);
        }
        if let Err(e) = cascade.announce(chain).await {
            tracing::warn!("cannot announce chunks: {e}");
        }
    }
    error
}

/// The grid of a node that is online: its swarm, cascade and seeder.
#[derive(Debug)]
pub(crate) struct GridRuntime {
    pub swarm: SwarmClient,
    pub cascade: Arc<FetchCascade>,
    pub seeder: Seeder,
}

impl Node {
    /// Starts the grid runtime over an online swarm: a cascade with the
    /// settings' sources and a seeder for the settings' chains (on when the
    /// settings say so).
    pub(crate) async fn start_grid(&self, swarm: SwarmClient) -> Result<(), NodeError> {
        let settings = self.settings()?;
        let sources = self.sources_from_settings()?;
        let cascade = Arc::new(
            self.open_cascade(&sources, &[], Some(swarm.clone()))
                .await?,
        );
        let mut chains = Vec::new();
        for name in &settings.chains {
            match self.resolve_chain(name, &cascade).await {
                Ok(chain) => chains.push(chain),
                Err(e) => tracing::warn!("not seeding {name}: {e}"),
            }
        }
        let seeder = self.start_seeding(
            cascade.clone(),
            SeedPlan { chains, pin: None },
            settings.seeding,
        );
        let sources = cascade.clone();
        *self
            .inner
            .grid
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(GridRuntime {
            swarm,
            cascade,
            seeder,
        });
        // Keep the round grid-pad messages bind to recent: the connected
        // peers' heads, then the cascade (providers, drand HTTP). Sealing
        // never waits for this; it takes the best round held at the time.
        let keeper = self.clone();
        self.spawn_until_stopped(async move {
            let mut retry = BINDING_RETRY;
            loop {
                let improved = keeper.refresh_binding(&sources).await.unwrap_or_else(|e| {
                    tracing::debug!("no fresh binding round: {e}");
                    false
                });
                let wait = if improved {
                    retry = BINDING_RETRY;
                    BINDING_REFRESH
                } else {
                    let wait = retry;
                    retry = (retry * 2).min(BINDING_REFRESH);
                    wait
                };
                tokio::time::sleep(wait).await;
            }
        });
        // The switch may be flipped by another process on this home (the
        // CLI while the app or daemon runs): follow the stored setting.
        let node = self.clone();
        self.spawn_until_stopped(async move {
            let mut last = settings.seeding;
            loop {
                tokio::time::sleep(SETTINGS_POLL).await;
                match node.settings() {
                    Ok(s) if s.seeding != last => {
                        last = s.seeding;
                        node.apply_seeding(last);
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        Ok(())
    }

    /// One pass of the binding keeper: asks the connected peers for their
    /// newest round of the binding chain (verified, kept in the beacon
    /// cache; a peer whose round does not verify is banned), and when none
    /// of them has one of the last [`BINDING_REFRESH`], fetches the current
    /// round through `cascade` (providers, drand HTTP). A custom binding
    /// chain with no round held also has quicknet's heads asked (what its
    /// messages fall back to). True when the cache now holds a newer round
    /// to bind to than before.
    pub(crate) async fn refresh_binding(&self, cascade: &FetchCascade) -> Result<bool, NodeError> {
        let chain = self.with_store(crate::beacons::binding_chain)?;
        let cache = cascade.cache();
        let newest = |chain: &ChainInfo| -> Result<u64, NodeError> {
            Ok(cache
                .latest(chain)
                .map_err(NodeError::grid)?
                .map_or(0, |b| b.round()))
        };
        let quicknet = ChainInfo::quicknet();
        let before = (newest(&chain)?, newest(&quicknet)?);
        let now = now_secs();
        let max_round = chain.round_at(now + crate::MAX_ROUND_AHEAD_SECS);
        let head = cascade
            .peer_heads(&chain, max_round, HEAD_TIMEOUT)
            .await
            .map_err(NodeError::grid)?
            .map_or(0, |b| b.round());
        let current = chain.round_at(now);
        let recent = current.saturating_sub(BINDING_REFRESH.as_secs() / chain.period.max(1));
        if current > 0
            && head < recent
            && let Err(e) = cascade.get(&chain, current, now).await
        {
            tracing::debug!("round {current} of {} not fetched: {e}", chain.name);
        }
        if chain.hash != quicknet.hash && newest(&chain)? == 0 {
            let max_round = quicknet.round_at(now + crate::MAX_ROUND_AHEAD_SECS);
            cascade
                .peer_heads(&quicknet, max_round, HEAD_TIMEOUT)
                .await
                .map_err(NodeError::grid)?;
        }
        let after = (newest(&chain)?, newest(&quicknet)?);
        let improved = after.0 > before.0 || (after.0 == 0 && after.1 > before.1);
        if improved {
            self.forget_binding();
        }
        Ok(improved)
    }

    /// Runs one pass of the binding keeper now (tests; the keeper itself
    /// runs on its own schedule while online with the grid).
    #[cfg(test)]
    pub(crate) async fn refresh_binding_now(&self) -> Result<bool, NodeError> {
        let cascade = self
            .inner
            .grid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|g| g.cascade.clone())
            .ok_or(NodeError::Stopped)?;
        self.refresh_binding(&cascade).await
    }

    /// Applies the seeding switch to the running seeder, if online.
    pub(crate) fn apply_seeding(&self, on: bool) {
        if let Some(grid) = self
            .inner
            .grid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            grid.seeder.set_enabled(on);
        }
    }

    /// What the grid is doing in this process (`None` when not online).
    pub async fn live_grid(&self) -> Option<LiveGrid> {
        let (swarm, cascade, seeding) = {
            let grid = self
                .inner
                .grid
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let grid = grid.as_ref()?;
            (
                grid.swarm.clone(),
                grid.cascade.clone(),
                grid.seeder.status(),
            )
        };
        Some(LiveGrid {
            peers: swarm.peers().await.map(|p| p.len()).unwrap_or(0),
            seeding,
            sources: cascade.stats(),
            network: swarm.network_status().await.unwrap_or_default(),
            contacts: self.contact_paths(&swarm).await,
            at: now_secs(),
        })
    }

    /// How each contact is connected now: `direct` when any connection to
    /// it is, else `relayed via <relay>`, else `not connected`.
    async fn contact_paths(&self, swarm: &SwarmClient) -> BTreeMap<String, String> {
        let Ok(contacts) = self.with_store(|store| Ok(store.contacts()?)) else {
            return BTreeMap::new();
        };
        let mut paths = BTreeMap::new();
        for contact in contacts {
            let Ok(peer) = contact.peer_id.parse() else {
                continue;
            };
            let points = swarm.connections(peer).await.unwrap_or_default();
            let path = if points.iter().any(|p| !p.is_relayed()) {
                "direct".to_owned()
            } else if let Some(point) = points.first() {
                let relay = point.get_remote_address().iter().find_map(|p| match p {
                    libp2p::multiaddr::Protocol::P2p(relay) if relay != peer => Some(relay),
                    _ => None,
                });
                match relay {
                    Some(relay) => format!("relayed via {relay}"),
                    None => "relayed".to_owned(),
                }
            } else {
                "not connected".to_owned()
            };
            paths.insert(contact.name, path);
        }
        paths
    }
}
