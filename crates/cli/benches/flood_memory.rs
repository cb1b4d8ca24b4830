//! Memory of a real `zks daemon` while peers flood it over libp2p, on
//! loopback. Not a criterion bench: it reports the daemon's resident memory
//! (VmRSS sampled every 20 ms, and the kernel's high-water mark VmHWM)
//! before, during and after six floods, and how each was answered.
//!
//! The daemon under test holds data worth asking for: a full 16,384-round
//! chunk of a devnet chain in its grid cache (seeded: served to peers) and
//! a 64 MiB file offered to its contact.
//!
//! From its paired contact (the real node library on a paired home, one
//! connection), the traffic a compromised or buggy contact could send:
//! 1. well-formed sealed message envelopes of 192 KiB (each sealed once,
//!    then sent again and again: the first sending of each is opened and
//!    stored, the rest are refused as replays after their tag is checked);
//! 2. well-formed 24-byte chunk requests for random chunks of the offered
//!    file (each read from disk, checked and sealed by the daemon);
//! 3. requests for the whole cached chunk of beacons (16,384 rounds).
//!
//! From `FLOODERS` strangers (one connection each), nonstop:
//! 4. maximum-size (256 KiB) garbage envelopes;
//! 5. garbage chunk requests;
//! 6. the same beacon range requests.
//!
//! The bench fails (exit 1) if the daemon exits at any point.
//!
//! `cargo bench -p zks-cli --bench flood_memory` (release build).
//! `ZKS_FLOOD_SECS` sets each flood's length (default 10);
//! `ZKS_BENCH_OUT`, if set, is a folder for the figures as `flood.json`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use zks_grid::BeaconCache;
use zks_grid::swarm::{self, RangeRequest, SwarmClient, SwarmConfig};
use zks_node::wire::{file, msg};
use zks_node::{DataDir, Mode, Node, NodeConfig, OnlineConfig, Unlock};

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

/// How a flood's requests were answered: by the first bytes of the
/// answer (`ok`, `err:<code>`, a chunk status byte) or the failure.
#[derive(Default)]
struct Tally {
    kinds: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
}

impl Tally {
    fn count(&self, kind: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(kind)
            .or_default() += 1;
    }

    fn line(&self) -> String {
        let kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "{} requests: {}",
            self.total.load(Ordering::Relaxed),
            parts.join(", ")
        )
    }

    fn json(&self) -> serde_json::Value {
        let kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        serde_json::json!({"requests": self.total.load(Ordering::Relaxed), "answers": *kinds})
    }
}

/// A message answer's kind: `ok`, `dup`, `busy`, `err:<code>`.
fn ack_kind(answer: &[u8]) -> String {
    if answer.is_empty() {
        return "empty answers".into();
    }
    let text = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
    match text.split_once(':') {
        Some(("err", rest)) => format!("err:{}", rest.split(':').next().unwrap_or("")),
        _ => text.chars().take(12).collect(),
    }
}

/// A chunk answer's kind: its status byte.
fn chunk_kind(answer: &[u8]) -> String {
    match answer.first() {
        Some(0) => "chunks served".into(),
        Some(&b) if file::Status::from_byte(b) == Some(file::Status::Busy) => "busy".into(),
        Some(code) => format!("refused (status {code})"),
        None => "empty answers".into(),
    }
}

/// A range answer's kind; an empty one is a peer over its upload budget.
fn range_kind(rounds: usize) -> String {
    match rounds {
        0 => "empty (over the rate budget)".into(),
        16_384 => "whole chunks".into(),
        n => format!("{n} rounds"),
    }
}

/// A failed request, its reason without peer and stream ids (which
/// would make every failure its own kind).
fn failure(e: impl std::fmt::Display) -> String {
    let e = e.to_string();
    let reason = e.rsplit(": ").next().unwrap_or(&e);
    let words: Vec<&str> = reason
        .split_whitespace()
        .filter(|w| !w.starts_with("12D3Koo") && !w.chars().any(|c| c.is_ascii_digit()))
        .take(8)
        .collect();
    format!("failed ({})", words.join(" "))
}

/// Runs `one` from every client, `IN_FLIGHT` at a time each, for `secs`.
async fn flood<F, Fut>(clients: &[SwarmClient], secs: u64, one: F) -> Tally
where
    F: Fn(SwarmClient, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + Duration::from_secs(secs);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        for _ in 0..IN_FLIGHT {
            let (client, tally, one, next) =
                (client.clone(), tally.clone(), one.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < until {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    tally.count(one(client.clone(), n).await);
                }
            }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    Arc::try_unwrap(tally).unwrap_or_default()
}

async fn stranger() -> (SwarmClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        direct: zks_node::wire::direct_protocols(),
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    (swarm::start(config, cache).await.unwrap(), dir)
}

fn hex16(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex transfer id");
    }
    out
}

fn die(message: &str) -> ! {
    eprintln!("flood_memory: {message}");
    std::process::exit(1)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("ZKS_FLOOD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let tmp = tempfile::tempdir().unwrap();
    let (home, contact) = (tmp.path().join("daemon"), tmp.path().join("contact"));

    // A full chunk of a devnet chain in the daemon's cache, seeded.
    let (devnet, hash, url, _) = common::devnet(20_000);
    common::ok(
        &common::fetch_from(&home, &hash, "1..16384", &url)
            .output()
            .unwrap(),
    );
    drop(devnet);
    common::ok(&common::run(
        &home,
        &[
            "settings",
            "set",
            "chains",
            &format!(r#"["quicknet","{hash}"]"#),
        ],
    ));
    common::ok(&common::run(
        &home,
        &["settings", "set", "drand_urls", "[]"],
    ));
    let chain: [u8; 32] = {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&hex16(&hash[..32]));
        out[16..].copy_from_slice(&hex16(&hash[32..]));
        out
    };

    let mut cmd = common::zks();
    cmd.arg("--home").arg(&home).args([
        "daemon",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--run-for",
        "1800",
    ]);
    let (mut daemon, lines) = common::start(cmd, "listening on");
    let pid = daemon.0.id();
    let peer: PeerId = lines
        .iter()
        .find_map(|l| l.strip_prefix("daemon "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| die("no peer id from the daemon"));
    let addr: Multiaddr = lines
        .iter()
        .find_map(|l| l.strip_prefix("listening on "))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| die("no address from the daemon"));

    // Pair (the daemon's home invites, so the invite carries its address)
    // and offer the contact a file.
    common::pair(tmp.path(), &home, &contact);
    let file = tmp.path().join("offered.bin");
    {
        let mut data = vec![0u8; 64 << 20];
        for (i, chunk) in data.chunks_mut(32).enumerate() {
            chunk.copy_from_slice(blake3::hash(&(i as u64).to_le_bytes()).as_bytes());
        }
        std::fs::write(&file, data).unwrap();
    }
    let offered: serde_json::Value = serde_json::from_str(&common::ok(&common::run(
        &home,
        &["file", "send", "Bob", file.to_str().unwrap(), "--json"],
    )))
    .unwrap();
    let transfer = hex16(
        offered["id"]
            .as_str()
            .unwrap_or_else(|| die("no transfer id")),
    );
    let chunks = 64u64; // 64 MiB in 1 MiB chunks

    // The contact: the real node library on the paired home.
    let node = Node::start(NodeConfig {
        data_dir: DataDir::resolve(Some(contact.clone())).unwrap(),
        unlock: Unlock::Passphrase(zeroize::Zeroizing::new(common::PASSPHRASE.to_owned())),
    })
    .await
    .unwrap_or_else(|e| die(&format!("cannot open the contact's home: {e}")));
    let paired = node
        .go_online(OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap: Vec::new(),
            mdns: false,
            auto_accept_files: false,
            grid: false,
        })
        .await
        .unwrap_or_else(|e| die(&format!("the contact cannot go online: {e}")));
    let text = vec![b'z'; 192 * 1024];
    let envelopes: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..200)
            .map(|_| {
                node.seal("Alice", &text, Mode::Grid)
                    .unwrap_or_else(|e| die(&format!("cannot seal: {e}")))
                    .envelope
            })
            .collect(),
    );
    assert!(envelopes.iter().all(|e| e.len() <= msg::MAX_MESSAGE));

    let alive = |daemon: &mut common::Running, when: &str| {
        if daemon.0.try_wait().ok().flatten().is_some() {
            die(&format!("the daemon exited {when}"));
        }
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    alive(&mut daemon, "before the floods");
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

    let contact_clients = vec![paired.clone()];
    let range = RangeRequest {
        chain,
        first: 1,
        last: 16_384,
    };
    let ranges = move |c: SwarmClient, _| {
        let range = range.clone();
        async move {
            match c.request(peer, range).await {
                Ok(rounds) => range_kind(rounds.len()),
                Err(e) => failure(e),
            }
        }
    };
    let mut report = Vec::new();

    let a = addr.clone();
    let t = flood(&contact_clients, secs, move |c, n| {
        let (a, envelopes) = (a.clone(), envelopes.clone());
        async move {
            let envelope = envelopes[(n % envelopes.len() as u64) as usize].clone();
            match c.send_direct(msg::ID, peer, vec![a], envelope).await {
                Ok(answer) => ack_kind(&answer),
                Err(e) => failure(e),
            }
        }
    })
    .await;
    alive(&mut daemon, "during the contact's message flood");
    report.push((
        "contact: sealed 192 KiB envelopes",
        t,
        peak.swap(0, Ordering::Relaxed),
    ));

    let a = addr.clone();
    let t = flood(&contact_clients, secs, move |c, n| {
        let a = a.clone();
        async move {
            let mut request = transfer.to_vec();
            let index = blake3::hash(&n.to_le_bytes()).as_bytes()[0] as u64 % chunks;
            request.extend_from_slice(&index.to_be_bytes());
            match c.send_direct(file::ID, peer, vec![a], request).await {
                Ok(answer) => chunk_kind(&answer),
                Err(e) => failure(e),
            }
        }
    })
    .await;
    alive(&mut daemon, "during the contact's chunk flood");
    report.push((
        "contact: chunk requests",
        t,
        peak.swap(0, Ordering::Relaxed),
    ));

    let t = flood(&contact_clients, secs, ranges.clone()).await;
    alive(&mut daemon, "during the contact's range flood");
    report.push(("contact: beacon ranges", t, peak.swap(0, Ordering::Relaxed)));

    let mut strangers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..FLOODERS {
        let (c, d) = stranger().await;
        strangers.push(c);
        dirs.push(d);
    }
    let garbage = Arc::new(vec![0x5au8; msg::MAX_MESSAGE]);
    let a = addr.clone();
    let t = flood(&strangers, secs, move |c, _| {
        let (a, garbage) = (a.clone(), garbage.clone());
        async move {
            match c
                .send_direct(msg::ID, peer, vec![a], garbage.to_vec())
                .await
            {
                Ok(answer) => ack_kind(&answer),
                Err(e) => failure(e),
            }
        }
    })
    .await;
    alive(&mut daemon, "during the strangers' message flood");
    report.push((
        "strangers: 256 KiB garbage",
        t,
        peak.swap(0, Ordering::Relaxed),
    ));

    let a = addr.clone();
    let t = flood(&strangers, secs, move |c, _| {
        let a = a.clone();
        async move {
            match c
                .send_direct(file::ID, peer, vec![a], vec![7u8; file::MAX_FILE_REQUEST])
                .await
            {
                Ok(answer) => chunk_kind(&answer),
                Err(e) => failure(e),
            }
        }
    })
    .await;
    alive(&mut daemon, "during the strangers' chunk flood");
    report.push((
        "strangers: garbage chunk asks",
        t,
        peak.swap(0, Ordering::Relaxed),
    ));

    let t = flood(&strangers, secs, ranges).await;
    alive(&mut daemon, "during the strangers' range flood");
    report.push((
        "strangers: beacon ranges",
        t,
        peak.swap(0, Ordering::Relaxed),
    ));

    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    drop(strangers);
    drop(paired);
    node.stop().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = kib(pid, "VmRSS:");
    let hwm = kib(pid, "VmHWM:");
    alive(&mut daemon, "after the floods");
    drop(daemon);

    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "zks daemon under six libp2p floods of {secs} s (the contact: 1 connection x {IN_FLIGHT} in flight; strangers: {FLOODERS} x {IN_FLIGHT}):"
    );
    for (name, tally, peak) in &report {
        println!(
            "  {name:<34} peak RSS {:6.1} MiB; {}",
            mib(*peak),
            tally.line()
        );
    }
    println!(
        "  RSS idle {:.1} MiB, 5 s after {:.1} MiB, high-water {:.1} MiB; the daemon stayed up",
        mib(idle),
        mib(after),
        mib(hwm)
    );
    if let Some(out) = std::env::var_os("ZKS_BENCH_OUT") {
        let json = serde_json::json!({
            "secs": secs,
            "idle_mib": mib(idle),
            "after_mib": mib(after),
            "high_water_mib": mib(hwm),
            "floods": report.iter().map(|(name, tally, peak)| serde_json::json!({
                "flood": name, "peak_mib": mib(*peak), "answers": tally.json(),
            })).collect::<Vec<_>>(),
        });
        let path = std::path::Path::new(&out).join("flood.json");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    }
}
