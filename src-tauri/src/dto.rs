//! Data shapes that cross IPC, kept in one place. Their TypeScript types
//! (`ui/src/lib/bindings/`, imported by `ui/src/lib/ipc.ts`) are generated
//! from these and from the node's types they include; see `bindings.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use zks_node::{
    ChainCoverage, Contact, GridStatus, HistoryProgress, HistoryReport, LiveGrid, MessageReaction,
    NodeEvent, NodeStatus, PadStatus, PinnedRange, QueuedMessage, Quote, SearchHit, SeedStatus,
    Settings, TransferInfo,
};

/// Name of the Tauri event that carries every [`NodeEvent`] to the window.
pub const NODE_EVENT: &str = "node-event";

/// Name of the Tauri event that carries a history fetch's
/// [`HistoryProgress`] to the window (about every half second).
pub const HISTORY_EVENT: &str = "history-progress";

/// A fresh invite as the Pairing screen shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct InviteCode {
    /// The `ZKS1:` text form, for copy and paste.
    pub text: String,
    /// Unix time (seconds) after which the invite is refused.
    pub expires_at: u64,
    /// The name the invite introduces us by.
    pub name: String,
    /// The QR code of `text`, a standalone SVG document.
    pub qr_svg: String,
    /// The invite link's `ZKS1:` text: a small QR code (version ≤ 10) a
    /// camera reads, the full invite then coming over the network from
    /// this app; `null` when this app has no address to give.
    pub link_text: Option<String>,
    /// The QR code of `link_text`.
    pub link_qr_svg: Option<String>,
    /// Its QR version (1–40; ≤ 10).
    pub link_qr_version: Option<u8>,
}

/// The result of accepting an invite: the reply to give back, and the contact.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct AcceptedInvite {
    /// The reply's `ZKS1:` text form.
    pub reply_text: String,
    /// The QR code of `reply_text` as an SVG document; `null` in the rare case
    /// it could not be drawn (the text still works).
    pub reply_qr_svg: Option<String>,
    /// The new contact.
    pub contact: Contact,
}

/// One message of a conversation as the Chat screen shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct ChatMessage {
    /// Its id in the history (increasing).
    pub id: i64,
    /// Sent by us.
    pub outgoing: bool,
    /// `grid` (post-quantum, grid pad) or `pad` (one-time pad).
    #[ts(type = "'grid' | 'pad'")]
    pub mode: String,
    /// `text` (a chat message) or `file` (a file offer; `text` is the file
    /// name, the transfer itself is the one in `transfers_list` whose
    /// `message_id` is this message's `id`).
    #[ts(type = "'text' | 'file'")]
    pub kind: String,
    /// The text (invalid UTF-8 replaced).
    pub text: String,
    /// The beacon round the key is bound to (grid pad).
    pub round: Option<u64>,
    /// Grid pad: the Unix time (seconds) that round was due, so the
    /// message was sealed no earlier ("sealed after …"); `null` for the
    /// one-time pad or a round of a chain this home does not know.
    pub sealed_after: Option<u64>,
    /// For outgoing messages: `queued`, `mailbox` (held by mailbox hosts
    /// while the contact is away), `delivered` or `failed`.
    #[ts(type = "'queued' | 'mailbox' | 'delivered' | 'failed' | null")]
    pub state: Option<String>,
    /// The last delivery error, if any.
    pub error: Option<String>,
    /// Unix time (seconds) it was stored.
    pub created_at: i64,
    /// The message it replies to.
    pub reply_to: Option<Quote>,
    /// Reactions to it, ours and the contact's (one each at most).
    pub reactions: Vec<MessageReaction>,
    /// Unix time (seconds) of its last edit.
    pub edited_at: Option<i64>,
    /// Deleted for everyone: `text` is empty and the bubble says so.
    pub deleted: bool,
    /// Unix time (seconds) it disappears (the conversation's timer).
    pub expires_at: Option<i64>,
    /// Timelocked (drand): Unix time (seconds) its round is published and
    /// it opens; `null` for other messages. Set on both sides.
    pub opens_at: Option<i64>,
    /// Timelocked: the drand round that opens it.
    pub opens_round: Option<u64>,
    /// Received, timelocked and not open yet: `text` is empty until then.
    pub locked: bool,
}

/// Unread messages per contact name: incoming chat messages and file offers
/// newer than the newest message the window marked as read there.
pub type UnreadCounts = BTreeMap<String, u64>;

/// A message accepted for sending.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct SentMessage {
    /// Its id in the history.
    pub message_id: i64,
    /// What protects it, in the words the UI shows.
    pub protection: String,
    /// The beacon round its key is bound to (grid pad).
    pub round: Option<u64>,
    /// One-time pad: the pad bytes it used.
    pub pad_used: Option<u64>,
    /// One-time pad: the bytes left for sending afterwards.
    pub pad_left: Option<u64>,
}

impl From<&QueuedMessage> for SentMessage {
    fn from(queued: &QueuedMessage) -> SentMessage {
        SentMessage {
            message_id: queued.message_id,
            protection: queued.protection.label().to_owned(),
            round: queued.round,
            pad_used: queued.pad_used,
            pad_left: queued.pad_left,
        }
    }
}

/// A one-time pad imported for a contact.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct PadImported {
    /// The pad as it is now shared.
    pub pad: PadStatus,
    /// Whether the given file was overwritten and deleted.
    pub destroyed: bool,
}

/// A file transfer as the Files screen shows it: the node's
/// [`TransferInfo`] (its fields inline) plus what protects it in the words
/// the UI shows, taken from the node so that only the one-time pad is ever
/// called perfect secrecy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct Transfer {
    /// The transfer as the node reports it.
    #[serde(flatten)]
    pub info: TransferInfo,
    /// "Post-quantum encrypted" or "Perfect secrecy (one-time pad)".
    pub protection_label: String,
}

impl From<TransferInfo> for Transfer {
    fn from(info: TransferInfo) -> Transfer {
        let protection_label = info.protection.label().to_owned();
        Transfer {
            info,
            protection_label,
        }
    }
}

/// What the Settings screen shows: the stored settings, the node's defaults
/// and limits, facts about this install, and the login entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct SettingsPage {
    /// The settings as stored (defaults for anything never set).
    pub settings: Settings,
    /// The public drand endpoints used when none are set
    /// (`zks_node::DEFAULT_DRAND_URLS`).
    pub default_drand_urls: Vec<String>,
    /// The bootstrap peers of a new home (the public network); an empty
    /// list makes a private grid, which "Use the public network" undoes.
    pub default_bootstrap: Vec<String>,
    /// The smallest beacon-cache budget the node accepts, in bytes.
    pub min_cache_budget_bytes: u64,
    /// This install.
    pub about: About,
    /// "Start seeding at login"; `None` where the app cannot do it (every
    /// platform but Linux, or no config folder is known).
    pub autostart: Option<Autostart>,
}

/// Facts about this install for the About section.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct About {
    /// Version of this build.
    pub version: String,
    /// The home (data folder) in use.
    pub data_dir: String,
    /// Where received files land.
    pub downloads_dir: String,
    /// Our PeerId.
    pub peer_id: String,
    /// The name our pairing codes introduce us by.
    pub name: String,
}

/// The settings the Settings screen edits. Everything else in
/// [`Settings`] is kept as stored: the seeding switch (the Grid screen and
/// the tray flip it) and the listen port (the node picks it once).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, TS)]
#[serde(deny_unknown_fields)]
pub struct SettingsEdit {
    /// Chains to seed, by name or hash.
    pub chains: Vec<String>,
    /// Peers to connect to first: public DHT servers, grid seeders or both
    /// (multiaddresses with `/p2p/…`); empty: a private grid.
    pub bootstrap: Vec<String>,
    /// drand HTTP API base URLs.
    pub drand_urls: Vec<String>,
    /// IPFS trustless gateways.
    pub gateways: Vec<String>,
    /// Beacon rounds served to peers per second (`None`: no cap).
    pub upload_rounds_per_sec: Option<u64>,
    /// Disk cap of the beacon cache in bytes.
    pub cache_budget_bytes: u64,
    /// Find peers on the local network.
    pub mdns: bool,
    /// Desktop notifications.
    pub notifications: bool,
    /// Minutes without use before the window locks a passphrase home (0:
    /// never). Absent: kept as stored, so the main form's save never undoes
    /// what the Security section saved.
    #[serde(default)]
    #[ts(optional)]
    pub auto_lock_minutes: Option<u32>,
    /// Disk cap, in MiB, of the mailboxes held for others while seeding
    /// (0: none). Absent: kept as stored.
    #[serde(default)]
    #[ts(optional)]
    pub mailbox_cap_mb: Option<u64>,
}

/// Settings after a save, and which of the changes wait for the node to go
/// online again.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct SavedSettings {
    /// The settings as now stored.
    pub settings: Settings,
    /// The changed settings that apply the next time the node goes online,
    /// in the words the window shows ("bootstrap peers", "upload cap", …).
    pub applies_later: Vec<String>,
}

/// The XDG autostart entry behind "Start seeding at login".
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct Autostart {
    /// The entry exists and starts this app on this home.
    pub enabled: bool,
    /// The entry's file.
    pub path: String,
    /// The command of an entry that starts something else (another home or
    /// another copy of the app); turning this on replaces it.
    pub other: Option<String>,
}

/// What the Grid screen shows live: the grid of the process serving this
/// home (this app, or a `zks daemon`), and the settings it is measured
/// against.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct GridLive {
    /// Peers, seeding and per-source counters; `None` when no process of
    /// this home is online.
    pub live: Option<LiveGrid>,
    /// `app` when this app serves the home, `daemon` when another process
    /// does, `None` when none does.
    #[ts(type = "'app' | 'daemon' | null")]
    pub served_by: Option<String>,
    /// The serving process's id.
    pub pid: Option<u32>,
    /// The serving process's listen addresses (with `/p2p/<peer id>`).
    pub addresses: Vec<String>,
    /// The stored seeding switch (the running seeder follows it).
    pub seeding: bool,
    /// The upload cap as set (applies when the node next goes online).
    pub upload_rounds_per_sec: Option<u64>,
    /// The cache budget as set (applies when the node next goes online).
    pub cache_budget_bytes: u64,
    /// How many bootstrap peers are set: with none the node stays off the
    /// public network (a private grid).
    pub bootstrap_peers: usize,
}

/// Whether the home is open, and how its key is protected (the Unlock
/// screen and the Settings screen's Security section).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct VaultStatus {
    /// `running`, `locked` (the window must unlock it) or `failed`.
    #[ts(type = "'running' | 'locked' | 'failed'")]
    pub state: &'static str,
    /// While locked: `unlock` (give the home's passphrase) or `create`
    /// (choose a passphrase for a new home).
    #[ts(type = "'unlock' | 'create' | null")]
    pub needs: Option<&'static str>,
    /// While locked for `create`: the home holds a database of a release
    /// before encryption at rest, which is encrypted on unlock.
    pub upgrade: bool,
    /// `passphrase` or `keyring` when known (running, or locked behind a
    /// passphrase).
    pub protection: Option<zks_node::KeyProtection>,
    /// Whether the OS keyring can keep a home key here.
    pub keyring_available: bool,
    /// The shortest passphrase a new home or a change accepts.
    pub min_passphrase_chars: usize,
    /// The home's folder, when known.
    pub data_dir: Option<String>,
    /// Why the node did not start (`failed`).
    pub error: Option<crate::error::IpcError>,
}
