//! Helpers for the node's own unit tests (the tests of other crates use
//! `zks-testkit` and the scenarios' `tests/support`).

use std::path::Path;

use crate::{DataDir, Node, NodeConfig, Unlock};

/// A node started in `home` (new, or one a stopped node left), locked
/// with the test passphrase.
pub(crate) async fn started(home: &Path) -> Node {
    Node::start(NodeConfig {
        data_dir: DataDir::at(home).expect("data dir"),
        unlock: Unlock::passphrase(zks_testkit::PASSPHRASE),
    })
    .await
    .expect("node starts")
}
