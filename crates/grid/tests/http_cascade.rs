//! The HTTP layer, the cascade and the relay on loopback: a devnet relay, a
//! seeder relay over recorded real beacons, and misbehaving servers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use zks_beacon::{BatchVerifier, ChainInfo, DevnetSigner, Scheme, parse_beacon_list};
use zks_grid::relay::{self, RelaySource};
use zks_grid::{BeaconCache, DrandHttp, FetchCascade};

use zks_testkit::QUICKNET;
const PERIOD: u64 = 3;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A devnet whose round `history` is the current one.
fn devnet(history: u64) -> Arc<DevnetSigner> {
    let genesis = now() - (history - 1) * PERIOD;
    Arc::new(DevnetSigner::test(
        Scheme::UnchainedG1Rfc9380,
        PERIOD,
        genesis,
    ))
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn cascade(dir: &tempfile::TempDir, bases: &[String]) -> FetchCascade {
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let http = (!bases.is_empty()).then(|| DrandHttp::new(bases, Duration::from_secs(2)).unwrap());
    FetchCascade::new(cache, http)
}

#[tokio::test]
async fn a_fresh_node_fills_its_cache_from_a_devnet_relay_then_serves_from_cache() {
    let signer = devnet(300);
    let chain = signer.chain().clone();
    let (addr, _task) = relay::serve("127.0.0.1:0".parse().unwrap(), RelaySource::Devnet(signer))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cascade = cascade(&dir, &[format!("http://{addr}")]);

    let http = cascade.http().unwrap();
    assert_eq!(
        http.info(&chain.hash).await.unwrap(),
        chain,
        "chain learned by hash over HTTP"
    );
    let report = cascade.fetch(&chain, 1..=250, now()).await.unwrap();
    assert_eq!(report.from.get("drand"), Some(&250), "{report:?}");
    assert!(report.failed.is_empty());
    assert_eq!(cascade.cache().coverage(&chain).unwrap().rounds, 250);
    let again = cascade.fetch(&chain, 1..=250, now()).await.unwrap();
    assert_eq!(again.from.get("cache"), Some(&250));
    assert_eq!(again.from.get("drand"), None);
    assert!(
        cascade.fetch(&chain, 10_000..=10_001, now()).await.is_err(),
        "future rounds refused"
    );
}

#[tokio::test]
async fn the_relay_serves_recorded_rounds_byte_identical_to_drand() {
    let chain = ChainInfo::quicknet();
    let dir = tempfile::tempdir().unwrap();
    let cascade = Arc::new(cascade(&dir, &[]));
    let beacons: Vec<_> = parse_beacon_list(chain.scheme, QUICKNET)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let (good, bad) = BatchVerifier::new(&chain)
        .unwrap()
        .verify_split(beacons, &mut ChaCha20Rng::seed_from_u64(1));
    assert!(bad.is_empty());
    cascade.cache().put(&chain, &good).unwrap();

    let source = RelaySource::Cascade {
        cascade,
        chains: vec![chain.clone()],
    };
    let (addr, _task) = relay::serve("127.0.0.1:0".parse().unwrap(), source)
        .await
        .unwrap();
    let base = format!("http://{addr}/{}", chain.hash);
    let client = reqwest::Client::new();
    for line in QUICKNET
        .lines()
        .take(5)
        .chain(QUICKNET.lines().skip(100).take(3))
    {
        let round: serde_json::Value = serde_json::from_str(line).unwrap();
        let url = format!("{base}/public/{}", round["round"]);
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await.unwrap(), line, "{url}");
    }
    let info = client
        .get(format!("{base}/info"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ChainInfo::from_info_json(&info).unwrap(), chain);
    let status = |path: String| {
        let client = client.clone();
        async move { client.get(path).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status(format!("{base}/public/999999999")).await,
        425,
        "future round"
    );
    assert_eq!(status(format!("{base}/public/abc")).await, 400);
    assert_eq!(
        status(format!("http://{addr}/{}/info", "00".repeat(32))).await,
        404
    );
    assert_eq!(
        status(format!("{base}/public/5")).await,
        404,
        "not held, no other source"
    );
}

#[tokio::test]
async fn bad_signatures_garbage_errors_and_slow_servers_are_routed_around() {
    let signer = devnet(200);
    let chain = signer.chain().clone();
    let (honest, _task) = relay::serve(
        "127.0.0.1:0".parse().unwrap(),
        RelaySource::Devnet(signer.clone()),
    )
    .await
    .unwrap();
    let honest = format!("http://{honest}");

    // Answers round r with round r+1's (valid) signature: a shifted beacon.
    let shifted = {
        let signer = signer.clone();
        Router::new().route(
            "/{hash}/public/{round}",
            get(move |Path((_, round)): Path<(String, u64)>| {
                let signer = signer.clone();
                async move {
                    let next = signer.sign(round + 1, None).unwrap();
                    let json = zks_beacon::Beacon::new(
                        Scheme::UnchainedG1Rfc9380,
                        round,
                        next.signature().to_vec(),
                        None,
                    )
                    .unwrap()
                    .to_json();
                    (StatusCode::OK, json)
                }
            }),
        )
    };
    let garbage = Router::new().route(
        "/{hash}/public/{round}",
        get(|| async { "<html>not json</html>" }),
    );
    let failing = Router::new().route(
        "/{hash}/public/{round}",
        get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
    );
    let slow = Router::new().route(
        "/{hash}/public/{round}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    );
    let mut bases = Vec::new();
    for router in [shifted, garbage, failing, slow] {
        bases.push(serve(router).await);
    }
    bases.push(honest);
    let dir = tempfile::tempdir().unwrap();
    let cascade = cascade(&dir, &bases);
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        cascade.fetch(&chain, 1..=40, now()),
    )
    .await
    .expect("bounded in time")
    .unwrap();
    assert_eq!(report.from.get("drand"), Some(&40), "{report:?}");
    let held = cascade.cache().get_range(&chain, 1..=40).unwrap();
    assert_eq!(held.len(), 40);
    let beacons: Vec<_> = held.iter().map(|b| b.beacon().clone()).collect();
    let reference = zks_beacon::ReferenceVerifier::new(&chain).unwrap();
    assert!(
        reference
            .verify(&beacons)
            .iter()
            .all(std::result::Result::is_ok),
        "only verified beacons stored"
    );
    assert!(cascade.stats()["drand"].failures > 0);
}

#[tokio::test]
async fn a_server_lying_about_chain_info_is_refused() {
    let signer = devnet(10);
    let chain = signer.chain().clone();
    let mut forged = ChainInfo::quicknet();
    forged.hash = chain.hash; // claims the devnet's hash with quicknet's contents
    let body = forged.to_info_json();
    let liar = serve(Router::new().route(
        "/{hash}/info",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    ))
    .await;
    let http = DrandHttp::new(&[liar], Duration::from_secs(2)).unwrap();
    let err = http.info(&chain.hash).await.unwrap_err();
    assert!(
        err.to_string().contains("hashes to") || err.to_string().contains("not a drand"),
        "{err}"
    );
    assert!(DrandHttp::new(&["ftp://example".into()], Duration::from_secs(1)).is_err());
    assert!(DrandHttp::new(&[], Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn whole_chunks_come_by_cid_from_a_trustless_gateway_and_lies_are_refused() {
    use zks_grid::{CHUNK_ROUNDS, ChunkIndex, IpfsGateway};
    let signer = devnet(CHUNK_ROUNDS + 10);
    let chain = signer.chain().clone();
    // A seeder with one complete chunk, serving /ipfs/{cid} and its index.
    let seeder_dir = tempfile::tempdir().unwrap();
    let seeder = Arc::new(cascade(&seeder_dir, &[]));
    let (good, _) = BatchVerifier::new(&chain).unwrap().verify_split(
        signer.sign_range(1, CHUNK_ROUNDS).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    seeder.cache().put(&chain, &good).unwrap();
    let source = RelaySource::Cascade {
        cascade: seeder,
        chains: vec![chain.clone()],
    };
    let (addr, _task) = relay::serve("127.0.0.1:0".parse().unwrap(), source)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let index_json = reqwest::get(format!("{base}/{}/chunks", chain.hash))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let index = ChunkIndex::from_json(&index_json, &chain).unwrap();
    assert_eq!(index.chunks.len(), 1);
    assert!(
        ChunkIndex::from_json(&index_json, &ChainInfo::quicknet()).is_err(),
        "index of another chain"
    );

    // A gateway that answers every CID with other bytes.
    let liar =
        serve(Router::new().route("/ipfs/{cid}", get(|| async { vec![7u8; 48 * 16384] }))).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let lying = FetchCascade::new(cache.clone(), None)
        .with_gateway(IpfsGateway::new(&[liar], Duration::from_secs(5)).unwrap());
    lying.add_index(index.clone());
    let report = lying.fetch(&chain, 1..=CHUNK_ROUNDS, now()).await.unwrap();
    assert_eq!(report.from.get("gateway"), None);
    assert_eq!(
        cache.coverage(&chain).unwrap().rounds,
        0,
        "nothing unverified stored"
    );
    assert_eq!(lying.stats()["gateway"].failures, 1);

    let honest = FetchCascade::new(cache.clone(), None)
        .with_gateway(IpfsGateway::new(&[base], Duration::from_secs(5)).unwrap());
    honest.add_index(index);
    let report = honest.fetch(&chain, 1..=CHUNK_ROUNDS, now()).await.unwrap();
    assert_eq!(report.from.get("gateway"), Some(&CHUNK_ROUNDS));
    assert!(report.failed.is_empty());
    assert_eq!(
        honest.own_index(&chain).unwrap().chunks.len(),
        1,
        "now complete here too"
    );
}

#[tokio::test]
async fn the_relay_bounds_its_connections_and_drops_silent_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let signer = devnet(10);
    let (addr, _task) = relay::serve_limited(
        "127.0.0.1:0".parse().unwrap(),
        RelaySource::Devnet(signer),
        4,
        Duration::from_millis(500),
    )
    .await
    .unwrap();
    // Four clients connect and say nothing (slowloris): all permits taken.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    let info = client
        .get(format!("http://{addr}/info"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert!(info.status().is_success());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "served only once the silent connections were dropped"
    );
    // The silent ones were closed by the server.
    for mut s in silent {
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("closed, not left hanging")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    // A request with an absurd header is refused; the relay keeps serving.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let huge = "x".repeat(2 << 20);
    let _ = raw
        .write_all(format!("GET /info HTTP/1.1\r\nHost: a\r\nX-Big: {huge}\r\n\r\n").as_bytes())
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(80)])
    );
    let again = client
        .get(format!("http://{addr}/info"))
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success());
}
