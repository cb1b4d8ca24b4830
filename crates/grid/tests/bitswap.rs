//! Bitswap on loopback against a third-party implementation (Helia, from
//! tests/interop) and against a raw peer that writes what it likes: a
//! Helia node fetches a complete chunk from our node by its CID, our node
//! fetches a block a Helia node holds, and malformed, oversized or wrong
//! messages neither crash the swarm nor get a wrong block accepted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use zks_beacon::{BatchVerifier, DevnetSigner, Scheme};
use zks_grid::swarm::bitswap::message::{Block, Entry, Message, Presence, WantType};
use zks_grid::swarm::bitswap::{BITSWAP_120, message};
use zks_grid::swarm::{self, SwarmClient, SwarmConfig};
use zks_grid::{BeaconCache, CHUNK_ROUNDS, chunk_cid};
use zks_testkit::{JsPeer, interop_command};

const ASK: Duration = Duration::from_secs(40);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A node whose cache holds chunk 0 of a devnet chain complete (and a few
/// rounds of chunk 1): the node, its cache folder, and chunk 0's bytes.
async fn seeder() -> (SwarmClient, tempfile::TempDir, Vec<u8>) {
    node(true, swarm::Limits::default()).await
}

/// A node whose cache holds a complete chunk (`full`: the [`seeder`]) or
/// nothing (and an empty chunk), serving peers within `limits`.
async fn node(full: bool, limits: swarm::Limits) -> (SwarmClient, tempfile::TempDir, Vec<u8>) {
    let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_600_000_000);
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer
            .sign_range(1, if full { CHUNK_ROUNDS + 10 } else { 10 })
            .unwrap(),
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    cache.put(&chain, &good).unwrap();
    let bytes = cache.chunk_bytes(&chain, 0).unwrap().unwrap_or_default();
    assert_eq!(cache.chunk_bytes(&chain, 1).unwrap(), None);
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        chains: vec![chain],
        limits,
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache).await.unwrap();
    (client, dir, bytes)
}

async fn tcp_addr(client: &SwarmClient) -> Multiaddr {
    for _ in 0..200 {
        if let Some(a) = client
            .listen_addrs()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.to_string().contains("/tcp/"))
        {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no tcp listen address");
}

async fn connect(client: &SwarmClient, peer: PeerId, addr: Multiaddr) {
    client.dial(peer, vec![addr]).await.unwrap();
    for _ in 0..400 {
        if client.peers().await.unwrap().contains(&peer) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("could not connect to {peer}");
}

fn helia() -> JsPeer {
    JsPeer::spawn(interop_command("helia-node.mjs"), Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helia_fetches_a_complete_chunk_from_our_node_over_bitswap() {
    let (node, _dir, chunk) = seeder().await;
    let cid = chunk_cid(&chunk);
    let addr = tcp_addr(&node).await;
    let mut helia = tokio::task::spawn_blocking(helia).await.unwrap();
    let (answer, helia) = tokio::task::spawn_blocking(move || {
        let answer = helia.ask(&format!("get {cid} {addr}"), ASK);
        (answer, helia)
    })
    .await
    .unwrap();
    assert_eq!(answer, format!("ok {}", hex(&Sha256::digest(&chunk))));
    // A CID we do not hold: Helia gets nothing (our node says DONT_HAVE;
    // Helia keeps waiting for another peer to have it, until its timeout).
    let absent = chunk_cid(b"no such chunk");
    let addr = tcp_addr(&node).await;
    let mut helia = helia;
    let answer =
        tokio::task::spawn_blocking(move || helia.ask(&format!("get {absent} {addr} 2000"), ASK))
            .await
            .unwrap();
    assert!(answer.starts_with("err "), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_node_fetches_a_block_helia_holds_and_hears_dont_have() {
    let (node, dir, _) = node(false, swarm::Limits::default()).await;
    // Helia holds a chunk-sized block (16384 G1 signatures) we do not.
    let mut block = vec![0u8; CHUNK_ROUNDS as usize * 48];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut ChaCha20Rng::seed_from_u64(7), &mut block);
    let file = dir.path().join("block");
    std::fs::write(&file, &block).unwrap();
    let (helia, answer) = tokio::task::spawn_blocking(move || {
        let mut helia = helia();
        let answer = helia.ask(&format!("put {}", file.display()), ASK);
        (helia, answer)
    })
    .await
    .unwrap();
    let cid = chunk_cid(&block);
    assert_eq!(answer, format!("ok {cid}"));
    let peer: PeerId = helia.peer_id.parse().unwrap();
    connect(&node, peer, helia.addr_with("/ip4/127.").parse().unwrap()).await;

    let got = node
        .bitswap_block(peer, &cid, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(got, block);

    // A block Helia lacks: DONT_HAVE ends the want long before the timeout.
    let started = Instant::now();
    let err = node
        .bitswap_block(peer, &chunk_cid(b"absent"), Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    assert!(err.to_string().contains("DONT_HAVE"), "{err}");
    // Not a chunk CID: refused before anything is sent.
    let err = node
        .bitswap_block(peer, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", ASK)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a CIDv1"), "{err}");
    drop(helia);
}

/// A peer that speaks raw bytes: a libp2p swarm with nothing but plain
/// streams, accepting Bitswap 1.2.0.
async fn raw_peer() -> (
    PeerId,
    Multiaddr,
    libp2p_stream::Control,
    libp2p_stream::IncomingStreams,
) {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let addr = loop {
        if let libp2p::swarm::SwarmEvent::NewListenAddr { address, .. } =
            swarm.select_next_some().await
        {
            break address;
        }
    };
    let mut control = swarm.behaviour().new_control();
    let incoming = control.accept(BITSWAP_120).unwrap();
    let peer = *swarm.local_peer_id();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    (peer, addr, control, incoming)
}

async fn read_frame(stream: &mut libp2p::Stream) -> Message {
    let len = tokio::time::timeout(Duration::from_secs(20), message::read_length(stream))
        .await
        .expect("a message in time")
        .unwrap()
        .expect("a message, not the end of the stream");
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.unwrap();
    Message::decode(&body).unwrap()
}

fn cid_bytes(cid_of: &[u8]) -> Vec<u8> {
    let mut cid = vec![0x01, 0x55, 0x12, 0x20];
    cid.extend_from_slice(&Sha256::digest(cid_of));
    cid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_blocks_are_refused_and_garbage_does_not_stop_the_server() {
    // One chunk per second per peer: a second block waits for the rate.
    let limits = swarm::Limits {
        served_rounds_per_sec: CHUNK_ROUNDS,
        ..swarm::Limits::default()
    };
    let (node, _dir, chunk) = node(true, limits).await;
    let (raw, raw_addr, mut control, mut incoming) = raw_peer().await;
    connect(&node, raw, raw_addr).await;

    // Our node wants a block from the raw peer, which answers with bytes
    // under the right prefix that do not hash to the CID: refused.
    let wanted = b"the block asked for".to_vec();
    let cid = chunk_cid(&wanted);
    let asking = {
        let (node, cid) = (node.clone(), cid.clone());
        tokio::spawn(async move { node.bitswap_block(raw, &cid, Duration::from_secs(3)).await })
    };
    let (from, mut ours) = tokio::time::timeout(Duration::from_secs(20), incoming.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, node.peer_id());
    let want = read_frame(&mut ours).await;
    assert_eq!(want.wants.len(), 1);
    assert_eq!(want.wants[0].cid, cid_bytes(&wanted));
    assert_eq!(want.wants[0].want_type, WantType::Block);
    assert!(want.wants[0].send_dont_have && !want.wants[0].cancel);

    let mut back = control
        .open_stream(node.peer_id(), BITSWAP_120)
        .await
        .unwrap();
    let wrong = Message {
        blocks: vec![Block {
            prefix: vec![0x01, 0x55, 0x12, 0x20],
            data: b"not the block asked for".to_vec(),
        }],
        ..Message::default()
    };
    back.write_all(&wrong.to_frame()).await.unwrap();
    back.flush().await.unwrap();
    let err = asking.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("no Bitswap block"), "{err}");
    // The want is withdrawn afterwards.
    let cancel = read_frame(&mut ours).await;
    assert!(cancel.wants[0].cancel && cancel.wants[0].cid == cid_bytes(&wanted));

    // Garbage, each on its own stream: an oversized length, a length
    // varint that never ends, a malformed protobuf, random bytes.
    let mut oversized = Vec::new();
    let mut n = (5u64 << 20) as usize;
    while n >= 0x80 {
        oversized.push((n as u8) | 0x80);
        n >>= 7;
    }
    oversized.push(n as u8);
    oversized.extend_from_slice(&[0u8; 1000]);
    let garbage: [Vec<u8>; 4] = [
        oversized,
        vec![0xff; 16],
        vec![4, 0x0a, 0x05, 0x01, 0x02],
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    ];
    for bytes in garbage {
        let mut s = control
            .open_stream(node.peer_id(), BITSWAP_120)
            .await
            .unwrap();
        let _ = s.write_all(&bytes).await;
        let _ = s.close().await;
    }

    // The server still answers, on our node's stream to the raw peer:
    // the complete chunk, HAVE for it, DONT_HAVE for a CID it lacks.
    let chunk_cid_bytes = cid_bytes(&chunk);
    let absent = cid_bytes(b"absent");
    let entry = |cid: &Vec<u8>, want_type| Entry {
        cid: cid.clone(),
        priority: 1,
        cancel: false,
        want_type,
        send_dont_have: true,
    };
    let wants = Message {
        wants: vec![
            entry(&chunk_cid_bytes, WantType::Block),
            entry(&absent, WantType::Have),
        ],
        ..Message::default()
    };
    back.write_all(&wants.to_frame()).await.unwrap();
    back.flush().await.unwrap();
    let (mut block, mut dont_have) = (None, false);
    while block.is_none() || !dont_have {
        let msg = read_frame(&mut ours).await;
        for b in msg.blocks {
            assert_eq!(b.cid().unwrap(), chunk_cid_bytes);
            block = Some(b.data);
        }
        for Presence { cid, have } in msg.presences {
            assert_eq!((cid, have), (absent.clone(), false));
            dont_have = true;
        }
    }
    assert_eq!(block.unwrap(), chunk);
    // And a want-have of what it holds is a HAVE.
    let have = Message {
        wants: vec![entry(&chunk_cid_bytes, WantType::Have)],
        ..Message::default()
    };
    back.write_all(&have.to_frame()).await.unwrap();
    back.flush().await.unwrap();
    let msg = read_frame(&mut ours).await;
    assert_eq!(
        msg.presences,
        vec![Presence {
            cid: chunk_cid_bytes.clone(),
            have: true
        }]
    );

    // A wantlist is capped at MAX_WANTS entries: of 1100 wants of CIDs
    // that are not chunks (dag-cbor), 1024 are answered DONT_HAVE, the
    // rest ignored.
    let wants = Message {
        wants: (0..1100u32)
            .map(|i| {
                let mut cid = vec![0x01, 0x71, 0x12, 0x20];
                cid.extend_from_slice(&Sha256::digest(i.to_be_bytes()));
                entry(&cid, WantType::Have)
            })
            .collect(),
        ..Message::default()
    };
    back.write_all(&wants.to_frame()).await.unwrap();
    back.flush().await.unwrap();
    let mut dont_haves = 0;
    while let Ok(Some(len)) =
        tokio::time::timeout(Duration::from_secs(2), message::read_length(&mut ours))
            .await
            .unwrap_or(Ok(None))
    {
        let mut body = vec![0u8; len];
        ours.read_exact(&mut body).await.unwrap();
        let msg = Message::decode(&body).unwrap();
        assert!(msg.presences.iter().all(|p| !p.have));
        dont_haves += msg.presences.len();
    }
    assert_eq!(dont_haves, swarm::bitswap::MAX_WANTS);

    // Over the peer's rate, a want-block waits in line (it is not refused):
    // the second of two blocks asked back to back comes a second later.
    let mut times = Vec::new();
    for _ in 0..2 {
        let want = Message {
            wants: vec![entry(&chunk_cid_bytes, WantType::Block)],
            ..Message::default()
        };
        let t = Instant::now();
        back.write_all(&want.to_frame()).await.unwrap();
        back.flush().await.unwrap();
        let msg = read_frame(&mut ours).await;
        assert_eq!(msg.blocks.len(), 1);
        assert_eq!(msg.blocks[0].data, chunk);
        times.push(t.elapsed());
    }
    assert!(times[1] >= Duration::from_millis(600), "{times:?}");
}

/// Throughput of whole-chunk fetches on loopback, Bitswap against our own
/// `/zks/chunk/1.0.0`, on the same data: a seeder holding [`BENCH_CHUNKS`]
/// complete chunks of an unchained G1 chain (786 432 bytes each) and a
/// fresh node connected to it over TCP, both with per-peer rates out of
/// the way. Each run fetches every chunk once, one after another, by each
/// protocol; the median and range of [`BENCH_RUNS`] runs are printed.
/// Run it in release: `cargo nextest run --release -p zks-grid --test
/// bitswap --run-ignored only --no-capture bench`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run in release"]
async fn bench_bitswap_against_the_chunk_protocol() {
    const BENCH_CHUNKS: u64 = 4;
    const BENCH_RUNS: usize = 7;
    let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 3, 1_600_000_000);
    let chain = signer.chain().clone();
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, BENCH_CHUNKS * CHUNK_ROUNDS).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let limits = swarm::Limits {
        served_rounds_per_sec: u64::MAX / 4,
        ..swarm::Limits::default()
    };
    let mut nodes = Vec::new();
    for beacons in [&good[..], &[]] {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
        cache.put(&chain, beacons).unwrap();
        let config = SwarmConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            chains: vec![chain.clone()],
            limits,
            ..SwarmConfig::new(Keypair::generate_ed25519())
        };
        nodes.push((
            swarm::start(config, cache.clone()).await.unwrap(),
            cache,
            dir,
        ));
    }
    let (seeder, seeder_cache) = (nodes[0].0.clone(), nodes[0].1.clone());
    let fresh = nodes[1].0.clone();
    let cids: Vec<String> = (0..BENCH_CHUNKS)
        .map(|i| chunk_cid(&seeder_cache.chunk_bytes(&chain, i).unwrap().unwrap()))
        .collect();
    let chunk_len = seeder_cache.chunk_bytes(&chain, 0).unwrap().unwrap().len();
    connect(&fresh, seeder.peer_id(), tcp_addr(&seeder).await).await;
    // Warm up both paths (stream set-up, the seeder's CID index).
    fresh
        .bitswap_block(seeder.peer_id(), &cids[0], ASK)
        .await
        .unwrap();
    let (mut bitswap, mut chunk) = (Vec::new(), Vec::new());
    for _ in 0..BENCH_RUNS {
        let t = Instant::now();
        for cid in &cids {
            let block = fresh
                .bitswap_block(seeder.peer_id(), cid, ASK)
                .await
                .unwrap();
            assert_eq!(block.len(), chunk_len);
        }
        bitswap.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for i in 0..BENCH_CHUNKS {
            let request = swarm::RangeRequest {
                chain: chain.hash.0,
                first: i * CHUNK_ROUNDS + 1,
                last: (i + 1) * CHUNK_ROUNDS,
            };
            let rounds = fresh.request(seeder.peer_id(), request).await.unwrap();
            assert_eq!(rounds.len() as u64, CHUNK_ROUNDS);
        }
        chunk.push(t.elapsed().as_secs_f64());
    }
    let rounds = (BENCH_CHUNKS * CHUNK_ROUNDS) as f64;
    let bytes = (BENCH_CHUNKS as usize * chunk_len) as f64;
    for (name, mut secs) in [("bitswap", bitswap), ("/zks/chunk/1.0.0", chunk)] {
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        eprintln!(
            "{name}: {BENCH_CHUNKS} chunks in {:.1} ms median (min {:.1}, max {:.1}); \
             {:.0} rounds/s, {:.1} MB/s (median); {:.0}..{:.0} rounds/s",
            median * 1e3,
            secs[0] * 1e3,
            secs[secs.len() - 1] * 1e3,
            rounds / median,
            bytes / median / 1e6,
            rounds / secs[secs.len() - 1],
            rounds / secs[0],
        );
    }
}
