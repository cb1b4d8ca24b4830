//! Nodes for the command tests: a running node in a fresh temporary home,
//! removed when dropped, and two such nodes paired through the node API.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use zks_node::{DataDir, Node, NodeConfig};

use super::AppNode;

/// Recorded quicknet beacons (see `tests/data/README.md`).
pub(crate) const QUICKNET: &str = include_str!("../../../tests/data/quicknet.jsonl");

/// A node in a fresh temporary home, removed when dropped.
pub(crate) struct TestNode {
    pub(crate) app: AppNode,
    pub(crate) home: PathBuf,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

impl TestNode {
    pub(crate) fn node(&self) -> &Node {
        self.app.get().unwrap()
    }
}

/// Starts a node in a fresh home named after the calling test's `label`.
pub(crate) async fn node(label: &str) -> TestNode {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let home = std::env::temp_dir().join(format!(
        "zks-desktop-{}-{}-{label}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let node = Node::start(NodeConfig {
        data_dir: DataDir::at(&home).unwrap(),
        unlock: zks_node::Unlock::passphrase("test passphrase"),
    })
    .await
    .unwrap();
    TestNode {
        app: AppNode::Running(node),
        home,
    }
}

/// Alice and Bob paired through the node API (Alice knows "Bob").
pub(crate) async fn paired() -> (TestNode, TestNode) {
    let alice = node("alice").await;
    let bob = node("bob").await;
    let invite = alice.node().create_invite(Some("Alice"), 3600).unwrap();
    let accepted = bob
        .node()
        .accept_invite(invite.text.as_bytes(), None)
        .unwrap();
    alice
        .node()
        .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
        .unwrap();
    (alice, bob)
}
