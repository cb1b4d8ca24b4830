//! IPC commands, one module per domain. Each command is a thin wrapper over
//! a plain function taking the [`AppNode`](crate::state::AppNode) so it is
//! testable without a window.

pub mod chat;
pub mod devices;
pub mod files;
pub mod grid;
pub mod groups;
pub mod node;
pub mod pairing;
pub mod settings;
pub mod vault;
