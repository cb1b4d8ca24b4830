//! A snapshot of what a node is and holds, for `zks status` and the UI.

use std::path::PathBuf;

use serde::Serialize;

/// Everything `zks status` and the desktop status bar show.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NodeStatus {
    /// Version of this build.
    pub version: String,
    /// The data directory in use.
    pub data_dir: PathBuf,
    /// Seconds since the node started.
    pub uptime_secs: u64,
    /// The database.
    pub database: DatabaseStatus,
    /// The beacon cache.
    pub grid: GridStatus,
    /// What the home's running daemon (or app) reports of its grid: peers,
    /// seeding, per-source counters (`None` when none runs).
    pub live: Option<crate::LiveGrid>,
}

/// The beacon cache part of [`NodeStatus`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GridStatus {
    /// Where the cache lives.
    pub cache_dir: PathBuf,
    /// Bytes of chunk files.
    pub cache_bytes: u64,
    /// Coverage of every known chain.
    pub chains: Vec<ChainCoverage>,
}

/// How much of one chain the cache holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChainCoverage {
    /// Chain name.
    pub name: String,
    /// Chain hash (hex).
    pub hash: String,
    /// Rounds published by now (the chain head).
    pub head: u64,
    /// Rounds held.
    pub rounds: u64,
    /// Per chunk with any round: (chunk index, rounds held of 16384).
    pub chunks: Vec<(u64, u64)>,
}

/// The database part of [`NodeStatus`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatabaseStatus {
    /// The database file.
    pub path: PathBuf,
    /// Schema version the database is at.
    pub schema_version: u32,
    /// Version of the linked SQLite library.
    pub sqlite_version: String,
    /// How the home key that encrypts the database is kept.
    pub key_protection: crate::KeyProtection,
}
