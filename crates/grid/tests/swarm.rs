//! The swarm on loopback: a fresh node with HTTP disabled fills its cache
//! from a seeder (reached over QUIC) found through Kademlia provider records, while a peer that
//! serves shifted signatures is refused and banned; gossip of a new round
//! is verified before it is cached or forwarded.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{PeerId, StreamProtocol};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, Beacon, DevnetSigner, ReferenceVerifier, Scheme, VerifiedBeacon};
use zks_grid::swarm::{self, SwarmClient, SwarmConfig};
use zks_grid::{BeaconCache, CHUNK_ROUNDS, FetchCascade};

const ROUNDS: u64 = CHUNK_ROUNDS + 4000;

/// A direct protocol with the caps, timeout and answers of the messenger's
/// message protocol (which the grid does not know by name).
const MSG: StreamProtocol = StreamProtocol::new("/test/msg/1.0.0");

/// [`MSG`] at `rate` requests per second per peer.
fn messages(rate: u64) -> swarm::DirectProtocol {
    swarm::DirectProtocol {
        id: MSG,
        max_request: 256 * 1024,
        max_response: 1024,
        timeout: Duration::from_secs(20),
        streams: 8,
        requests_per_sec: rate,
        busy: b"busy".to_vec(),
        refused: b"err:this node does not take messages".to_vec(),
    }
}

/// The messenger's default rate.
const MSG_RATE: u64 = 1000;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signer() -> DevnetSigner {
    DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_600_000_000)
}

/// What a liar's disk gives back: `good` (unchained) put into a cache whose
/// chunk files are then edited so that each round's slot holds
/// `forge(round)`, read back through the cache. Only the cache makes
/// [`VerifiedBeacon`]s from storage, and it trusts its own files; so this
/// is how a node serving false signatures is made, as a tampered disk.
fn tampered(
    chain: &zks_beacon::ChainInfo,
    good: &[VerifiedBeacon],
    forge: impl Fn(u64) -> Vec<u8>,
) -> Vec<VerifiedBeacon> {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let cache = BeaconCache::open(dir.path(), u64::MAX).unwrap();
    cache.put(chain, good).unwrap();
    // The chunk layout (see zks_grid::cache): 64-byte header, bitmap, the
    // previous-signature field, then one slot per round.
    let sig_len = chain.scheme.signature_group().point_len() as u64;
    for b in good {
        let index = (b.round() - 1) / CHUNK_ROUNDS;
        let slot = b.round() - 1 - index * CHUNK_ROUNDS;
        let path = dir
            .path()
            .join(chain.hash.to_hex())
            .join(format!("{index}.chunk"));
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(SeekFrom::Start(
            64 + CHUNK_ROUNDS / 8 + sig_len + slot * sig_len,
        ))
        .unwrap();
        file.write_all(&forge(b.round())).unwrap();
    }
    let rounds = good.iter().map(VerifiedBeacon::round);
    let (first, last) = (rounds.clone().min().unwrap(), rounds.max().unwrap());
    let lies = cache.get_range(chain, first..=last).unwrap();
    assert_eq!(lies.len(), good.len());
    lies
}

async fn node(
    signer: &DevnetSigner,
    beacons: &[VerifiedBeacon],
    bootstrap: Vec<libp2p::Multiaddr>,
) -> (tempfile::TempDir, FetchCascade, SwarmClient) {
    let listen = vec![
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
    ];
    node_on(signer, beacons, listen, bootstrap).await
}

/// A node holding `beacons` that listens on `listen` (none: it takes no
/// direct connections, as behind a NAT).
async fn node_on(
    signer: &DevnetSigner,
    beacons: &[VerifiedBeacon],
    listen: Vec<libp2p::Multiaddr>,
    bootstrap: Vec<libp2p::Multiaddr>,
) -> (tempfile::TempDir, FetchCascade, SwarmClient) {
    node_with(signer, beacons, listen, bootstrap, swarm::Limits::default()).await
}

/// [`node_on`] with its own per-peer rates and connection caps.
async fn node_with(
    signer: &DevnetSigner,
    beacons: &[VerifiedBeacon],
    listen: Vec<libp2p::Multiaddr>,
    bootstrap: Vec<libp2p::Multiaddr>,
    limits: swarm::Limits,
) -> (tempfile::TempDir, FetchCascade, SwarmClient) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    cache.put(signer.chain(), beacons).unwrap();
    let config = SwarmConfig {
        listen,
        bootstrap,
        chains: vec![signer.chain().clone()],
        limits,
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache.clone()).await.unwrap();
    let cascade = FetchCascade::new(cache, None).with_swarm(client.clone());
    (dir, cascade, client)
}

/// The node's listen address of the given transport (`tcp`, `quic-v1`, or
/// `p2p-circuit` for one through a relay).
async fn addr_of(client: &SwarmClient, transport: &str) -> libp2p::Multiaddr {
    for _ in 0..200 {
        let found = client
            .listen_addrs()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.to_string().contains(transport));
        if let Some(a) = found {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {transport} listen address");
}

async fn wait_for_peers(client: &SwarmClient, n: usize) {
    for _ in 0..200 {
        if client.peers().await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("peers did not connect");
}

/// Waits until `n` connected peers are identified as grid nodes.
async fn wait_for_grid_peers(client: &SwarmClient, n: usize) {
    for _ in 0..200 {
        if client.grid_peers().await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("grid peers were not identified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_fetches_from_the_swarm_and_bans_a_lying_peer() {
    let signer = signer();
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, ROUNDS).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    // The liar's cache holds every round with the next round's signature:
    // valid points, wrong messages (its disk was edited on purpose).
    let next_signature: HashMap<u64, Vec<u8>> = good
        .iter()
        .map(|b| (b.round() - 1, b.beacon().signature().to_vec()))
        .collect();
    let lies = tampered(&chain, &good[..good.len() - 1], |round| {
        next_signature[&round].clone()
    });

    let (_d1, seeder, seeder_client) = node(&signer, &good, vec![]).await;
    // The seeder is reached over QUIC, the liar over TCP.
    let seeder_addr = addr_of(&seeder_client, "quic-v1").await;
    let (_d2, liar, liar_client) = node(&signer, &lies, vec![seeder_addr.clone()]).await;
    let liar_addr = addr_of(&liar_client, "/tcp/").await;
    wait_for_peers(&seeder_client, 1).await;
    assert_eq!(seeder.announce(&chain).await.unwrap(), 2);
    assert_eq!(liar.announce(&chain).await.unwrap(), 2);

    let (_d3, fresh, fresh_client) = node(&signer, &[], vec![seeder_addr, liar_addr]).await;
    wait_for_peers(&fresh_client, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The chunk index lives in the DHT: the complete chunk's true CID is
    // among those found (the liar publishes its own for the same key), the
    // partial chunk has none.
    let cids = fresh_client
        .find_cids(chain.hash, 0, Duration::from_secs(5))
        .await;
    let true_cid = seeder.own_index(&chain).unwrap().chunks[&0].clone();
    assert!(cids.contains(&true_cid), "{cids:?}");
    assert!(
        fresh_client
            .find_cids(chain.hash, 1, Duration::from_secs(5))
            .await
            .is_empty()
    );

    let now = chain.time_of_round(ROUNDS) + 1;
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        fresh.fetch(&chain, 1..=ROUNDS, now),
    )
    .await
    .expect("bounded in time")
    .unwrap();
    assert!(
        report.failed.is_empty(),
        "{} rounds failed, from {:?}",
        report.failed.len(),
        report.from
    );
    assert_eq!(report.from.get("swarm"), Some(&ROUNDS), "{:?}", report.from);
    let held: Vec<Beacon> = fresh
        .cache()
        .get_range(&chain, 1..=ROUNDS)
        .unwrap()
        .into_iter()
        .map(|b| b.beacon().clone())
        .collect();
    assert_eq!(held.len() as u64, ROUNDS);
    let reference = ReferenceVerifier::new(&chain).unwrap();
    assert!(
        reference
            .verify(&held[..200])
            .iter()
            .all(std::result::Result::is_ok)
    );
    assert!(
        reference
            .verify(&held[held.len() - 200..])
            .iter()
            .all(std::result::Result::is_ok)
    );
    let stats = fresh.stats();
    assert!(
        stats["swarm"].failures >= 1,
        "the liar was caught: {stats:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let peers = fresh_client.peers().await.unwrap();
    assert!(
        !peers.contains(&liar_client.peer_id()),
        "the liar is disconnected and blocked"
    );
    assert!(peers.contains(&seeder_client.peer_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossiped_rounds_are_verified_before_they_are_cached() {
    let signer = signer();
    let chain = signer.chain().clone();
    let (a_dir, a, a_client) = node(&signer, &[], vec![]).await;
    let a_addr = addr_of(&a_client, "/tcp/").await;
    let (_b_dir, b, b_client) = node(&signer, &[], vec![a_addr]).await;
    wait_for_peers(&b_client, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // let the mesh form

    // Rounds of now are gossiped; one from long ago is not looked at.
    let head = chain.round_at(unix_now());
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(head - 1, head).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(2),
    );
    let (old, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(500, 500).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    b_client.publish(&old[0]).await.unwrap();
    b_client.publish(&good[0]).await.unwrap();
    // A forged round (head with head - 1's signature) is published too,
    // unchecked.
    let (real_head, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(head, head).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(6),
    );
    let forged = tampered(&chain, &real_head, |_| {
        good[0].beacon().signature().to_vec()
    });
    b_client.publish(&forged[0]).await.unwrap();

    let mut got = None;
    for _ in 0..100 {
        got = a.cache().get(&chain, head - 1).unwrap();
        if got.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        got.as_ref(),
        Some(&good[0]),
        "the valid round arrived by gossip"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        a.cache().get(&chain, head).unwrap(),
        None,
        "the forged round was refused"
    );
    assert_eq!(
        a.cache().get(&chain, 500).unwrap(),
        None,
        "a round from long ago is ignored, valid or not"
    );
    drop((b, a_dir));
}

/// An old round gossiped costs its sender nothing (it is ignored, not
/// punished); a false signature for a round held already gets it banned
/// without a verification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_gossip_is_ignored_and_a_false_copy_of_a_held_round_is_banned() {
    let signer = signer();
    let chain = signer.chain().clone();
    let head = chain.round_at(unix_now());
    let (held, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(head - 2, head - 1).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(4),
    );
    let (_a_dir, _a, a_client) = node(&signer, &held, vec![]).await;
    let a_addr = addr_of(&a_client, "/tcp/").await;
    let (_b_dir, _b, b_client) = node(&signer, &[], vec![a_addr]).await;
    wait_for_peers(&a_client, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // let the mesh form

    let (old, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(700, 700).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(5),
    );
    b_client.publish(&old[0]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        a_client
            .peers()
            .await
            .unwrap()
            .contains(&b_client.peer_id()),
        "an old round is no offence"
    );
    // Round head - 1 with round head - 2's signature: a false copy of a
    // round A holds.
    let false_copy = tampered(&chain, &held[1..], |_| {
        held[0].beacon().signature().to_vec()
    });
    b_client.publish(&false_copy[0]).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while a_client
        .peers()
        .await
        .unwrap()
        .contains(&b_client.peer_id())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sender of a false copy is still connected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A swarm that takes messages and acknowledges each one `ok` at once.
async fn message_sink(limits: swarm::Limits, rate: u64) -> (SwarmClient, libp2p::Multiaddr) {
    let client = acking(SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        limits,
        direct: vec![messages(rate)],
        ..SwarmConfig::new(Keypair::generate_ed25519())
    })
    .await;
    let addr = addr_of(&client, "tcp").await;
    (client, addr)
}

/// A swarm started with `config` that acknowledges every message `ok` at
/// once (on [`MSG`] at the default rate unless `config` names its own).
async fn acking(config: SwarmConfig) -> SwarmClient {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let (tx, mut rx) = futures::channel::mpsc::channel(swarm::INBOUND_QUEUE);
    let direct = if config.direct.is_empty() {
        vec![messages(MSG_RATE)]
    } else {
        config.direct.clone()
    };
    let config = SwarmConfig {
        inbound: Some(tx),
        direct,
        ..config
    };
    let client = swarm::start(config, cache).await.unwrap();
    let acks = client.clone();
    tokio::spawn(async move {
        let _dir = dir;
        while let Some(m) = futures::StreamExt::next(&mut rx).await {
            let _ = acks.acknowledge(m.reply, b"ok".to_vec()).await;
        }
    });
    client
}

async fn sender() -> SwarmClient {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        direct: vec![messages(MSG_RATE)],
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    swarm::start(config, cache).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_answered_busy_and_does_not_starve_others() {
    // A low rate, so that even a slow, loaded machine floods past it.
    const RATE: u64 = 50;
    let (sink, addr) = message_sink(swarm::Limits::default(), RATE).await;
    let flood = sender().await;
    let polite = sender().await;
    // The flooder sends 8× its per-second budget as fast as it can, in
    // waves of 8: the per-connection stream limit (beyond it the transport
    // itself refuses).
    let started = std::time::Instant::now();
    let mut answers = Vec::new();
    for wave in 0..RATE {
        let sends = (0..8).map(|i| {
            let flood = flood.clone();
            let addr = addr.clone();
            let peer = sink.peer_id();
            async move {
                flood
                    .send_direct(MSG, peer, vec![addr], vec![(wave + i) as u8; 64])
                    .await
            }
        });
        answers.extend(futures::future::join_all(sends).await);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = answers
        .iter()
        .filter(|a| matches!(a, Ok(b) if b == b"ok"))
        .count() as f64;
    let busy = answers
        .iter()
        .filter(|a| matches!(a, Ok(b) if b == b"busy"))
        .count();
    let errors: Vec<_> = answers
        .iter()
        .filter_map(|a| a.as_ref().err())
        .take(3)
        .collect();
    assert!(
        busy > 0,
        "the flood was never told to wait: ok {ok}, errors {errors:?}"
    );
    // At most the burst plus what the rate refilled meanwhile got through.
    let allowed = RATE as f64 * (1.0 + elapsed) + 1.0;
    assert!(
        ok <= allowed,
        "{ok} accepted in {elapsed:.2} s (allowed {allowed:.0})"
    );
    // Meanwhile another peer is served at once.
    let answer = polite
        .send_direct(MSG, sink.peer_id(), vec![addr], b"hello".to_vec())
        .await
        .unwrap();
    assert_eq!(answer, b"ok");
}

/// A second direct protocol next to [`MSG`]: tiny requests, its own rate.
const OTHER: StreamProtocol = StreamProtocol::new("/test/other/1.0.0");

fn other() -> swarm::DirectProtocol {
    swarm::DirectProtocol {
        id: OTHER,
        max_request: 16,
        max_response: 64,
        timeout: Duration::from_secs(10),
        streams: 4,
        requests_per_sec: 100,
        busy: vec![4],
        refused: b"not here".to_vec(),
    }
}

/// A swarm carrying [`MSG`] and [`OTHER`] started with `inbound`.
async fn two_protocols(
    inbound: Option<futures::channel::mpsc::Sender<swarm::InboundMessage>>,
) -> (tempfile::TempDir, SwarmClient) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        direct: vec![messages(MSG_RATE), other()],
        inbound,
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    (dir, swarm::start(config, cache).await.unwrap())
}

/// The swarm carries several direct protocols side by side: a request
/// arrives naming the protocol it came on and is answered on it, each
/// protocol keeps its own size cap, a protocol the swarm was not given is
/// refused before anything is sent, and a node that takes no inbound
/// requests answers each protocol's `refused` bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_protocols_are_kept_apart_each_with_its_own_caps() {
    let (tx, mut rx) = futures::channel::mpsc::channel(swarm::INBOUND_QUEUE);
    let (_d1, sink) = two_protocols(Some(tx)).await;
    let answers = sink.clone();
    tokio::spawn(async move {
        while let Some(m) = futures::StreamExt::next(&mut rx).await {
            // Echo the protocol the request came on.
            let named = m.protocol.as_ref().as_bytes().to_vec();
            let _ = answers.acknowledge(m.reply, named).await;
        }
    });
    let addr = addr_of(&sink, "tcp").await;
    let (_d2, asker) = two_protocols(None).await;
    let peer = sink.peer_id();
    let on = |protocol: StreamProtocol, body: Vec<u8>| {
        let (asker, addr) = (asker.clone(), addr.clone());
        async move { asker.send_direct(protocol, peer, vec![addr], body).await }
    };
    assert_eq!(on(MSG, vec![1; 1000]).await.unwrap(), b"/test/msg/1.0.0");
    assert_eq!(on(OTHER, vec![2; 16]).await.unwrap(), b"/test/other/1.0.0");
    // 17 bytes fit MSG's cap but not OTHER's.
    assert_eq!(on(MSG, vec![3; 17]).await.unwrap(), b"/test/msg/1.0.0");
    assert!(on(OTHER, vec![3; 17]).await.is_err());
    let unknown = on(StreamProtocol::new("/test/none/1.0.0"), vec![4]).await;
    assert!(
        matches!(&unknown, Err(swarm::SwarmError::Request { reason, .. }) if reason.contains("not a protocol")),
        "{unknown:?}"
    );
    // The asker takes no inbound requests: refused, per protocol.
    let back = addr_of(&asker, "tcp").await;
    let asker_id = asker.peer_id();
    let to_asker = |protocol: StreamProtocol| {
        let (sink, back) = (sink.clone(), back.clone());
        async move {
            sink.send_direct(protocol, asker_id, vec![back], vec![5])
                .await
        }
    };
    assert_eq!(
        to_asker(MSG).await.unwrap(),
        b"err:this node does not take messages"
    );
    assert_eq!(to_asker(OTHER).await.unwrap(), b"not here");
}

/// A seeder relays (circuit relay v2): node A, which takes no direct
/// connections, reserves a slot on seeder S; node B, knowing only S's
/// address and A's PeerId, reaches A through S and fills its cache from A
/// over that relayed connection, every round verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_a_seeders_relay_serves_chunks_over_the_circuit() {
    const HELD: u64 = 3000;
    let signer = signer();
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, HELD).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    // S seeds nothing here but relays (the switch seeding flips), at the
    // address it is reached at (a reservation must carry one).
    let tcp = || vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let (_ds, _s, s_client) = node_on(&signer, &[], tcp(), vec![]).await;
    s_client.set_seeding(true).await.unwrap();
    let s_addr = addr_of(&s_client, "/tcp/").await;
    s_client.add_external_address(s_addr.clone()).await.unwrap();
    let circuit = s_addr.clone().with(libp2p::multiaddr::Protocol::P2pCircuit);

    // A listens only through S (listening there dials S: no bootstrap,
    // which would race the relay client's own dial and cancel it).
    let (_da, a, a_client) = node_on(&signer, &good, vec![circuit.clone()], vec![]).await;
    let relayed = addr_of(&a_client, "/p2p-circuit").await;
    assert_eq!(
        relayed,
        circuit
            .clone()
            .with(libp2p::multiaddr::Protocol::P2p(a_client.peer_id()))
    );
    a.announce(&chain).await.unwrap();

    // B listens nowhere either; it dials A by S's address and A's PeerId.
    let to_a = circuit.with(libp2p::multiaddr::Protocol::P2p(a_client.peer_id()));
    let (_db, b, b_client) = node_on(&signer, &[], vec![], vec![to_a]).await;
    wait_for_peers(&b_client, 2).await; // S (the hop) and A (through it)
    let now = chain.time_of_round(HELD) + 1;
    let report = tokio::time::timeout(Duration::from_secs(30), b.fetch(&chain, 1..=HELD, now))
        .await
        .expect("bounded in time")
        .unwrap();
    assert!(
        report.failed.is_empty(),
        "{:?}",
        &report.failed[..3.min(report.failed.len())]
    );
    assert_eq!(report.from.get("swarm"), Some(&HELD), "{:?}", report.from);
    assert_eq!(b.cache().get_range(&chain, 1..=HELD).unwrap(), good);

    // A node that does not seed relays for nobody, even at a known address.
    let (_dn, _n, n_client) = node_on(&signer, &[], tcp(), vec![]).await;
    let n_addr = addr_of(&n_client, "/tcp/").await;
    n_client.add_external_address(n_addr.clone()).await.unwrap();
    let via_n = n_addr.with(libp2p::multiaddr::Protocol::P2pCircuit);
    let (_dc, _c, c_client) = node_on(&signer, &[], vec![via_n], vec![]).await;
    wait_for_peers(&n_client, 1).await;

    // Every connection between B and A, on both sides, goes through S.
    let b_to_a = b_client.connections(a_client.peer_id()).await.unwrap();
    let a_to_b = a_client.connections(b_client.peer_id()).await.unwrap();
    assert!(!b_to_a.is_empty() && !a_to_b.is_empty());
    for endpoint in b_to_a.iter().chain(&a_to_b) {
        assert!(endpoint.is_relayed(), "a direct connection: {endpoint:?}");
    }
    assert!(
        b_to_a
            .iter()
            .all(|e| e.get_remote_address().to_string().contains("/p2p-circuit")),
        "{b_to_a:?}"
    );
    let c_addrs = c_client.listen_addrs().await.unwrap();
    assert!(
        !c_addrs
            .iter()
            .any(|a| a.to_string().contains("/p2p-circuit")),
        "{c_addrs:?}"
    );
}

/// A peer asking for more rounds per second than its share gets empty
/// answers (and asks elsewhere), while another peer is served in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_over_its_serving_rate_gets_empty_answers_while_others_are_served() {
    const RATE: u64 = 100;
    let signer = signer();
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, 1000).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    let limits = swarm::Limits {
        served_rounds_per_sec: RATE,
        ..swarm::Limits::default()
    };
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let (_d1, _s, seeder) = node_with(&signer, &good, listen, vec![], limits).await;
    let seeder_addr = addr_of(&seeder, "/tcp/").await;
    let (_d2, _g, greedy) = node(&signer, &[], vec![seeder_addr.clone()]).await;
    let (_d3, _o, other) = node(&signer, &[], vec![seeder_addr]).await;
    wait_for_peers(&seeder, 2).await;
    let ask = |first: u64| swarm::RangeRequest {
        chain: chain.hash.0,
        first,
        last: first + RATE - 1,
    };
    // Three quick asks of a full second's share each: the burst covers one.
    let mut served = Vec::new();
    for i in 0..3 {
        served.push(
            greedy
                .request(seeder.peer_id(), ask(1 + i * RATE))
                .await
                .unwrap()
                .len(),
        );
    }
    assert_eq!(served[0], RATE as usize, "{served:?}");
    assert!(served.contains(&0), "never held back: {served:?}");
    let fair = other.request(seeder.peer_id(), ask(1)).await.unwrap();
    assert_eq!(fair.len(), RATE as usize, "another peer is served in full");
}

/// A node whose process uses more memory than its cap accepts no new
/// connection (here the cap is 1 MiB, which any process exceeds; the
/// senders, in the same process, keep the default 1 GiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_over_its_memory_cap_refuses_new_connections() {
    let over = swarm::Limits {
        max_memory_bytes: 1 << 20,
        ..swarm::Limits::default()
    };
    let (sink, addr) = message_sink(over, MSG_RATE).await;
    let refused = sender()
        .await
        .send_direct(MSG, sink.peer_id(), vec![addr], b"hi".to_vec())
        .await;
    assert!(refused.is_err(), "let in: {refused:?}");
    // The same node under the default cap takes it.
    let (sink, addr) = message_sink(swarm::Limits::default(), MSG_RATE).await;
    let taken = sender()
        .await
        .send_direct(MSG, sink.peer_id(), vec![addr], b"hi".to_vec())
        .await
        .unwrap();
    assert_eq!(taken, b"ok");
}

/// Incoming connections beyond the cap are refused; those already open
/// are served as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_connections_beyond_the_cap_are_refused() {
    let limits = swarm::Limits {
        max_incoming: 2,
        ..swarm::Limits::default()
    };
    let (sink, addr) = message_sink(limits, MSG_RATE).await;
    let peers = [sender().await, sender().await, sender().await];
    let mut answers = Vec::new();
    for p in &peers {
        answers.push(
            p.send_direct(MSG, sink.peer_id(), vec![addr.clone()], b"hi".to_vec())
                .await,
        );
    }
    assert!(matches!(&answers[0], Ok(a) if a == b"ok"), "{answers:?}");
    assert!(matches!(&answers[1], Ok(a) if a == b"ok"), "{answers:?}");
    assert!(
        answers[2].is_err(),
        "a third connection was let in: {answers:?}"
    );
    let again = peers[0]
        .send_direct(MSG, sink.peer_id(), vec![addr], b"still here".to_vec())
        .await
        .unwrap();
    assert_eq!(again, b"ok");
}

/// A relaying seeder: it listens on loopback TCP, runs the relay server
/// (the switch seeding flips) and hands out that address with its
/// reservations.
async fn relay() -> (tempfile::TempDir, SwarmClient, libp2p::Multiaddr) {
    relay_with(swarm::Limits::default()).await
}

/// [`relay`] with `limits`.
async fn relay_with(limits: swarm::Limits) -> (tempfile::TempDir, SwarmClient, libp2p::Multiaddr) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        limits,
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache).await.unwrap();
    client.set_seeding(true).await.unwrap();
    let addr = addr_of(&client, "/tcp/").await;
    client.add_external_address(addr.clone()).await.unwrap();
    (dir, client, addr)
}

/// The relays `client` holds a slot on: those its `/p2p-circuit` listen
/// addresses go through.
async fn relays_held(client: &SwarmClient) -> HashSet<PeerId> {
    let relay_of = |addr: &libp2p::Multiaddr| {
        let mut relay = None;
        for p in addr {
            match p {
                Protocol::P2p(peer) => relay = Some(peer),
                Protocol::P2pCircuit => return relay,
                _ => {}
            }
        }
        None
    };
    let addrs = client.listen_addrs().await.unwrap();
    addrs.iter().filter_map(relay_of).collect()
}

/// Waits (30 s at most) until the relays `client` holds slots on pass
/// `done`; returns them and how long that took.
async fn wait_for_slots(
    client: &SwarmClient,
    what: &str,
    done: impl Fn(&HashSet<PeerId>) -> bool,
) -> (HashSet<PeerId>, Duration) {
    let started = std::time::Instant::now();
    let mut held = HashSet::new();
    while started.elapsed() < Duration::from_secs(30) {
        held = relays_held(client).await;
        if done(&held) {
            return (held, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 30 s; slots held on {held:?}");
}

/// Waits (30 s at most) until `client` has identified `peer` (it knows
/// where the peer listens, which it learns from Identify, the same event
/// that tells it whether the peer relays).
async fn wait_identified(client: &SwarmClient, peer: PeerId) {
    for _ in 0..600 {
        if !client.peer_addresses(peer).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{peer} was not identified");
}

/// Relay failover. A node that takes no direct connections (it listens
/// nowhere) and is connected to three relaying seeders holds slots on two
/// of them. One of those stops: the node takes a slot on the third within
/// seconds, and its address through the stopped relay is gone. Then a
/// fourth relay joins (it is not used: two slots are held), and one of the
/// held relays stops seeding while staying connected: its slot moves to
/// the fourth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_relay_slot_is_taken_on_another_relay() {
    let mut relays = HashMap::new();
    for _ in 0..3 {
        let (dir, client, addr) = relay().await;
        relays.insert(client.peer_id(), (dir, client, addr));
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        bootstrap: relays.values().map(|(_, _, addr)| addr.clone()).collect(),
        // Unreachable at once, instead of after AutoNAT's first probe
        // (15 s) or the default 30 s.
        limits: swarm::Limits {
            reserve_after: Duration::ZERO,
            ..swarm::Limits::default()
        },
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let node = swarm::start(config, cache).await.unwrap();
    wait_for_peers(&node, 3).await;
    for relay in relays.keys() {
        wait_identified(&node, *relay).await;
    }
    let (held, took) = wait_for_slots(&node, "two slots", |h| h.len() == 2).await;
    eprintln!("two slots held after {took:?}");
    // Every relay is known to relay by now, and the node still holds two.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(relays_held(&node).await, held);
    let spare = *relays.keys().find(|r| !held.contains(r)).unwrap();

    // A held relay stops: its swarm is dropped, its connections close.
    let gone = *held.iter().next().unwrap();
    let kept = *held.iter().find(|r| **r != gone).unwrap();
    let (gone_dir, gone_client, _) = relays.remove(&gone).unwrap();
    drop(gone_client);
    let (now, took) = wait_for_slots(&node, "failover to the spare relay", |h| {
        h.len() == 2 && !h.contains(&gone)
    })
    .await;
    eprintln!("failover after the relay stopped: {took:?}");
    assert_eq!(now, HashSet::from([kept, spare]));
    let addrs = node.listen_addrs().await.unwrap();
    assert!(
        !addrs
            .iter()
            .any(|a| a.to_string().contains(&gone.to_string())),
        "an address through the stopped relay: {addrs:?}"
    );
    assert!(!node.peers().await.unwrap().contains(&gone));
    assert_eq!(
        addrs
            .iter()
            .filter(|a| a.to_string().contains("/p2p-circuit"))
            .count(),
        2,
        "{addrs:?}"
    );

    // A fourth relay joins; two slots are held, so it is not used.
    let (fourth_dir, fourth, fourth_addr) = relay().await;
    node.dial(fourth.peer_id(), vec![fourth_addr])
        .await
        .unwrap();
    wait_identified(&node, fourth.peer_id()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(relays_held(&node).await, now);

    // A held relay stops seeding (relay server off) but stays connected:
    // its slot moves to the fourth relay.
    relays[&kept].1.set_seeding(false).await.unwrap();
    let (now, took) = wait_for_slots(&node, "moving off a relay that stopped seeding", |h| {
        h.len() == 2 && !h.contains(&kept)
    })
    .await;
    eprintln!("slot moved after the relay stopped seeding: {took:?}");
    assert_eq!(now, HashSet::from([spare, fourth.peer_id()]));
    let addrs = node.listen_addrs().await.unwrap();
    assert!(
        !addrs
            .iter()
            .any(|a| a.to_string().contains(&kept.to_string())),
        "an address through the relay that stopped seeding: {addrs:?}"
    );
    assert!(
        node.peers().await.unwrap().contains(&kept),
        "the relay that stopped seeding was disconnected"
    );
    drop((gone_dir, fourth_dir, dir));
}

/// A relay slot outlives its reservation: the node renews it (libp2p's
/// relay client, at 3/4 of its time) and the relay keeps carrying circuits
/// to it. Here a reservation lasts 8 s (renewed after 6 s: the expiry is
/// in whole seconds) and the circuit is used after 20 s; an unrenewed slot
/// would be gone by then and the relay would refuse it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_slot_is_renewed_and_carries_circuits_after_its_first_reservation_ran_out() {
    let (_relay_dir, relay, relay_addr) = relay_with(swarm::Limits {
        relay_reservation: Duration::from_secs(8),
        ..swarm::Limits::default()
    })
    .await;
    // The node listens nowhere: the relay is its only way in.
    let node = acking(SwarmConfig {
        bootstrap: vec![relay_addr.with(Protocol::P2p(relay.peer_id()))],
        limits: swarm::Limits {
            reserve_after: Duration::ZERO,
            ..swarm::Limits::default()
        },
        ..SwarmConfig::new(Keypair::generate_ed25519())
    })
    .await;
    wait_for_slots(&node, "a slot", |h| h.contains(&relay.peer_id())).await;
    let relayed = node
        .listen_addrs()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.iter().any(|p| p == Protocol::P2pCircuit))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(relays_held(&node).await.contains(&relay.peer_id()));
    let answer = sender()
        .await
        .send_direct(MSG, node.peer_id(), vec![relayed], b"still there?".to_vec())
        .await;
    assert_eq!(answer.as_deref(), Ok(&b"ok"[..]), "{answer:?}");
}

/// Head requests: a node asks its connected peers for their newest round
/// (`/zks/chunk/1.0.0` with first = last = u64::MAX), takes the newest one
/// that verifies into its cache, bans a peer whose head does not verify,
/// and leaves a head past the caller's limit alone (its sender is not
/// banned: the clocks may disagree).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_heads_are_verified_the_newest_kept_and_a_liar_banned() {
    let signer = signer();
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, 40).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(2),
    );
    // An honest peer following the chain up to round 30, one behind it at
    // round 20, and a liar whose head (round 40) carries round 39's
    // signature (a tampered disk).
    let (_d1, _a, a_client) = node(&signer, &good[..30], vec![]).await;
    let a_addr = addr_of(&a_client, "/tcp/").await;
    let (_d2, _b, b_client) = node(&signer, &good[..20], vec![]).await;
    let b_addr = addr_of(&b_client, "/tcp/").await;
    let sig_39 = good[38].beacon().signature().to_vec();
    let lies = tampered(&chain, &good[39..40], |_| sig_39.clone());
    let (_d3, _l, liar_client) = node(&signer, &lies, vec![]).await;
    let liar_addr = addr_of(&liar_client, "/tcp/").await;

    let (_d4, fresh, fresh_client) = node(&signer, &good[..5], vec![a_addr, b_addr]).await;
    wait_for_grid_peers(&fresh_client, 2).await;
    let head = fresh
        .peer_heads(&chain, u64::MAX - 1, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a head");
    assert_eq!(head.round(), 30, "the newest of the peers' heads");
    assert!(fresh.cache().get(&chain, 30).unwrap().is_some());
    assert!(fresh.cache().get(&chain, 20).unwrap().is_some());
    assert_eq!(fresh.stats()["swarm"].failures, 0);

    // A limit below every head: nothing taken, nobody banned.
    let (_d5, cautious, cautious_client) =
        node(&signer, &[], vec![addr_of(&a_client, "/tcp/").await]).await;
    wait_for_grid_peers(&cautious_client, 1).await;
    assert_eq!(
        cautious
            .peer_heads(&chain, 29, Duration::from_secs(5))
            .await
            .unwrap(),
        None
    );
    assert_eq!(cautious.cache().latest(&chain).unwrap(), None);
    assert!(
        cautious_client
            .peers()
            .await
            .unwrap()
            .contains(&a_client.peer_id())
    );

    // The liar's head is refused, not cached, and the liar banned; the
    // honest head (30) is still the newest.
    fresh_client
        .dial(liar_client.peer_id(), vec![liar_addr])
        .await
        .unwrap();
    wait_for_grid_peers(&fresh_client, 3).await;
    let head = fresh
        .peer_heads(&chain, u64::MAX - 1, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a head");
    assert_eq!(head.round(), 30);
    assert_eq!(fresh.cache().get(&chain, 40).unwrap(), None);
    assert!(fresh.stats()["swarm"].failures >= 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let peers = fresh_client.peers().await.unwrap();
    assert!(
        !peers.contains(&liar_client.peer_id()),
        "the liar is banned"
    );
    assert!(peers.contains(&a_client.peer_id()));
}
