//! Sealing and opening messages for a contact, in either mode, with the
//! session state or pad ledger stored before an envelope leaves and together
//! with every message received. A message that fails to open changes nothing.

use std::cell::RefCell;
use std::ops::Range;

use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::envelope::Body;
use zks_pad::truepad::{self, claimed_range};
use zks_pad::{Envelope, Mode, OpenError, PadBook, PadError, Session};
use zks_store::{ContactRecord, NewMessage};

use crate::beacons::CacheRounds;
use crate::clock::now_secs;
use crate::content::FileNotice;
use crate::content::Outgoing;
use crate::pads::{PadFile, book_of, read_range, sync_pad, wipe_range_unsynced};
use crate::wire::chat::ref_of;
use crate::{Node, NodeError, NodeEvent};

/// What protects a message, in the words the UI shows.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Pad bytes this message used (true pad: its length and its one-time
    /// MAC key, plus a file's bytes for a file offer).
    pub pad_used: Option<u64>,
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
    pub file: Option<crate::content::FileNotice>,
    /// What a group message did.
    #[serde(skip)]
    pub group: Option<crate::groups::GroupNotice>,
    /// What a device message did (decision 0072).
    #[serde(skip)]
    pub(crate) device: Option<crate::devices::DeviceNotice>,
    /// Not news for the person: a device message, or a copy of a message
    /// we sent from another device (no "new message" event).
    #[serde(skip)]
    pub quiet: bool,
}

impl Node {
    /// Seals `plaintext` for `contact` in `mode`. The session or pad ledger
    /// is stored before this returns, so the envelope may then leave.
    pub fn seal(&self, contact: &str, plaintext: &[u8], mode: Mode) -> Result<Sealed, NodeError> {
        let (sealed, _) =
            self.seal_inner(contact, mode, false, |_, _| Outgoing::text(plaintext))?;
        // The envelope leaves with the caller: what sealed it must outlast
        // a power loss first.
        self.make_durable_for(contact)?;
        Ok(sealed)
    }

    /// Makes what sealed the envelopes handed out for `contact` so far
    /// survive a power loss: the database's log (session states, pad
    /// reservations) and the contact's pad copy (its wiped bytes). One call
    /// covers a whole batch.
    pub(crate) fn make_durable_for(&self, contact: &str) -> Result<(), NodeError> {
        // The syncs run without the store, so sealing and opening go on.
        let (wal, pad) = self.with_store(|store| {
            let record = store.contact(contact)?;
            Ok((store.durability(), store.active_pad(record.id)?))
        })?;
        wal.sync()?;
        if let Some(pad) = pad {
            crate::pads::sync_pad(&self.pad_file(&pad)?.path)?;
        }
        Ok(())
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
        match mode {
            Mode::Grid => self.seal_grid(contact, queue, prepare),
            Mode::Pad => self.seal_pad(contact, queue, prepare),
        }
    }

    /// Grid pad: the session is read, advanced and stored with the message
    /// in one `BEGIN IMMEDIATE` transaction, so two processes sealing on
    /// one home never derive the same message key; the envelope exists
    /// only once that transaction committed.
    fn seal_grid(
        &self,
        contact: &str,
        queue: bool,
        prepare: impl FnOnce(&ContactRecord, Option<&mut PadBook>) -> Result<Outgoing, NodeError>,
    ) -> Result<(Sealed, Option<i64>), NodeError> {
        self.with_store_mut(|store| {
            store.atomically(|store| {
                let record = store.contact(contact)?;
                let out = prepare(&record, None)?;
                let binding = self.current_binding(store)?;
                let (sealed, queued) = self.seal_grid_in(store, &record, &out, &binding, queue)?;
                if queue {
                    // The person's other devices and ours get their copies
                    // in the same transaction (decision 0072).
                    let reference = ref_of(&sealed.envelope);
                    self.device_copies(store, &record, &out, &reference, &binding)?;
                }
                Ok((sealed, queued))
            })
        })
    }

    /// Inside a transaction: seals `out` for `record` under the grid pad,
    /// advancing its stored session, and records it (queued for delivery
    /// with `queue`).
    pub(crate) fn seal_grid_in(
        &self,
        store: &mut zks_store::Store,
        record: &ContactRecord,
        out: &Outgoing,
        binding: &zks_pad::RoundBinding,
        queue: bool,
    ) -> Result<(Sealed, Option<i64>), NodeError> {
        let plaintext = out.plaintext.as_slice();
        let mut session = Session::from_bytes(&session_of(store, record)?)
            .map_err(|e| NodeError::Corrupt(format!("the stored session is damaged: {e}")))?;
        let (envelope, message_key) =
            session.seal_disclosing(binding, plaintext, now_secs(), &mut rand_core::OsRng)?;
        // Plain chat text keeps what a not-before proof discloses.
        let proof = (out.kind == "text" && plaintext == out.body.as_slice())
            .then(|| (envelope.clone(), message_key.to_vec()));
        let message = NewMessage {
            outgoing: true,
            mode: "grid".into(),
            kind: out.kind.into(),
            body: out.body.clone(),
            chain_hash: Some(binding.chain_hash.to_vec()),
            round: Some(binding.round),
            transfer: out.transfer.clone(),
            reference: Some(ref_of(&envelope).to_vec()),
            reply_to: out.reply_to.clone(),
            change: out.change.clone(),
            timelock: out.timelock.clone(),
            proof,
            group: out.group.clone(),
        };
        let state = session.to_bytes();
        let queued = if queue {
            Some(
                store
                    .record_outgoing(record.id, Some(&state), &message, &envelope)?
                    .0,
            )
        } else {
            store.record_message(record.id, Some(&state), None, &message)?;
            None
        };
        let sealed = Sealed {
            envelope,
            protection: Protection::PostQuantum,
            round: Some(binding.round),
            pad_left: None,
            pad_used: None,
        };
        Ok((sealed, queued))
    }

    /// True pad: (1) the range is reserved in the pad's ledger and committed
    /// (a compare-and-swap inside one `BEGIN IMMEDIATE` transaction, so no
    /// other process can take the same bytes); (2) those bytes are read,
    /// used and wiped; (3) the message is recorded. A crash between the
    /// steps wastes the bytes, never reuses them.
    fn seal_pad(
        &self,
        contact: &str,
        queue: bool,
        prepare: impl FnOnce(&ContactRecord, Option<&mut PadBook>) -> Result<Outgoing, NodeError>,
    ) -> Result<(Sealed, Option<i64>), NodeError> {
        let (record, pad, book, range, out, used_before) = self.with_store_mut(|store| {
            store.atomically(|store| {
                let record = store.contact(contact)?;
                let pad = Node::active_pad_of(store, &record)?;
                let mut book = book_of(&pad)?;
                let from = book.used;
                let out = prepare(&record, Some(&mut book))?;
                let range = book.reserve(out.plaintext.len() as u64)?;
                store.reserve_pad(&pad.pad_id, from, book.used)?;
                Ok((record, pad, book, range, out, from))
            })
        })?;
        let file = &self.pad_file(&pad)?;
        let mut bytes = Zeroizing::new(read_range(file, &range)?);
        let session_id = session_id_of(&record.session_id)?;
        let envelope = truepad::seal(
            &session_id,
            book.role,
            book.pad_id,
            range.start,
            &mut bytes,
            out.plaintext.as_slice(),
        )?;
        wipe_range_unsynced(file, &range)?;
        let message = NewMessage {
            outgoing: true,
            mode: "pad".into(),
            kind: out.kind.into(),
            body: out.body.clone(),
            chain_hash: None,
            round: None,
            transfer: out.transfer.clone(),
            reference: Some(ref_of(&envelope).to_vec()),
            reply_to: out.reply_to.clone(),
            change: out.change.clone(),
            timelock: out.timelock.clone(),
            proof: None,
            group: out.group.clone(),
        };
        let queued = self.with_store_mut(|store| {
            Ok(if queue {
                Some(
                    store
                        .record_outgoing(record.id, None, &message, &envelope)?
                        .0,
                )
            } else {
                store.record_message(record.id, None, None, &message)?;
                None
            })
        })?;
        let sealed = Sealed {
            envelope,
            protection: Protection::PerfectSecrecy,
            round: None,
            pad_left: Some(book.left()),
            pad_used: Some(book.used - used_before),
        };
        Ok((sealed, queued))
    }

    /// Opens an envelope; with `peer`, only if that PeerId is the contact's
    /// (a message relayed by another device is refused). See
    /// [`Node::open_batch`].
    pub(crate) fn open_from(
        &self,
        bytes: &[u8],
        peer: Option<&str>,
        auto_accept: bool,
    ) -> Result<OpenedMessage, NodeError> {
        self.open_batch(&[bytes], peer, auto_accept)?
            .pop()
            .unwrap_or_else(|| Err(NodeError::Io("opening a message gave no result".into())))
    }

    /// Opens envelopes in order, one result each; with `peer`, only those
    /// from that PeerId's conversation (a message relayed by another device
    /// is refused). For each, the session or pad ledger is read, advanced
    /// and stored with the message and the envelope's hash; all of them in
    /// one `BEGIN IMMEDIATE` transaction (each its own savepoint, so a bad
    /// one changes nothing and does not stop the rest), and what was stored
    /// is made to survive a power loss (one sync for the batch) before this
    /// returns, so the caller may acknowledge. A replayed key or pad range
    /// is a harmless duplicate only if the envelope is the very one
    /// accepted before; any other envelope reusing them is
    /// [`NodeError::KeyReuse`]: refused, logged and reported. A file offer
    /// is recorded accepted when `auto_accept`; what a file-transfer message
    /// did is left in [`OpenedMessage::file`] for the caller to act on.
    /// The outer error is one for the whole batch (the database failed, or
    /// what was stored could not be synced): nothing may be acknowledged.
    pub(crate) fn open_batch(
        &self,
        envelopes: &[&[u8]],
        peer: Option<&str>,
        auto_accept: bool,
    ) -> Result<Vec<Result<OpenedMessage, NodeError>>, NodeError> {
        let parsed: Vec<Result<(Envelope, [u8; 32]), NodeError>> = envelopes
            .iter()
            .map(|bytes| {
                let envelope = Envelope::parse(bytes)?;
                Ok((envelope, *blake3::hash(bytes).as_bytes()))
            })
            .collect();
        let stored = self.with_store_mut(|store| {
            store.atomically(|store| {
                Ok::<_, NodeError>(
                    parsed
                        .iter()
                        .map(|item| {
                            let (envelope, hash) = item.as_ref().ok()?;
                            Some(store.savepoint(|store| {
                                self.open_stored(store, envelope, hash, peer, auto_accept)
                            }))
                        })
                        .collect::<Vec<_>>(),
                )
            })
        })?;
        let mut to_sync: Vec<std::path::PathBuf> = Vec::new();
        let mut results = Vec::with_capacity(stored.len());
        for (item, result) in parsed.into_iter().zip(stored) {
            results.push(match (item, result) {
                (Err(unreadable), _) => Err(unreadable),
                // Every readable envelope has a result; this arm is never taken.
                (Ok(_), None) => Err(NodeError::Io("an envelope was skipped".into())),
                (Ok(_), Some(Ok((opened, wipe)))) => {
                    if let Some((file, range)) = wipe {
                        // The ledger already marks the range used; it is
                        // never read again.
                        match wipe_range_unsynced(&file, &range) {
                            Ok(()) if !to_sync.contains(&file.path) => {
                                to_sync.push(file.path.clone());
                            }
                            Ok(()) => {}
                            Err(e) => tracing::warn!("cannot wipe received pad bytes: {e}"),
                        }
                    }
                    Ok(opened)
                }
                (
                    Ok((envelope, hash)),
                    Some(Err(
                        e @ (NodeError::Open(OpenError::Replay { .. })
                        | NodeError::Pad(PadError::Overlap { .. })),
                    )),
                ) => Err(self.replay_or_reuse(&envelope, &hash, e)),
                (Ok(_), Some(Err(e))) => Err(e),
            });
        }
        for path in &to_sync {
            if let Err(e) = sync_pad(path) {
                tracing::warn!("cannot sync wiped pad bytes: {e}");
            }
        }
        if results.iter().any(Result::is_ok) {
            self.with_store(|store| Ok(store.durability()))?.sync()?;
        }
        Ok(results)
    }

    /// Inside the open transaction: checks, opens and records one envelope.
    /// Returns the pad range to wipe once committed (pad mode).
    fn open_stored(
        &self,
        store: &mut zks_store::Store,
        envelope: &Envelope,
        hash: &[u8; 32],
        peer: Option<&str>,
        auto_accept: bool,
    ) -> Result<(OpenedMessage, Option<PadToWipe>), NodeError> {
        let record = store
            .contact_by_session(&envelope.session_id)?
            .ok_or_else(|| {
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
                let mut session =
                    Session::from_bytes(&session_of(store, &record)?).map_err(|e| {
                        NodeError::Corrupt(format!("the stored session is damaged: {e}"))
                    })?;
                // One clock reading judges both the round's age and the epoch's.
                let now = now_secs();
                let cache = self.binding_cache()?;
                let rounds = CacheRounds {
                    store,
                    cache: &cache,
                    now,
                    verified: RefCell::new(Vec::new()),
                };
                let opened = session.open(envelope, &rounds, now, &mut rand_core::OsRng)?;
                let verified = rounds.verified.into_inner();
                let (routed, incoming) = classify(
                    store,
                    &record,
                    &opened.plaintext,
                    Mode::Grid,
                    None,
                    auto_accept,
                )?;
                let learned = !verified.is_empty();
                for (chain, beacon) in verified {
                    cache
                        .put(&chain, &[beacon])
                        .map_err(|e| NodeError::Io(e.to_string()))?;
                }
                if learned {
                    self.forget_binding();
                }
                let message = NewMessage {
                    outgoing: routed.mine,
                    mode: "grid".into(),
                    kind: incoming.kind.into(),
                    body: incoming.body,
                    chain_hash: Some(opened.chain_hash.to_vec()),
                    round: Some(opened.round),
                    transfer: incoming.transfer,
                    reference: Some(routed.reference_or(hash)),
                    reply_to: incoming.reply_to,
                    change: incoming.change,
                    timelock: incoming.timelock,
                    proof: None,
                    group: incoming.group_change,
                };
                if let Some(FileNotice::Closed(id)) = &incoming.notice {
                    self.keep_sent_figures(store, id)?;
                }
                store.record_routed_message(
                    record.id,
                    Some(&session.to_bytes()),
                    None,
                    routed.conversation.id,
                    &message,
                )?;
                store.note_accepted_envelope(record.id, hash)?;
                let quiet = routed.mine || routed.handled;
                let opened = OpenedMessage {
                    from: routed.conversation.name,
                    plaintext: if routed.handled {
                        opened.plaintext
                    } else {
                        routed.plaintext
                    },
                    protection: Protection::of(Mode::Grid),
                    round: Some(opened.round),
                    chain_hash: Some(hex::encode(opened.chain_hash)),
                    file: incoming.notice,
                    group: incoming.group,
                    device: routed.notice,
                    quiet,
                };
                Ok((opened, None))
            }
            Body::Pad(_) => {
                let pad = store.active_pad(record.id)?.ok_or_else(|| {
                    NodeError::BadInput(format!(
                        "this message from {} uses a one-time pad, but none is imported for them",
                        record.name
                    ))
                })?;
                let mut book = book_of(&pad)?;
                let range = claimed_range(envelope)
                    .ok_or_else(|| NodeError::BadInput("the pad range is invalid".into()))?;
                if !matches!(&envelope.body, Body::Pad(h) if h.pad_id == book.pad_id) {
                    return Err(PadError::WrongPad.into());
                }
                book.accept(range.clone())?;
                let file = self.pad_file(&pad)?;
                let mut bytes = Zeroizing::new(read_range(&file, &range)?);
                let plaintext = truepad::open(envelope, &book.pad_id, &mut bytes)?;
                let (routed, incoming) = classify(
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
                    reference: Some(routed.reference_or(hash)),
                    reply_to: incoming.reply_to,
                    change: incoming.change,
                    timelock: incoming.timelock,
                    proof: None,
                    group: incoming.group_change,
                };
                let ledger = zks_store::PadReceived {
                    pad_id: &pad.pad_id,
                    ranges: &received,
                };
                if let Some(FileNotice::Closed(id)) = &incoming.notice {
                    self.keep_sent_figures(store, id)?;
                }
                store.record_routed_message(
                    record.id,
                    None,
                    Some(ledger),
                    routed.conversation.id,
                    &message,
                )?;
                store.note_accepted_envelope(record.id, hash)?;
                let opened = OpenedMessage {
                    from: routed.conversation.name,
                    plaintext,
                    protection: Protection::of(Mode::Pad),
                    round: None,
                    chain_hash: None,
                    file: incoming.notice,
                    group: incoming.group,
                    device: None,
                    quiet: false,
                };
                Ok((opened, Some((file, range))))
            }
        }
    }

    /// A refused replay: the identical envelope accepted before is a
    /// duplicate (the error as it is); a different envelope that reuses its
    /// message key or pad bytes is an alarm.
    fn replay_or_reuse(
        &self,
        envelope: &Envelope,
        hash: &[u8; 32],
        replay: NodeError,
    ) -> NodeError {
        let seen = self.with_store(|store| {
            let Some(record) = store.contact_by_session(&envelope.session_id)? else {
                return Ok(None);
            };
            Ok(Some((
                record.name.clone(),
                store.envelope_accepted(record.id, hash)?,
            )))
        });
        match seen {
            Ok(Some((_, true))) => replay,
            Ok(Some((contact, false))) => {
                let detail = format!(
                    "A message from {contact} reuses the key or pad bytes of an earlier, different message ({replay}); it was refused. Their device may have been restored or copied; check it with them and pair again"
                );
                tracing::error!(contact = %contact, "key or pad reuse detected: {replay}");
                self.emit(NodeEvent::KeyReuseDetected {
                    contact,
                    detail: detail.clone(),
                });
                NodeError::KeyReuse(detail)
            }
            Ok(None) | Err(_) => replay,
        }
    }
}

/// Which conversation a plaintext from `record` belongs to (another device
/// of a person speaks in the person's; decision 0072) and what it is.
fn classify(
    store: &mut zks_store::Store,
    record: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
    book: Option<&mut PadBook>,
    auto_accept: bool,
) -> Result<(crate::devices::Routed, crate::content::Incoming), NodeError> {
    let routed = crate::devices::route(store, record, plaintext, mode)?;
    let incoming = if routed.handled {
        crate::content::Incoming::plain("control", crate::devices::DEVICE_BODY)
    } else {
        crate::content::incoming(
            store,
            &routed.conversation,
            &routed.plaintext,
            mode,
            book,
            auto_accept,
            routed.mine,
        )?
    };
    Ok((routed, incoming))
}

/// Pad bytes a received message used, wiped once its record is committed.
type PadToWipe = (PadFile, Range<u64>);

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
        .map_err(|_| NodeError::Corrupt("the stored session id is damaged".into()))
}
