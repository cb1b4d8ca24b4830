//! The grid on a stand-in for the public libp2p network: a js-libp2p node
//! (a third-party implementation, from npm: `tests/interop/dht-node.mjs`)
//! is an Amino DHT server (`/ipfs/kad/1.0.0`) and the only address our
//! nodes are given. Through it a fresh node finds a seeder by the chain's
//! grid key and fetches from it, and a node finds a peer by a rendezvous
//! key the peer provides.

use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, DevnetSigner, Scheme, VerifiedBeacon};
use zks_grid::swarm::{self, SwarmClient, SwarmConfig};
use zks_grid::{BeaconCache, CHUNK_ROUNDS, FetchCascade};
use zks_testkit::{JsPeer, interop_command};

fn signer() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_600_000_000)
}

/// The js-libp2p Amino DHT server and relay, on loopback.
fn js_dht() -> JsPeer {
    let mut command = interop_command("dht-node.mjs");
    command.arg("/ip4/127.0.0.1/tcp/0");
    JsPeer::spawn(command, Duration::from_secs(30))
}

/// A node holding `beacons` whose only peer is `bootstrap`. A `public` one
/// declares its listen address as reachable, as AutoNAT or `zks daemon
/// --external` would on the Internet: provider records carry a node's
/// confirmed addresses, and DHT servers drop records without any.
async fn node(
    signer: &DevnetSigner,
    beacons: &[VerifiedBeacon],
    bootstrap: &JsPeer,
    public: bool,
) -> (tempfile::TempDir, FetchCascade, SwarmClient) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    cache.put(signer.chain(), beacons).unwrap();
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![bootstrap.addr_with("/ip4/127.0.0.1/").parse().unwrap()],
        chains: vec![signer.chain().clone()],
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache.clone()).await.unwrap();
    if public {
        for _ in 0..100 {
            if let Some(addr) = client.listen_addrs().await.unwrap().first() {
                client.add_external_address(addr.clone()).await.unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let cascade = FetchCascade::new(cache, None).with_swarm(client.clone());
    (dir, cascade, client)
}

/// Waits until `check` holds of the network status (up to 30 s).
async fn until(client: &SwarmClient, what: &str, check: impl Fn(&swarm::NetworkStatus) -> bool) {
    for _ in 0..300 {
        if check(&client.network_status().await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: never happened; status {:?}",
        client.network_status().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_finds_a_seeder_by_the_grid_key_on_a_js_libp2p_dht_and_syncs_from_it() {
    let js = js_dht();
    let signer = signer();
    let chain = signer.chain().clone();
    // Issue #18's test 4: 20,000 devnet rounds, more than one chunk.
    let rounds = 20_000;
    assert!(rounds > CHUNK_ROUNDS);
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, rounds).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let (_d1, seeder, seeder_client) = node(&signer, &good, &js, true).await;
    until(&seeder_client, "the seeder joins the DHT", |s| {
        s.dht_peers >= 1
    })
    .await;
    seeder_client.set_seeding(true).await.unwrap();
    assert_eq!(seeder.announce(&chain).await.unwrap(), 2);
    until(&seeder_client, "the seeder is a grid member", |s| {
        s.grid_member
    })
    .await;

    let started = std::time::Instant::now();
    // The fresh node is given nothing but the js node's address: it is a
    // DHT client (not publicly reachable), and finds the seeder by the
    // grid key of its chain.
    let (_d2, fresh, fresh_client) = node(&signer, &[], &js, false).await;
    until(&fresh_client, "the fresh node finds a grid peer", |s| {
        s.grid_peers >= 1
    })
    .await;
    let status = fresh_client.network_status().await.unwrap();
    assert_eq!(status.dht_mode, "client");
    assert!(status.dht_peers >= 1, "{status:?}");
    assert!(
        fresh_client
            .peers()
            .await
            .unwrap()
            .contains(&seeder_client.peer_id())
    );

    let found_after = started.elapsed();
    let now = chain.time_of_round(rounds) + 1;
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        fresh.fetch(&chain, 1..=rounds, now),
    )
    .await
    .expect("the sync ends in time")
    .unwrap();
    eprintln!(
        "found the seeder in {found_after:?}; synced {rounds} rounds in {:?}",
        started.elapsed() - found_after
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed.first());
    assert_eq!(report.from.get("swarm"), Some(&rounds), "{:?}", report.from);
    assert_eq!(
        fresh.cache().get_range(&chain, 1..=rounds).unwrap().len() as u64,
        rounds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_provides_a_rendezvous_key_is_found_and_dialled() {
    let js = js_dht();
    let signer = signer();
    let (_d1, _a, a_client) = node(&signer, &[], &js, true).await;
    let (_d2, _b, b_client) = node(&signer, &[], &js, false).await;
    until(&a_client, "A joins the DHT", |s| s.dht_peers >= 1).await;
    until(&b_client, "B joins the DHT", |s| s.dht_peers >= 1).await;
    assert!(
        !b_client
            .peers()
            .await
            .unwrap()
            .contains(&a_client.peer_id()),
        "A and B know only the js node"
    );

    let key = swarm::sha256_multihash(b"a rendezvous key only A and B can compute");
    a_client.provide_key(key.clone(), true).await.unwrap();
    let mut found = false;
    for _ in 0..20 {
        found = b_client
            .find_provider(key.clone(), a_client.peer_id(), Duration::from_secs(10))
            .await
            .unwrap();
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(found, "B finds A by the key");
    for _ in 0..100 {
        if b_client
            .peers()
            .await
            .unwrap()
            .contains(&a_client.peer_id())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b_client
            .peers()
            .await
            .unwrap()
            .contains(&a_client.peer_id()),
        "B dialled A at the addresses of its provider record"
    );

    // A key nobody provides finds nobody, and the lookup ends.
    let other = swarm::sha256_multihash(b"a key nobody provides");
    assert!(
        !b_client
            .find_provider(other, a_client.peer_id(), Duration::from_secs(20))
            .await
            .unwrap()
    );
    // Once A stops providing, the js server still holds the record it was
    // given (provider records live 48 h); stopping only ends our
    // re-announcements, which is what a daily key rotation needs.
    a_client.provide_key(key, false).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_nobody_can_reach_finds_a_relay_through_the_dht() {
    // The bootstrap node relays for nobody; a second DHT server, known to
    // it but never named to our node, runs a relay. Our node meets it in
    // its first DHT queries (or, once those connections have closed, by
    // dialling DHT servers when too few relays are in sight: `meet_relays`,
    // which this test does not tell apart).
    let mut command = interop_command("dht-node.mjs");
    command
        .arg("/ip4/127.0.0.1/tcp/0")
        .env("ZKS_INTEROP_NO_RELAY", "1");
    let bootstrap = JsPeer::spawn(command, Duration::from_secs(30));
    let mut command = interop_command("dht-node.mjs");
    command
        .arg("/ip4/127.0.0.1/tcp/0")
        .env("ZKS_INTEROP_PEERS", bootstrap.addr_with("/ip4/127.0.0.1/"));
    let relay = JsPeer::spawn(command, Duration::from_secs(30));

    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![bootstrap.addr_with("/ip4/127.0.0.1/").parse().unwrap()],
        // No public address is confirmed within a second: not reachable.
        limits: swarm::Limits {
            reserve_after: Duration::from_secs(1),
            ..swarm::Limits::default()
        },
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache).await.unwrap();
    until(&client, "a relay slot through the DHT", |s| {
        s.relays.contains(&relay.peer_id)
    })
    .await;
    // The slot is asked for at once; the address is ours once the relay
    // accepted the reservation.
    let relayed = format!("/p2p/{}/p2p-circuit", relay.peer_id);
    let mut ours = false;
    for _ in 0..200 {
        ours = client
            .listen_addrs()
            .await
            .unwrap()
            .iter()
            .any(|a| a.to_string().contains(&relayed));
        if ours {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ours, "the relayed address is ours");
}
