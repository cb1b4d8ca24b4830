//! Memory of a real `zks daemon` while hostile peers flood it over libp2p,
//! on loopback. Not a criterion bench: it reports the daemon's resident
//! memory (VmRSS sampled every 20 ms, and the kernel's high-water mark
//! VmHWM) before, during and after three floods, and how the floods were
//! answered:
//!
//! 1. `FLOODERS` peers (one connection each) send maximum-size (256 KiB)
//!    message envelopes as fast as the transport lets them;
//! 2. the same peers ask for file chunks nonstop;
//! 3. the same peers ask for beacon ranges nonstop.
//!
//! `cargo bench -p zks-cli --bench flood_memory` (release build).
//! `ZKS_FLOOD_SECS` sets each flood's length (default 10).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use zks_grid::BeaconCache;
use zks_grid::swarm::{self, RangeRequest, SwarmClient, SwarmConfig};

const FLOODERS: usize = 8;
/// Requests each flooder keeps in flight (under the 32-stream limit).
const IN_FLIGHT: usize = 24;

fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn flooder() -> (SwarmClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    (swarm::start(config, cache).await.unwrap(), dir)
}

#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    busy: AtomicU64,
    refused: AtomicU64,
}

impl Tally {
    fn count(&self, answer: Result<Vec<u8>, impl std::fmt::Debug>) {
        match answer {
            Ok(a) if a == b"busy" || a.first() == Some(&swarm::FILE_BUSY) => &self.busy,
            Ok(_) => &self.answered,
            Err(_) => &self.refused,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        format!(
            "{} answered, {} told busy, {} refused or failed",
            self.answered.load(Ordering::Relaxed),
            self.busy.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed)
        )
    }
}

/// Runs `one` from every flooder, `IN_FLIGHT` at a time each, for `secs`.
async fn flood<F, Fut>(clients: &[SwarmClient], secs: u64, one: F) -> Tally
where
    F: Fn(SwarmClient) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Vec<u8>, String>> + Send,
{
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for client in clients {
        for _ in 0..IN_FLIGHT {
            let (client, tally, one) = (client.clone(), tally.clone(), one.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < until {
                    tally.count(one(client.clone()).await);
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    Arc::try_unwrap(tally).unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("ZKS_FLOOD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let home = tempfile::tempdir().unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_zks"))
        .arg("--home")
        .arg(home.path())
        .args([
            "daemon",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--run-for",
            "600",
        ])
        .env("ZKS_PASSPHRASE", "flood bench passphrase")
        .env("ZKS_LOOPBACK_ONLY", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn zks daemon");
    let pid = daemon.id();
    let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let mut peer: Option<PeerId> = None;
    let mut addr: Option<Multiaddr> = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("daemon ") {
            peer = rest.split_whitespace().next().and_then(|p| p.parse().ok());
        }
        if let Some(a) = line.strip_prefix("listening on ") {
            addr = a.parse().ok();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let (peer, addr) = (peer.expect("daemon peer id"), addr.expect("daemon address"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = kib(pid, "VmRSS:");

    // Sample RSS every 20 ms while the floods run.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(idle));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut clients = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..FLOODERS {
        let (c, d) = flooder().await;
        clients.push(c);
        dirs.push(d);
    }
    let envelope = Arc::new(vec![0x5au8; swarm::MAX_MESSAGE]);
    let messages = {
        let (addr, envelope) = (addr.clone(), envelope.clone());
        flood(&clients, secs, move |c| {
            let (addr, envelope) = (addr.clone(), envelope.clone());
            async move {
                c.send_message(peer, vec![addr], envelope.to_vec())
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await
    };
    let after_messages = peak.load(Ordering::Relaxed);
    let chunks = {
        let addr = addr.clone();
        flood(&clients, secs, move |c| {
            let addr = addr.clone();
            async move {
                c.request_file_chunk(peer, vec![addr], vec![7u8; swarm::MAX_FILE_REQUEST])
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await
    };
    let quicknet = zks_beacon::ChainInfo::quicknet().hash.0;
    let ranges = flood(&clients, secs, move |c| async move {
        let request = RangeRequest {
            chain: quicknet,
            first: 1,
            last: 16_384,
        };
        c.request(peer, request)
            .await
            .map(|rounds| vec![u8::from(!rounds.is_empty())])
            .map_err(|e| e.to_string())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    drop(clients);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = kib(pid, "VmRSS:");
    let hwm = kib(pid, "VmHWM:");
    let alive = daemon.try_wait().unwrap().is_none();
    let _ = daemon.kill();
    let _ = daemon.wait();

    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "zks daemon under a libp2p flood ({FLOODERS} peers × {IN_FLIGHT} in flight, {secs} s each):"
    );
    println!("  256 KiB messages: {}", messages.line());
    println!("  file chunk asks:  {}", chunks.line());
    println!("  beacon ranges:    {}", ranges.line());
    println!(
        "  RSS idle {:.1} MiB, peak {:.1} MiB (after messages {:.1}), 5 s after {:.1} MiB, high-water {:.1} MiB; daemon alive: {alive}",
        mib(idle),
        mib(peak.load(Ordering::Relaxed)),
        mib(after_messages),
        mib(after),
        mib(hwm)
    );
}
