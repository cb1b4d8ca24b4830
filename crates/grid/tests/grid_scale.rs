//! The grid at scale: many real nodes of our own code in this process
//! (see `scale/mod.rs`), the history spread over them as users would hold
//! it, a tenth of them lying, and a fresh node that syncs a range nobody
//! holds completely while a third of the seeders leave and others join.
//! First, a node behind a NAT finds relays through the grid DHT.
//!
//! The short variant (the test command) runs 66 nodes: 60 honest, 2
//! forgers, 2 stallers, 2 droppers. `ZKS_SOAK=N` runs 60·N honest nodes
//! and a ninth as many liars (at most 300 honest) and N times the chunks;
//! `ZKS_GRID_NODES` sets the honest count. A release build is the one to
//! run past 200 nodes: on 2 cores the nodes' first routing-table refreshes
//! take a few minutes to drain before the grid is at rest.

mod scale;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use scale::{Grid, History, Layout, Role};
use zks_beacon::{Beacon, ReferenceVerifier};
use zks_grid::{CHUNK_ROUNDS, swarm};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_syncs_a_range_nobody_holds_through_churn_and_liars() {
    let soak = zks_testkit::soak() as usize;
    let chunks = 4 * soak as u64;
    let honest = std::env::var("ZKS_GRID_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or((60 * soak).min(300));
    let liars = honest / 9; // a tenth of all peers
    let root = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let history = Arc::new(History::sign(chunks, root.path()));
    let chain = history.chain.clone();
    let rounds = history.rounds();
    let layout = Layout {
        nodes: honest,
        full: 3,
        per_chunk: (3, 10),
        recent: honest / 5,
        forgers: liars - 2 * (liars / 3),
        stallers: liars / 3,
        droppers: liars / 3,
        liar_chunks: (chunks as usize).div_ceil(2),
        seed: 23,
    };
    let mut grid = Grid::start(history.clone(), &layout, root.path()).await;
    eprintln!(
        "{} nodes and {} rogues up, history signed in {:.1} s, grid ready after {:.1} s",
        grid.nodes.len(),
        grid.rogues.len(),
        history.sign_secs,
        started.elapsed().as_secs_f64()
    );
    // Nobody holds the whole range.
    assert!(grid.live().all(|n| (n.holds.len() as u64) < chunks));

    relays_are_found_through_the_dht(&mut grid).await;

    let fresh = grid.fresh().await;
    eprintln!(
        "fresh node: {:?}",
        fresh.client.network_status().await.unwrap()
    );
    // Lookups at scale: every chunk's providers are found through the DHT
    // (the fresh node knows three peers), at least half the honest ones
    // (all of them, when the test has the machine to itself).
    let mut lookups = Vec::new();
    for chunk in 0..chunks {
        let t = Instant::now();
        let found = fresh
            .client
            .providers(chain.hash, chunk, Duration::from_secs(10))
            .await;
        lookups.push(t.elapsed());
        let holders: HashSet<PeerId> = grid
            .live()
            .filter(|n| n.role == Role::Honest && n.holds.contains(&chunk))
            .map(scale::Node::peer)
            .collect();
        let recall = found.intersection(&holders).count();
        eprintln!(
            "chunk {chunk}: {} of {} honest holders found ({} providers in all) in {:?}",
            recall,
            holders.len(),
            found.len(),
            lookups.last().unwrap()
        );
        // A DHT node keeps at most K = 20 providers of a key (libp2p's
        // MemoryStore, as go-libp2p's), so a lookup of the newest chunk,
        // which dozens hold, reports about twenty of them.
        assert!(
            recall * 2 >= holders.len().min(20),
            "chunk {chunk}: only {recall} of {} holders found",
            holders.len()
        );
    }
    let counters = fresh.client.counters().await.unwrap();
    assert_eq!(counters.lookups, chunks);
    eprintln!(
        "lookups: {:.1} Kademlia requests and {:.0} ms each on average",
        counters.lookup_requests as f64 / counters.lookups as f64,
        counters.lookup_millis as f64 / counters.lookups as f64
    );

    // The sync, with churn a moment in: a third of the honest seeders
    // leave, others join (every chunk keeps an honest holder).
    let cascade = fresh.cascade.clone();
    let sync_chain = chain.clone();
    let now = chain.time_of_round(rounds) + 1;
    let sync_started = Instant::now();
    let sync = tokio::spawn(async move { cascade.fetch(&sync_chain, 1..=rounds, now).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (left, joined, orphaned) = grid.churn().await;
    eprintln!(
        "churn: {left} seeders left, {joined} joined ({orphaned} chunks had lost every honest holder)"
    );

    let report = tokio::time::timeout(Duration::from_secs(240), sync)
        .await
        .expect("the sync is bounded in time")
        .unwrap()
        .unwrap();
    let took = sync_started.elapsed();
    assert!(
        report.failed.is_empty(),
        "{} rounds failed, from {:?}",
        report.failed.len(),
        report.from
    );
    assert_eq!(report.from.get("swarm"), Some(&rounds), "{:?}", report.from);
    let held: Vec<Beacon> = fresh
        .cascade
        .cache()
        .get_range(&chain, 1..=rounds)
        .unwrap()
        .into_iter()
        .map(|b| b.beacon().clone())
        .collect();
    assert_eq!(held.len() as u64, rounds);
    // Every round was batch-verified on the way in; the reference verifier
    // checks the first and last rounds of every chunk again.
    let reference = ReferenceVerifier::new(&chain).unwrap();
    for chunk in 0..chunks as usize {
        let at = chunk * CHUNK_ROUNDS as usize;
        let sample = [
            held[at].clone(),
            held[at + CHUNK_ROUNDS as usize - 1].clone(),
        ];
        assert!(reference.verify(&sample).iter().all(Result::is_ok));
    }

    // The liars: every forger that served is banned and disconnected.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let connected: HashSet<PeerId> = fresh.client.peers().await.unwrap().into_iter().collect();
    let load = grid.load().await;
    let mut forgers_caught = 0;
    for (peer, role, counters) in &load {
        if *role == Role::Forger && counters.served_requests > 0 {
            forgers_caught += 1;
            assert!(!connected.contains(peer), "forger {peer} still connected");
        }
    }
    let stalled: u64 = grid
        .rogues
        .iter()
        .map(|r| r.requests.load(std::sync::atomic::Ordering::Relaxed))
        .sum();

    // Load: rounds served per honest seeder still up.
    let served: HashMap<PeerId, u64> = load
        .iter()
        .filter(|(_, role, _)| *role == Role::Honest)
        .map(|(p, _, c)| (*p, c.served_rounds))
        .collect();
    let total: u64 = served.values().sum();
    let top = served.values().max().copied().unwrap_or(0);
    let serving = served.values().filter(|n| **n > 0).count();
    let others: u64 = load.iter().map(|(_, _, c)| c.relay_lookups).sum();
    let stats = fresh.cascade.stats();
    eprintln!(
        "synced {rounds} rounds in {:.1} s ({:.0} rounds/s); {} failures; {forgers_caught} forgers caught; \
         {stalled} requests to stallers and droppers; {serving} seeders still up served {total} rounds, \
         the busiest {:.1} %; {others} relay-key lookups by the other nodes; peak RSS {} MiB, {} open files",
        took.as_secs_f64(),
        rounds as f64 / took.as_secs_f64(),
        stats["swarm"].failures,
        100.0 * top as f64 / total.max(1) as f64,
        scale::peak_rss_mib(),
        scale::open_fds(),
    );
    assert!(stats["swarm"].failures >= forgers_caught as u64);
}

/// Relays through the DHT. Three random nodes start relaying and announce
/// it on the grid DHT; then a node behind a NAT joins, bootstrapped from
/// others. It keeps 8 connections, as a node up for a while keeps 64 of
/// a larger grid, so it is rarely still connected to a relay its start-up
/// refresh met; 20 s in, it takes itself for unreachable and must find two
/// relays through the relay keys, hold slots on them and be reachable
/// through its relayed address.
async fn relays_are_found_through_the_dht(grid: &mut Grid) {
    let behind_nat = Duration::from_secs(20);
    let chosen = grid.pick_honest(3);
    let relays: HashSet<PeerId> = chosen
        .iter()
        .map(|&i| grid.nodes[i].as_ref().unwrap().peer())
        .collect();
    for &i in &chosen {
        grid.make_relay(i).await;
    }
    scale::quiet().await;
    let nat = grid.behind_nat(behind_nat, &relays).await;
    let started = Instant::now();
    eprintln!(
        "relays in buckets {:?}; the node behind a NAT is in bucket {}",
        relays.iter().map(swarm::relay_bucket).collect::<Vec<_>>(),
        swarm::relay_bucket(&nat.peer())
    );
    // Just before it goes looking: which relays does it know already?
    tokio::time::sleep(behind_nat.saturating_sub(Duration::from_millis(500))).await;
    let peers = nat.client.peers().await.unwrap();
    let known = peers.iter().filter(|p| relays.contains(p)).count();
    eprintln!(
        "when it took itself for unreachable, the node was connected to {} peers, {known} of the 3 relays{}",
        peers.len(),
        if known < swarm::RELAY_SLOTS {
            ": its slots must come from the relay lookup"
        } else {
            " (this run cannot tell the relay lookup apart)"
        }
    );
    let mut slots = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        slots = nat.client.network_status().await.unwrap().relays;
        if slots.len() >= swarm::RELAY_SLOTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counters = nat.client.counters().await.unwrap();
    eprintln!(
        "relay slots {:.1} s after the node took itself for unreachable; \
         {} relay-key lookups, {:.1} Kademlia requests and {:.0} ms each",
        started.elapsed().saturating_sub(behind_nat).as_secs_f64(),
        counters.relay_lookups,
        counters.relay_lookup_requests as f64 / counters.relay_lookups.max(1) as f64,
        counters.relay_lookup_millis as f64 / counters.relay_lookups.max(1) as f64,
    );
    assert_eq!(slots.len(), swarm::RELAY_SLOTS, "slots held: {slots:?}");
    for slot in &slots {
        assert!(
            relays.iter().any(|r| r.to_string() == *slot),
            "{slot} is no relay"
        );
    }
    // A slot carries a connection: a node not connected to it dials it at
    // its relayed addresses only.
    let relayed: Vec<libp2p::Multiaddr> = nat
        .client
        .listen_addrs()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.to_string().contains("/p2p-circuit"))
        .collect();
    assert!(!relayed.is_empty(), "no relayed address");
    let connected: HashSet<PeerId> = nat.client.peers().await.unwrap().into_iter().collect();
    let caller = grid
        .live()
        .find(|n| !connected.contains(&n.peer()) && !relays.contains(&n.peer()))
        .expect("a node not connected to the node behind a NAT");
    caller.client.dial(nat.peer(), relayed).await.unwrap();
    let mut through_relay = false;
    for _ in 0..100 {
        let points = caller.client.connections(nat.peer()).await.unwrap();
        if points.iter().any(libp2p::core::ConnectedPoint::is_relayed) {
            through_relay = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(through_relay, "no connection through the relay");
}
