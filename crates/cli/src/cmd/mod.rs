//! One module per command group.

pub(crate) mod backup;
pub(crate) mod beacon;
pub(crate) mod car;
pub(crate) mod chat;
pub(crate) mod device;
pub(crate) mod devnet;
pub(crate) mod files;
pub(crate) mod grid;
pub(crate) mod group;
pub(crate) mod key;
pub(crate) mod message;
pub(crate) mod messaging;
pub(crate) mod pad;
pub(crate) mod pair;
pub(crate) mod proof;
pub(crate) mod search;
pub(crate) mod settings;
pub(crate) mod status;
pub(crate) mod tlock;

use std::path::PathBuf;

use zks_node::{DataDir, Node, NodeConfig, Unlock};

/// Starts a node on the chosen data directory for the length of one command.
pub(crate) async fn start_node(home: Option<PathBuf>) -> anyhow::Result<Node> {
    Ok(unlock_and_start(home).await?.0)
}

/// Unlocks the home (see [`key::unlock_for`]) and starts a node on it;
/// also returns what unlocked it.
pub(crate) async fn unlock_and_start(home: Option<PathBuf>) -> anyhow::Result<(Node, Unlock)> {
    let data_dir = DataDir::resolve(home)?;
    let unlock = key::unlock_for(&data_dir)?;
    let node = Node::start(NodeConfig {
        data_dir,
        unlock: unlock.clone(),
    })
    .await?;
    Ok((node, unlock))
}
