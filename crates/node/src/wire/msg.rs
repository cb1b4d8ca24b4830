//! `/zks/msg/1.0.0`: sealed messages (and pairing replies) between paired
//! peers, one per request; and `/zks/msg/1.1.0`: batches of sealed
//! messages, so a busy conversation is not held to one round trip per
//! message.
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
//!
//! ## Batches (`/zks/msg/1.1.0`)
//!
//! Request: `count u16 BE | (len u32 BE | envelope)*`, `1 <= count <=`
//! [`MAX_BATCH_ENVELOPES`], each envelope at most [`MAX_MESSAGE`] bytes and
//! the whole request at most [`MAX_BATCH`] bytes; the envelopes are the
//! sender's queue for this contact in order (no pairing replies).
//!
//! Response: `count u16 BE | (len u16 BE | ack)*`, one [`Ack`] word or
//! `err:…` per envelope in the request's order (each at most [`MAX_ACK`]
//! bytes), sent only after every message of the batch was stored. The
//! receiver opens the envelopes in order, in one database transaction (one
//! durable write per batch, not per message); a refused envelope does not
//! stop the ones after it. A whole-batch [`Ack::Busy`] (the word alone, not
//! framed) means nothing was taken; ask again.
//!
//! A peer that does not speak 1.1.0 (an older release) is sent the same
//! envelopes one by one on 1.0.0.

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

/// The batch protocol id.
pub const BATCH_PROTOCOL: &str = "/zks/msg/1.1.0";
/// The batch protocol id as the swarm takes it.
pub const BATCH_ID: StreamProtocol = StreamProtocol::new(BATCH_PROTOCOL);
/// Most envelopes in one batch.
pub const MAX_BATCH_ENVELOPES: usize = 256;
/// Largest batch request: one envelope of the largest size with its
/// framing, or many small ones.
pub const MAX_BATCH: usize = MAX_MESSAGE + 2 + 4 * MAX_BATCH_ENVELOPES;
/// Largest batch response.
pub const MAX_BATCH_ACKS: usize = 2 + MAX_BATCH_ENVELOPES * (2 + MAX_ACK);
/// Concurrent batch streams per connection: a sender has one batch in
/// flight per contact, and each stream may hold [`MAX_BATCH`] bytes.
pub const BATCH_STREAMS: usize = 2;

/// Why batch bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed message batch: {0}")]
pub struct BadBatch(&'static str);

/// Frames `envelopes` (at most [`MAX_BATCH_ENVELOPES`], each at most
/// [`MAX_MESSAGE`] bytes, together at most [`MAX_BATCH`]) as a batch request.
pub fn encode_batch<T: AsRef<[u8]>>(envelopes: &[T]) -> Result<Vec<u8>, BadBatch> {
    if envelopes.is_empty() || envelopes.len() > MAX_BATCH_ENVELOPES {
        return Err(BadBatch("1 to 256 envelopes per batch"));
    }
    let mut out = Vec::with_capacity(
        2 + envelopes
            .iter()
            .map(|e| 4 + e.as_ref().len())
            .sum::<usize>(),
    );
    out.extend_from_slice(&(envelopes.len() as u16).to_be_bytes());
    for envelope in envelopes {
        let envelope = envelope.as_ref();
        if envelope.len() > MAX_MESSAGE {
            return Err(BadBatch("an envelope is larger than 256 KiB"));
        }
        out.extend_from_slice(&(envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(envelope);
    }
    if out.len() > MAX_BATCH {
        return Err(BadBatch("the batch is larger than its cap"));
    }
    Ok(out)
}

/// Reads a batch request; anything but exactly the framing above is refused.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<&[u8]>, BadBatch> {
    if bytes.len() > MAX_BATCH {
        return Err(BadBatch("the batch is larger than its cap"));
    }
    let (count, mut rest) = split_u16(bytes).ok_or(BadBatch("no envelope count"))?;
    if count == 0 || count as usize > MAX_BATCH_ENVELOPES {
        return Err(BadBatch("1 to 256 envelopes per batch"));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .map(|(n, tail)| (u32::from_be_bytes(*n) as usize, tail))
            .ok_or(BadBatch("an envelope length is cut short"))?;
        if len == 0 || len > MAX_MESSAGE {
            return Err(BadBatch("an envelope is empty or larger than 256 KiB"));
        }
        if tail.len() < len {
            return Err(BadBatch("an envelope is cut short"));
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return Err(BadBatch("bytes after the last envelope"));
    }
    Ok(out)
}

/// Frames one acknowledgement per envelope (each cut to [`MAX_ACK`] bytes).
pub fn encode_acks<T: AsRef<[u8]>>(acks: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(acks.len().min(MAX_BATCH_ENVELOPES) as u16).to_be_bytes());
    for ack in acks.iter().take(MAX_BATCH_ENVELOPES) {
        let ack = &ack.as_ref()[..ack.as_ref().len().min(MAX_ACK)];
        out.extend_from_slice(&(ack.len() as u16).to_be_bytes());
        out.extend_from_slice(ack);
    }
    out
}

/// Reads the acknowledgements of a batch of `expected` envelopes.
pub fn decode_acks(bytes: &[u8], expected: usize) -> Result<Vec<Vec<u8>>, BadBatch> {
    let (count, mut rest) = split_u16(bytes).ok_or(BadBatch("no acknowledgement count"))?;
    if count as usize != expected {
        return Err(BadBatch("not one acknowledgement per envelope"));
    }
    let mut out = Vec::with_capacity(expected);
    for _ in 0..count {
        let (len, tail) = split_u16(rest).ok_or(BadBatch("an acknowledgement is cut short"))?;
        let len = len as usize;
        if len > MAX_ACK || tail.len() < len {
            return Err(BadBatch("an acknowledgement is cut short or too long"));
        }
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return Err(BadBatch("bytes after the last acknowledgement"));
    }
    Ok(out)
}

fn split_u16(bytes: &[u8]) -> Option<(u16, &[u8])> {
    bytes
        .split_first_chunk::<2>()
        .map(|(n, tail)| (u16::from_be_bytes(*n), tail))
}

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

/// `/zks/msg/1.1.0` as the swarm carries it.
pub fn batch_protocol() -> DirectProtocol {
    DirectProtocol {
        id: BATCH_ID,
        max_request: MAX_BATCH,
        max_response: MAX_BATCH_ACKS,
        timeout: TIMEOUT,
        streams: BATCH_STREAMS,
        requests_per_sec: MSG_RATE,
        busy: Ack::Busy.bytes().to_vec(),
        refused: REFUSED.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_bad_framing_is_refused() {
        let envelopes: Vec<Vec<u8>> = vec![b"one".to_vec(), vec![7; 1000], b"three".to_vec()];
        let bytes = encode_batch(&envelopes).unwrap();
        let back = decode_batch(&bytes).unwrap();
        assert_eq!(
            back,
            envelopes.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        // Every cut of a valid batch is refused, and so is a trailing byte.
        for cut in 0..bytes.len() {
            assert!(decode_batch(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_batch(&longer).is_err());
        // Counts and lengths out of range.
        assert!(decode_batch(&[0, 0]).is_err(), "an empty batch");
        assert!(decode_batch(&[1, 1]).is_err(), "257 envelopes");
        assert!(
            decode_batch(&[0, 1, 0, 0, 0, 0]).is_err(),
            "an empty envelope"
        );
        assert!(
            decode_batch(&[0, 1, 0, 4, 0, 1, 0]).is_err(),
            "a 256 KiB + 1 envelope"
        );
        assert!(encode_batch::<Vec<u8>>(&[]).is_err());
        assert!(encode_batch(&vec![vec![1u8]; 257]).is_err());
        assert!(encode_batch(&[vec![0u8; MAX_MESSAGE + 1]]).is_err());
        assert!(
            encode_batch(&[vec![0u8; MAX_MESSAGE], vec![0u8; 2000]]).is_err(),
            "over the batch cap"
        );
        assert!(encode_batch(&[vec![0u8; MAX_MESSAGE]]).is_ok());
    }

    #[test]
    fn batch_acknowledgements_round_trip_and_must_match_the_batch() {
        let acks: Vec<&[u8]> = vec![Ack::Ok.bytes(), b"err:key_reuse: x", Ack::Duplicate.bytes()];
        let bytes = encode_acks(&acks);
        assert_eq!(
            decode_acks(&bytes, 3).unwrap(),
            acks.iter().map(|a| a.to_vec()).collect::<Vec<_>>()
        );
        assert!(decode_acks(&bytes, 2).is_err(), "one more than sent");
        assert!(decode_acks(&bytes[..bytes.len() - 1], 3).is_err());
        assert!(decode_acks(Ack::Busy.bytes(), 3).is_err());
        let long = vec![b'x'; 5000];
        assert_eq!(
            decode_acks(&encode_acks(&[&long]), 1).unwrap()[0].len(),
            MAX_ACK
        );
    }

    #[test]
    fn acknowledgements_map_to_their_bytes_and_back() {
        for ack in [Ack::Ok, Ack::Duplicate, Ack::Busy] {
            assert_eq!(Ack::from_bytes(ack.bytes()), Some(ack));
        }
        assert_eq!(Ack::from_bytes(b"err:io: x"), None);
        assert!(REFUSED.len() <= MAX_ACK);
    }
}
