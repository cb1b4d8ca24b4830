//! `zks fetch`, `zks beacon get`, `zks seed` and `zks devnet --http`: the
//! grid's cache, fetch cascade and drand-compatible relay from the command
//! line. The cascade and seeding themselves live in `zks-node`.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use zks_beacon::{ChainInfo, DevnetSigner, Scheme};
use zks_grid::relay::{self, RelaySource};
use zks_node::{GridSources, Node, SeedPlan};

use crate::output;

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

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SourceArgs {
    /// The node's description of these sources.
    pub(crate) fn sources(&self) -> GridSources {
        GridSources {
            bootstrap: self.bootstrap.clone(),
            listen: self.listen.clone(),
            mdns: self.mdns,
            serve_rate: self.serve_rate,
            cache_budget: self.cache_budget,
            drand_urls: if self.no_http {
                Vec::new()
            } else {
                self.drand_urls.clone()
            },
            gateways: self.gateways.clone(),
            chunk_index: self.chunk_index.clone(),
        }
    }
}

pub(crate) async fn fetch(node: &Node, args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let (cascade, chain) = node
        .open_chain(&args.chain, &args.sources.sources())
        .await?;
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
    let (cascade, chain) = node
        .open_chain(&args.chain, &args.sources.sources())
        .await?;
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
    let sources = args.sources.sources();
    let names = if args.chains.is_empty() {
        vec!["quicknet".to_owned()]
    } else {
        args.chains.clone()
    };
    let known: Vec<ChainInfo> = names.iter().filter_map(|n| node.chain(n).ok()).collect();
    let cascade = node.open_cascade(&sources, &known, None).await?;
    let mut chains = Vec::new();
    for name in &names {
        chains.push(node.resolve_chain(name, &cascade).await?);
    }
    let cascade = Arc::new(cascade);
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
    let _seeder = node.start_seeding(
        cascade,
        SeedPlan {
            chains,
            pin: args.pin.clone(),
        },
        true,
    );
    let deadline = async {
        match args.run_for {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = deadline => {}
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
