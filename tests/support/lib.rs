//! Shared helpers for the cross-crate scenarios in `tests/`: temporary homes
//! and started nodes.

use tempfile::TempDir;
use zks_node::{DataDir, Node, NodeConfig};

/// A node in its own temporary data directory, removed on drop.
#[derive(Debug)]
pub struct TestNode {
    /// The running node.
    pub node: Node,
    /// Keeps the data directory alive as long as the node.
    pub home: TempDir,
}

/// Starts a node in a fresh temporary data directory.
pub async fn start_test_node() -> TestNode {
    let home = tempfile::tempdir().expect("temporary home");
    let data_dir = DataDir::at(home.path()).expect("data dir");
    let node = Node::start(NodeConfig { data_dir })
        .await
        .expect("node starts");
    TestNode { node, home }
}
