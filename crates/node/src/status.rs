//! A snapshot of what a node is and holds, for `zks status` and the UI.

use std::path::PathBuf;

use serde::Serialize;

/// Everything `zks status` and the desktop status bar show.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStatus {
    /// Version of this build.
    pub version: String,
    /// The data directory in use.
    pub data_dir: PathBuf,
    /// Seconds since the node started.
    pub uptime_secs: u64,
    /// The database.
    pub database: DatabaseStatus,
}

/// The database part of [`NodeStatus`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DatabaseStatus {
    /// The database file.
    pub path: PathBuf,
    /// Schema version the database is at.
    pub schema_version: u32,
    /// Version of the linked SQLite library.
    pub sqlite_version: String,
}
