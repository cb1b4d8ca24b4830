//! `/zks/file/1.0.0`: pulling chunks of an offered file from the paired
//! peer that offered it.
//!
//! Participants: the receiver of a file offer (requester) and the sender
//! that offered it (server), connected directly or through a relay.
//!
//! Request: `transfer id [u8; 16] | chunk index u64 BE` (24 bytes; at most
//! [`MAX_FILE_REQUEST`]).
//!
//! Response: a [`Status`] byte, then for [`Status::Ok`] the chunk sealed for
//! the transfer, otherwise a UTF-8 reason; at most [`MAX_FILE_RESPONSE`]
//! bytes (a 1 MiB chunk with its framing). The requester opens and checks
//! every chunk before writing it.
//!
//! Limits: [`FILE_RATE`] requests per second per peer (beyond it, or when
//! the server's inbound queue is full, the answer is [`Status::Busy`]
//! alone), and [`FILE_STREAMS`] streams at once per connection (beyond them
//! the stream itself is refused).

use std::time::Duration;

use libp2p::StreamProtocol;
use zks_grid::swarm::DirectProtocol;

/// The protocol id.
pub const PROTOCOL: &str = "/zks/file/1.0.0";
/// The protocol id as the swarm takes it.
pub const ID: StreamProtocol = StreamProtocol::new(PROTOCOL);
/// Largest file-chunk request.
pub const MAX_FILE_REQUEST: usize = 64;
/// Largest file-chunk response: a 1 MiB chunk with its framing.
pub const MAX_FILE_RESPONSE: usize = (1 << 20) + 4096;
/// Chunk requests per second (and burst) one peer may make (1 GiB/s of
/// 1 MiB chunks).
pub const FILE_RATE: u64 = 1024;
/// Concurrent streams per connection (requests are 64 bytes; a receiver
/// keeps 8 chunks in flight).
pub const FILE_STREAMS: usize = 32;
/// How long a requester waits for a chunk.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The answer of a node that takes no requests (the same words as
/// `/zks/msg/1.0.0`'s; its first byte is no [`Status`], so a requester
/// takes it as a refusal).
pub const REFUSED: &[u8] = b"err:this node does not take messages";

/// The first byte of every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The chunk follows.
    Ok = 0,
    /// No such transfer or chunk, or a malformed request.
    Unknown = 1,
    /// The transfer is closed (cancelled, or its pad is gone).
    Closed = 2,
    /// The file changed since it was offered.
    Changed = 3,
    /// Busy: over the rate or the queue is full; ask again.
    Busy = 4,
}

impl Status {
    /// The byte on the wire.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// The status `byte` stands for, if any.
    pub fn from_byte(byte: u8) -> Option<Status> {
        [
            Status::Ok,
            Status::Unknown,
            Status::Closed,
            Status::Changed,
            Status::Busy,
        ]
        .into_iter()
        .find(|s| s.byte() == byte)
    }
}

/// `/zks/file/1.0.0` as the swarm carries it.
pub fn protocol() -> DirectProtocol {
    DirectProtocol {
        id: ID,
        max_request: MAX_FILE_REQUEST,
        max_response: MAX_FILE_RESPONSE,
        timeout: TIMEOUT,
        streams: FILE_STREAMS,
        requests_per_sec: FILE_RATE,
        busy: vec![Status::Busy.byte()],
        refused: REFUSED.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_are_fixed_and_map_back() {
        let wire = [
            (Status::Ok, 0),
            (Status::Unknown, 1),
            (Status::Closed, 2),
            (Status::Changed, 3),
            (Status::Busy, 4),
        ];
        for (status, byte) in wire {
            assert_eq!(status.byte(), byte);
            assert_eq!(Status::from_byte(byte), Some(status));
        }
        assert_eq!(Status::from_byte(5), None);
    }
}
