//! Making and sending an offer: the file is hashed whole and per chunk,
//! then a sealed offer is queued (in pad mode with the pad range the file
//! will use reserved in the same transaction).

use std::path::Path;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;
use zks_pad::Mode;
use zks_pad::file::{
    self as padfile, CHUNK_SIZE, FileMessage, FileOffer, FileProtection, MAX_FILE,
};
use zks_pad::truepad;
use zks_store::{NewTransfer, TransferChange, TransferState};

use super::hash::hash_file;
use super::info::TransferInfo;
use super::placement::io_err;
use crate::content::{Outgoing, mode_name, safe_file_name};
use crate::pads::book_of;
use crate::{Node, NodeError};

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
                    state: TransferState::Offered,
                })),
                change: None,
                reply_to: None,
                timelock: None,
            })
        })?;
        tracing::info!(transfer = %hex::encode(id), ?message_id, size, "file offered");
        self.inner.outbox_wake.notify_one();
        self.transfer(&hex::encode(id))
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
