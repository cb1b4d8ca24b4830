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
pub mod vault;

use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard};

use zks_node::{DataDir, Node};

use crate::error::IpcError;

/// What a locked home needs before its node can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A home protected with a passphrase: the passphrase.
    Unlock,
    /// A new home (or one from a release before encryption at rest) with no
    /// OS keyring to keep its key: a passphrase to choose.
    Create {
        /// The home has a database from an older release, which the first
        /// start encrypts (rather than a new, empty home).
        upgrade: bool,
    },
}

/// The node slot as the app holds it.
#[derive(Debug, Clone)]
pub enum NodeSlot {
    /// The node is running.
    Running(Node),
    /// The home is locked: no node runs until the window unlocks it.
    Locked {
        /// The home.
        data_dir: DataDir,
        /// What unlocking it needs.
        needs: Needs,
    },
    /// Starting the node failed (shown in the window instead of crashing).
    Failed(IpcError),
}

/// The node as the app holds it, managed by Tauri once at setup. The slot
/// changes at run time (unlock, lock), so it sits behind a lock; commands
/// take a clone of the running [`Node`] with [`AppNode::get`] and never hold
/// the lock across their work. Unlocking, locking and changing the
/// passphrase are serialised by a second (async) lock, held across the
/// Argon2id and the database work, so two of them never overlap.
/// Locking stops the node, which ends everything `serve_home` spawned (the
/// swarm, delivery, transfers, the grid) and releases the home.
pub struct AppNode {
    slot: RwLock<NodeSlot>,
    transition: tokio::sync::Mutex<()>,
    keyring: OnceLock<bool>,
}

impl std::fmt::Debug for AppNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppNode")
            .field("slot", &self.slot)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl AppNode {
    fn with(slot: NodeSlot) -> AppNode {
        AppNode {
            slot: RwLock::new(slot),
            transition: tokio::sync::Mutex::new(()),
            keyring: OnceLock::new(),
        }
    }

    /// An app whose node runs.
    pub fn running(node: Node) -> AppNode {
        AppNode::with(NodeSlot::Running(node))
    }

    /// An app whose home is locked.
    pub fn locked(data_dir: DataDir, needs: Needs) -> AppNode {
        AppNode::with(NodeSlot::Locked { data_dir, needs })
    }

    /// An app whose node could not start.
    pub fn failed(err: IpcError) -> AppNode {
        AppNode::with(NodeSlot::Failed(err))
    }

    fn read(&self) -> RwLockReadGuard<'_, NodeSlot> {
        self.slot.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the slot as it is now.
    pub fn slot(&self) -> NodeSlot {
        self.read().clone()
    }

    fn set(&self, slot: NodeSlot) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = slot;
    }

    /// The running node (a cheap clone of its handle), or why there is
    /// none: `locked` while the home waits for its passphrase, else the
    /// start-up error.
    pub fn get(&self) -> Result<Node, IpcError> {
        match &*self.read() {
            NodeSlot::Running(node) => Ok(node.clone()),
            NodeSlot::Locked { .. } => Err(locked_error()),
            NodeSlot::Failed(err) => Err(err.clone()),
        }
    }

    /// Whether the node runs.
    pub fn is_running(&self) -> bool {
        matches!(&*self.read(), NodeSlot::Running(_))
    }

    /// This app as on a machine without an OS keyring, whatever the test
    /// run's session has.
    #[cfg(test)]
    pub(crate) fn without_keyring(self) -> AppNode {
        let _ = self.keyring.set(false);
        self
    }

    /// Whether the OS keyring can keep a home key here (asked once: on
    /// Linux the probe talks to the session bus).
    pub fn keyring_available(&self) -> bool {
        *self.keyring.get_or_init(zks_node::keyring_available)
    }

    /// Whether the home waits to be unlocked.
    pub fn is_locked(&self) -> bool {
        matches!(&*self.read(), NodeSlot::Locked { .. })
    }
}

/// What every node command answers while the home is locked.
pub fn locked_error() -> IpcError {
    IpcError::new(
        "locked",
        "this home is locked; unlock it with its passphrase first",
    )
}
