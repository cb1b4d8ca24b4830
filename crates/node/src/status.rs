//! A snapshot of what a node is and holds, for `zks status` and the UI.

use std::path::PathBuf;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zks_grid::SourceStats;

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
    pub live: Option<LiveGrid>,
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
    /// Seconds between rounds.
    pub period: u64,
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

/// What an online node's grid is doing, for `zks status` and the app.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveGrid {
    /// Connected peers.
    pub peers: usize,
    /// Seeding.
    pub seeding: SeedStatus,
    /// Counters per source (`cache`, `swarm`, `gateway`, `drand`).
    pub sources: BTreeMap<String, SourceStats>,
    /// The node's place in the networks: Amino DHT mode and peers, grid
    /// peers, reachability, relay slots.
    #[serde(default)]
    pub network: zks_grid::swarm::NetworkStatus,
    /// How each contact is connected now: `direct`, `relayed via <relay
    /// peer id>`, or `not connected`.
    #[serde(default)]
    pub contacts: BTreeMap<String, String>,
    /// Unix time of this report.
    pub at: u64,
}

/// How seeding is going.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeedStatus {
    /// Whether seeding is on.
    pub enabled: bool,
    /// Passes made since the node started.
    pub passes: u64,
    /// Unix time of the last pass.
    pub last_pass_at: Option<u64>,
    /// What went wrong in the last pass, if anything.
    pub last_error: Option<String>,
}
