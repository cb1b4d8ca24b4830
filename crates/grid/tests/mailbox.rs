//! `/zks/mailbox/1.0.0` between real swarms on loopback, over real disk:
//! a seeder holds envelopes for an offline recipient under an opaque id,
//! within its quotas and cap, and refuses what it must.

use std::sync::Arc;
use std::time::Duration;

use libp2p::PeerId;
use libp2p::identity::Keypair;
use zks_grid::mailbox::{MailboxStore, Quotas, Refusal, TTL_SECS, now_secs};
use zks_grid::swarm::{self, MailboxRequest, SwarmClient, SwarmConfig};
use zks_grid::{BeaconCache, SwarmError};

struct Host {
    _cache: tempfile::TempDir,
    store: Arc<MailboxStore>,
    client: SwarmClient,
    addr: libp2p::Multiaddr,
}

/// A swarm holding a mailbox store under `dir`; `seeding` and `public`
/// (a declared external address) decide whether it offers mailboxes.
async fn host(
    dir: &std::path::Path,
    cap: u64,
    quotas: Quotas,
    seeding: bool,
    public: bool,
) -> Host {
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(cache_dir.path(), u64::MAX).unwrap());
    let store = Arc::new(MailboxStore::open(dir, cap, quotas).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mailbox: Some(store.clone()),
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache).await.unwrap();
    let mut addr = None;
    for _ in 0..100 {
        if let Some(a) = client.listen_addrs().await.unwrap().first() {
            addr = Some(a.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let addr = addr.expect("the host listens");
    if public {
        client.add_external_address(addr.clone()).await.unwrap();
    }
    client.set_seeding(seeding).await.unwrap();
    let expected = seeding && public;
    for _ in 0..100 {
        if client.offers_mailboxes().await.unwrap() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.offers_mailboxes().await.unwrap(), expected);
    Host {
        _cache: cache_dir,
        store,
        client,
        addr,
    }
}

/// A plain peer connected to `host`.
async fn peer(host: &Host) -> (tempfile::TempDir, SwarmClient) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(BeaconCache::open(dir.path(), u64::MAX).unwrap());
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![host.addr.clone()],
        ..SwarmConfig::new(Keypair::generate_ed25519())
    };
    let client = swarm::start(config, cache).await.unwrap();
    for _ in 0..200 {
        if client
            .peers()
            .await
            .unwrap()
            .contains(&host.client.peer_id())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (dir, client)
}

fn host_id(host: &Host) -> PeerId {
    host.client.peer_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_are_deposited_fetched_in_order_acknowledged_and_survive_a_restart() {
    let disk = tempfile::tempdir().unwrap();
    let h = host(disk.path(), 1 << 30, Quotas::default(), true, true).await;
    let (_a, alice) = peer(&h).await;
    let (_b, bob) = peer(&h).await;
    let id = [0x11; 32];
    let mut seqs = Vec::new();
    for i in 0..5u8 {
        let seq = alice
            .mailbox_deposit(host_id(&h), id, vec![i; 100 + usize::from(i)])
            .await
            .unwrap()
            .unwrap();
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "deposit order");
    // An id nobody deposited to gets nothing.
    let other = bob
        .mailbox_fetch(host_id(&h), [0x22; 32], 0)
        .await
        .unwrap()
        .unwrap();
    assert!(other.envelopes.is_empty() && !other.more);
    // The recipient fetches them in deposit order.
    let got = bob
        .mailbox_fetch(host_id(&h), id, 0)
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<Vec<u8>> = got.envelopes.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(
        bodies,
        (0..5u8)
            .map(|i| vec![i; 100 + usize::from(i)])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        got.envelopes.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        seqs
    );
    // Acknowledging the first three deletes them, on disk too.
    let acked = bob
        .mailbox_ack(host_id(&h), id, seqs[2])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acked, 3);
    assert_eq!(h.store.held(&id), 2);
    let files = std::fs::read_dir(disk.path().join(hex(&id)))
        .unwrap()
        .count();
    assert_eq!(files, 2);
    // A restart keeps what is held.
    drop(alice);
    drop(bob);
    drop(h);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = host(disk.path(), 1 << 30, Quotas::default(), true, true).await;
    let (_c, bob) = peer(&h).await;
    let got = bob
        .mailbox_fetch(host_id(&h), id, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.envelopes.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        seqs[3..]
    );
    bob.mailbox_ack(host_id(&h), id, seqs[4])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.store.usage(), (0, 0), "empty after the ack");
}

fn hex(id: &[u8; 32]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_not_seeding_or_not_public_does_not_offer_mailboxes() {
    for (seeding, public) in [(false, true), (true, false)] {
        let disk = tempfile::tempdir().unwrap();
        let h = host(disk.path(), 1 << 30, Quotas::default(), seeding, public).await;
        let (_a, alice) = peer(&h).await;
        let answer = alice
            .mailbox_deposit(host_id(&h), [1; 32], vec![1; 10])
            .await
            .unwrap();
        assert_eq!(
            answer,
            Err(Refusal::NotOffered),
            "seeding {seeding}, public {public}"
        );
        let fetched = alice.mailbox_fetch(host_id(&h), [1; 32], 0).await.unwrap();
        assert_eq!(fetched, Err(Refusal::NotOffered));
        assert_eq!(h.store.usage(), (0, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_depositor_is_held_to_its_quotas_and_others_still_deposit() {
    let disk = tempfile::tempdir().unwrap();
    let quotas = Quotas {
        per_mailbox_count: 4,
        per_mailbox_bytes: 1 << 20,
        per_depositor_bytes: 10_000,
        ttl_secs: TTL_SECS,
    };
    let h = host(disk.path(), 1 << 30, quotas, true, true).await;
    let (_m, mallory) = peer(&h).await;
    let (_a, alice) = peer(&h).await;
    // Per mailbox: the fifth envelope in one mailbox is refused.
    for _ in 0..4 {
        mallory
            .mailbox_deposit(host_id(&h), [1; 32], vec![1; 100])
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        mallory
            .mailbox_deposit(host_id(&h), [1; 32], vec![1; 100])
            .await
            .unwrap(),
        Err(Refusal::MailboxFull)
    );
    // Per depositor: spread over fresh ids, Mallory is stopped at 10 kB.
    let mut stored = 0;
    let refusal = loop {
        let id = [2 + stored as u8; 32];
        match mallory
            .mailbox_deposit(host_id(&h), id, vec![7; 2_000])
            .await
            .unwrap()
        {
            Ok(_) => stored += 1,
            Err(r) => break r,
        }
        assert!(stored < 10, "the depositor quota never bit");
    };
    assert_eq!(refusal, Refusal::DepositorQuota);
    let (bytes, _) = h.store.usage();
    assert!(bytes <= 10_000, "held {bytes} bytes for one depositor");
    // Another depositor is not affected.
    alice
        .mailbox_deposit(host_id(&h), [0x99; 32], vec![3; 2_000])
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_disk_cap_a_host_refuses_with_a_clear_reason() {
    let disk = tempfile::tempdir().unwrap();
    let h = host(disk.path(), 5_000, Quotas::default(), true, true).await;
    let (_a, alice) = peer(&h).await;
    alice
        .mailbox_deposit(host_id(&h), [1; 32], vec![1; 3_000])
        .await
        .unwrap()
        .unwrap();
    let before = h.store.usage();
    let refused = alice
        .mailbox_deposit(host_id(&h), [2; 32], vec![1; 3_000])
        .await
        .unwrap();
    assert_eq!(refused, Err(Refusal::DiskFull));
    assert_eq!(
        Refusal::DiskFull.to_string(),
        "the host's mailbox storage is full"
    );
    assert_eq!(h.store.usage(), before, "nothing written");
    assert!(!disk.path().join(hex(&[2; 32])).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_change_nothing() {
    let disk = tempfile::tempdir().unwrap();
    let h = host(disk.path(), 1 << 30, Quotas::default(), true, true).await;
    let (_a, alice) = peer(&h).await;
    let id = [5; 32];
    alice
        .mailbox_deposit(host_id(&h), id, vec![1; 10])
        .await
        .unwrap()
        .unwrap();
    let before = h.store.usage();
    let raw = |bytes: Vec<u8>| alice.mailbox_request(host_id(&h), Vec::new(), bytes);
    let malformed = vec![Refusal::Malformed.code()];
    // Unknown kind, short id, empty envelope, bad cursor lengths.
    let mut unknown = MailboxRequest::Fetch { id, after: 0 }.encode();
    unknown[0] = 42;
    assert_eq!(raw(unknown).await.unwrap(), malformed);
    assert_eq!(raw(vec![1, 2, 3]).await.unwrap(), malformed);
    assert_eq!(raw(vec![]).await.unwrap(), malformed);
    let empty = MailboxRequest::Deposit {
        id,
        envelope: vec![9],
    }
    .encode()[..33]
        .to_vec();
    assert_eq!(raw(empty).await.unwrap(), malformed);
    let mut long = MailboxRequest::Ack { id, upto: u64::MAX }.encode();
    long.push(0);
    assert_eq!(raw(long).await.unwrap(), malformed);
    let short = MailboxRequest::Fetch { id, after: 1 }.encode()[..37].to_vec();
    assert_eq!(raw(short).await.unwrap(), malformed);
    // An oversized envelope: the host stops reading and resets the stream.
    let oversized = alice
        .mailbox_deposit(
            host_id(&h),
            id,
            vec![0; zks_grid::mailbox::MAX_ENVELOPE + 1],
        )
        .await;
    assert!(
        matches!(oversized, Err(SwarmError::Request { .. })),
        "{oversized:?}"
    );
    assert_eq!(h.store.usage(), before, "nothing changed");
    assert_eq!(h.store.held(&id), 1);
}

#[test]
fn expired_envelopes_are_swept_and_fresh_ones_kept() {
    let disk = tempfile::tempdir().unwrap();
    let store = MailboxStore::open(disk.path(), 1 << 30, Quotas::default()).unwrap();
    let now = now_secs();
    let old = [1; 32];
    let fresh = [2; 32];
    store
        .deposit(old, b"d", b"old", now - TTL_SECS - 1)
        .unwrap()
        .unwrap();
    store
        .deposit(fresh, b"d", b"fresh", now - TTL_SECS + 60)
        .unwrap()
        .unwrap();
    assert_eq!(store.sweep(now), 1);
    assert_eq!(store.held(&old), 0);
    assert!(!disk.path().join(hex(&old)).exists(), "its files are gone");
    assert_eq!(store.held(&fresh), 1);
    // The depositor's quota is given back with the swept bytes.
    let (bytes, count) = store.usage();
    assert_eq!(count, 1);
    assert!(bytes < 100);
    // After a restart the sweep still knows each envelope's age.
    drop(store);
    let store = MailboxStore::open(disk.path(), 1 << 30, Quotas::default()).unwrap();
    assert_eq!(store.sweep(now + 120), 1);
    assert_eq!(store.usage(), (0, 0));
}
