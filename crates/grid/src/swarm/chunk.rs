//! `/zks/chunk/1.0.0`: ranges of verified beacon rounds, served from the
//! cache to peers that sync a chain.
//!
//! Wire format. Participants: a node syncing a chain (requester) and any
//! peer that holds part of it (server). One request per stream, closed
//! after writing:
//!
//! - request: `chain [u8; 32] | first u64 BE | last u64 BE` (48 bytes),
//!   `1 <= first <= last` and the range within one chunk of
//!   [`CHUNK_ROUNDS`] rounds; anything else is refused unread.
//! - response: `count u32 BE | (round u64 BE | sig_len u8 | sig |
//!   prev_len u8 | prev)*`, at most [`MAX_RESPONSE`] bytes; `prev_len` 0
//!   means no previous signature. Only rounds the server holds, never more
//!   than asked; an empty answer means "ask someone else" (unknown chain,
//!   nothing held, or the peer's or the node's upload rate exhausted).
//!
//! Head request: `first == last == u64::MAX` ([`HEAD_ROUND`]) asks for the
//! server's newest held round of the chain: the answer carries at most one
//! round, of any number. It is what a node without a recent round of its
//! own asks its connected peers (see `FetchCascade::peer_heads`); a server
//! of a release before head requests finds no such round and answers
//! empty, which the requester reads as "nothing here".
//!
//! The answer is unverified: the requester checks every round
//! ([`to_beacons`], then the batch verifier) and bans a peer that sent a bad
//! signature.

use std::ops::RangeInclusive;
use std::time::Instant;

use futures::channel::oneshot;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{PeerId, StreamProtocol, request_response};
use zks_beacon::{Beacon, ChainHash, ChainInfo};

use super::SwarmError;
use super::budget::take_from;
use super::event_loop::EventLoop;
use super::{invalid, read_capped};
use crate::cache::{BeaconCache, CHUNK_ROUNDS, chunk_of};

/// Chunk ranges read from the cache at once (each on a blocking thread).
pub(super) const CHUNK_READERS: usize = 4;

/// Protocol of chunk range requests.
pub const CHUNK_PROTOCOL: &str = "/zks/chunk/1.0.0";
/// Largest chunk response accepted (16384 rounds of 96-byte signatures and
/// previous signatures, with framing).
const MAX_RESPONSE: usize = 4 << 20;

/// A range request: rounds `first..=last` of one chain (within one chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    /// The chain.
    pub chain: [u8; 32],
    /// First round.
    pub first: u64,
    /// Last round.
    pub last: u64,
}

/// The round number that makes a [`RangeRequest`] a head request.
pub const HEAD_ROUND: u64 = u64::MAX;

impl RangeRequest {
    /// The head request for `chain`: "your newest round of it".
    pub fn head(chain: [u8; 32]) -> RangeRequest {
        RangeRequest {
            chain,
            first: HEAD_ROUND,
            last: HEAD_ROUND,
        }
    }

    /// Whether this is a head request.
    pub fn is_head(&self) -> bool {
        self.first == HEAD_ROUND && self.last == HEAD_ROUND
    }
}

/// What a node did for the grid since it started: chunk requests served
/// (is the load of a sync spread over its providers?) and provider lookups
/// made (how much a lookup costs as the grid grows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridCounters {
    /// Range requests answered with at least one round (head requests too).
    pub served_requests: u64,
    /// Range requests answered empty: not held, over a rate, refused.
    pub served_empty: u64,
    /// Rounds served.
    pub served_rounds: u64,
    /// Bytes of the chunk answers sent (encoded, before Noise and Yamux).
    pub served_bytes: u64,
    /// Provider lookups finished.
    pub lookups: u64,
    /// Kademlia requests those lookups sent, in all.
    pub lookup_requests: u64,
    /// Time those lookups took, in all (milliseconds).
    pub lookup_millis: u64,
    /// Our announcements (provider records) that reached the key's
    /// closest DHT nodes, and those whose lookup timed out every time it
    /// was tried (see `dht`).
    pub announcements: u64,
    pub announcements_lost: u64,
    /// Relay-key lookups finished (see `relay_slots`), the Kademlia
    /// requests they sent and the time they took (milliseconds), in all.
    pub relay_lookups: u64,
    pub relay_lookup_requests: u64,
    pub relay_lookup_millis: u64,
}

/// One served round: number, signature and (chained) previous signature.
pub type ServedRound = (u64, Vec<u8>, Option<Vec<u8>>);

/// The codec of `/zks/chunk/1.0.0`: fixed-size requests, length-prefixed
/// responses with explicit caps so a hostile peer cannot make us allocate.
#[derive(Debug, Clone, Default)]
pub struct ChunkCodec;

async fn read_exact_vec<T: futures::AsyncRead + Unpin>(
    io: &mut T,
    n: usize,
) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

impl request_response::Codec for ChunkCodec {
    type Protocol = StreamProtocol;
    type Request = RangeRequest;
    type Response = Vec<ServedRound>;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<RangeRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_exact_vec(io, 48).await?;
        let mut chain = [0u8; 32];
        chain.copy_from_slice(&buf[..32]);
        let first = u64::from_be_bytes(buf[32..40].try_into().map_err(|_| invalid("request"))?);
        let last = u64::from_be_bytes(buf[40..48].try_into().map_err(|_| invalid("request"))?);
        if first == 0 || last < first || last - first >= CHUNK_ROUNDS {
            return Err(invalid("range out of bounds"));
        }
        Ok(RangeRequest { chain, first, last })
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<ServedRound>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let body = read_capped(io, MAX_RESPONSE, "response too large").await?;
        decode_response(&body).ok_or_else(|| invalid("malformed chunk response"))
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: RangeRequest,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        let mut buf = Vec::with_capacity(48);
        buf.extend_from_slice(&req.chain);
        buf.extend_from_slice(&req.first.to_be_bytes());
        buf.extend_from_slice(&req.last.to_be_bytes());
        io.write_all(&buf).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        rounds: Vec<ServedRound>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode_response(&rounds)).await?;
        io.close().await
    }
}

/// `count u32 | (round u64 | sig u8-len | prev u8-len)*`.
pub fn encode_response(rounds: &[ServedRound]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(rounds));
    out.extend_from_slice(&(rounds.len() as u32).to_be_bytes());
    for (round, sig, prev) in rounds {
        out.extend_from_slice(&round.to_be_bytes());
        out.push(sig.len().min(255) as u8);
        out.extend_from_slice(&sig[..sig.len().min(255)]);
        let prev = prev.as_deref().unwrap_or(&[]);
        out.push(prev.len().min(255) as u8);
        out.extend_from_slice(&prev[..prev.len().min(255)]);
    }
    out
}

/// The length of [`encode_response`]'s bytes for `rounds`: a count, then
/// per round its number, and each signature with a length byte (at most
/// 255 bytes kept).
pub(super) fn encoded_len(rounds: &[ServedRound]) -> usize {
    4 + rounds
        .iter()
        .map(|(_, sig, prev)| {
            8 + 2 + sig.len().min(255) + prev.as_ref().map_or(0, |p| p.len().min(255))
        })
        .sum::<usize>()
}

/// The inverse of [`encode_response`]; `None` for anything malformed.
pub fn decode_response(body: &[u8]) -> Option<Vec<ServedRound>> {
    let count = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
    if count as u64 > CHUNK_ROUNDS {
        return None;
    }
    let mut pos = 4;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let round = u64::from_be_bytes(body.get(pos..pos + 8)?.try_into().ok()?);
        pos += 8;
        let sig_len = usize::from(*body.get(pos)?);
        let sig = body.get(pos + 1..pos + 1 + sig_len)?.to_vec();
        pos += 1 + sig_len;
        let prev_len = usize::from(*body.get(pos)?);
        let prev = body.get(pos + 1..pos + 1 + prev_len)?.to_vec();
        pos += 1 + prev_len;
        out.push((round, sig, (!prev.is_empty()).then_some(prev)));
    }
    (pos == body.len()).then_some(out)
}

/// The served rounds as beacons of `chain` (unverified), skipping any that
/// are malformed or outside `first..=last`.
pub fn to_beacons(
    chain: &ChainInfo,
    first: u64,
    last: u64,
    served: Vec<ServedRound>,
) -> (Vec<Beacon>, usize) {
    let mut bad = 0;
    let mut out = Vec::new();
    for (round, sig, prev) in served {
        if round < first || round > last {
            bad += 1;
            continue;
        }
        match Beacon::new(chain.scheme, round, sig, prev) {
            Ok(b) => out.push(b),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// A chunk range read from the cache off the swarm task, on its way back
/// to the loop, which answers the peer with it.
pub(super) struct RangeAnswer {
    pub(super) peer: PeerId,
    pub(super) channel: request_response::ResponseChannel<Vec<ServedRound>>,
    pub(super) rounds: Vec<ServedRound>,
}

impl EventLoop {
    /// Asks `peer` for a range of rounds; the answer goes to `reply`.
    pub(super) fn request_range(
        &mut self,
        peer: PeerId,
        request: RangeRequest,
        reply: oneshot::Sender<Result<Vec<ServedRound>, SwarmError>>,
    ) {
        let id = self
            .swarm
            .behaviour_mut()
            .chunks
            .send_request(&peer, request);
        self.pending_requests.insert(id, reply);
    }

    /// A chunk request from a peer (served off the swarm task), or the
    /// answer to one of ours.
    pub(super) fn on_chunk_event(
        &mut self,
        event: request_response::Event<RangeRequest, Vec<ServedRound>>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, &request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(tx) = self.pending_requests.remove(&request_id) {
                        let _ = tx.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tx) = self.pending_requests.remove(&request_id) {
                    let _ = tx.send(Err(SwarmError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Takes `rounds` from the upload budget; false when over the cap.
    fn take_upload(&mut self, rounds: u64) -> bool {
        self.upload
            .as_mut()
            .is_none_or(|b| b.take(rounds, Instant::now()))
    }

    /// Serves a range from the cache: only what is held, never more than
    /// asked, and nothing beyond the peer's rate or the node's upload cap.
    /// The budgets are taken here, on the swarm task; the cache is read on
    /// a blocking thread (at most [`CHUNK_READERS`] at once) and the answer
    /// comes back to the loop as a [`RangeAnswer`].
    fn serve(
        &mut self,
        peer: PeerId,
        request: &RangeRequest,
        channel: request_response::ResponseChannel<Vec<ServedRound>>,
    ) {
        let Some(chain) = self.admit(peer, request) else {
            self.respond_range(peer, channel, Vec::new());
            return;
        };
        let (cache, back, readers) = (
            self.cache.clone(),
            self.range_answer_tx.clone(),
            self.chunk_readers.clone(),
        );
        let rounds = request.first..=request.last;
        let head = request.is_head();
        tokio::spawn(async move {
            let Ok(_permit) = readers.acquire_owned().await else {
                return;
            };
            let rounds = tokio::task::spawn_blocking(move || {
                if head {
                    read_head(&cache, &chain)
                } else {
                    read_range(&cache, &chain, rounds)
                }
            })
            .await
            .unwrap_or_default();
            let _ = back.unbounded_send(RangeAnswer {
                peer,
                channel,
                rounds,
            });
        });
    }

    /// Whether `request` from `peer` may be served: within the peer's rate
    /// and the upload cap (both are taken here), for a chain we serve and
    /// within one chunk. `None`: answer it empty.
    fn admit(&mut self, peer: PeerId, request: &RangeRequest) -> Option<ChainInfo> {
        let rounds = request.last.saturating_sub(request.first) + 1;
        if !take_from(
            &mut self.served,
            peer,
            self.limits.served_rounds_per_sec,
            rounds,
        ) {
            tracing::debug!(%peer, "peer over its serving rate; answering a chunk request empty");
            return None;
        }
        if !self.take_upload(rounds) {
            tracing::debug!("upload cap reached; answering a chunk request empty");
            return None;
        }
        let chain = self.chains.get(&ChainHash(request.chain))?;
        if chunk_of(request.first) != chunk_of(request.last) {
            return None;
        }
        Some(chain.clone())
    }

    /// Sends the answer to a chunk request.
    pub(super) fn respond_range(
        &mut self,
        peer: PeerId,
        channel: request_response::ResponseChannel<Vec<ServedRound>>,
        rounds: Vec<ServedRound>,
    ) {
        if rounds.is_empty() {
            self.counters.served_empty += 1;
        } else {
            self.counters.served_requests += 1;
            self.counters.served_rounds += rounds.len() as u64;
            self.counters.served_bytes += encoded_len(&rounds) as u64;
        }
        if self
            .swarm
            .behaviour_mut()
            .chunks
            .send_response(channel, rounds)
            .is_err()
        {
            tracing::debug!(%peer, "chunk response not sent (peer gone)");
        }
    }
}

/// The newest round of `chain` the cache holds, if any (a blocking read).
fn read_head(cache: &BeaconCache, chain: &ChainInfo) -> Vec<ServedRound> {
    match cache.latest(chain) {
        Ok(held) => held.into_iter().map(|b| served(b.beacon())).collect(),
        Err(e) => {
            tracing::warn!("cannot serve a head request: {e}");
            Vec::new()
        }
    }
}

fn served(b: &Beacon) -> ServedRound {
    (
        b.round(),
        b.signature().to_vec(),
        b.previous_signature().map(<[u8]>::to_vec),
    )
}

/// The rounds of `chain` the cache holds in `rounds` (a blocking read).
fn read_range(
    cache: &BeaconCache,
    chain: &ChainInfo,
    rounds: RangeInclusive<u64>,
) -> Vec<ServedRound> {
    match cache.get_range(chain, rounds) {
        Ok(held) => held.iter().map(|b| served(b.beacon())).collect(),
        Err(e) => {
            tracing::warn!("cannot serve a chunk range: {e}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_responses_round_trip_and_garbage_is_refused() {
        let rounds: Vec<ServedRound> =
            vec![(1, vec![7; 48], None), (2, vec![8; 96], Some(vec![9; 96]))];
        assert_eq!(
            decode_response(&encode_response(&rounds)),
            Some(rounds.clone())
        );
        let encoded = encode_response(&rounds);
        assert_eq!(encoded.len(), encoded_len(&rounds));
        for cut in 0..encoded.len() {
            assert_eq!(decode_response(&encoded[..cut]), None, "cut {cut}");
        }
        assert_eq!(
            decode_response(&[0xff, 0xff, 0xff, 0xff]),
            None,
            "count over a chunk"
        );
        let mut extra = encoded;
        extra.push(0);
        assert_eq!(decode_response(&extra), None);
    }
}
