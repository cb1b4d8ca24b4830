//! The receiver: starts a puller for each accepted transfer, fetches the
//! missing chunks (several in flight), verifies and writes them into the
//! partial file, saves the bitmap of verified chunks after syncing the data
//! (the resume path after a crash), then checks the whole file and moves
//! it into place.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use zeroize::Zeroizing;
use zks_grid::swarm::SwarmClient;
use zks_pad::file::{self as padfile, FileMessage, FileOffer, FileProtection};
use zks_pad::truepad;
use zks_pad::{Envelope, Mode};
use zks_store::{TransferRecord, TransferState};

use super::hash::RunningHash;
use super::placement::{io_err, place_file, write_at};
use super::record::{bit, contact_of, live_contact_of, offer_of, parse_id, set_bit, transfer_pad};
use super::{CHUNK_BUSY, CHUNK_CLOSED, CHUNK_OK, PROGRESS_EVERY};
use crate::content::Outgoing;
use crate::pads::read_range;
use crate::{Node, NodeError, NodeEvent};

/// Chunk requests in flight per transfer.
const IN_FLIGHT: usize = 8;
/// Chunks written between syncs of the partial file (and of the bitmap).
const SYNC_EVERY: usize = 32;
/// How many times one chunk may arrive damaged before the transfer fails.
const MAX_BAD_CHUNK: u32 = 5;

/// What became of one chunk request.
pub(super) enum Fetched {
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

/// Opens chunk `index` as received (after the status byte).
pub(super) fn open_chunk(
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

impl Node {
    /// Starts receivers for accepted transfers until the node stops; runs
    /// with the swarm (see `go_online`).
    pub(crate) async fn transfer_loop(self, swarm: SwarmClient) {
        self.sweep_sealed_copies();
        loop {
            let open = self.with_store(|store| Ok(store.receiving_transfers()?));
            let open = match open {
                Ok(all) => all,
                Err(NodeError::Stopped) => return,
                Err(_) => Vec::new(),
            };
            for t in open {
                if t.outgoing
                    || !matches!(
                        t.state,
                        TransferState::Accepted | TransferState::Transferring
                    )
                {
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

    pub(super) fn fail_transfer(&self, t: &TransferRecord, reason: &str) {
        let _ = self.with_store_mut(|s| {
            Ok(s.set_transfer_state(&t.transfer_id, TransferState::Failed, Some(reason))?)
        });
        let mut closed = t.clone();
        closed.state = TransferState::Failed;
        self.close_transfer(&closed);
        self.emit(NodeEvent::TransferFinished {
            transfer_id: hex::encode(&t.transfer_id),
            state: TransferState::Failed,
            error: Some(reason.into()),
        });
    }

    /// Receives one accepted transfer: pulls the missing chunks, verifies
    /// and writes them, then checks the whole file and moves it into place.
    pub(super) async fn receive_file(
        &self,
        swarm: &SwarmClient,
        mut t: TransferRecord,
    ) -> Result<(), NodeError> {
        let id = parse_id(&t.transfer_id)?;
        let contact = self.with_store(|store| live_contact_of(store, &t))?;
        let peer: libp2p::PeerId = contact
            .peer_id
            .parse()
            .map_err(|_| NodeError::Corrupt("the contact's PeerId is invalid".into()))?;
        let offer = Arc::new(
            offer_of(&t)
                .ok_or_else(|| NodeError::Corrupt("the stored transfer is damaged".into()))?,
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
            // A timelocked file arrives as its age file, which stays (under
            // this name) until its round opens it.
            let extension = if t.timelock.is_some() {
                "tlock"
            } else {
                "part"
            };
            let partial = dir.join(format!(".zks-{}.{extension}", hex::encode(id)));
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
                Ok(s.set_transfer_path(&t.transfer_id, &t.path, TransferState::Transferring)?)
            })?;
        } else if t.state == TransferState::Accepted {
            self.with_store_mut(|s| {
                Ok(s.set_transfer_state(&t.transfer_id, TransferState::Transferring, None)?)
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
                if !matches!(
                    state,
                    Some(TransferState::Transferring | TransferState::Accepted)
                ) {
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

    pub(super) fn save_progress(
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

    pub(super) fn finish_receive(
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
        let id = parse_id(&t.transfer_id)?;
        let path = if let Some(lock) = &t.timelock {
            // Timelocked: the age file is kept as it is until its round;
            // it must be locked to the round its offer named.
            if let Err(why) = check_locked_file(partial, lock) {
                self.fail_transfer(t, &why);
                return Ok(());
            }
            partial.to_string_lossy().into_owned()
        } else {
            place_file(partial, dir, &t.name)?
                .to_string_lossy()
                .into_owned()
        };
        let completed =
            self.with_store_mut(|s| Ok(s.complete_transfer(&t.transfer_id, &path, t.size)?))?;
        if t.timelock.is_none() || !completed {
            let _ = std::fs::remove_file(partial);
        }
        if !completed {
            // Cancelled while the last chunks came in: the whole, verified
            // file stays where it landed (a timelocked one does not: nothing
            // would open it); nothing more to tell the sender.
            tracing::info!(
                path,
                "a transfer finished after it was cancelled; the file is kept"
            );
            return Ok(());
        }
        let mut closed = t.clone();
        closed.state = TransferState::Completed;
        self.close_transfer(&closed);
        // Tell the sender (queued: survives restarts).
        let contact = self.with_store(|store| Ok(contact_of(store, t)?.map(|c| c.name)))?;
        if let Some(contact) = contact {
            self.seal_inner(&contact, Mode::Grid, true, |_, _| {
                Ok(Outgoing {
                    plaintext: FileMessage::Done(id).encode(),
                    kind: "control",
                    body: TransferState::Completed.as_str().as_bytes().to_vec(),
                    transfer: None,
                    change: None,
                    reply_to: None,
                    timelock: None,
                    group: None,
                })
            })?;
            self.inner.outbox_wake.notify_one();
        }
        tracing::info!(transfer = %hex::encode(id), path, locked = t.timelock.is_some(), "file received");
        self.emit(NodeEvent::TransferFinished {
            transfer_id: hex::encode(id),
            state: TransferState::Completed,
            error: None,
        });
        Ok(())
    }
}

/// Checks that a received timelocked file is an age file locked to the
/// round (and chain) its offer named; the reason otherwise.
fn check_locked_file(path: &Path, lock: &zks_store::TransferLock) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot read the timelocked file: {e}"))?;
    let locked = zks_tlock::read_header(std::io::BufReader::new(file))
        .map_err(|e| format!("the sender's timelocked file cannot be used: {e}"))?;
    if locked.round() != lock.round || locked.chain().0[..] != lock.chain_hash[..] {
        return Err(format!(
            "the sender's file is timelocked to round {} of chain {}, not to the round {} its offer named",
            locked.round(),
            locked.chain().to_hex(),
            lock.round
        ));
    }
    Ok(())
}
