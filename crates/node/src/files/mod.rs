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
//!
//! A timelocked file (decision 0070) travels as the age file of it: the
//! sender offers and serves its sealed copy, the receiver keeps the age
//! file when it arrived whole (the transfer is `completed` and `locked`)
//! and [`unlock`] turns it into the file once its round is out.
//!
//! Where each part lives:
//!
//! - [`offer`]: hashing a file and queueing its sealed offer (`send_file`).
//! - [`control`]: incoming control messages (offer, decline, cancel, done),
//!   accept/pause/decline/cancel, and closing a transfer.
//! - [`serve`]: the sender answering chunk requests.
//! - [`receive`]: the receiver's pull loop, resume after a crash, and the
//!   final check and placement.
//! - [`hash`]: whole-file and per-chunk hashing, the receiver's running hash.
//! - [`placement`]: the downloads folder, safe names, never replacing a file.
//! - [`info`]: [`TransferInfo`] as the front ends see it, lookup by id.
//! - [`record`]: reading stored transfer records (ids, bitmaps, offers, pads).
//! - [`live`]: in-memory state of this process's transfers.
//! - [`unlock`]: a received timelocked file opened at its round (the
//!   opener in `timelock.rs` calls it; decision 0070).

use std::time::Duration;

mod control;
mod hash;
mod info;
mod live;
mod offer;
mod placement;
mod receive;
mod record;
mod serve;
mod unlock;

pub use info::TransferInfo;
pub(crate) use live::Transfers;
pub(crate) use offer::FileLock;

/// How often progress events are published per transfer.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Answer codes of `/zks/file/1.0.0`, first byte of a response.
const CHUNK_OK: u8 = crate::wire::file::Status::Ok.byte();
const CHUNK_UNKNOWN: u8 = crate::wire::file::Status::Unknown.byte();
const CHUNK_CLOSED: u8 = crate::wire::file::Status::Closed.byte();
const CHUNK_CHANGED: u8 = crate::wire::file::Status::Changed.byte();
const CHUNK_BUSY: u8 = crate::wire::file::Status::Busy.byte();
