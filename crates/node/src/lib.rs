//! The one API every front end uses: a [`Node`] handle that owns the store,
//! the grid and the messaging of one data directory, plus a stream of
//! [`NodeEvent`]s.
//!
//! The desktop app and the `zks` CLI are thin adapters over this crate;
//! anything one of them can do, the other can do through the same calls.
//! This crate never talks to a window or a terminal.

mod backup;
mod beacons;
mod daemon;
mod error;
mod files;
mod grid;
mod home;
mod logging;
mod messages;
mod messaging;
mod node;
mod pads;
mod pairing;
mod settings;
mod status;
mod vault;
pub mod wire;

pub use backup::RestoreReport;
pub use beacons::{BeaconImport, MAX_CLOCK_SKEW_SECS};
pub use daemon::DaemonInfo;
pub use error::NodeError;
pub use files::{TransferInfo, safe_file_name};
pub use grid::{GridSources, LiveGrid, SeedPlan, SeedStatus, Seeder};
pub use home::DataDir;
pub use logging::init_logging;
pub use messages::{OpenedMessage, Protection, Sealed};
pub use messaging::{
    ACK_BUSY, ACK_DUPLICATE, ACK_OK, OnlineConfig, QueuedMessage, listen_addresses,
};
pub use node::{Node, NodeConfig, NodeEvent};
pub use pads::{MAX_PAD, PadStatus, create_pad_file, destroy_file};
pub use pairing::{AcceptedInvite, Contact, FINISH_GRACE_SECS, InviteCode, decode_code_input};
pub use settings::{DEFAULT_DRAND_URLS, MIN_CACHE_BUDGET, Settings};
pub use status::{ChainCoverage, DatabaseStatus, GridStatus, NodeStatus};
pub use vault::{
    KEY_FILE, KeyChange, KeyProtection, MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV, Unlock, VaultState,
    WEAK_KDF_ENV, keyring_available, vault_state,
};
pub use zks_pad::Mode;

/// Version of this build of the ZKS Entropy Grid.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
