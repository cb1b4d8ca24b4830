//! Data shapes that cross IPC, kept in one place so the TypeScript side
//! (`ui/src/lib/ipc.ts`) mirrors one module.

use std::collections::BTreeMap;

use serde::Serialize;

pub use zks_node::{
    ChainCoverage, Contact, GridStatus, NodeEvent, NodeStatus, PadStatus, TransferInfo,
};

/// Name of the Tauri event that carries every [`NodeEvent`] to the window.
pub const NODE_EVENT: &str = "node-event";

/// A fresh invite as the Pairing screen shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InviteCode {
    /// The `ZKS1:` text form, for copy and paste.
    pub text: String,
    /// Unix time (seconds) after which the invite is refused.
    pub expires_at: u64,
    /// The name the invite introduces us by.
    pub name: String,
    /// The QR code of `text`, a standalone SVG document.
    pub qr_svg: String,
}

/// The result of accepting an invite: the reply to give back, and the contact.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its id in the history (increasing).
    pub id: i64,
    /// Sent by us.
    pub outgoing: bool,
    /// `grid` (post-quantum, grid pad) or `pad` (one-time pad).
    pub mode: String,
    /// `text` (a chat message) or `file` (a file offer; `text` is the file
    /// name, the transfer itself is the one in `transfers_list` whose
    /// `message_id` is this message's `id`).
    pub kind: String,
    /// The text (invalid UTF-8 replaced).
    pub text: String,
    /// The beacon round the key is bound to (grid pad).
    pub round: Option<u64>,
    /// For outgoing messages: `queued`, `delivered` or `failed`.
    pub state: Option<String>,
    /// The last delivery error, if any.
    pub error: Option<String>,
    /// Unix time (seconds) it was stored.
    pub created_at: i64,
}

/// Unread messages per contact name: incoming chat messages and file offers
/// newer than the newest message the window marked as read there.
pub type UnreadCounts = BTreeMap<String, u64>;

/// A message accepted for sending.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SentMessage {
    /// Its id in the history.
    pub message_id: i64,
    /// What protects it, in the words the UI shows.
    pub protection: String,
    /// The beacon round its key is bound to (grid pad).
    pub round: Option<u64>,
}

/// A file transfer as the Files screen shows it: the node's
/// [`TransferInfo`] (its fields inline) plus what protects it in the words
/// the UI shows, taken from the node so that only the one-time pad is ever
/// called perfect secrecy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
