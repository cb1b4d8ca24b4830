//! Making and sending an offer: the file is hashed whole and per chunk,
//! then a sealed offer is queued (in pad mode with the pad range the file
//! will use reserved in the same transaction).
//!
//! A timelocked file (decision 0070) is first streamed through
//! `zks_tlock::seal` into its *sealed copy*, an age file in
//! `<home>/timelocked/<transfer id>.age`, hashed as it is written; that
//! copy is what is offered and served, and it is removed when the
//! transfer ends (`sweep_sealed_copies` removes those a crash left).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;
use zks_beacon::ChainInfo;
use zks_pad::Mode;
use zks_pad::file::{
    self as padfile, CHUNK_SIZE, FileMessage, FileOffer, FileProtection, MAX_FILE, OfferTimelock,
    TransferId,
};
use zks_pad::truepad;
use zks_store::{NewTransfer, TransferChange, TransferLock, TransferState};

use super::hash::{HashingWriter, hash_file};
use super::info::TransferInfo;
use super::placement::io_err;
use crate::content::{Outgoing, mode_name, safe_file_name};
use crate::pads::book_of;
use crate::{Node, NodeError};

/// The folder of the sealed copies of timelocked files being sent.
const SEALED_DIR: &str = "timelocked";
/// A sealed copy no open transfer uses is removed once it is this old (a
/// younger one may be one another process is sealing or offering now).
const ORPHAN_AFTER: Duration = Duration::from_secs(3600);

/// What a timelocked file is locked to, as the sender chose it.
pub(crate) struct FileLock<'a> {
    /// The timelock chain.
    pub chain: &'a ChainInfo,
    /// The round that opens it.
    pub round: u64,
    /// Unix time the round is published.
    pub opens_at: i64,
}

/// The most bytes the age file of a `size`-byte file can take: the header
/// (under 1 KiB with one tlock stanza), the 16-byte nonce and a 16-byte tag
/// per 64 KiB chunk (at least one).
pub(crate) fn sealed_len_bound(size: u64) -> u64 {
    size + 1024 + 16 + 16 * (size / 65_536 + 1)
}

/// A timelocked file sealed into its copy, hashed as it was written.
struct SealedCopy {
    path: PathBuf,
    size: u64,
    blake3: [u8; 32],
    chunk_hashes: Vec<u8>,
}

pub(super) fn pad_too_small(size: u64, needed: u64, left: u64) -> NodeError {
    NodeError::BadInput(format!(
        "this file is {size} bytes and needs {needed} bytes of one-time pad (plus a few hundred for the offer), but only {left} are left for sending; send it post-quantum encrypted instead, or exchange a larger pad"
    ))
}

impl Node {
    /// Offers `path` to `contact` in `mode`: hashes the file, then queues
    /// the sealed offer (with the file's pad range reserved, in pad mode).
    /// Blocking: call it off the async runtime for large files.
    pub fn send_file(
        &self,
        contact: &str,
        path: &Path,
        mode: Mode,
    ) -> Result<TransferInfo, NodeError> {
        self.offer_file(contact, path, mode, None)
    }

    /// Where the sealed copy of timelocked transfer `id` lives while it is
    /// sent.
    pub(crate) fn sealed_copy(&self, id: &[u8]) -> PathBuf {
        self.data_dir()
            .path()
            .join(SEALED_DIR)
            .join(format!("{}.age", hex::encode(id)))
    }

    /// [`Node::send_file`], or with `lock` the file timelocked first: what
    /// is offered, hashed and served is then its sealed copy.
    pub(crate) fn offer_file(
        &self,
        contact: &str,
        path: &Path,
        mode: Mode,
        lock: Option<&FileLock<'_>>,
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
        // Fail before hashing (or sealing) when the pad cannot hold the file.
        if mode == Mode::Pad {
            let sent = if lock.is_some() {
                sealed_len_bound(size)
            } else {
                size
            };
            self.check_pad_room(contact, sent)?;
        }
        // And before sealing when there is no such contact.
        self.with_store(|store| Ok(store.contact(contact)?))?;
        let name = path
            .file_name()
            .map(|n| safe_file_name(&n.to_string_lossy()))
            .unwrap_or_else(|| "file".into());
        let path = std::fs::canonicalize(path).map_err(|e| io_err("resolve", path, &e))?;
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let (size, blake3, chunk_hashes, sealed) = match lock {
            None => {
                let (blake3, chunk_hashes) = hash_file(&path, size)?;
                (size, blake3, chunk_hashes, None)
            }
            Some(lock) => {
                let copy = self.seal_copy(&path, &id, lock)?;
                (copy.size, copy.blake3, copy.chunk_hashes, Some(copy.path))
            }
        };
        let offered = self.queue_offer(
            contact,
            mode,
            Offered {
                id,
                name,
                path,
                size,
                blake3,
                chunk_hashes,
                lock,
            },
        );
        if offered.is_err()
            && let Some(sealed) = sealed
        {
            let _ = std::fs::remove_file(sealed);
        }
        offered
    }

    /// Queues the sealed offer of a hashed (or sealed) file.
    fn queue_offer(
        &self,
        contact: &str,
        mode: Mode,
        file: Offered<'_>,
    ) -> Result<TransferInfo, NodeError> {
        let Offered {
            id,
            name,
            path,
            size,
            blake3,
            chunk_hashes,
            lock,
        } = file;
        if size > MAX_FILE {
            return Err(NodeError::BadInput(format!(
                "timelocked, {} is {size} bytes; files up to {MAX_FILE} bytes can be sent",
                path.display()
            )));
        }
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
                timelock: lock.map(|l| OfferTimelock {
                    round: l.round,
                    chain: l.chain.hash.0,
                }),
            };
            let (secret, pad_offset) = match &offer.protection {
                FileProtection::Grid { key } => (Some(key.to_vec()), None),
                FileProtection::Pad { offset } => (None, Some(*offset)),
            };
            Ok(Outgoing {
                plaintext: FileMessage::Offer(offer).encode(),
                kind: "file",
                body: name.clone().into_bytes(),
                transfer: Some(TransferChange::Create(Box::new(NewTransfer {
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
                    state: TransferState::Offered,
                    timelock: lock.map(|l| TransferLock {
                        chain_hash: l.chain.hash.0.to_vec(),
                        round: l.round,
                        opens_at: l.opens_at,
                    }),
                }))),
                change: None,
                reply_to: None,
                timelock: None,
                group: None,
            })
        })?;
        tracing::info!(transfer = %hex::encode(id), ?message_id, size, timelocked = lock.is_some(), "file offered");
        self.inner.outbox_wake.notify_one();
        self.transfer(&hex::encode(id))
    }

    /// Streams `source` through the timelock into the sealed copy of
    /// transfer `id` (a temporary name first, synced, then renamed), hashing
    /// it as it is written. Memory stays bounded whatever the file's size.
    fn seal_copy(
        &self,
        source: &Path,
        id: &TransferId,
        lock: &FileLock<'_>,
    ) -> Result<SealedCopy, NodeError> {
        let path = self.sealed_copy(id);
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, &e))?;
        let tmp = path.with_extension("part");
        let sealed = (|| {
            let input = File::open(source).map_err(|e| io_err("read", source, &e))?;
            let out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| io_err("create", &tmp, &e))?;
            let mut reader = BufReader::with_capacity(1 << 20, input);
            let mut writer = HashingWriter::new(BufWriter::with_capacity(1 << 20, out));
            zks_tlock::seal(
                lock.chain,
                lock.round,
                &mut reader,
                &mut writer,
                false,
                &mut OsRng,
            )
            .map_err(|e| match e {
                zks_tlock::TlockError::Io(e) => {
                    NodeError::Io(format!("cannot timelock {}: {e}", source.display()))
                }
                e => NodeError::BadInput(format!("timelock: {e}")),
            })?;
            let (out, blake3, chunk_hashes, size) = writer.finish();
            let out = out
                .into_inner()
                .map_err(|e| io_err("write", &tmp, e.error()))?;
            out.sync_all().map_err(|e| io_err("sync", &tmp, &e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io_err("rename", &tmp, &e))?;
            Ok(SealedCopy {
                path: path.clone(),
                size,
                blake3,
                chunk_hashes,
            })
        })();
        if sealed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        sealed
    }

    /// Removes sealed copies no open outgoing transfer uses: those of
    /// transfers that ended, and (after [`ORPHAN_AFTER`]) those a crash
    /// left before their offer was stored.
    pub(super) fn sweep_sealed_copies(&self) {
        let dir = self.data_dir().path().join(SEALED_DIR);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let id = path
                .file_stem()
                .and_then(|s| hex::decode(s.to_string_lossy().as_bytes()).ok());
            let state = id.and_then(|id| {
                self.with_store(|store| Ok(store.transfer_state(&id)?))
                    .ok()
                    .flatten()
            });
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= ORPHAN_AFTER);
            let remove = match state {
                Some(state) => !state.is_open(),
                None => old,
            };
            if remove {
                tracing::debug!(path = %path.display(), "removing a sealed copy no transfer uses");
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    pub(super) fn check_pad_room(&self, contact: &str, size: u64) -> Result<(), NodeError> {
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
}

/// A file ready to be offered: hashed, or sealed and hashed.
struct Offered<'a> {
    id: TransferId,
    name: String,
    /// The file the user chose (shown as the transfer's path).
    path: PathBuf,
    /// Size and hashes of what travels.
    size: u64,
    blake3: [u8; 32],
    chunk_hashes: Vec<u8>,
    lock: Option<&'a FileLock<'a>>,
}
