//! The one API every front end uses: a [`Node`] handle that owns the store,
//! the grid and the messaging of one data directory, plus a stream of
//! [`NodeEvent`]s.
//!
//! The desktop app and the `zks` CLI are thin adapters over this crate;
//! anything one of them can do, the other can do through the same calls.
//! This crate never talks to a window or a terminal.

mod backup;
mod beacons;
mod car;
mod clock;
mod content;
mod conversation;
mod daemon;
mod delivery;
mod devices;
mod error;
mod files;
mod groups;
mod history;
mod home;
mod link;
mod logging;
mod mailbox;
mod network;
mod node;
mod online;
mod pads;
mod pairing;
mod proof;
mod reach;
mod rendezvous;
mod sealing;
mod search;
mod settings;
mod status;
#[cfg(test)]
mod test_support;
mod timelock;
mod vault;
pub mod wire;

pub use backup::RestoreReport;
pub use beacons::{BeaconImport, MAX_ROUND_AHEAD_SECS};
pub use car::{CarChunk, CarExport, CarImport, PartialChunk, RefusedChunk};
pub use content::safe_file_name;
pub use conversation::{ChatEntry, MessageReaction, Quote};
pub use daemon::DaemonInfo;
pub use delivery::{ACK_BUSY, ACK_DUPLICATE, ACK_OK, QueuedMessage};
pub use devices::{DeviceInfo, DevicesView};
pub use error::NodeError;
pub use files::TransferInfo;
pub use groups::{
    GroupDelivery, GroupFile, GroupInfo, GroupMember, GroupMessage, GroupNotice, GroupQuote,
    GroupReactionInfo,
};
pub use history::{HistoryPlan, HistoryProgress, HistoryReport, MAX_HISTORY_ROUNDS, PinnedRange};
pub use home::DataDir;
pub use logging::init_logging;
pub use mailbox::{MAILBOX_AFTER_SECS, MAILBOX_HOSTS, POLL_EVERY};
pub use network::{GridSources, SeedPlan, Seeder};
pub use node::{Node, NodeConfig, NodeEvent};
pub use online::{OnlineConfig, listen_addresses};
pub use pads::{MAX_PAD, PadStatus, create_pad_file, destroy_file};
pub use pairing::{
    AcceptedInvite, Contact, DisplayName, FINISH_GRACE_SECS, InviteCode, MAX_DISPLAY_NAME,
    NAME_NOT_CHOSEN, NOT_COMPARED, check_display_name, decode_code_input,
};
pub use proof::{NotBeforeProof, PROOF_FORMAT, ProofCheck, verify_proof};
pub use sealing::{OpenedMessage, Protection, Sealed};
pub use search::{MAX_SEARCH_HITS, SearchHit};
pub use settings::{
    DEFAULT_BOOTSTRAP, DEFAULT_DRAND_URLS, MAX_MAILBOX_CAP_MB, MIN_CACHE_BUDGET, Settings,
};
pub use status::{ChainCoverage, DatabaseStatus, GridStatus, LiveGrid, NodeStatus, SeedStatus};
pub use timelock::MAX_OPEN_AHEAD_SECS;
pub use vault::{
    KEY_FILE, KeyChange, KeyProtection, MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV, Unlock, VaultState,
    WEAK_KDF_ENV, keyring_available, vault_state,
};
pub use zks_pad::Mode;
pub use zks_store::TransferState;

/// Version of this build of the ZKS Entropy Grid.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
