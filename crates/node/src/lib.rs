//! The one API every front end uses: a [`Node`] handle that owns the store,
//! the grid and the messaging of one data directory, plus a stream of
//! [`NodeEvent`]s.
//!
//! The desktop app and the `zks` CLI are thin adapters over this crate;
//! anything one of them can do, the other can do through the same calls.
//! This crate never talks to a window or a terminal.

mod error;
mod home;
mod logging;
mod node;
mod status;

pub use error::NodeError;
pub use home::DataDir;
pub use logging::init_logging;
pub use node::{Node, NodeConfig, NodeEvent};
pub use status::{DatabaseStatus, NodeStatus};

/// Version of this build of the ZKS Entropy Grid.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
