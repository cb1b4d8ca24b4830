//! `zks fetch`, `zks beacon get`, `zks seed` and `zks devnet --http`: the
//! grid's cache, fetch cascade and drand-compatible relay from the command
//! line. (The libp2p swarm layer is not built yet; see ARCHITECTURE.md.)

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use zks_beacon::{ChainHash, ChainInfo, DevnetSigner, Scheme};
use zks_grid::relay::{self, RelaySource};
use zks_grid::{BeaconCache, DrandHttp, FetchCascade, SwarmConfig};
use zks_node::Node;

use crate::output;

/// Per-request timeout of HTTP sources.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sources shared by the grid commands.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Grid peer to connect to (repeatable), e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3….
    #[arg(long = "bootstrap", value_name = "MULTIADDR")]
    bootstrap: Vec<libp2p::Multiaddr>,
    /// Address to listen on for grid peers (repeatable), e.g. /ip4/0.0.0.0/tcp/4001.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    listen: Vec<libp2p::Multiaddr>,
    /// Discover grid peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
    /// Upload cap: beacon rounds served to grid peers per second.
    #[arg(long, value_name = "ROUNDS")]
    serve_rate: Option<u64>,
    /// Disk cap of the beacon cache, e.g. 500MiB or 8GiB (pinned ranges are kept).
    #[arg(long, value_name = "SIZE", value_parser = super::pad::parse_size, default_value = "4GiB")]
    cache_budget: u64,
    /// drand HTTP API base URL (repeatable), e.g. https://api.drand.sh.
    #[arg(long = "drand-url", value_name = "URL")]
    drand_urls: Vec<String>,
    /// Do not use HTTP sources (drand API).
    #[arg(long)]
    no_http: bool,
    /// IPFS trustless gateway for complete chunks (repeatable), e.g. a seeder's relay.
    #[arg(long = "gateway", value_name = "URL")]
    gateways: Vec<String>,
    /// Where to read the chunk → CID index: a URL or a file (default: each
    /// gateway's /{chainhash}/chunks, which seeders' relays serve).
    #[arg(long, value_name = "URL|FILE")]
    chunk_index: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// Chain name or hash (a hash unknown here is learned from the sources).
    #[arg(long, value_name = "NAME|HASH")]
    chain: String,
    /// Rounds to fetch, e.g. 1..1000 (inclusive).
    #[arg(long, value_parser = parse_rounds)]
    rounds: RangeInclusive<u64>,
    #[command(flatten)]
    sources: SourceArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// Chain name or hash.
    #[arg(long, value_name = "NAME|HASH")]
    chain: String,
    /// The round (or `latest`).
    round: String,
    #[command(flatten)]
    sources: SourceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// Chains to seed (repeatable; default quicknet).
    #[arg(long = "chain", value_name = "NAME|HASH")]
    chains: Vec<String>,
    /// Keep these rounds of the first chain in the cache, e.g. 1..100000.
    #[arg(long, value_parser = parse_rounds)]
    pin: Option<RangeInclusive<u64>>,
    /// Serve the drand-compatible relay on this address, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    relay_http: Option<SocketAddr>,
    #[command(flatten)]
    sources: SourceArgs,
    /// Stop after this many seconds (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    run_for: Option<u64>,
}

/// `A..B` or `A..=B` (both inclusive), or a single round.
pub(crate) fn parse_rounds(s: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("{s:?} is not a round range like 1..1000");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a, b.trim_start_matches('=')),
        None => (s, s),
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(format!(
            "{s:?}: rounds start at 1 and the range must not be empty"
        ));
    }
    if b - a >= 50_000_000 {
        return Err(format!("{s:?} is more than 50 million rounds"));
    }
    Ok(a..=b)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn http(args: &SourceArgs) -> anyhow::Result<Option<DrandHttp>> {
    if args.no_http || args.drand_urls.is_empty() {
        return Ok(None);
    }
    Ok(Some(DrandHttp::new(&args.drand_urls, HTTP_TIMEOUT)?))
}

/// The chain by name or hash; a hash this home does not know is learned
/// from the HTTP sources or the grid peers (accepted only if the info hashes
/// to it) and remembered.
async fn resolve_chain(
    node: &Node,
    name: &str,
    http: Option<&DrandHttp>,
    cascade: Option<&FetchCascade>,
) -> anyhow::Result<ChainInfo> {
    if let Ok(chain) = node.chain(name) {
        return Ok(chain);
    }
    let Ok(hash) = name.parse::<ChainHash>() else {
        return Ok(node.chain(name)?);
    };
    let mut info = None;
    if let Some(http) = http {
        info = http.info(&hash).await.ok();
    }
    if info.is_none()
        && let Some(swarm) = cascade.and_then(FetchCascade::swarm)
    {
        info = swarm.learn_chain(hash, Duration::from_secs(5)).await;
    }
    let info = info.ok_or_else(|| {
        anyhow::anyhow!("chain {hash} is not known here and no source or peer could describe it")
    })?;
    node.add_chain(&info.to_info_json())?;
    if let Some(swarm) = cascade.and_then(FetchCascade::swarm) {
        swarm.add_chain(info.clone()).await?;
    }
    Ok(info)
}

/// Adds the gateway layer and its chunk index for `chain`, if configured.
async fn with_gateway(
    cascade: FetchCascade,
    sources: &SourceArgs,
    chain: &ChainInfo,
) -> anyhow::Result<FetchCascade> {
    if sources.gateways.is_empty() {
        return Ok(cascade);
    }
    let gateway = zks_grid::IpfsGateway::new(&sources.gateways, HTTP_TIMEOUT)?;
    let locations: Vec<String> = match &sources.chunk_index {
        Some(loc) => vec![loc.clone()],
        None => sources
            .gateways
            .iter()
            .map(|g| format!("{}/{}/chunks", g.trim_end_matches('/'), chain.hash))
            .collect(),
    };
    let cascade = cascade.with_gateway(gateway);
    for loc in locations {
        let text = if loc.starts_with("http://") || loc.starts_with("https://") {
            match reqwest::get(&loc).await {
                Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
                _ => continue,
            }
        } else {
            std::fs::read_to_string(&loc).with_context(|| format!("cannot read {loc}"))?
        };
        match zks_grid::ChunkIndex::from_json(&text, chain) {
            Ok(index) => cascade.add_index(index),
            Err(e) => tracing::warn!("chunk index {loc}: {e}"),
        }
    }
    Ok(cascade)
}

/// Known chains among `names` (others are resolved once the swarm is up).
fn known(node: &Node, names: &[String]) -> Vec<ChainInfo> {
    names.iter().filter_map(|n| node.chain(n).ok()).collect()
}

/// The cascade over this home's cache, with the swarm when peers or listen
/// addresses are given.
async fn cascade(
    node: &Node,
    sources: &SourceArgs,
    http: Option<DrandHttp>,
    chains: &[ChainInfo],
) -> anyhow::Result<FetchCascade> {
    let cache = Arc::new(BeaconCache::open(&node.cache_dir(), sources.cache_budget)?);
    let cascade = FetchCascade::new(cache.clone(), http);
    if sources.bootstrap.is_empty() && sources.listen.is_empty() && !sources.mdns {
        return Ok(cascade);
    }
    let config = SwarmConfig {
        keypair: node.libp2p_keypair()?,
        listen: if sources.listen.is_empty() {
            vec![
                "/ip4/0.0.0.0/tcp/0".parse()?,
                "/ip4/0.0.0.0/udp/0/quic-v1".parse()?,
            ]
        } else {
            sources.listen.clone()
        },
        bootstrap: sources.bootstrap.clone(),
        chains: chains.to_vec(),
        mdns: sources.mdns,
        serve_rounds_per_sec: sources.serve_rate,
        inbound: None,
    };
    let client = zks_grid::swarm::start(config, cache).await?;
    if !sources.bootstrap.is_empty() {
        // Give the first connections a moment before asking for providers.
        for _ in 0..40 {
            if !client.peers().await?.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(cascade.with_swarm(client))
}

/// The cascade with every configured source, and the chain resolved through
/// it (learned from HTTP or peers when only its hash is given).
async fn open_chain(
    node: &Node,
    name: &str,
    sources: &SourceArgs,
) -> anyhow::Result<(FetchCascade, ChainInfo)> {
    let http = http(sources)?;
    let known = known(node, std::slice::from_ref(&name.to_owned()));
    let cascade = cascade(node, sources, http, &known).await?;
    let chain = resolve_chain(node, name, cascade.http(), Some(&cascade)).await?;
    let cascade = with_gateway(cascade, sources, &chain).await?;
    Ok((cascade, chain))
}

pub(crate) async fn fetch(node: &Node, args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let (cascade, chain) = open_chain(node, &args.chain, &args.sources).await?;
    let report = cascade.fetch(&chain, args.rounds.clone(), now()).await?;
    if args.json {
        output::json(&report)?;
    } else {
        let from: Vec<String> = report
            .from
            .iter()
            .map(|(k, v)| format!("{v} from {k}"))
            .collect();
        println!(
            "{}: {} of {} rounds held ({}); {} failed",
            chain.name,
            report.held(),
            report.requested,
            if from.is_empty() {
                "none".to_owned()
            } else {
                from.join(", ")
            },
            report.failed.len()
        );
        for (round, reason) in report.failed.iter().take(3) {
            println!("  round {round}: {reason}");
        }
        if report.failed.len() > 3 {
            println!("  … and {} more", report.failed.len() - 3);
        }
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) async fn get(node: &Node, args: &GetArgs) -> anyhow::Result<ExitCode> {
    let (cascade, chain) = open_chain(node, &args.chain, &args.sources).await?;
    let round = if args.round == "latest" {
        chain.round_at(now())
    } else {
        args.round
            .parse::<u64>()
            .map_err(|_| anyhow::anyhow!("the round must be a number or latest"))?
    };
    match cascade.get(&chain, round, now()).await? {
        Some(b) => {
            println!("{}", b.beacon().to_json());
            Ok(ExitCode::SUCCESS)
        }
        None => bail!(
            "round {round} of {} is not in the cache and no source delivered it",
            chain.name
        ),
    }
}

pub(crate) async fn seed(node: &Node, args: &SeedArgs) -> anyhow::Result<ExitCode> {
    let http = http(&args.sources)?;
    let names = if args.chains.is_empty() {
        vec!["quicknet".to_owned()]
    } else {
        args.chains.clone()
    };
    let cascade = Arc::new(cascade(node, &args.sources, http, &known(node, &names)).await?);
    let mut chains = Vec::new();
    for name in &names {
        chains.push(resolve_chain(node, name, cascade.http(), Some(&cascade)).await?);
    }
    if let (Some(pin), Some(first)) = (&args.pin, chains.first()) {
        cascade.cache().pin(first.hash, pin.clone());
    }
    println!(
        "seeding {} from {}",
        names.join(", "),
        node.data_dir().path().display()
    );
    if let Some(swarm) = cascade.swarm() {
        println!("peer id {}", swarm.peer_id());
        tokio::time::sleep(Duration::from_millis(200)).await;
        for addr in swarm.listen_addrs().await? {
            println!("grid listening on {addr}");
        }
    }
    if let Some(addr) = args.relay_http {
        let source = RelaySource::Cascade {
            cascade: cascade.clone(),
            chains: chains.clone(),
        };
        let (bound, _task) = relay::serve(addr, source)
            .await
            .with_context(|| format!("cannot serve on {addr}"))?;
        println!("relay listening on http://{bound}");
    }
    let deadline = args
        .run_for
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    loop {
        let now = now();
        for chain in &chains {
            let head = chain.round_at(now);
            let range = match (&args.pin, chain.hash == chains[0].hash) {
                (Some(pin), true) => *pin.start()..=(*pin.end()).min(head),
                _ => head.saturating_sub(10).max(1)..=head,
            };
            let result = cascade.fetch(chain, range, now).await;
            if let Err(e) = cascade.announce(chain).await {
                tracing::warn!("cannot announce chunks: {e}");
            }
            match result {
                Ok(report) => {
                    tracing::info!(chain = %chain.name, held = report.held(), failed = report.failed.len(), "seeding pass");
                }
                Err(e) => tracing::warn!(chain = %chain.name, "seeding pass failed: {e}"),
            }
        }
        let period = chains.iter().map(|c| c.period).min().unwrap_or(3);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(period)) => {}
            _ = tokio::signal::ctrl_c() => break,
            () = async { if let Some(d) = deadline { tokio::time::sleep_until(d).await } else { std::future::pending().await } } => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `zks devnet --http ADDR`: a local chain serving the drand HTTP API.
pub(crate) async fn devnet_serve(
    addr: SocketAddr,
    scheme: Scheme,
    period: u64,
    history: u64,
    run_for: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if scheme.is_chained() {
        bail!(
            "the devnet server signs rounds on demand, which needs an unchained scheme (bls-unchained-g1-rfc9380 or pedersen-bls-unchained)"
        );
    }
    let genesis = now().saturating_sub(history.saturating_sub(1) * period);
    let signer = Arc::new(DevnetSigner::test(scheme, period, genesis));
    let info = signer.chain().to_info_json();
    let (bound, task) = relay::serve(addr, RelaySource::Devnet(signer))
        .await
        .with_context(|| format!("cannot serve on {addr}"))?;
    println!("{info}");
    println!("devnet serving the drand HTTP API on http://{bound}");
    let stop = async {
        match run_for {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = task => {}
        _ = tokio::signal::ctrl_c() => {}
        () = stop => {}
    }
    Ok(ExitCode::SUCCESS)
}
