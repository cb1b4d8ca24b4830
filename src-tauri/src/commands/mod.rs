//! IPC commands, one module per domain. Each command is a thin wrapper over
//! a plain function taking the [`AppNode`] so it is testable without a window.

pub mod chat;
pub mod files;
pub mod grid;
pub mod node;
pub mod pairing;
pub mod settings;
#[cfg(test)]
mod test_support;

use zks_node::Node;

use crate::error::IpcError;

/// The node as the app holds it: running, or the reason it could not start
/// (shown in the window instead of crashing).
#[derive(Debug)]
pub enum AppNode {
    /// The node is running.
    Running(Node),
    /// Starting the node failed.
    Failed(IpcError),
}

impl AppNode {
    /// The running node, or the start-up error as an IPC error.
    pub fn get(&self) -> Result<&Node, IpcError> {
        match self {
            AppNode::Running(node) => Ok(node),
            AppNode::Failed(err) => Err(err.clone()),
        }
    }
}
