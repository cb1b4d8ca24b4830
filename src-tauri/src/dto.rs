//! Data shapes that cross IPC, kept in one place so the TypeScript side
//! (`ui/src/lib/ipc.ts`) mirrors one module.

pub use zks_node::{NodeEvent, NodeStatus};

/// Name of the Tauri event that carries every [`NodeEvent`] to the window.
pub const NODE_EVENT: &str = "node-event";
