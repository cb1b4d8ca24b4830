//! Shared helpers for the cross-crate scenarios in `tests/`: temporary homes
//! and started nodes.

use std::time::Duration;

use futures::channel::mpsc;
use tempfile::TempDir;
use zks_grid::BeaconCache;
use zks_grid::swarm::{self, INBOUND_QUEUE, SwarmClient, SwarmConfig};
use zks_node::{DataDir, Node, NodeConfig, TransferInfo};

pub use zks_testkit::QUICKNET;

/// A node in its own temporary data directory, removed on drop.
#[derive(Debug)]
pub struct TestNode {
    /// The running node.
    pub node: Node,
    /// Keeps the data directory alive as long as the node.
    pub home: TempDir,
}

pub use zks_testkit::PASSPHRASE as TEST_PASSPHRASE;

/// Starts a node in a fresh temporary data directory.
pub async fn start_test_node() -> TestNode {
    start_in(tempfile::tempdir().expect("temporary home")).await
}

/// Starts a node in `home` (new, or one a stopped node left).
pub async fn start_in(home: TempDir) -> TestNode {
    let data_dir = DataDir::at(home.path()).expect("data dir");
    let node = Node::start(NodeConfig {
        data_dir,
        unlock: zks_node::Unlock::passphrase(TEST_PASSPHRASE),
    })
    .await
    .expect("node starts");
    TestNode { node, home }
}

/// Gives Alice and Bob (paired as "Bob" and "Alice") the same new true pad
/// of `size` bytes, made from the OS CSPRNG and imported on both sides.
pub fn share_pad(alice: &TestNode, bob: &TestNode, size: u64) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let pad = dir.path().join("pad");
    zks_node::create_pad_file(&pad, size).expect("pad file");
    alice
        .node
        .import_pad("Bob", &pad, false)
        .expect("Alice imports");
    bob.node
        .import_pad("Alice", &pad, false)
        .expect("Bob imports");
}

/// Two fresh nodes, paired through the text form (Alice invited, Bob
/// accepted), each holding the recorded quicknet beacons to bind messages.
pub async fn paired() -> (TestNode, TestNode) {
    let alice = start_test_node().await;
    let bob = start_test_node().await;
    let invite = alice
        .node
        .create_invite(Some("Alice"), 600)
        .expect("invite");
    let accepted = bob
        .node
        .accept_invite(invite.text.as_bytes(), None)
        .expect("accept");
    alice
        .node
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .expect("finish");
    for n in [&alice, &bob] {
        n.node
            .import_beacons("quicknet", QUICKNET)
            .expect("beacons");
    }
    (alice, bob)
}

/// Starts the node's swarm on loopback with messaging and file transfer on,
/// returning the swarm and its address.
pub async fn go_online(n: &TestNode) -> (SwarmClient, String) {
    go_online_speaking(n, zks_node::wire::direct_protocols()).await
}

/// [`go_online`] carrying only `direct` of the messenger's protocols (a
/// node of an older release, which lacks the newer ones).
pub async fn go_online_speaking(
    n: &TestNode,
    direct: Vec<zks_grid::swarm::DirectProtocol>,
) -> (SwarmClient, String) {
    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    let cache =
        std::sync::Arc::new(BeaconCache::open(&n.node.cache_dir(), u64::MAX).expect("cache"));
    let config = SwarmConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")],
        direct,
        inbound: Some(tx),
        ..SwarmConfig::new(n.node.libp2p_keypair().expect("keypair"))
    };
    let client = swarm::start(config, cache).await.expect("swarm");
    let mut addr = None;
    for _ in 0..100 {
        if let Some(a) = client
            .listen_addrs()
            .await
            .expect("addresses")
            .into_iter()
            .next()
        {
            addr = Some(a.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    n.node.run_messaging(client.clone(), rx);
    (client, addr.expect("listening"))
}

/// Alice and Bob (as [`paired`] makes them) online on loopback, each
/// holding the other's address; keep the swarms alive for the test.
pub async fn online_pair_of(
    alice: TestNode,
    bob: TestNode,
) -> (TestNode, TestNode, Vec<SwarmClient>) {
    let (a_swarm, a_addr) = go_online(&alice).await;
    let (b_swarm, b_addr) = go_online(&bob).await;
    alice
        .node
        .set_contact_addresses("Bob", &[b_addr])
        .expect("Bob's address");
    bob.node
        .set_contact_addresses("Alice", &[a_addr])
        .expect("Alice's address");
    (alice, bob, vec![a_swarm, b_swarm])
}

/// [`paired`], then [`online_pair_of`].
pub async fn online_pair() -> (TestNode, TestNode, Vec<SwarmClient>) {
    let (alice, bob) = paired().await;
    online_pair_of(alice, bob).await
}

/// Waits (up to 60 s) until `n`'s transfer `id` satisfies `done`.
pub async fn wait_for_transfer(
    n: &TestNode,
    id: &str,
    what: &str,
    done: impl Fn(&TransferInfo) -> bool,
) -> TransferInfo {
    for _ in 0..600 {
        if let Ok(t) = n.node.transfer(id)
            && done(&t)
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "transfer {id} never became {what}: {:?}",
        n.node.transfer(id)
    );
}

/// Deterministic test content of `len` bytes (xorshift from `seed`).
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut x = u32::from(seed) | 1;
    for b in &mut out {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    out
}
