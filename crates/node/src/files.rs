//! File transfer between paired contacts (`/zks/file/1.0.0`).
//!
//! The sender hashes the file (whole and per chunk), then queues a sealed
//! offer through the outbox like any message: in grid mode the offer
//! carries a fresh file key, in pad mode the range of its pad half the file
//! will use, reserved in the same transaction. The receiver accepts (or
//! declines) and then *pulls* chunks by index, several in flight; each
//! chunk is opened (its tag checked) and written into a partial file in the
//! downloads folder. Every few chunks the partial file is synced and only
//! then the bitmap of verified chunks is stored, so after a crash on either
//! side the receiver asks only for what it does not have. When all chunks
//! are in, the whole file's BLAKE3 is checked, the file is moved to its
//! final name (never overwriting anything) and a sealed `done` tells the
//! sender. Decline, cancel and done travel as sealed grid-pad control
//! messages through the outbox, so they too survive restarts.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use zeroize::Zeroizing;
use zks_grid::swarm::SwarmClient;
use zks_pad::file::{
    self as padfile, CHUNK_SIZE, FileMessage, FileOffer, FileProtection, MAX_FILE, TransferId,
};
use zks_pad::truepad;
use zks_pad::{Envelope, Mode, PadBook};
use zks_store::{ContactRecord, NewTransfer, Store, TransferChange, TransferRecord};

use crate::messages::Outgoing;
use crate::pads::{book_of, read_range, role_of, wipe_range};
use crate::{Node, NodeError, NodeEvent};
use zks_store::PadLedger;

/// Chunk requests in flight per transfer.
const IN_FLIGHT: usize = 8;
/// Chunks written between syncs of the partial file (and of the bitmap).
const SYNC_EVERY: usize = 32;
/// How often progress events are published per transfer.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How many times one chunk may arrive damaged before the transfer fails.
const MAX_BAD_CHUNK: u32 = 5;
/// Answer codes of `/zks/file/1.0.0`, first byte of a response.
const CHUNK_OK: u8 = crate::wire::file::Status::Ok.byte();
const CHUNK_UNKNOWN: u8 = crate::wire::file::Status::Unknown.byte();
const CHUNK_CLOSED: u8 = crate::wire::file::Status::Closed.byte();
const CHUNK_CHANGED: u8 = crate::wire::file::Status::Changed.byte();
const CHUNK_BUSY: u8 = crate::wire::file::Status::Busy.byte();

/// A transfer as the front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TransferInfo {
    /// Transfer id (32 hex digits).
    pub id: String,
    /// The contact.
    pub contact: String,
    /// Sent by us.
    pub outgoing: bool,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file (hex).
    pub blake3: String,
    /// `post_quantum` or `perfect_secrecy`.
    pub protection: crate::Protection,
    /// `offered`, `accepted`, `transferring`, `paused`, `completed`,
    /// `declined`, `cancelled` or `failed`.
    pub state: String,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Bytes verified (receiving) or sent at least once (sending).
    pub bytes_done: u64,
    /// Sending: bytes sent in total, chunks sent again included.
    pub bytes_sent: u64,
    /// Receiving: the final file once completed. Sending: the source file.
    pub path: Option<String>,
    /// Unix time of the offer.
    pub created_at: i64,
    /// The offer's message in the conversation (`Node::history`).
    pub message_id: Option<i64>,
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
}

/// Classifies an opened plaintext: chat text, or a file-transfer control
/// message with the transfer change to record with it. In pad mode an offer
/// claims its file range in `book` (refused if those bytes were used).
pub(crate) fn incoming(
    store: &Store,
    contact: &ContactRecord,
    plaintext: &[u8],
    mode: Mode,
    book: Option<&mut PadBook>,
    auto_accept: bool,
) -> Result<Incoming, NodeError> {
    if !FileMessage::is_file_message(plaintext) {
        return Ok(Incoming {
            kind: "text",
            body: plaintext.to_vec(),
            transfer: None,
            notice: None,
        });
    }
    let message = FileMessage::parse(plaintext)
        .map_err(|e| NodeError::BadInput(format!("a damaged file-transfer message: {e}")))?;
    let id = message.id();
    let existing = store.transfer(&id)?;
    let control = |state: &str, error: Option<String>| {
        Ok(Incoming {
            kind: "control",
            body: state.as_bytes().to_vec(),
            transfer: Some(TransferChange::State {
                transfer_id: id.to_vec(),
                state: state.into(),
                error,
            }),
            notice: Some(FileNotice::Closed(id)),
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
                transfer: Some(TransferChange::Create(NewTransfer {
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
                    state: if auto_accept { "accepted" } else { "offered" }.into(),
                })),
                notice: Some(FileNotice::Offered(id)),
            })
        }
        // Only the receiver of our offer declines or finishes it.
        FileMessage::Decline(_) if ours.is_some_and(|t| t.outgoing) => control("declined", None),
        FileMessage::Done(_) if ours.is_some_and(|t| t.outgoing) => control("completed", None),
        FileMessage::Cancel(_) if ours.is_some() => {
            control("cancelled", Some(format!("cancelled by {}", contact.name)))
        }
        _ => Err(NodeError::BadInput(
            "a file-transfer message about a transfer this contact does not share".into(),
        )),
    }
}

/// The pad a pad-mode transfer reserved its range in, while that pad is
/// still the one in use: a transfer never reads another pad's bytes at its
/// offset, even if the pad was replaced meanwhile (the transfer then fails).
fn transfer_pad(store: &Store, t: &TransferRecord) -> Result<Option<PadLedger>, NodeError> {
    if t.pad_offset.is_none() {
        return Ok(None);
    }
    let replaced = || {
        NodeError::BadInput(
            "the one-time pad of this transfer was replaced; send the file again".into(),
        )
    };
    let pad_id = t.pad_id.as_deref().ok_or_else(replaced)?;
    match store.pad_ledger(pad_id)? {
        Some(pad) if pad.is_active() && pad.contact_id == Some(t.contact_id) => Ok(Some(pad)),
        _ => Err(replaced()),
    }
}

fn mode_name(mode: Mode) -> &'static str {
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

/// `name`, or `name (1).ext`, `name (2).ext`, … : the first that `create`
/// manages to create without replacing anything.
fn first_free_name(
    dir: &Path,
    name: &str,
    mut create: impl FnMut(&Path) -> std::io::Result<()>,
) -> Result<PathBuf, NodeError> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0..10_000 {
        let candidate = if n == 0 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match create(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(NodeError::Io(format!(
                    "cannot create {}: {e}",
                    candidate.display()
                )));
            }
        }
    }
    Err(NodeError::Io(format!(
        "no free name for {name} in {}",
        dir.display()
    )))
}

/// Puts the finished partial file at a free name in `dir`: a hard link
/// (atomic, never replaces), or a copy into a newly created file where links
/// are not supported. The partial file stays until the transfer is stored
/// as completed, so a crash in between finishes again instead of losing it.
fn place_file(partial: &Path, dir: &Path, name: &str) -> Result<PathBuf, NodeError> {
    let target = first_free_name(dir, name, |candidate| {
        match std::fs::hard_link(partial, candidate) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(candidate)?;
                let mut input = File::open(partial)?;
                std::io::copy(&mut input, &mut out)?;
                out.sync_all()
            }
            other => other,
        }
    })?;
    Ok(target)
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> NodeError {
    NodeError::Io(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// The offer a stored transfer was made from (`None` if its key or pad
/// offset is damaged).
fn offer_of(t: &TransferRecord) -> Option<FileOffer> {
    let protection = match (t.secret.as_deref(), t.pad_offset) {
        (Some(key), None) if key.len() == 32 => {
            let mut k = Zeroizing::new([0u8; 32]);
            k.copy_from_slice(key);
            FileProtection::Grid { key: k }
        }
        (None, Some(offset)) => FileProtection::Pad { offset },
        _ => return None,
    };
    Some(FileOffer {
        id: t.transfer_id.as_slice().try_into().ok()?,
        name: t.name.clone(),
        size: t.size,
        blake3: t.blake3.as_slice().try_into().unwrap_or_default(),
        chunk_size: t.chunk_size,
        protection,
    })
}

/// Hashes a file whole and per chunk.
fn hash_file(path: &Path, size: u64) -> Result<([u8; 32], Vec<u8>), NodeError> {
    let file = File::open(path).map_err(|e| io_err("open", path, &e))?;
    let mut whole = blake3::Hasher::new();
    let mut chunks = Vec::with_capacity(padfile::chunk_count(size, CHUNK_SIZE) as usize * 32);
    let mut buf = vec![0u8; CHUNK_SIZE as usize];
    let mut at = 0u64;
    while at < size {
        let len = (size - at).min(u64::from(CHUNK_SIZE)) as usize;
        read_at(&file, &mut buf[..len], at).map_err(|e| io_err("read", path, &e))?;
        whole.update(&buf[..len]);
        chunks.extend_from_slice(blake3::hash(&buf[..len]).as_bytes());
        at += len as u64;
    }
    Ok((*whole.finalize().as_bytes(), chunks))
}

fn parse_id(id: &[u8]) -> Result<TransferId, NodeError> {
    id.try_into()
        .map_err(|_| NodeError::BadInput("the stored transfer id is damaged".into()))
}

fn bit(bitmap: &[u8], i: u64) -> bool {
    bitmap
        .get((i / 8) as usize)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn set_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = bitmap.get_mut((i / 8) as usize) {
        *b |= 1 << (i % 8);
    }
}

/// An outgoing transfer being served, kept in memory while chunks are
/// asked for.
#[derive(Debug)]
pub(crate) struct Serving {
    peer: String,
    offer: FileOffer,
    file: File,
    chunk_hashes: Vec<u8>,
    session_id: [u8; 16],
    role: zks_pad::Role,
    pad: Option<crate::pads::PadFile>,
    sent: Mutex<Sent>,
}

/// What a sender has served of one transfer.
#[derive(Debug)]
struct Sent {
    /// Chunks served at least once.
    bitmap: Vec<u8>,
    /// Bytes of those chunks.
    distinct: u64,
    /// Bytes served, repeats included.
    total: u64,
    last_event: Instant,
    last_saved: Instant,
}

/// In-memory state of transfers: what is served, what is being received.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    serving: Mutex<HashMap<TransferId, Arc<Serving>>>,
    receiving: Mutex<HashSet<TransferId>>,
    /// Receivers asked to stop (pause or cancel in this process).
    stopping: Mutex<HashSet<TransferId>>,
    /// Wakes the loop that starts receivers.
    pub(crate) wake: tokio::sync::Notify,
    /// Accept every offer as it arrives (`zks daemon --auto-accept-files`).
    pub(crate) auto_accept: std::sync::atomic::AtomicBool,
    /// Fault injection for tests: flip a bit in this many served chunks.
    corrupt_next: std::sync::atomic::AtomicU32,
}

impl Node {
    fn transfers_state(&self) -> &Transfers {
        &self.inner.transfers
    }

    pub(crate) fn auto_accepts_files(&self) -> bool {
        self.transfers_state()
            .auto_accept
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Accept every file offer as it arrives (for scripts and tests).
    pub fn set_auto_accept_files(&self, on: bool) {
        self.transfers_state()
            .auto_accept
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fault injection for tests: the next `n` chunks this node serves have
    /// one bit flipped after sealing, as a damaged network or a hostile
    /// sender would deliver them.
    #[doc(hidden)]
    pub fn inject_corrupt_chunks(&self, n: u32) {
        self.transfers_state()
            .corrupt_next
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Where received files land: the user's Downloads folder, or
    /// `<home>/downloads` when the home was chosen with `--home`/`ZKS_HOME`.
    pub fn downloads_dir(&self) -> PathBuf {
        let home = self.data_dir();
        if !home.is_overridden()
            && let Some(dir) =
                directories::UserDirs::new().and_then(|d| d.download_dir().map(Path::to_owned))
        {
            return dir;
        }
        home.path().join("downloads")
    }

    fn info_of(&self, store: &Store, t: &TransferRecord) -> TransferInfo {
        let contact = store
            .contacts()
            .ok()
            .and_then(|cs| cs.into_iter().find(|c| c.id == t.contact_id))
            .map(|c| c.name)
            .unwrap_or_default();
        let sent = self
            .transfers_state()
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(t.transfer_id.as_slice())
            .map(|s| {
                let sent = s.sent.lock().unwrap_or_else(PoisonError::into_inner);
                (sent.distinct, sent.total)
            });
        let shown_path = t.outgoing || t.state == "completed";
        TransferInfo {
            id: hex::encode(&t.transfer_id),
            contact,
            outgoing: t.outgoing,
            name: t.name.clone(),
            size: t.size,
            blake3: hex::encode(&t.blake3),
            protection: if t.mode == "pad" {
                crate::Protection::PerfectSecrecy
            } else {
                crate::Protection::PostQuantum
            },
            state: t.state.clone(),
            error: t.error.clone(),
            bytes_done: sent.map_or(t.bytes_done, |s| s.0.max(t.bytes_done)),
            bytes_sent: sent.map_or(t.bytes_sent, |s| s.1.max(t.bytes_sent)),
            path: shown_path.then(|| t.path.clone()).filter(|p| !p.is_empty()),
            created_at: t.created_at,
            message_id: t.message_id,
        }
    }

    /// Every transfer, newest first.
    pub fn transfers(&self) -> Result<Vec<TransferInfo>, NodeError> {
        self.with_store(|store| {
            Ok(store
                .transfers()?
                .iter()
                .map(|t| self.info_of(store, t))
                .collect())
        })
    }

    /// One transfer by id or unique id prefix (at least 4 hex digits).
    pub fn transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let record = self.find_transfer(id)?;
        self.with_store(|store| Ok(self.info_of(store, &record)))
    }

    fn find_transfer(&self, id: &str) -> Result<TransferRecord, NodeError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(NodeError::BadInput(format!(
                "{id:?} is not a transfer id (hex, at least 4 digits; see `zks transfers`)"
            )));
        }
        let all = self.with_store(|store| Ok(store.transfers()?))?;
        let mut found = all
            .into_iter()
            .filter(|t| hex::encode(&t.transfer_id).starts_with(&id));
        match (found.next(), found.next()) {
            (Some(t), None) => Ok(t),
            (None, _) => Err(NodeError::BadInput(format!("no transfer {id}"))),
            (Some(_), Some(_)) => Err(NodeError::BadInput(format!(
                "{id} matches several transfers; give more digits"
            ))),
        }
    }

    /// Offers `path` to `contact` in `mode`: hashes the file, then queues
    /// the sealed offer (with the file's pad range reserved, in pad mode).
    /// Blocking: call it off the async runtime for large files.
    pub fn send_file(
        &self,
        contact: &str,
        path: &Path,
        mode: Mode,
    ) -> Result<TransferInfo, NodeError> {
        let meta = std::fs::metadata(path).map_err(|e| io_err("read", path, &e))?;
        if !meta.is_file() {
            return Err(NodeError::BadInput(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let size = meta.len();
        if size > MAX_FILE {
            return Err(NodeError::BadInput(format!(
                "{} is {size} bytes; files up to {MAX_FILE} bytes can be sent",
                path.display()
            )));
        }
        // Fail before hashing when the pad cannot hold the file.
        if mode == Mode::Pad {
            self.check_pad_room(contact, size)?;
        }
        let (blake3, chunk_hashes) = hash_file(path, size)?;
        let name = path
            .file_name()
            .map(|n| safe_file_name(&n.to_string_lossy()))
            .unwrap_or_else(|| "file".into());
        let path = std::fs::canonicalize(path).map_err(|e| io_err("resolve", path, &e))?;
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let (_, message_id) = self.seal_inner(contact, mode, true, |_, book| {
            let pad_id = book.as_ref().map(|b| b.pad_id.to_vec());
            let protection = match book {
                None => {
                    let mut key = Zeroizing::new([0u8; 32]);
                    OsRng.fill_bytes(&mut key[..]);
                    FileProtection::Grid { key }
                }
                Some(book) => {
                    let needed = padfile::pad_bytes_needed(size, CHUNK_SIZE);
                    let left = book.left();
                    // The offer itself needs pad bytes too (its length + 32).
                    let range = book
                        .reserve(needed.saturating_sub(truepad::MAC_KEY_LEN))
                        .map_err(|_| pad_too_small(size, needed, left))?;
                    FileProtection::Pad {
                        offset: range.start,
                    }
                }
            };
            let offer = FileOffer {
                id,
                name: name.clone(),
                size,
                blake3,
                chunk_size: CHUNK_SIZE,
                protection,
            };
            let (secret, pad_offset) = match &offer.protection {
                FileProtection::Grid { key } => (Some(key.to_vec()), None),
                FileProtection::Pad { offset } => (None, Some(*offset)),
            };
            Ok(Outgoing {
                plaintext: FileMessage::Offer(offer).encode(),
                kind: "file",
                body: name.clone().into_bytes(),
                transfer: Some(TransferChange::Create(NewTransfer {
                    transfer_id: id.to_vec(),
                    outgoing: true,
                    name: name.clone(),
                    size,
                    blake3: blake3.to_vec(),
                    chunk_size: CHUNK_SIZE,
                    mode: mode_name(mode).into(),
                    secret,
                    pad_offset,
                    pad_id,
                    path: path.to_string_lossy().into_owned(),
                    chunk_hashes: Some(chunk_hashes.clone()),
                    state: "offered".into(),
                })),
            })
        })?;
        tracing::info!(transfer = %hex::encode(id), ?message_id, size, "file offered");
        self.inner.outbox_wake.notify_one();
        self.transfer(&hex::encode(id))
    }

    fn check_pad_room(&self, contact: &str, size: u64) -> Result<(), NodeError> {
        let needed = padfile::pad_bytes_needed(size, CHUNK_SIZE);
        self.with_store(|store| {
            let record = store.contact(contact)?;
            let pad = Node::active_pad_of(store, &record)?;
            let left = book_of(&pad)?.left();
            // The offer message takes a few hundred bytes more.
            if needed + 512 > left {
                return Err(pad_too_small(size, needed, left));
            }
            Ok(())
        })
    }

    /// Accepts an offered file: the receiver starts pulling it.
    pub fn accept_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing || !matches!(t.state.as_str(), "offered" | "paused") {
            return Err(NodeError::BadInput(format!(
                "transfer {} is {} and cannot be accepted",
                hex::encode(&t.transfer_id),
                if t.outgoing {
                    "one we send"
                } else {
                    t.state.as_str()
                }
            )));
        }
        self.with_store_mut(|store| {
            Ok(store.set_transfer_state(&t.transfer_id, "accepted", None)?)
        })?;
        self.transfers_state().wake.notify_one();
        self.transfer(&hex::encode(&t.transfer_id))
    }

    /// Pauses a file being received (it resumes with [`Node::accept_transfer`]).
    pub fn pause_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing || !matches!(t.state.as_str(), "accepted" | "transferring") {
            return Err(NodeError::BadInput(format!(
                "only a file being received can be paused; this one is {}",
                t.state
            )));
        }
        self.with_store_mut(|store| {
            Ok(store.set_transfer_state(&t.transfer_id, "paused", None)?)
        })?;
        self.stop_receiver(&t);
        self.transfer(&hex::encode(&t.transfer_id))
    }

    /// Declines an offered file and tells the sender.
    pub fn decline_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if t.outgoing || t.state != "offered" {
            return Err(NodeError::BadInput(format!(
                "only an incoming offer can be declined; this transfer is {}",
                t.state
            )));
        }
        let tid = parse_id(&t.transfer_id)?;
        self.send_control(&t, &FileMessage::Decline(tid), "declined", None)?;
        self.transfer(&hex::encode(tid))
    }

    /// Cancels a transfer from either side and tells the other.
    pub fn cancel_transfer(&self, id: &str) -> Result<TransferInfo, NodeError> {
        let t = self.find_transfer(id)?;
        if !t.is_open() {
            return Err(NodeError::BadInput(format!(
                "transfer {} is already {}",
                hex::encode(&t.transfer_id),
                t.state
            )));
        }
        let tid = parse_id(&t.transfer_id)?;
        self.send_control(
            &t,
            &FileMessage::Cancel(tid),
            "cancelled",
            Some("cancelled by you"),
        )?;
        self.close_transfer(&t);
        self.transfer(&hex::encode(tid))
    }

    /// Queues a sealed control message and moves the transfer to `state` in
    /// the same transaction.
    fn send_control(
        &self,
        t: &TransferRecord,
        message: &FileMessage,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), NodeError> {
        let contact = self.with_store(|store| {
            Ok(store
                .contacts()?
                .into_iter()
                .find(|c| c.id == t.contact_id)
                .ok_or_else(|| NodeError::BadInput("the transfer's contact is gone".into()))?
                .name)
        })?;
        self.seal_inner(&contact, Mode::Grid, true, |_, _| {
            Ok(Outgoing {
                plaintext: message.encode(),
                kind: "control",
                body: state.as_bytes().to_vec(),
                transfer: Some(TransferChange::State {
                    transfer_id: t.transfer_id.clone(),
                    state: state.into(),
                    error: error.map(Into::into),
                }),
            })
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    /// After a control message from the contact was stored.
    pub(crate) fn after_file_message(&self, from: &str, notice: &FileNotice) {
        match notice {
            FileNotice::Offered(id) => {
                if let Ok(t) = self.transfer(&hex::encode(id)) {
                    self.emit(NodeEvent::TransferOffered {
                        transfer_id: t.id.clone(),
                        from: from.to_owned(),
                        name: t.name.clone(),
                        size: t.size,
                    });
                    if t.state == "accepted" {
                        self.transfers_state().wake.notify_one();
                    }
                }
            }
            FileNotice::Closed(id) => {
                if let Ok(t) = self.find_transfer(&hex::encode(id)) {
                    self.close_transfer(&t);
                    self.emit(NodeEvent::TransferFinished {
                        transfer_id: hex::encode(id),
                        state: t.state.clone(),
                        error: t.error.clone(),
                    });
                }
            }
        }
    }

    /// Tells a receiver running in this process to stop after the chunk at
    /// hand (one in another process sees the stored state within 300 ms).
    fn stop_receiver(&self, t: &TransferRecord) {
        if let Ok(id) = parse_id(&t.transfer_id)
            && self.is_receiving(&id)
        {
            self.transfers_state()
                .stopping
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id);
        }
    }

    fn is_receiving(&self, id: &TransferId) -> bool {
        self.transfers_state()
            .receiving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    fn must_stop(&self, id: &TransferId) -> bool {
        self.transfers_state()
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    /// Forgets a closed transfer's in-memory state and wipes the pad bytes it
    /// reserved (they are never used again either way).
    fn close_transfer(&self, t: &TransferRecord) {
        self.stop_receiver(t);
        if let Ok(id) = parse_id(&t.transfer_id) {
            let served = self
                .transfers_state()
                .serving
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            // Keep the sender's final figures.
            if let Some(served) = served {
                let (distinct, total) = {
                    let sent = served.sent.lock().unwrap_or_else(PoisonError::into_inner);
                    (sent.distinct, sent.total)
                };
                let _ = self.with_store_mut(|s| Ok(s.set_transfer_sent(&id, distinct, total)?));
            }
        }
        if let Err(e) = self.wipe_transfer_pad(t) {
            tracing::warn!("cannot wipe a finished transfer's pad bytes: {e}");
        }
        if !t.outgoing && t.state != "completed" && !t.path.is_empty() {
            let _ = std::fs::remove_file(&t.path);
        }
    }

    fn wipe_transfer_pad(&self, t: &TransferRecord) -> Result<(), NodeError> {
        let Some(offset) = t.pad_offset else {
            return Ok(());
        };
        let Some(pad_id) = &t.pad_id else {
            return Ok(());
        };
        let pad = self.with_store(|store| Ok(store.pad_ledger(pad_id)?));
        // A retired pad's copy was wiped whole when it was replaced.
        let Some(pad) = pad?.filter(|p| p.is_active() && !p.file.is_empty()) else {
            return Ok(());
        };
        let range = offset..offset + padfile::pad_bytes_needed(t.size, t.chunk_size);
        if range.end <= pad.size {
            wipe_range(&self.pad_file(&pad)?, &range)?;
        }
        Ok(())
    }

    /// Answers a chunk request from `peer` (`/zks/file/1.0.0`): status byte,
    /// then the sealed chunk.
    pub(crate) fn serve_chunk(&self, peer: &str, request: &[u8]) -> Vec<u8> {
        match self.serve_chunk_inner(peer, request) {
            Ok(sealed) => sealed,
            Err((code, reason)) => {
                let mut out = vec![code];
                out.extend_from_slice(reason.as_bytes());
                out
            }
        }
    }

    fn serve_chunk_inner(&self, peer: &str, request: &[u8]) -> Result<Vec<u8>, (u8, String)> {
        if request.len() != 24 {
            return Err((CHUNK_UNKNOWN, "malformed chunk request".into()));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&request[..16]);
        let mut index = [0u8; 8];
        index.copy_from_slice(&request[16..]);
        let index = u64::from_be_bytes(index);
        let serving = self.serving(&id, peer)?;
        let offer = &serving.offer;
        if index >= offer.chunks() {
            return Err((CHUNK_UNKNOWN, "no such chunk".into()));
        }
        let len = offer.chunk_len(index) as usize;
        let mut plain = Zeroizing::new(vec![0u8; len]);
        let at = index * u64::from(offer.chunk_size);
        let fresh = read_at(&serving.file, &mut plain, at).is_ok()
            && serving
                .chunk_hashes
                .get(index as usize * 32..index as usize * 32 + 32)
                .is_some_and(|h| h == blake3::hash(&plain).as_bytes());
        if !fresh {
            let reason = "the file changed on disk after it was offered";
            let _ =
                self.with_store_mut(|s| Ok(s.set_transfer_state(&id, "failed", Some(reason))?));
            self.transfers_state()
                .serving
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            return Err((CHUNK_CHANGED, reason.into()));
        }
        let mut out = vec![CHUNK_OK];
        match &offer.protection {
            FileProtection::Grid { key } => {
                out.extend_from_slice(&padfile::seal_grid_chunk(key, &id, index, &plain));
            }
            FileProtection::Pad { .. } => {
                let pad_file = serving
                    .pad
                    .as_ref()
                    .ok_or((CHUNK_CLOSED, "no pad".into()))?;
                let range = offer
                    .chunk_pad_range(index)
                    .ok_or((CHUNK_CLOSED, "no pad range".into()))?;
                let mut bytes = Zeroizing::new(
                    read_range(pad_file, &range).map_err(|e| (CHUNK_CLOSED, e.to_string()))?,
                );
                out.extend_from_slice(
                    &truepad::seal(
                        &serving.session_id,
                        serving.role,
                        pad_file.pad_id,
                        range.start,
                        &mut bytes,
                        &plain,
                    )
                    .map_err(|e| (CHUNK_CLOSED, e.to_string()))?,
                );
            }
        }
        let corrupt = &self.transfers_state().corrupt_next;
        if corrupt
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| n.checked_sub(1),
            )
            .is_ok()
        {
            let mid = out.len() / 2;
            out[mid] ^= 0x10;
        }
        self.note_sent(&id, &serving, index, len as u64);
        Ok(out)
    }

    fn note_sent(&self, id: &TransferId, serving: &Serving, index: u64, len: u64) {
        let mut sent = serving.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if !bit(&sent.bitmap, index) {
            set_bit(&mut sent.bitmap, index);
            sent.distinct += len;
        }
        sent.total += len;
        let all = sent.distinct == serving.offer.size;
        if sent.last_event.elapsed() >= PROGRESS_EVERY || all {
            sent.last_event = Instant::now();
            self.emit(NodeEvent::TransferProgress {
                transfer_id: hex::encode(id),
                bytes_done: sent.distinct,
                size: serving.offer.size,
            });
        }
        if sent.last_saved.elapsed() >= Duration::from_secs(1) || all {
            sent.last_saved = Instant::now();
            let (distinct, total) = (sent.distinct, sent.total);
            drop(sent);
            let _ = self.with_store_mut(|s| Ok(s.set_transfer_sent(id, distinct, total)?));
        }
    }

    /// The in-memory serving state of an outgoing transfer, loaded on the
    /// first request; refused unless `peer` is the contact it was offered to
    /// and the transfer is still open.
    fn serving(&self, id: &TransferId, peer: &str) -> Result<Arc<Serving>, (u8, String)> {
        let state = self.transfers_state();
        let cached = state
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        if let Some(serving) = cached {
            if serving.peer != peer {
                return Err((CHUNK_UNKNOWN, "no such transfer".into()));
            }
            // Another process (the CLI) may have cancelled it.
            let state = self.with_store(|store| Ok(store.transfer_state(id)?));
            return match state {
                Ok(Some(state)) if state == "transferring" || state == "offered" => Ok(serving),
                Ok(Some(state)) => Err((CHUNK_CLOSED, format!("the transfer is {state}"))),
                _ => Err((CHUNK_UNKNOWN, "no such transfer".into())),
            };
        }
        let unknown = || (CHUNK_UNKNOWN, "no such transfer".to_string());
        let loaded = self.with_store_mut(|store| {
            let Some(t) = store.transfer(id)? else {
                return Ok(None);
            };
            let Some(contact) = store.contacts()?.into_iter().find(|c| c.id == t.contact_id) else {
                return Ok(None);
            };
            if !t.outgoing || contact.peer_id != peer {
                return Ok(None);
            }
            if !matches!(t.state.as_str(), "offered" | "transferring") {
                return Ok(Some(Err((
                    CHUNK_CLOSED,
                    format!("the transfer is {}", t.state),
                ))));
            }
            if t.state == "offered" {
                store.set_transfer_state(id, "transferring", None)?;
            }
            let pad = match transfer_pad(store, &t) {
                Ok(pad) => pad
                    .map(|p| Ok::<_, NodeError>((self.pad_file(&p)?, role_of(&p.role))))
                    .transpose()?,
                Err(e) => {
                    let reason = e.to_string();
                    store.set_transfer_state(id, "failed", Some(&reason))?;
                    return Ok(Some(Err((CHUNK_CLOSED, reason))));
                }
            };
            Ok(Some(Ok((t, contact, pad))))
        });
        let (t, contact, pad) = match loaded {
            Ok(Some(Ok(found))) => found,
            Ok(Some(Err(closed))) => return Err(closed),
            Ok(None) | Err(_) => return Err(unknown()),
        };
        let offer = offer_of(&t).ok_or_else(unknown)?;
        let file = File::open(&t.path)
            .map_err(|e| (CHUNK_CHANGED, format!("the file cannot be read: {e}")))?;
        let session_id: [u8; 16] = contact
            .session_id
            .as_slice()
            .try_into()
            .map_err(|_| unknown())?;
        let chunks = padfile::chunk_count(t.size, t.chunk_size);
        let serving = Arc::new(Serving {
            peer: peer.to_owned(),
            offer,
            file,
            chunk_hashes: t.chunk_hashes.unwrap_or_default(),
            session_id,
            // A pad's half is the one fixed at its import.
            role: pad
                .as_ref()
                .map_or(role_of(&contact.role), |(_, role)| *role),
            pad: pad.map(|(file, _)| file),
            sent: Mutex::new(Sent {
                bitmap: vec![0u8; chunks.div_ceil(8) as usize],
                distinct: 0,
                total: t.bytes_sent,
                last_event: Instant::now()
                    .checked_sub(PROGRESS_EVERY)
                    .unwrap_or_else(Instant::now),
                last_saved: Instant::now(),
            }),
        });
        state
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(*id, serving.clone());
        Ok(serving)
    }

    /// Starts receivers for accepted transfers until the node stops; runs
    /// with the swarm (see `go_online`).
    pub(crate) async fn transfer_loop(self, swarm: SwarmClient) {
        loop {
            let open = self.with_store(|store| Ok(store.receiving_transfers()?));
            let open = match open {
                Ok(all) => all,
                Err(NodeError::Stopped) => return,
                Err(_) => Vec::new(),
            };
            for t in open {
                if t.outgoing || !matches!(t.state.as_str(), "accepted" | "transferring") {
                    continue;
                }
                let Ok(id) = parse_id(&t.transfer_id) else {
                    continue;
                };
                let mut running = self
                    .transfers_state()
                    .receiving
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if !running.insert(id) {
                    continue;
                }
                drop(running);
                let node = self.clone();
                let swarm = swarm.clone();
                self.spawn_until_stopped(async move {
                    let outcome = node.receive_file(&swarm, t).await;
                    let state = node.transfers_state();
                    state
                        .receiving
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&id);
                    state
                        .stopping
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&id);
                    if let Err(e) = outcome {
                        tracing::warn!(transfer = %hex::encode(id), "receiving a file stopped: {e}");
                    }
                });
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                self.transfers_state().wake.notified(),
            )
            .await;
        }
    }

    fn fail_transfer(&self, t: &TransferRecord, reason: &str) {
        let _ = self.with_store_mut(|s| {
            Ok(s.set_transfer_state(&t.transfer_id, "failed", Some(reason))?)
        });
        let mut closed = t.clone();
        closed.state = "failed".into();
        self.close_transfer(&closed);
        self.emit(NodeEvent::TransferFinished {
            transfer_id: hex::encode(&t.transfer_id),
            state: "failed".into(),
            error: Some(reason.into()),
        });
    }

    /// Receives one accepted transfer: pulls the missing chunks, verifies
    /// and writes them, then checks the whole file and moves it into place.
    async fn receive_file(
        &self,
        swarm: &SwarmClient,
        mut t: TransferRecord,
    ) -> Result<(), NodeError> {
        let id = parse_id(&t.transfer_id)?;
        let contact = self.with_store(|store| {
            store
                .contacts()?
                .into_iter()
                .find(|c| c.id == t.contact_id)
                .ok_or_else(|| NodeError::BadInput("the transfer's contact is gone".into()))
        })?;
        let peer: libp2p::PeerId = contact
            .peer_id
            .parse()
            .map_err(|_| NodeError::BadInput("the contact's PeerId is invalid".into()))?;
        let offer = Arc::new(
            offer_of(&t)
                .ok_or_else(|| NodeError::BadInput("the stored transfer is damaged".into()))?,
        );
        let pad = self
            .with_store(|store| transfer_pad(store, &t))?
            .map(|p| self.pad_file(&p))
            .transpose()?;
        let dir = self.downloads_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, &e))?;
        if !t.path.is_empty() && !Path::new(&t.path).exists() {
            // The partial file is gone (deleted by hand): start over.
            tracing::warn!(
                path = t.path,
                "the partial file is gone; receiving from the start"
            );
            t.done = vec![0; t.done.len()];
            t.path = String::new();
            self.with_store_mut(|s| Ok(s.set_transfer_progress(&t.transfer_id, &t.done, 0)?))?;
        }
        if t.path.is_empty() {
            let partial = dir.join(format!(".zks-{}.part", hex::encode(id)));
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&partial)
                .map_err(|e| io_err("create", &partial, &e))?;
            file.set_len(t.size)
                .map_err(|e| io_err("size", &partial, &e))?;
            t.path = partial.to_string_lossy().into_owned();
            self.with_store_mut(|s| {
                Ok(s.set_transfer_path(&t.transfer_id, &t.path, "transferring")?)
            })?;
        } else if t.state == "accepted" {
            self.with_store_mut(|s| {
                Ok(s.set_transfer_state(&t.transfer_id, "transferring", None)?)
            })?;
        }
        let partial = PathBuf::from(&t.path);
        let file = Arc::new(
            OpenOptions::new()
                .write(true)
                .read(true)
                .open(&partial)
                .map_err(|e| io_err("open", &partial, &e))?,
        );
        let mut done = t.done.clone();
        let chunks = offer.chunks();
        let mut bytes_done: u64 = (0..chunks)
            .filter(|&i| bit(&done, i))
            .map(|i| offer.chunk_len(i))
            .sum();
        let mut todo: std::collections::VecDeque<u64> =
            (0..chunks).filter(|&i| !bit(&done, i)).collect();
        let mut bad: HashMap<u64, u32> = HashMap::new();
        let mut in_flight = FuturesUnordered::new();
        let mut unsynced = 0usize;
        let mut last_event = Instant::now();
        let mut last_check = Instant::now();
        let started = Instant::now();
        let start_bytes = bytes_done;
        let session_id: [u8; 16] = contact.session_id.as_slice().try_into().unwrap_or_default();
        let mut backoff = Duration::from_millis(200);
        let mut addresses = self.reach(swarm, &contact, peer).await;
        let mut hash = RunningHash::new(offer.clone());
        hash.catch_up(&done, &file)?;
        loop {
            // Pause or cancel from this or another process.
            if self.must_stop(&id) {
                self.save_progress(&file, &t, &done, bytes_done)?;
                return Ok(());
            }
            if last_check.elapsed() >= Duration::from_millis(300) {
                last_check = Instant::now();
                let state =
                    self.with_store(|s| Ok(s.transfer(&t.transfer_id)?.map(|t| t.state)))?;
                if !matches!(state.as_deref(), Some("transferring" | "accepted")) {
                    self.save_progress(&file, &t, &done, bytes_done)?;
                    return Ok(());
                }
            }
            while in_flight.len() < IN_FLIGHT
                && let Some(index) = todo.pop_front()
            {
                let mut request = id.to_vec();
                request.extend_from_slice(&index.to_be_bytes());
                let addresses = addresses.clone();
                let swarm = swarm.clone();
                let (task_offer, task_file, task_pad) = (offer.clone(), file.clone(), pad.clone());
                in_flight.push(async move {
                    let body = match swarm
                        .send_direct(crate::wire::file::ID, peer, addresses, request)
                        .await
                    {
                        Ok(body) => body,
                        Err(e) => return (index, Fetched::Unreachable(e.to_string())),
                    };
                    if body.first() != Some(&CHUNK_OK) {
                        return (index, Fetched::Refused(body));
                    }
                    // Open and write off the async threads, several at once.
                    let opened = tokio::task::spawn_blocking(move || {
                        let plain = match open_chunk(
                            &task_offer,
                            &session_id,
                            task_pad.as_ref(),
                            index,
                            &body[1..],
                        ) {
                            Ok(plain) => plain,
                            Err(e) => return Fetched::Damaged(e.to_string()),
                        };
                        match write_at(&task_file, &plain, index * u64::from(task_offer.chunk_size))
                        {
                            Ok(()) => Fetched::Written(plain),
                            Err(e) => Fetched::WriteFailed(format!("cannot write the file: {e}")),
                        }
                    })
                    .await
                    .unwrap_or_else(|e| Fetched::WriteFailed(format!("a chunk task failed: {e}")));
                    (index, opened)
                });
            }
            let Some((index, fetched)) = in_flight.next().await else {
                break;
            };
            match fetched {
                Fetched::Written(plain) => {
                    backoff = Duration::from_millis(200);
                    set_bit(&mut done, index);
                    bytes_done += offer.chunk_len(index);
                    unsynced += 1;
                    hash.add(index, plain, &done, &file)?;
                }
                Fetched::Unreachable(e) => {
                    // The sender is offline or unreachable: wait, look for
                    // where it listens now, and retry.
                    todo.push_back(index);
                    addresses = self.reach(swarm, &contact, peer).await;
                    tracing::debug!("chunk {index}: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Fetched::Refused(body) => match body.first().copied() {
                    Some(CHUNK_BUSY) | None => {
                        // The sender is at its rate or queue limit.
                        todo.push_back(index);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Some(CHUNK_CLOSED) => {
                        // The sender cancelled; its control message closes it.
                        todo.push_back(index);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Some(_) => {
                        let reason = format!(
                            "the sender refused: {}",
                            String::from_utf8_lossy(&body[1..])
                                .chars()
                                .take(200)
                                .collect::<String>()
                        );
                        self.fail_transfer(&t, &reason);
                        return Ok(());
                    }
                },
                Fetched::WriteFailed(e) => {
                    self.fail_transfer(&t, &e);
                    return Err(NodeError::Io(e));
                }
                Fetched::Damaged(e) => {
                    let n = bad.entry(index).or_default();
                    *n += 1;
                    tracing::warn!(transfer = %hex::encode(id), "chunk {index} refused ({e}); asking again");
                    if *n > MAX_BAD_CHUNK {
                        self.fail_transfer(
                            &t,
                            &format!("chunk {index} arrived damaged {n} times: {e}"),
                        );
                        return Ok(());
                    }
                    todo.push_back(index);
                }
            }
            if unsynced >= SYNC_EVERY {
                self.save_progress(&file, &t, &done, bytes_done)?;
                unsynced = 0;
            }
            if last_event.elapsed() >= PROGRESS_EVERY {
                last_event = Instant::now();
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                self.emit(NodeEvent::TransferProgress {
                    transfer_id: hex::encode(id),
                    bytes_done,
                    size: t.size,
                });
                tracing::debug!(rate = (bytes_done - start_bytes) as f64 / secs, "receiving");
            }
        }
        self.save_progress(&file, &t, &done, bytes_done)?;
        let hash = hash.finish(&done, &file)?;
        drop(file);
        self.emit(NodeEvent::TransferProgress {
            transfer_id: hex::encode(id),
            bytes_done,
            size: t.size,
        });
        self.finish_receive(&t, &partial, &dir, &hash)
    }

    fn save_progress(
        &self,
        file: &File,
        t: &TransferRecord,
        done: &[u8],
        bytes: u64,
    ) -> Result<(), NodeError> {
        // The data first, then the claim that it is there.
        file.sync_data()
            .map_err(|e| NodeError::Io(format!("cannot sync the file: {e}")))?;
        self.with_store_mut(|s| Ok(s.set_transfer_progress(&t.transfer_id, done, bytes)?))
    }

    fn finish_receive(
        &self,
        t: &TransferRecord,
        partial: &Path,
        dir: &Path,
        hash: &[u8; 32],
    ) -> Result<(), NodeError> {
        if hash.as_slice() != t.blake3.as_slice() {
            self.fail_transfer(
                t,
                "the received file does not match the hash the sender offered",
            );
            return Ok(());
        }
        let target = place_file(partial, dir, &t.name)?;
        let path = target.to_string_lossy().into_owned();
        let id = parse_id(&t.transfer_id)?;
        let completed =
            self.with_store_mut(|s| Ok(s.complete_transfer(&t.transfer_id, &path, t.size)?))?;
        let _ = std::fs::remove_file(partial);
        if !completed {
            // Cancelled while the last chunks came in: the whole, verified
            // file stays where it landed; nothing more to tell the sender.
            tracing::info!(
                path,
                "a transfer finished after it was cancelled; the file is kept"
            );
            return Ok(());
        }
        let mut closed = t.clone();
        closed.state = "completed".into();
        self.close_transfer(&closed);
        // Tell the sender (queued: survives restarts).
        let contact = self.with_store(|store| {
            Ok(store
                .contacts()?
                .into_iter()
                .find(|c| c.id == t.contact_id)
                .map(|c| c.name))
        })?;
        if let Some(contact) = contact {
            self.seal_inner(&contact, Mode::Grid, true, |_, _| {
                Ok(Outgoing {
                    plaintext: FileMessage::Done(id).encode(),
                    kind: "control",
                    body: b"completed".to_vec(),
                    transfer: None,
                })
            })?;
            self.inner.outbox_wake.notify_one();
        }
        tracing::info!(transfer = %hex::encode(id), path, "file received");
        self.emit(NodeEvent::TransferFinished {
            transfer_id: hex::encode(id),
            state: "completed".into(),
            error: None,
        });
        Ok(())
    }
}

/// What became of one chunk request.
enum Fetched {
    /// Opened, verified and written: the plaintext, for the running hash.
    Written(Zeroizing<Vec<u8>>),
    /// The sender could not be reached.
    Unreachable(String),
    /// The sender answered with a status other than "here it is".
    Refused(Vec<u8>),
    /// The chunk failed its tag or framing.
    Damaged(String),
    /// Writing the partial file failed.
    WriteFailed(String),
}

/// The whole file's BLAKE3, computed as the verified prefix grows, so the
/// final check needs no second pass over the file. Chunks that arrive ahead
/// of the prefix wait in memory (at most [`HASH_AHEAD`]), or are read back
/// from the partial file when their turn comes.
struct RunningHash {
    offer: Arc<FileOffer>,
    hasher: blake3::Hasher,
    next: u64,
    ahead: std::collections::BTreeMap<u64, Zeroizing<Vec<u8>>>,
}

/// Verified chunks kept in memory ahead of the hashed prefix.
const HASH_AHEAD: usize = 32;

impl RunningHash {
    fn new(offer: Arc<FileOffer>) -> RunningHash {
        RunningHash {
            offer,
            hasher: blake3::Hasher::new(),
            next: 0,
            ahead: std::collections::BTreeMap::new(),
        }
    }

    /// Hashes the verified prefix already on disk (after a restart).
    fn catch_up(&mut self, done: &[u8], file: &File) -> Result<(), NodeError> {
        self.advance(done, file)
    }

    fn add(
        &mut self,
        index: u64,
        plain: Zeroizing<Vec<u8>>,
        done: &[u8],
        file: &File,
    ) -> Result<(), NodeError> {
        if index >= self.next && self.ahead.len() < HASH_AHEAD {
            self.ahead.insert(index, plain);
        }
        self.advance(done, file)
    }

    fn advance(&mut self, done: &[u8], file: &File) -> Result<(), NodeError> {
        while self.next < self.offer.chunks() && bit(done, self.next) {
            let chunk = match self.ahead.remove(&self.next) {
                Some(plain) => plain,
                None => {
                    let mut buf =
                        Zeroizing::new(vec![0u8; self.offer.chunk_len(self.next) as usize]);
                    read_at(file, &mut buf, self.next * u64::from(self.offer.chunk_size))
                        .map_err(|e| NodeError::Io(format!("cannot read the partial file: {e}")))?;
                    buf
                }
            };
            self.hasher.update(&chunk);
            self.next += 1;
        }
        Ok(())
    }

    fn finish(mut self, done: &[u8], file: &File) -> Result<[u8; 32], NodeError> {
        self.advance(done, file)?;
        Ok(*self.hasher.finalize().as_bytes())
    }
}

fn pad_too_small(size: u64, needed: u64, left: u64) -> NodeError {
    NodeError::BadInput(format!(
        "this file is {size} bytes and needs {needed} bytes of one-time pad (plus a few hundred for the offer), but only {left} are left for sending; send it post-quantum encrypted instead, or exchange a larger pad"
    ))
}

/// Opens chunk `index` as received (after the status byte).
fn open_chunk(
    offer: &FileOffer,
    session_id: &[u8; 16],
    pad: Option<&crate::pads::PadFile>,
    index: u64,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, NodeError> {
    match &offer.protection {
        FileProtection::Grid { key } => {
            padfile::open_grid_chunk(key, &offer.id, index, offer.chunk_len(index), sealed)
                .map(Zeroizing::new)
                .map_err(|e| NodeError::BadInput(e.to_string()))
        }
        FileProtection::Pad { .. } => {
            let pad_file =
                pad.ok_or_else(|| NodeError::BadInput("no pad for this transfer".into()))?;
            let envelope = Envelope::parse(sealed)?;
            let expected = offer.chunk_pad_range(index);
            if envelope.session_id != *session_id || truepad::claimed_range(&envelope) != expected {
                return Err(NodeError::BadInput(format!(
                    "chunk {index} claims pad bytes other than its own"
                )));
            }
            let range = expected.unwrap_or_default();
            let mut bytes = read_range(pad_file, &range)?;
            truepad::open(&envelope, &pad_file.pad_id, &mut bytes)
                .map(Zeroizing::new)
                .map_err(NodeError::from)
        }
    }
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

    #[test]
    fn a_finished_file_never_replaces_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"mine").unwrap();
        std::fs::write(dir.path().join("a (1).txt"), b"mine too").unwrap();
        let partial = dir.path().join(".zks-1.part");
        std::fs::write(&partial, b"theirs").unwrap();
        let placed = place_file(&partial, dir.path(), "a.txt").unwrap();
        assert_eq!(placed, dir.path().join("a (2).txt"));
        assert_eq!(std::fs::read(&placed).unwrap(), b"theirs");
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
        assert!(
            partial.exists(),
            "removed only once the transfer is stored complete"
        );
        let partial = dir.path().join(".zks-2.part");
        std::fs::write(&partial, b"x").unwrap();
        assert_eq!(
            place_file(&partial, dir.path(), "noext").unwrap(),
            dir.path().join("noext")
        );
    }

    #[test]
    fn bitmaps() {
        let mut b = vec![0u8; 2];
        set_bit(&mut b, 0);
        set_bit(&mut b, 9);
        set_bit(&mut b, 99); // out of range: ignored
        assert!(bit(&b, 0) && bit(&b, 9) && !bit(&b, 1) && !bit(&b, 99));
    }
}
