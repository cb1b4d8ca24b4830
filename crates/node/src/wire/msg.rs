//! `/zks/msg/1.0.0`: sealed messages (and pairing replies) between paired
//! peers.
//!
//! Participants: the sender of a message and the contact it is for,
//! connected directly or through a relay; the connection authenticates the
//! sender's PeerId.
//!
//! Request: one sealed envelope, or a pairing reply (binary, starting
//! `ZK`, see `zks_pad::invite::code_kind`), the whole stream, at most
//! [`MAX_MESSAGE`] bytes.
//!
//! Response: an acknowledgement of at most [`MAX_ACK`] bytes, sent only
//! after the message (or pairing) was stored: one of the [`Ack`] words, or
//! `err:<code>: <text>` with a `NodeError` code (`err:key_reuse` when a
//! different envelope reuses a message key or pad bytes). An `err:` answer
//! is final; anything else unknown is retried.
//!
//! Limits: [`MSG_RATE`] requests per second per peer (beyond it, or when
//! the receiver's inbound queue is full, the answer is [`Ack::Busy`]), and
//! [`MSG_STREAMS`] streams at once per connection (beyond them the stream
//! itself is refused).

use std::time::Duration;

use libp2p::StreamProtocol;
use zks_grid::swarm::DirectProtocol;

/// The protocol id.
pub const PROTOCOL: &str = "/zks/msg/1.0.0";
/// The protocol id as the swarm takes it.
pub const ID: StreamProtocol = StreamProtocol::new(PROTOCOL);
/// Largest envelope carried.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Largest acknowledgement.
pub const MAX_ACK: usize = 1024;
/// Requests per second (and burst) one peer may make.
pub const MSG_RATE: u64 = 1000;
/// Concurrent streams per connection: an outbox sends one message per
/// contact at a time, and each stream may hold a 256 KiB envelope, so this
/// bounds what one connection can make us buffer (2 MiB).
pub const MSG_STREAMS: usize = 8;
/// How long a sender waits for the acknowledgement.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The answer of a node that takes no messages.
pub const REFUSED: &[u8] = b"err:this node does not take messages";

/// The acknowledgements other than `err:…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The message is stored.
    Ok,
    /// The message was stored earlier (a resend).
    Duplicate,
    /// The receiver is too busy to take it now; ask again.
    Busy,
}

impl Ack {
    /// The bytes on the wire.
    pub const fn bytes(self) -> &'static [u8] {
        match self {
            Ack::Ok => b"ok",
            Ack::Duplicate => b"dup",
            Ack::Busy => b"busy",
        }
    }

    /// The acknowledgement `bytes` are, if one of these.
    pub fn from_bytes(bytes: &[u8]) -> Option<Ack> {
        [Ack::Ok, Ack::Duplicate, Ack::Busy]
            .into_iter()
            .find(|a| a.bytes() == bytes)
    }
}

/// `/zks/msg/1.0.0` as the swarm carries it.
pub fn protocol() -> DirectProtocol {
    DirectProtocol {
        id: ID,
        max_request: MAX_MESSAGE,
        max_response: MAX_ACK,
        timeout: TIMEOUT,
        streams: MSG_STREAMS,
        requests_per_sec: MSG_RATE,
        busy: Ack::Busy.bytes().to_vec(),
        refused: REFUSED.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_map_to_their_bytes_and_back() {
        for ack in [Ack::Ok, Ack::Duplicate, Ack::Busy] {
            assert_eq!(Ack::from_bytes(ack.bytes()), Some(ack));
        }
        assert_eq!(Ack::from_bytes(b"err:io: x"), None);
        assert!(REFUSED.len() <= MAX_ACK);
    }
}
