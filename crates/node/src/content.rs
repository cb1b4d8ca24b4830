//! What a message's plaintext carries: chat text, or a file-transfer
//! control message (offer, decline, cancel, done) and the transfer change
//! stored with it. Sealing (`sealing`) and file transfer
//! (`files`) both build on these types, so neither needs the other
//! to say what a message is. File names offered by a peer are made safe
//! here, before anything stores them.

use zeroize::Zeroizing;
use zks_pad::file::{FileMessage, FileProtection, TransferId};
use zks_pad::{Mode, PadBook};
use zks_store::{
    ContactRecord, ConversationChange, NewTransfer, Store, TransferChange, TransferState,
};

use crate::wire::chat::ChatControl;

use crate::NodeError;

/// What an outgoing message carries: the plaintext to seal and what the
/// history keeps of it.
pub(crate) struct Outgoing {
    /// The plaintext sealed in the envelope.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// `text`, `file` or `control`.
    pub kind: &'static str,
    /// What the history shows (the text, or a file's name).
    pub body: Vec<u8>,
    /// The transfer the message creates or moves.
    pub transfer: Option<TransferChange>,
    /// What a conversation control message changes.
    pub change: Option<ConversationChange>,
    /// The ref of the message a reply quotes.
    pub reply_to: Option<Vec<u8>>,
    /// The round a timelocked message opens at.
    pub timelock: Option<zks_store::Timelock>,
    /// What a group copy stores of its group.
    pub group: Option<zks_store::GroupChange>,
}

impl Outgoing {
    /// A chat message. Text may not start with a NUL byte, which marks
    /// file-transfer control messages.
    pub(crate) fn text(plaintext: &[u8]) -> Result<Outgoing, NodeError> {
        if plaintext.first() == Some(&0) {
            return Err(NodeError::BadInput(
                "a message cannot start with a NUL byte".into(),
            ));
        }
        Ok(Outgoing {
            plaintext: Zeroizing::new(plaintext.to_vec()),
            kind: "text",
            body: plaintext.to_vec(),
            transfer: None,
            change: None,
            reply_to: None,
            timelock: None,
            group: None,
        })
    }

    /// A conversation control message with what it changes here; a reply
    /// is chat text quoting a message.
    pub(crate) fn control(control: &ChatControl, change: Option<ConversationChange>) -> Outgoing {
        let (kind, body, reply_to) = recorded(control);
        Outgoing {
            plaintext: Zeroizing::new(control.encode()),
            kind,
            body,
            transfer: None,
            change,
            reply_to,
            timelock: None,
            group: None,
        }
    }
}

/// What the history keeps of a conversation control message, on both
/// sides: its kind, body and quoted ref. A reply is chat text; the others
/// are `control` bookkeeping whose body only names what they did (never
/// the text they carry: an edit's text lives in the edited message only;
/// who set the timer when is kept with the contact).
pub(crate) fn recorded(control: &ChatControl) -> (&'static str, Vec<u8>, Option<Vec<u8>>) {
    let tag = |t: &str| ("control", t.as_bytes().to_vec(), None);
    match control {
        ChatControl::Reply { to, text } => ("text", text.clone(), Some(to.to_vec())),
        ChatControl::Timer { .. } => tag("timer"),
        ChatControl::React { .. } => tag("react"),
        ChatControl::Edit { .. } => tag("edit"),
        ChatControl::Delete { .. } => tag("delete"),
        // The text is not known until the round: the body starts empty.
        ChatControl::Timelocked { .. } => ("text", Vec::new(), None),
    }
}

/// What an incoming file-transfer control message did (handled after its
/// transaction committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileNotice {
    /// A new offer arrived.
    Offered(TransferId),
    /// The sender cancelled, or the receiver declined, cancelled or finished.
    Closed(TransferId),
}

/// What `open` records for an incoming plaintext.
pub(crate) struct Incoming {
    pub kind: &'static str,
    pub body: Vec<u8>,
    pub transfer: Option<TransferChange>,
    pub notice: Option<FileNotice>,
    pub change: Option<ConversationChange>,
    pub reply_to: Option<Vec<u8>>,
    pub timelock: Option<zks_store::Timelock>,
    /// What a group message did (acted on after its transaction).
    pub group: Option<crate::groups::GroupNotice>,
    /// What a group message stores of its group.
    pub group_change: Option<zks_store::GroupChange>,
}

impl Incoming {
    /// A message of `kind` that only records `body`: it changes nothing.
    pub(crate) fn plain(kind: &'static str, body: &[u8]) -> Incoming {
        Incoming {
            kind,
            body: body.to_vec(),
            transfer: None,
            notice: None,
            change: None,
            reply_to: None,
            timelock: None,
            group: None,
            group_change: None,
        }
    }
}

/// Classifies an opened plaintext: chat text, or a file-transfer control
/// message with the transfer change to record with it. In pad mode an offer
/// claims its file range in `book` (refused if those bytes were used).
/// `mine`: a copy of chat we sent from another device of ours (decision
/// 0072), which acts as our own.
pub(crate) fn incoming(
    store: &Store,
    contact: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
    book: Option<&mut PadBook>,
    auto_accept: bool,
    mine: bool,
) -> Result<Incoming, NodeError> {
    if ChatControl::is_chat_control(plaintext) {
        return crate::conversation::incoming(store, contact, plaintext, mode, mine);
    }
    if mine && plaintext.first() == Some(&0) {
        return Err(NodeError::BadInput(
            "a copy of a sent message that is not chat".into(),
        ));
    }
    if crate::wire::group::GroupWire::is_group_message(plaintext) {
        return crate::groups::incoming(store, contact, plaintext, mode);
    }
    if !FileMessage::is_file_message(plaintext) {
        return Ok(Incoming::plain("text", plaintext));
    }
    let message = FileMessage::parse(plaintext)
        .map_err(|e| NodeError::BadInput(format!("a damaged file-transfer message: {e}")))?;
    let id = message.id();
    let existing = store.transfer(&id)?;
    let control = |state: TransferState, error: Option<String>| {
        Ok(Incoming {
            kind: "control",
            body: state.as_str().as_bytes().to_vec(),
            transfer: Some(TransferChange::State {
                transfer_id: id.to_vec(),
                state,
                error,
            }),
            notice: Some(FileNotice::Closed(id)),
            change: None,
            reply_to: None,
            timelock: None,
            group: None,
            group_change: None,
        })
    };
    let ours = existing.as_ref().filter(|t| t.contact_id == contact.id);
    match message {
        FileMessage::Offer(offer) => {
            if existing.is_some() {
                return Err(NodeError::BadInput(
                    "this file offer reuses a transfer id already seen".into(),
                ));
            }
            if offer.mode() != mode {
                return Err(NodeError::BadInput(
                    "a file offer must travel in the mode of its file".into(),
                ));
            }
            // A timelocked file: its round is checked like a message's.
            let timelock = offer
                .timelock
                .as_ref()
                .map(|lock| crate::timelock::incoming_file_lock(store, lock))
                .transpose()?;
            let mut pad_id = None;
            if let (Some(book), Some(range)) = (book, offer.pad_range()) {
                book.accept(range)?;
                pad_id = Some(book.pad_id.to_vec());
            }
            let name = safe_file_name(&offer.name);
            let (secret, pad_offset) = match &offer.protection {
                FileProtection::Grid { key } => (Some(key.to_vec()), None),
                FileProtection::Pad { offset } => (None, Some(*offset)),
            };
            Ok(Incoming {
                kind: "file",
                body: name.clone().into_bytes(),
                transfer: Some(TransferChange::Create(Box::new(NewTransfer {
                    transfer_id: id.to_vec(),
                    outgoing: false,
                    name,
                    size: offer.size,
                    blake3: offer.blake3.to_vec(),
                    chunk_size: offer.chunk_size,
                    mode: mode_name(mode).into(),
                    secret,
                    pad_offset,
                    pad_id,
                    path: String::new(),
                    chunk_hashes: None,
                    state: if auto_accept {
                        TransferState::Accepted
                    } else {
                        TransferState::Offered
                    },
                    timelock,
                }))),
                notice: Some(FileNotice::Offered(id)),
                change: None,
                reply_to: None,
                timelock: None,
                group: None,
                group_change: None,
            })
        }
        // Only the receiver of our offer declines or finishes it.
        FileMessage::Decline(_) if ours.is_some_and(|t| t.outgoing) => {
            control(TransferState::Declined, None)
        }
        FileMessage::Done(_) if ours.is_some_and(|t| t.outgoing) => {
            control(TransferState::Completed, None)
        }
        FileMessage::Cancel(_) if ours.is_some() => control(
            TransferState::Cancelled,
            Some(format!("cancelled by {}", contact.name)),
        ),
        _ => Err(NodeError::BadInput(
            "a file-transfer message about a transfer this contact does not share".into(),
        )),
    }
}

/// The store's name of a mode (`grid` or `pad`).
pub(crate) fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Grid => "grid",
        Mode::Pad => "pad",
    }
}

/// A file name from a peer made safe to create in the downloads folder: the
/// last path component, no control or reserved characters, not `.`/`..`,
/// at most 200 bytes; `file` if nothing is left.
pub fn safe_file_name(offered: &str) -> String {
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    if out.is_empty() { "file".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_names_are_made_safe() {
        for (offered, safe) in [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\x\\evil.exe", "evil.exe"),
            ("..", "file"),
            ("", "file"),
            ("   ", "file"),
            (".hidden", "hidden"),
            ("a\u{0}b\nc.txt", "a_b_c.txt"),
            ("what?<>|.txt", "what____.txt"),
            ("trailing. ", "trailing"),
        ] {
            assert_eq!(safe_file_name(offered), safe, "{offered:?}");
        }
        let long = "é".repeat(300);
        let cut = safe_file_name(&long);
        assert!(cut.len() <= 200 && cut.chars().all(|c| c == 'é'));
    }
}
