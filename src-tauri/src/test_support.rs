//! Nodes for the app's tests: a running node in a fresh temporary home,
//! removed when dropped, two such nodes paired through the node API, and
//! bare temporary homes (opened as the app opens them at start) for the
//! vault and lifecycle tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use zks_node::{DataDir, Node, NodeConfig};

use crate::state::AppNode;

/// The passphrase of the test homes (sealed with the cheap test Argon2id
/// when `ZKS_TEST_WEAK_KDF=1`), and the recorded quicknet beacons.
pub(crate) use zks_testkit::{PASSPHRASE, QUICKNET};

/// A fresh temporary home folder named after `label`, removed when dropped.
pub(crate) struct TempHome(PathBuf);

impl TempHome {
    pub(crate) fn new(label: &str) -> TempHome {
        TempHome(fresh_path(label))
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }

    pub(crate) fn data_dir(&self) -> DataDir {
        DataDir::at(&self.0).unwrap()
    }

    /// Every file in the home with its bytes (lock files aside), to show
    /// that something changed nothing.
    pub(crate) fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        zks_testkit::snapshot(&self.0)
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fresh_path(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "zks-desktop-{}-{}-{label}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

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
    pub(crate) fn node(&self) -> Node {
        self.app.get().unwrap()
    }
}

/// Starts a node in a fresh home named after the calling test's `label`.
pub(crate) async fn node(label: &str) -> TestNode {
    let home = fresh_path(label);
    let node = Node::start(NodeConfig {
        data_dir: DataDir::at(&home).unwrap(),
        unlock: zks_node::Unlock::passphrase(PASSPHRASE),
    })
    .await
    .unwrap();
    TestNode {
        app: AppNode::running(node),
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

/// The app at start on `home` (with `ZKS_PASSPHRASE` set to `env`, if
/// any) on a machine without an OS keyring.
pub(crate) async fn opened(home: &TempHome, env: Option<&str>) -> AppNode {
    crate::state::open_dir(
        home.data_dir(),
        env.map(zks_node::Unlock::passphrase),
        || false,
    )
    .await
}

/// An app whose node could not start (its home unusable): every node
/// command answers this start-up error, code `data_dir`.
pub(crate) fn failed() -> AppNode {
    AppNode::failed(crate::error::IpcError::new(
        "data_dir",
        "cannot use data directory /x",
    ))
}
