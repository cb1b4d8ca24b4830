//! The grid at scale, measured: a fresh node syncing from a grid of real
//! nodes of our own code in this process (`tests/scale/mod.rs`), against
//! the batch verifier's rate on the same rounds and machine.
//!
//! ```sh
//! cargo bench -p zks-grid --bench grid_scale                 # the table, 200 nodes, 4 chunks a sync
//! cargo bench -p zks-grid --bench grid_scale -- table 8 200  # chunks a sync, honest nodes
//! PROVIDERS=4 RUNS=1 cargo bench -p zks-grid --bench grid_scale  # one row pair, one clean sync
//! cargo bench -p zks-grid --bench grid_scale -- whole 5000000 16   # one sync of 5 M rounds from 16 seeders
//! ```
//!
//! Table: for 1, 4, 16 and 64 honest providers per chunk, a grid of that
//! layout (no full seeder: every chunk is held by exactly that many random
//! nodes), and fresh nodes syncing every chunk: `RUNS` (3) clean syncs,
//! then one while a third of the seeders leave and others join; then the
//! same grid with a tenth of its peers lying (forged signatures, stalls,
//! dropped streams), one sync, one with churn too. Each sync is timed from
//! the fetch call to its end (provider lookups, requests, verification,
//! storing; the grid's set-up is not timed). Per row: rounds/s (median,
//! min–max), its ratio to the batch verifier alone over the same rounds
//! (the template's verification at set-up: same verifier, threads and
//! rounds), the provider lookups (time and Kademlia requests each, as the
//! fresh node's swarm counted them) and the largest share of the rounds
//! served that one seeder served (1/providers is an even spread), the
//! requests that failed and the rounds a sync missed (the swarm has no
//! HTTP layer behind it here, so a chunk it gives up stays missing).
//!
//! `whole`: the history is signed and verified once into a template, which
//! `seeders` nodes hold in turns of whole chunks; one fresh node syncs it
//! all. Prints the time, rate, disk used and the projection to quicknet
//! and drand's default chain.

#[path = "../tests/scale/mod.rs"]
mod scale;

use std::sync::Arc;
use std::time::{Duration, Instant};

use scale::{Grid, History, Layout, Node, Role};
use zks_grid::CHUNK_ROUNDS;

/// Rounds of quicknet and of the default chain to date (the issue's
/// figures: quicknet at 3 s since August 2023, default at 30 s since 2020).
const QUICKNET_ROUNDS: f64 = 34.5e6;
const DEFAULT_ROUNDS: f64 = 6.7e6;

struct Sync {
    secs: f64,
    lookups: u64,
    lookup_ms: f64,
    lookup_requests: f64,
    top_share: f64,
    serving: usize,
    failures: u64,
    /// Rounds the sync did not get (none when it completed).
    missed: u64,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match args.first().map(String::as_str) {
        Some("whole") => {
            let rounds: u64 = args
                .get(1)
                .map_or(5_000_000, |a| a.parse().expect("ROUNDS"));
            let seeders: usize = args.get(2).map_or(16, |a| a.parse().expect("SEEDERS"));
            runtime.block_on(whole(rounds, seeders));
        }
        None | Some("table") => {
            let chunks: u64 = args.get(1).map_or(4, |a| a.parse().expect("CHUNKS"));
            let nodes: usize = args.get(2).map_or(200, |a| a.parse().expect("NODES"));
            runtime.block_on(table(chunks, nodes));
        }
        Some(other) => {
            eprintln!("unknown mode {other:?}: table [CHUNKS NODES] | whole [ROUNDS SEEDERS]");
            std::process::exit(2);
        }
    }
}

/// Where the bench keeps its homes: `ZKS_BENCH_DIR` or the system's.
fn work_dir() -> tempfile::TempDir {
    match std::env::var_os("ZKS_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

async fn sync_once(grid: &mut Grid, churn: bool) -> Sync {
    let fresh: Node = grid.fresh().await;
    let before = grid.load().await;
    let chain = grid.history.chain.clone();
    let rounds = grid.history.rounds();
    let now = chain.time_of_round(rounds) + 1;
    let cascade = fresh.cascade.clone();
    let started = Instant::now();
    let task = tokio::spawn(async move { cascade.fetch(&chain, 1..=rounds, now).await });
    if churn {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        grid.churn().await;
    }
    let report = task.await.unwrap().unwrap();
    let secs = started.elapsed().as_secs_f64();
    // An incomplete sync is a result too: the table says how many rounds
    // it missed (there is no HTTP layer behind the swarm here).
    let missed = rounds - report.from.get("swarm").copied().unwrap_or(0);
    let after = grid.load().await;
    let served: Vec<u64> = after
        .iter()
        .filter(|(_, role, _)| *role == Role::Honest)
        .map(|(peer, _, c)| {
            let was = before
                .iter()
                .find(|(p, ..)| p == peer)
                .map_or(0, |(_, _, b)| b.served_rounds);
            c.served_rounds - was
        })
        .collect();
    let total: u64 = served.iter().sum();
    let counters = fresh.client.counters().await.unwrap();
    Sync {
        secs,
        lookups: counters.lookups,
        lookup_ms: counters.lookup_millis as f64 / counters.lookups.max(1) as f64,
        lookup_requests: counters.lookup_requests as f64 / counters.lookups.max(1) as f64,
        top_share: served.iter().max().copied().unwrap_or(0) as f64 / total.max(1) as f64,
        serving: served.iter().filter(|n| **n > 0).count(),
        failures: fresh.cascade.stats().get("swarm").map_or(0, |s| s.failures),
        missed,
    }
}

fn row(label: &str, rounds: u64, verifier: f64, runs: &[Sync]) {
    let mut rates: Vec<f64> = runs.iter().map(|s| rounds as f64 / s.secs).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let avg = |f: fn(&Sync) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
    println!(
        "| {label} | {} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.0} ms, {:.1} requests ({} lookups) | {:.1} % ({} seeders served) | {} | {} |",
        runs.len(),
        median,
        rates[0],
        rates[rates.len() - 1],
        median / verifier,
        avg(|s| s.lookup_ms),
        avg(|s| s.lookup_requests),
        runs.iter().map(|s| s.lookups).sum::<u64>(),
        100.0 * avg(|s| s.top_share),
        runs.iter().map(|s| s.serving).max().unwrap_or(0),
        runs.iter().map(|s| s.failures).sum::<u64>(),
        runs.iter().map(|s| s.missed).sum::<u64>(),
    );
}

async fn table(chunks: u64, nodes: usize) {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let root = work_dir();
    let history = Arc::new(History::sign(chunks, root.path()));
    let rounds = history.rounds();
    let verifier = rounds as f64 / history.verify_secs;
    println!(
        "\n{rounds} rounds ({chunks} chunks) a sync, {nodes} honest nodes; batch verifier alone: {verifier:.0} rounds/s\n"
    );
    println!(
        "| providers per chunk, churn, liars | syncs | rounds/s, median (min–max) | / verifier | provider lookup, mean | most served by one seeder | failed requests | rounds missed |"
    );
    println!("|---|---:|---|---:|---|---|---:|---:|");
    // PROVIDERS=1,4 runs only those rows.
    let counts: Vec<usize> = std::env::var("PROVIDERS").map_or(vec![1, 4, 16, 64], |p| {
        p.split(',')
            .map(|n| n.parse().expect("PROVIDERS"))
            .collect()
    });
    for providers in counts {
        let liars = nodes / 9;
        for lying in [false, true] {
            let layout = Layout {
                nodes,
                full: 0,
                per_chunk: (providers, providers),
                recent: 0,
                forgers: if lying { liars - 2 * (liars / 3) } else { 0 },
                stallers: if lying { liars / 3 } else { 0 },
                droppers: if lying { liars / 3 } else { 0 },
                liar_chunks: (chunks as usize).div_ceil(2),
                seed: providers as u64,
            };
            let mut grid = Grid::start(history.clone(), &layout, root.path()).await;
            let tag = if lying { "a tenth lying" } else { "no liars" };
            let n = if lying { 1 } else { runs };
            let mut clean = Vec::new();
            for _ in 0..n {
                clean.push(sync_once(&mut grid, false).await);
            }
            row(
                &format!("{providers}, no churn, {tag}"),
                rounds,
                verifier,
                &clean,
            );
            let churned = [sync_once(&mut grid, true).await];
            row(
                &format!("{providers}, ⅓ leave, {tag}"),
                rounds,
                verifier,
                &churned,
            );
        }
    }
    println!("\npeak RSS {} MiB", scale::peak_rss_mib());
}

/// Bytes under `path`, counting each hard-linked file once.
fn disk_bytes(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else if seen.insert(meta.ino()) {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

async fn whole(rounds: u64, seeders: usize) {
    let chunks = rounds.div_ceil(CHUNK_ROUNDS);
    let root = work_dir();
    let history = Arc::new(History::sign(chunks, root.path()));
    let rounds = history.rounds();
    let verifier = rounds as f64 / history.verify_secs;
    println!(
        "signed {rounds} rounds ({chunks} chunks) in {:.0} s, verified in {:.0} s ({verifier:.0} rounds/s)",
        history.sign_secs, history.verify_secs
    );
    let layout = Layout {
        nodes: seeders,
        full: 0,
        per_chunk: (2, 2),
        recent: 0,
        forgers: 0,
        stallers: 0,
        droppers: 0,
        liar_chunks: 0,
        seed: 5,
    };
    let mut grid = Grid::start(history.clone(), &layout, root.path()).await;
    let sync = sync_once(&mut grid, false).await;
    assert_eq!(sync.missed, 0, "the whole-history sync is incomplete");
    let rate = rounds as f64 / sync.secs;
    let hours = |n: f64| n / rate / 3600.0;
    println!(
        "synced {rounds} rounds from {seeders} seeders (2 per chunk) in {:.0} s: {rate:.0} rounds/s, {:.2} of the verifier; \
         most served by one seeder {:.1} %; provider lookups {:.0} ms each",
        sync.secs,
        rate / verifier,
        100.0 * sync.top_share,
        sync.lookup_ms
    );
    println!(
        "disk: {:.0} MiB in all (the template, which the seeders link to, and the fresh node's copy); peak RSS {} MiB",
        disk_bytes(root.path()) as f64 / (1 << 20) as f64,
        scale::peak_rss_mib()
    );
    println!(
        "projection at this rate: quicknet ({:.1} M rounds) {:.1} h, default ({:.1} M rounds) {:.1} h",
        QUICKNET_ROUNDS / 1e6,
        hours(QUICKNET_ROUNDS),
        DEFAULT_ROUNDS / 1e6,
        hours(DEFAULT_ROUNDS)
    );
}
