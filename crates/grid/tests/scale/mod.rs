//! A grid of hundreds of real nodes in one process, for `grid_scale.rs`
//! (the short variant in the test command, the long one behind
//! `ZKS_SOAK`) and the `grid_scale` bench.
//!
//! Every node is our own swarm ([`swarm::start`]) with its own identity,
//! beacon cache (a directory) and event loop, and the product's limits
//! (three exceptions, in [`limits`]).
//! They talk over libp2p's memory transport (Noise and Yamux over an
//! in-process channel): on loopback TCP every connection takes two of the
//! process's 20,000 file descriptors, and 200 nodes that may each keep 64
//! peers need more, so the TCP harness had to trim connections after 5 s
//! and the DHT's refreshes then paid a handshake for every request. The
//! history is a devnet chain (quicknet's scheme) signed once into a
//! template cache; a node "holds" a chunk by a hard link to the template's
//! chunk file, so two hundred nodes cost one copy of the history on disk.
//! Nodes that lie are of three kinds: [`Role::Forger`] is our own node
//! with an edited disk (every slot holds the next round's signature: valid
//! points, wrong messages), and two [`Rogue`]s that are not our code but a
//! bare libp2p node speaking the grid's Kademlia and chunk protocols,
//! announcing chunks and then never answering ([`RogueMode::Stall`]) or
//! dropping every request ([`RogueMode::Drop`]).

// The test and the bench each use part of it, from their own crate roots.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, identify, kad, noise, request_response, yamux};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use zks_beacon::{BatchVerifier, ChainInfo, DevnetSigner, Scheme};
use zks_grid::swarm::{self, ChunkCodec, GridCounters, SwarmClient, SwarmConfig};
use zks_grid::{BeaconCache, CHUNK_ROUNDS, FetchCascade};

/// The devnet: quicknet's scheme (unchained, G1 signatures of 48 bytes),
/// a 3-second period, genesis long ago.
pub fn signer() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_600_000_000)
}

/// A history of whole chunks, signed and verified once into a template
/// cache whose chunk files nodes link to.
pub struct History {
    pub signer: DevnetSigner,
    pub chain: ChainInfo,
    pub chunks: u64,
    dir: tempfile::TempDir,
    /// Seconds spent signing and verifying the template.
    pub sign_secs: f64,
    pub verify_secs: f64,
}

impl History {
    /// Signs `chunks` chunks (on every core), verifies them with the batch
    /// verifier and stores them; `root` holds the template.
    pub fn sign(chunks: u64, root: &Path) -> History {
        let signer = signer();
        let chain = signer.chain().clone();
        let dir = tempfile::tempdir_in(root).unwrap();
        let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
        let verifier = BatchVerifier::new(&chain).unwrap();
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get) as u64;
        let (mut sign_secs, mut verify_secs) = (0.0, 0.0);
        for chunk in 0..chunks {
            let started = Instant::now();
            let (first, last) = (chunk * CHUNK_ROUNDS + 1, (chunk + 1) * CHUNK_ROUNDS);
            let per = CHUNK_ROUNDS.div_ceil(threads);
            let beacons: Vec<_> = std::thread::scope(|s| {
                let parts: Vec<_> = (0..threads)
                    .map(|t| {
                        let signer = &signer;
                        let a = first + t * per;
                        let b = (a + per - 1).min(last);
                        s.spawn(move || signer.sign_range(a, b).unwrap())
                    })
                    .collect();
                parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
            });
            sign_secs += started.elapsed().as_secs_f64();
            let started = Instant::now();
            let (good, bad) =
                verifier.verify_split(beacons, &mut ChaCha20Rng::seed_from_u64(chunk));
            assert!(bad.is_empty());
            verify_secs += started.elapsed().as_secs_f64();
            cache.put(&chain, &good).unwrap();
        }
        History {
            signer,
            chain,
            chunks,
            dir,
            sign_secs,
            verify_secs,
        }
    }

    /// Rounds in all.
    pub fn rounds(&self) -> u64 {
        self.chunks * CHUNK_ROUNDS
    }

    fn chunk_file(&self, chunk: u64) -> PathBuf {
        self.dir
            .path()
            .join(self.chain.hash.to_hex())
            .join(format!("{chunk}.chunk"))
    }

    /// Gives the cache at `root` the chunks `holds`: hard links to the
    /// template (copies where links are refused), or, for a forger, copies
    /// whose every slot holds the next slot's signature.
    fn furnish(&self, root: &Path, holds: &[u64], forged: bool) {
        let dir = root.join(self.chain.hash.to_hex());
        std::fs::create_dir_all(&dir).unwrap();
        for &chunk in holds {
            let to = dir.join(format!("{chunk}.chunk"));
            if forged {
                let mut bytes = std::fs::read(self.chunk_file(chunk)).unwrap();
                // The chunk layout (see zks_grid::cache): 64-byte header,
                // bitmap, the previous-signature field, then the slots.
                let sig = self.chain.scheme.signature_group().point_len();
                let slots = 64 + CHUNK_ROUNDS as usize / 8 + sig;
                bytes[slots..].rotate_left(sig);
                std::fs::write(&to, bytes).unwrap();
            } else if std::fs::hard_link(self.chunk_file(chunk), &to).is_err() {
                std::fs::copy(self.chunk_file(chunk), &to).unwrap();
            }
        }
    }
}

/// What a node of the grid does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves what it holds, truthfully.
    Honest,
    /// Serves every round with another round's signature.
    Forger,
}

/// One of our nodes: its swarm, cascade and cache directory.
pub struct Node {
    pub client: SwarmClient,
    pub cascade: Arc<FetchCascade>,
    pub addr: Multiaddr,
    pub holds: Vec<u64>,
    pub role: Role,
    _dir: tempfile::TempDir,
}

impl Node {
    pub fn peer(&self) -> PeerId {
        self.client.peer_id()
    }
}

/// How a rogue lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RogueMode {
    /// Takes every chunk request and never answers.
    Stall,
    /// Drops every chunk request at once (the stream is reset).
    Drop,
}

/// A node that is not ours: Kademlia on the grid's protocol (it announces
/// chunks like a seeder), Identify, and the chunk protocol, which it abuses.
pub struct Rogue {
    pub peer: PeerId,
    pub addr: Multiaddr,
    pub mode: RogueMode,
    /// Chunk requests it received.
    pub requests: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(NetworkBehaviour)]
struct RogueBehaviour {
    kad: kad::Behaviour<kad::store::MemoryStore>,
    identify: identify::Behaviour,
    chunks: request_response::Behaviour<ChunkCodec>,
}

impl Rogue {
    async fn start(
        mode: RogueMode,
        chain: &ChainInfo,
        claims: &[u64],
        bootstrap: &[Multiaddr],
    ) -> Rogue {
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_other_transport(|key| {
                use libp2p::Transport;
                use libp2p::core::transport::{MemoryTransport, upgrade};
                MemoryTransport::default()
                    .upgrade(upgrade::Version::V1)
                    .authenticate(noise::Config::new(key).unwrap())
                    .multiplex(yamux::Config::default())
            })
            .unwrap()
            .with_behaviour(|key| {
                let peer = key.public().to_peer_id();
                let config = kad::Config::new(StreamProtocol::new(swarm::KAD_PROTOCOL));
                RogueBehaviour {
                    kad: kad::Behaviour::with_config(
                        peer,
                        kad::store::MemoryStore::new(peer),
                        config,
                    ),
                    identify: identify::Behaviour::new(identify::Config::new(
                        "/zks/id/1.0.0".into(),
                        key.public(),
                    )),
                    chunks: request_response::Behaviour::with_codec(
                        ChunkCodec,
                        [(
                            StreamProtocol::new(swarm::CHUNK_PROTOCOL),
                            request_response::ProtocolSupport::Full,
                        )],
                        request_response::Config::default()
                            .with_request_timeout(Duration::from_secs(300)),
                    ),
                }
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
            .build();
        swarm.behaviour_mut().kad.set_mode(Some(kad::Mode::Server));
        swarm.listen_on("/memory/0".parse().unwrap()).unwrap();
        let addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                break address;
            }
        };
        for a in bootstrap {
            if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = a.iter().last() {
                swarm.behaviour_mut().kad.add_address(&peer, a.clone());
            }
            swarm.dial(a.clone()).unwrap();
        }
        // The grid's provider record key of a chunk (zks_grid::swarm::dht).
        let keys: Vec<kad::RecordKey> = claims
            .iter()
            .map(|c| kad::RecordKey::new(&format!("zks/{}/{c}", chain.hash.to_hex())))
            .collect();
        let peer = *swarm.local_peer_id();
        let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = requests.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            let mut announce = Some(keys);
            let mut settle = Box::pin(tokio::time::sleep(Duration::from_millis(500)));
            loop {
                tokio::select! {
                    () = &mut settle, if announce.is_some() => {
                        for key in announce.take().unwrap_or_default() {
                            let _ = swarm.behaviour_mut().kad.start_providing(key);
                        }
                    }
                    event = swarm.select_next_some() => {
                        if let SwarmEvent::Behaviour(RogueBehaviourEvent::Chunks(
                            request_response::Event::Message {
                                message: request_response::Message::Request { channel, .. },
                                ..
                            },
                        )) = event
                        {
                            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            match mode {
                                RogueMode::Stall => held.push(channel),
                                RogueMode::Drop => drop(channel),
                            }
                        }
                    }
                }
            }
        });
        Rogue {
            peer,
            addr: addr.with(libp2p::multiaddr::Protocol::P2p(peer)),
            mode,
            requests,
            task,
        }
    }
}

/// How the history is spread over the grid.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Our honest nodes at the start.
    pub nodes: usize,
    /// Of them, full seeders: every chunk but one (a different one each).
    pub full: usize,
    /// Random honest holders of every chunk, drawn in this range.
    pub per_chunk: (usize, usize),
    /// Honest nodes that hold only the newest chunk.
    pub recent: usize,
    /// Forgers, stallers and droppers; each claims `liar_chunks` random chunks.
    pub forgers: usize,
    pub stallers: usize,
    pub droppers: usize,
    pub liar_chunks: usize,
    /// Seed of the layout's draws.
    pub seed: u64,
}

/// The grid: nodes (`None` once left), rogues, and where they keep things.
pub struct Grid {
    pub history: Arc<History>,
    pub nodes: Vec<Option<Node>>,
    pub rogues: Vec<Rogue>,
    root: PathBuf,
    rng: ChaCha20Rng,
}

/// `n` distinct values below `below`, drawn with `rng`.
pub fn draw(rng: &mut ChaCha20Rng, n: usize, below: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..below).collect();
    for i in 0..n.min(below) {
        let j = i + (rng.next_u64() % (below - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(n.min(below));
    all
}

impl Grid {
    /// Starts the grid of `layout` over `history` (node directories under
    /// `root`), lets the routing tables settle, then has every node announce
    /// what it holds and waits for the announcements to spread.
    pub async fn start(history: Arc<History>, layout: &Layout, root: &Path) -> Grid {
        let mut rng = ChaCha20Rng::seed_from_u64(layout.seed);
        let chunks = history.chunks as usize;
        let mut holds: Vec<Vec<u64>> = vec![Vec::new(); layout.nodes];
        for (i, h) in holds.iter_mut().take(layout.full).enumerate() {
            let skip = (i % chunks) as u64;
            h.extend((0..chunks as u64).filter(|c| *c != skip));
        }
        for chunk in 0..chunks as u64 {
            let (lo, hi) = layout.per_chunk;
            let n = lo + (rng.next_u64() % (hi - lo + 1) as u64) as usize;
            let candidates = layout.nodes - layout.full;
            for i in draw(&mut rng, n, candidates) {
                holds[layout.full + i].push(chunk);
            }
        }
        let recent_from = layout.nodes.saturating_sub(layout.recent);
        for h in &mut holds[recent_from..] {
            if !h.contains(&(chunks as u64 - 1)) {
                h.push(chunks as u64 - 1);
            }
        }
        // Nobody holds the whole history.
        for h in &mut holds {
            if chunks > 1 && h.len() == chunks {
                let drop = (rng.next_u64() % chunks as u64) as usize;
                h.remove(drop);
            }
        }
        let mut grid = Grid {
            history,
            nodes: Vec::new(),
            rogues: Vec::new(),
            root: root.to_owned(),
            rng,
        };
        let t = Instant::now();
        for (i, h) in holds.into_iter().enumerate() {
            grid.add(h, Role::Honest).await;
            if i % 50 == 49 {
                eprintln!(
                    "grid: {} nodes after {:.1} s, {} open files",
                    i + 1,
                    t.elapsed().as_secs_f64(),
                    open_fds()
                );
            }
        }
        for _ in 0..layout.forgers {
            let claims = grid.random_chunks(layout.liar_chunks);
            grid.add(claims, Role::Forger).await;
        }
        for (mode, n) in [
            (RogueMode::Stall, layout.stallers),
            (RogueMode::Drop, layout.droppers),
        ] {
            for _ in 0..n {
                let claims = grid.random_chunks(layout.liar_chunks);
                let bootstrap = grid.bootstrap(2);
                let chain = grid.history.chain.clone();
                grid.rogues
                    .push(Rogue::start(mode, &chain, &claims, &bootstrap).await);
            }
        }
        eprintln!(
            "grid: {} nodes started in {:.1} s",
            grid.nodes.len() + grid.rogues.len(),
            t.elapsed().as_secs_f64()
        );
        // Kademlia fills the routing tables by itself: each node refreshes
        // its table when it starts. Then everyone announces, as seeders
        // that have been up a while do, twenty at a time.
        let quiet_after = quiet().await;
        eprintln!("grid: at rest after {quiet_after:.1} s more");
        let t = Instant::now();
        let nodes: Vec<&Node> = grid.live().collect();
        for batch in nodes.chunks(20) {
            for node in batch {
                node.cascade.announce(&grid.history.chain).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        quiet().await;
        let (mut reached, mut lost) = (0, 0);
        for (_, _, c) in grid.load().await {
            reached += c.announcements;
            lost += c.announcements_lost;
        }
        eprintln!(
            "grid: announced and at rest in {:.1} s ({reached} announcements reached the DHT, {lost} lost), {} open files",
            t.elapsed().as_secs_f64(),
            open_fds()
        );
        grid
    }

    fn random_chunks(&mut self, n: usize) -> Vec<u64> {
        let chunks = self.history.chunks as usize;
        let mut c: Vec<u64> = draw(&mut self.rng, n, chunks)
            .into_iter()
            .map(|c| c as u64)
            .collect();
        c.sort_unstable();
        c
    }

    /// Addresses of `n` random live nodes.
    pub fn bootstrap(&mut self, n: usize) -> Vec<Multiaddr> {
        self.bootstrap_avoiding(n, &HashSet::new())
    }

    /// Addresses of `n` random live nodes not in `avoid`.
    fn bootstrap_avoiding(&mut self, n: usize, avoid: &HashSet<PeerId>) -> Vec<Multiaddr> {
        let live: Vec<Multiaddr> = self
            .live()
            .filter(|node| !avoid.contains(&node.peer()))
            .map(|node| node.addr.clone())
            .collect();
        draw(&mut self.rng, n, live.len())
            .into_iter()
            .map(|i| live[i].clone())
            .collect()
    }

    /// Starts one of our nodes holding `holds`, bootstrapped from two
    /// random live nodes; its index.
    pub async fn add(&mut self, holds: Vec<u64>, role: Role) -> usize {
        let bootstrap = self.bootstrap(2);
        let dir = tempfile::tempdir_in(&self.root).unwrap();
        self.history
            .furnish(dir.path(), &holds, role == Role::Forger);
        let node = start_node(&self.history.chain, dir, bootstrap, holds, role, limits()).await;
        self.nodes.push(Some(node));
        self.nodes.len() - 1
    }

    /// A node joining while others sync: starts, then announces at once.
    pub async fn join(&mut self, holds: Vec<u64>) -> usize {
        let i = self.add(holds, Role::Honest).await;
        let node = self.nodes[i].as_ref().unwrap();
        node.cascade.announce(&self.history.chain).await.unwrap();
        i
    }

    /// Node `i` leaves: its swarm stops, its connections close.
    pub fn leave(&mut self, i: usize) {
        self.nodes[i] = None;
    }

    /// Churn: a third of the honest seeders leave, and a sixth as many
    /// join, each with two random chunks; a chunk left with no honest
    /// holder is given to a joiner. Returns (left, joined, orphaned).
    pub async fn churn(&mut self) -> (usize, usize, usize) {
        let chunks = self.history.chunks as usize;
        let seeders: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i]
                    .as_ref()
                    .is_some_and(|n| n.role == Role::Honest && !n.holds.is_empty())
            })
            .collect();
        let leaving: Vec<usize> = draw(&mut self.rng, seeders.len() / 3, seeders.len())
            .into_iter()
            .map(|i| seeders[i])
            .collect();
        for &i in &leaving {
            self.leave(i);
        }
        let orphaned: Vec<u64> = (0..chunks as u64)
            .filter(|c| {
                !self
                    .live()
                    .any(|n| n.role == Role::Honest && n.holds.contains(c))
            })
            .collect();
        let joining = (seeders.len() / 6).max(1);
        for j in 0..joining {
            let mut holds = self.random_chunks(2);
            holds.extend(orphaned.iter().filter(|c| **c as usize % joining == j));
            holds.sort_unstable();
            holds.dedup();
            self.join(holds).await;
        }
        (leaving.len(), joining, orphaned.len())
    }

    pub fn live(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().flatten()
    }

    /// A node behind a NAT, as one that has been up a while sees the grid:
    /// it takes itself for unreachable once `after` has passed (and then
    /// looks for relay slots, through the grid only), and keeps 8
    /// connections, trimming those unused for 3 s (the product keeps 64,
    /// unused for 2 minutes).
    /// Bootstrapped from three random live nodes not in `avoid`.
    pub async fn behind_nat(&mut self, after: Duration, avoid: &HashSet<PeerId>) -> Node {
        let bootstrap = self.bootstrap_avoiding(3, avoid);
        let limits = swarm::Limits {
            reserve_after: after,
            keep_peers: 8,
            idle_timeout: Duration::from_secs(3),
            // Relays announce their public address, which makes them the
            // harness's only Amino DHT servers: dialling Amino servers for
            // relays would find exactly them. In the world, those servers
            // are thousands of IPFS nodes.
            amino_relay_probes: 0,
            ..limits()
        };
        let dir = tempfile::tempdir_in(&self.root).unwrap();
        start_node(
            &self.history.chain,
            dir,
            bootstrap,
            Vec::new(),
            Role::Honest,
            limits,
        )
        .await
    }

    /// `n` random live honest nodes (their indexes).
    pub fn pick_honest(&mut self, n: usize) -> Vec<usize> {
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i]
                    .as_ref()
                    .is_some_and(|n| n.role == Role::Honest)
            })
            .collect();
        draw(&mut self.rng, n, honest.len())
            .into_iter()
            .map(|i| honest[i])
            .collect()
    }

    /// A fresh node with an empty cache, bootstrapped from three random
    /// live nodes; returned once it is connected to them and Kademlia's
    /// first bootstrap query (half a second after a new peer) has run.
    pub async fn fresh(&mut self) -> Node {
        let bootstrap = self.bootstrap(3);
        let dir = tempfile::tempdir_in(&self.root).unwrap();
        let node = start_node(
            &self.history.chain,
            dir,
            bootstrap,
            Vec::new(),
            Role::Honest,
            limits(),
        )
        .await;
        for _ in 0..400 {
            if node.client.grid_peers().await.unwrap().len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        node
    }

    /// Node `i` starts relaying as a seeder does (its relay server on) and
    /// declares its address public, so it announces itself on the grid
    /// DHT as a relay.
    pub async fn make_relay(&self, i: usize) {
        let node = self.nodes[i].as_ref().expect("a live node");
        node.client.set_seeding(true).await.unwrap();
        let public: Multiaddr = node
            .addr
            .iter()
            .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            .collect();
        node.client.add_external_address(public).await.unwrap();
    }

    /// Every live node's counters, with whether it is honest.
    pub async fn load(&self) -> Vec<(PeerId, Role, GridCounters)> {
        let mut out = Vec::new();
        for node in self.live() {
            out.push((
                node.peer(),
                node.role,
                node.client.counters().await.unwrap(),
            ));
        }
        out
    }
}

/// The product's limits, but for three: the memory cap is the whole
/// process's resident memory, meant for one node a process; no periodic
/// routing-table refresh falls inside a test; and a node counts as
/// publicly reachable for an hour (nodes here confirm no external
/// address), else every node would go looking for relays after 30 s, as
/// only [`Grid::behind_nat`]'s node is meant to.
pub fn limits() -> swarm::Limits {
    swarm::Limits {
        max_memory_bytes: usize::MAX,
        dht_refresh: Duration::from_secs(1800),
        reserve_after: Duration::from_secs(3600),
        ..swarm::Limits::default()
    }
}

async fn start_node(
    chain: &ChainInfo,
    dir: tempfile::TempDir,
    bootstrap: Vec<Multiaddr>,
    holds: Vec<u64>,
    role: Role,
    limits: swarm::Limits,
) -> Node {
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/memory/0".parse().unwrap()],
        memory_transport: true,
        bootstrap,
        chains: vec![chain.clone()],
        limits,
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache.clone()).await.unwrap();
    let cascade = Arc::new(FetchCascade::new(cache, None).with_swarm(client.clone()));
    let addr = loop {
        let addrs = client.listen_addrs().await.unwrap();
        if let Some(a) = addrs
            .into_iter()
            .find(|a| a.to_string().contains("/memory/"))
        {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    Node {
        client,
        cascade,
        addr,
        holds,
        role,
        _dir: dir,
    }
}

/// Waits until the grid is at rest: the process used less than a fifth
/// of a core over the last two seconds (at most five minutes); the seconds
/// it took. Every node refreshes its routing table when it starts, a
/// lookup in each bucket; a node does that on its own machine, but here
/// hundreds share two cores, and their refreshes take minutes to drain.
pub async fn quiet() -> f64 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let cpu = cpu_secs();
        tokio::time::sleep(Duration::from_secs(2)).await;
        if cpu_secs() - cpu < 0.4 {
            break;
        }
    }
    started.elapsed().as_secs_f64()
}

/// Peak resident memory of this process so far, in MiB (Linux).
pub fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// Open file descriptors of this process (Linux).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// CPU time this process has used so far, user and system, in seconds
/// (Linux; clock ticks of 1/100 s).
pub fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            Some((f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}
