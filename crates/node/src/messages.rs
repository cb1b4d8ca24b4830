//! Sealing and opening messages for a contact, in either mode, with the
//! session state or pad ledger stored before an envelope leaves and together
//! with every message received. A message that fails to open changes nothing.

use std::cell::RefCell;

use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::envelope::Body;
use zks_pad::file::FileMessage;
use zks_pad::truepad::{self, claimed_range};
use zks_pad::{Envelope, Mode, PadBook, Session};
use zks_store::{ContactRecord, NewMessage, TransferChange};

use crate::beacons::{StoreRounds, binding, now_secs};
use crate::pads::{book_of, read_range, wipe_range};
use crate::{Node, NodeError};

/// What protects a message, in the words the UI shows.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Grid pad: post-quantum computational security.
    PostQuantum,
    /// True pad: information-theoretic secrecy.
    PerfectSecrecy,
}

impl Protection {
    /// The label shown next to the message.
    pub fn label(self) -> &'static str {
        match self {
            Protection::PostQuantum => "Post-quantum encrypted",
            Protection::PerfectSecrecy => "Perfect secrecy (one-time pad)",
        }
    }

    fn of(mode: Mode) -> Protection {
        match mode {
            Mode::Grid => Protection::PostQuantum,
            Mode::Pad => Protection::PerfectSecrecy,
        }
    }
}

/// A sealed message, ready to hand over.
#[derive(Debug, Clone, Serialize)]
pub struct Sealed {
    /// The envelope bytes.
    #[serde(skip)]
    pub envelope: Vec<u8>,
    /// What protects it.
    pub protection: Protection,
    /// The beacon round the key is bound to (grid pad).
    pub round: Option<u64>,
    /// Pad bytes left for sending afterwards (true pad).
    pub pad_left: Option<u64>,
}

/// An opened message.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedMessage {
    /// The contact who sent it.
    pub from: String,
    /// The plaintext.
    #[serde(skip)]
    pub plaintext: Vec<u8>,
    /// What protected it.
    pub protection: Protection,
    /// The beacon round its key was bound to: it was sealed no earlier.
    pub round: Option<u64>,
    /// The beacon chain (hex) of that round.
    pub chain_hash: Option<String>,
    /// What a file-transfer control message did.
    #[serde(skip)]
    pub file: Option<crate::files::FileNotice>,
}

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
}

impl Outgoing {
    /// A chat message. Text may not start with a NUL byte, which marks
    /// file-transfer control messages.
    pub(crate) fn text(plaintext: &[u8]) -> Result<Outgoing, NodeError> {
        if FileMessage::is_file_message(plaintext) {
            return Err(NodeError::BadInput(
                "a message cannot start with a NUL byte".into(),
            ));
        }
        Ok(Outgoing {
            plaintext: Zeroizing::new(plaintext.to_vec()),
            kind: "text",
            body: plaintext.to_vec(),
            transfer: None,
        })
    }
}

impl Node {
    /// Seals `plaintext` for `contact` in `mode`. The session or pad ledger
    /// is stored before this returns, so the envelope may then leave.
    pub fn seal(&self, contact: &str, plaintext: &[u8], mode: Mode) -> Result<Sealed, NodeError> {
        self.seal_inner(contact, mode, false, |_, _| Outgoing::text(plaintext))
            .map(|(sealed, _)| sealed)
    }

    /// Seals what `prepare` makes, and with `queue` also puts the envelope
    /// in the outbox in the same transaction; returns the outgoing message's
    /// id when queued. In pad mode `prepare` sees the pad book and may
    /// reserve more of it (a file's range); the book is stored with the
    /// message's own reservation before any pad byte is read.
    pub(crate) fn seal_inner(
        &self,
        contact: &str,
        mode: Mode,
        queue: bool,
        prepare: impl FnOnce(&ContactRecord, Option<&mut PadBook>) -> Result<Outgoing, NodeError>,
    ) -> Result<(Sealed, Option<i64>), NodeError> {
        self.with_store_mut(|store| {
            let record = store.contact(contact)?;
            match mode {
                Mode::Grid => {
                    let out = prepare(&record, None)?;
                    let plaintext = out.plaintext.as_slice();
                    let mut session = Session::from_bytes(&session_of(store, &record)?)
                        .map_err(|e| NodeError::BadInput(format!("the stored session is damaged: {e}")))?;
                    let binding = binding(store)?;
                    let envelope = session.seal(&binding, plaintext, now_secs(), &mut rand_core::OsRng)?;
                    let message = NewMessage {
                        outgoing: true,
                        mode: "grid".into(),
                        kind: out.kind.into(),
                        body: out.body.clone(),
                        chain_hash: Some(binding.chain_hash.to_vec()),
                        round: Some(binding.round),
                        transfer: out.transfer.clone(),
                    };
                    let queued = if queue {
                        let state = session.to_bytes();
                        Some(store.record_outgoing(record.id, Some(&state), &message, &envelope)?.0)
                    } else {
                        store.record_message(record.id, Some(&session.to_bytes()), None, &message)?;
                        None
                    };
                    let sealed = Sealed {
                        envelope,
                        protection: Protection::PostQuantum,
                        round: Some(binding.round),
                        pad_left: None,
                    };
                    Ok((sealed, queued))
                }
                Mode::Pad => {
                    let pad = store.pad(record.id)?.ok_or_else(|| {
                        NodeError::BadInput(format!(
                            "no one-time pad is shared with {contact}; exchange one in person and `zks pad import` it"
                        ))
                    })?;
                    let mut book = book_of(&pad, &record.role)?;
                    let out = prepare(&record, Some(&mut book))?;
                    let plaintext = out.plaintext.as_slice();
                    let range = book.reserve(plaintext.len() as u64)?;
                    // The ledger is committed before the bytes are used: a
                    // crash from here on wastes them but never reuses them.
                    store.reserve_pad(record.id, book.used)?;
                    let file = &self.pad_file(&pad)?;
                    let mut bytes = read_range(file, &range)?;
                    let session_id = session_id_of(&record.session_id)?;
                    let envelope = truepad::seal(
                        &session_id,
                        book.role,
                        book.pad_id,
                        range.start,
                        &mut bytes,
                        plaintext,
                    );
                    wipe_range(file, &range)?;
                    let message = NewMessage {
                        outgoing: true,
                        mode: "pad".into(),
                        kind: out.kind.into(),
                        body: out.body.clone(),
                        chain_hash: None,
                        round: None,
                        transfer: out.transfer.clone(),
                    };
                    let queued = if queue {
                        Some(store.record_outgoing(record.id, None, &message, &envelope)?.0)
                    } else {
                        store.record_message(record.id, None, None, &message)?;
                        None
                    };
                    let sealed = Sealed {
                        envelope,
                        protection: Protection::PerfectSecrecy,
                        round: None,
                        pad_left: Some(book.left()),
                    };
                    Ok((sealed, queued))
                }
            }
        })
    }

    /// Opens an envelope from one of our contacts and records the message.
    pub fn open(&self, bytes: &[u8]) -> Result<OpenedMessage, NodeError> {
        self.open_from(bytes, None)
    }

    /// Opens an envelope; with `peer`, only if that PeerId is the contact's
    /// (a message relayed by another device is refused).
    pub(crate) fn open_from(
        &self,
        bytes: &[u8],
        peer: Option<&str>,
    ) -> Result<OpenedMessage, NodeError> {
        let envelope = Envelope::parse(bytes)?;
        let auto_accept = self.auto_accepts_files();
        let opened = self.with_store_mut(|store| {
            let record = store.contact_by_session(&envelope.session_id)?.ok_or_else(|| {
                NodeError::BadInput(
                    "this message is not from any of your contacts (unknown conversation)".into(),
                )
            })?;
            if let Some(peer) = peer
                && peer != record.peer_id
            {
                return Err(NodeError::BadInput(format!(
                    "this message for the conversation with {} came from another device",
                    record.name
                )));
            }
            match &envelope.body {
                Body::Grid(_) => {
                    let mut session = Session::from_bytes(&session_of(store, &record)?)
                        .map_err(|e| NodeError::BadInput(format!("the stored session is damaged: {e}")))?;
                    let rounds =
                        StoreRounds { store, now: now_secs(), verified: RefCell::new(Vec::new()) };
                    let opened = session.open(&envelope, &rounds, now_secs(), &mut rand_core::OsRng)?;
                    let verified = rounds.verified.into_inner();
                    let incoming =
                        crate::files::incoming(store, &record, &opened.plaintext, Mode::Grid, None, auto_accept)?;
                    for (chain, beacon) in verified {
                        store.add_verified_beacons(&chain.0, &[beacon])?;
                    }
                    let message = NewMessage {
                        outgoing: false,
                        mode: "grid".into(),
                        kind: incoming.kind.into(),
                        body: incoming.body,
                        chain_hash: Some(opened.chain_hash.to_vec()),
                        round: Some(opened.round),
                        transfer: incoming.transfer,
                    };
                    store.record_message(record.id, Some(&session.to_bytes()), None, &message)?;
                    Ok(OpenedMessage {
                        from: record.name,
                        plaintext: opened.plaintext,
                        protection: Protection::of(Mode::Grid),
                        round: Some(opened.round),
                        chain_hash: Some(hex::encode(opened.chain_hash)),
                        file: incoming.notice,
                    })
                }
                Body::Pad(_) => {
                    let pad = store.pad(record.id)?.ok_or_else(|| {
                        NodeError::BadInput(format!(
                            "this message from {} uses a one-time pad, but none is imported for them",
                            record.name
                        ))
                    })?;
                    let mut book = book_of(&pad, &record.role)?;
                    let range = claimed_range(&envelope)
                        .ok_or_else(|| NodeError::BadInput("the pad range is invalid".into()))?;
                    book.accept(range.clone())?;
                    let file = &self.pad_file(&pad)?;
                    let mut bytes = read_range(file, &range)?;
                    let plaintext = truepad::open(&envelope, &book.pad_id, &mut bytes)?;
                    let incoming = crate::files::incoming(
                        store,
                        &record,
                        &plaintext,
                        Mode::Pad,
                        Some(&mut book),
                        auto_accept,
                    )?;
                    let received: Vec<(u64, u64)> =
                        book.received.iter().map(|r| (r.start, r.end)).collect();
                    let message = NewMessage {
                        outgoing: false,
                        mode: "pad".into(),
                        kind: incoming.kind.into(),
                        body: incoming.body,
                        chain_hash: None,
                        round: None,
                        transfer: incoming.transfer,
                    };
                    store.record_message(record.id, None, Some(&received), &message)?;
                    wipe_range(file, &range)?;
                    Ok(OpenedMessage {
                        from: record.name,
                        plaintext,
                        protection: Protection::of(Mode::Pad),
                        round: None,
                        chain_hash: None,
                        file: incoming.notice,
                    })
                }
            }
        })?;
        if let Some(notice) = &opened.file {
            self.after_file_message(&opened.from, notice);
        }
        Ok(opened)
    }
}

/// A contact's stored session state; a contact restored from a backup has
/// none (keys are never restored) and must be paired again.
fn session_of(store: &zks_store::Store, record: &ContactRecord) -> Result<Vec<u8>, NodeError> {
    let state = store.session_state(record.id)?;
    if state.is_empty() {
        return Err(NodeError::BadInput(format!(
            "{} was restored from a backup, which never holds message keys; pair with them again to continue",
            record.name
        )));
    }
    Ok(state)
}

fn session_id_of(bytes: &[u8]) -> Result<[u8; 16], NodeError> {
    bytes
        .try_into()
        .map_err(|_| NodeError::BadInput("the stored session id is damaged".into()))
}
