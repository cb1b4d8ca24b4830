//! The sender answering chunk requests (`/zks/file/1.0.0`): a request is
//! the 16-byte transfer id and the 8-byte big-endian chunk index; the answer
//! is a status byte (`CHUNK_*`), then the sealed chunk or a reason.

use std::fs::File;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;
use zks_pad::file::{self as padfile, FileOffer, FileProtection, TransferId};
use zks_pad::truepad;
use zks_store::TransferState;

use super::placement::read_at;
use super::record::{bit, contact_of, offer_of, set_bit, transfer_pad};
use super::{CHUNK_CHANGED, CHUNK_CLOSED, CHUNK_OK, CHUNK_UNKNOWN, PROGRESS_EVERY};
use crate::pads::{read_range, role_of};
use crate::{Node, NodeError, NodeEvent};

/// An outgoing transfer being served, kept in memory while chunks are
/// asked for.
#[derive(Debug)]
pub(crate) struct Serving {
    pub(super) peer: String,
    pub(super) offer: FileOffer,
    pub(super) file: File,
    pub(super) chunk_hashes: Vec<u8>,
    pub(super) session_id: [u8; 16],
    pub(super) role: zks_pad::Role,
    pub(super) pad: Option<crate::pads::PadFile>,
    pub(super) sent: Mutex<Sent>,
}

/// What a sender has served of one transfer.
#[derive(Debug)]
pub(super) struct Sent {
    /// Chunks served at least once.
    pub(super) bitmap: Vec<u8>,
    /// Bytes of those chunks.
    pub(super) distinct: u64,
    /// Bytes served, repeats included.
    pub(super) total: u64,
    pub(super) last_event: Instant,
    pub(super) last_saved: Instant,
}

impl Node {
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

    pub(super) fn serve_chunk_inner(
        &self,
        peer: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, (u8, String)> {
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
            let _ = self.with_store_mut(|s| {
                Ok(s.set_transfer_state(&id, TransferState::Failed, Some(reason))?)
            });
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
        #[cfg(feature = "test-hooks")]
        if self.take_corrupt_chunk() {
            let mid = out.len() / 2;
            out[mid] ^= 0x10;
        }
        self.note_sent(&id, &serving, index, len as u64);
        Ok(out)
    }

    pub(super) fn note_sent(&self, id: &TransferId, serving: &Serving, index: u64, len: u64) {
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
    pub(super) fn serving(
        &self,
        id: &TransferId,
        peer: &str,
    ) -> Result<Arc<Serving>, (u8, String)> {
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
                Ok(Some(TransferState::Transferring | TransferState::Offered)) => Ok(serving),
                Ok(Some(state)) => Err((CHUNK_CLOSED, format!("the transfer is {state}"))),
                _ => Err((CHUNK_UNKNOWN, "no such transfer".into())),
            };
        }
        let unknown = || (CHUNK_UNKNOWN, "no such transfer".to_string());
        let loaded = self.with_store_mut(|store| {
            let Some(t) = store.transfer(id)? else {
                return Ok(None);
            };
            let Some(contact) = contact_of(store, &t)? else {
                return Ok(None);
            };
            if !t.outgoing || contact.peer_id != peer {
                return Ok(None);
            }
            if !matches!(
                t.state,
                TransferState::Offered | TransferState::Transferring
            ) {
                return Ok(Some(Err((
                    CHUNK_CLOSED,
                    format!("the transfer is {}", t.state),
                ))));
            }
            if t.state == TransferState::Offered {
                store.set_transfer_state(id, TransferState::Transferring, None)?;
            }
            let pad = match transfer_pad(store, &t) {
                Ok(pad) => pad
                    .map(|p| Ok::<_, NodeError>((self.pad_file(&p)?, role_of(&p.role))))
                    .transpose()?,
                Err(e) => {
                    let reason = e.to_string();
                    store.set_transfer_state(id, TransferState::Failed, Some(&reason))?;
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
        // A timelocked file is served from its sealed copy.
        let source = if t.timelock.is_some() {
            self.sealed_copy(id)
        } else {
            std::path::PathBuf::from(&t.path)
        };
        let file = File::open(&source)
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
        // Requests arrive in parallel: the first to get here wins, and the
        // others count what they serve on its figures, not on a copy that
        // would be dropped.
        Ok(state
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(*id)
            .or_insert(serving)
            .clone())
    }
}
