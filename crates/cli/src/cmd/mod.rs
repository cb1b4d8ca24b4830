//! One module per command group.

pub(crate) mod backup;
pub(crate) mod beacon;
pub(crate) mod devnet;
pub(crate) mod files;
pub(crate) mod grid;
pub(crate) mod message;
pub(crate) mod messaging;
pub(crate) mod pad;
pub(crate) mod pair;
pub(crate) mod settings;
pub(crate) mod status;

use std::path::PathBuf;

use zks_node::{DataDir, Node, NodeConfig};

/// Starts a node on the chosen data directory for the length of one command.
pub(crate) async fn start_node(home: Option<PathBuf>) -> anyhow::Result<Node> {
    let data_dir = DataDir::resolve(home)?;
    Ok(Node::start(NodeConfig { data_dir }).await?)
}
