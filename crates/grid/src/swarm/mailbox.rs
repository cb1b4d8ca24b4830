//! `/zks/mailbox/1.0.0`: sealed envelopes held by seeders for recipients
//! who are offline, under opaque mailbox ids only the two contacts can
//! compute (storage: [`crate::mailbox`]).
//!
//! Wire format. Participants: a depositor (the sender), a fetcher (the
//! recipient) and a host (a seeder that offers mailboxes: seeding on and
//! publicly reachable). One request per stream, closed after writing; the
//! request is read to the end of the stream and refused unread past
//! [`MAX_REQUEST`] bytes (the stream is reset, nothing is stored):
//!
//! - request: `kind u8 | mailbox id [u8; 32] | body`
//!   - kind 1, deposit: body = the envelope, 1 to [`MAX_ENVELOPE`] bytes;
//!   - kind 2, fetch: body = `after u64 BE` (a cursor; 0 for the start);
//!   - kind 3, ack: body = `upto u64 BE` (delete everything up to it).
//! - response, at most [`MAX_RESPONSE`] bytes: `0` and the result, or one
//!   byte of refusal ([`Refusal::code`]: 1 mailbox full, 2 depositor quota,
//!   3 disk full / at the cap, 4 not offered, 5 rate, 6 malformed):
//!   - deposit: `0 | seq u64 BE`;
//!   - fetch: `0 | more u8 | count u16 BE | (seq u64 BE | len u32 BE |
//!     envelope)*`, envelopes after the cursor in deposit order, at most
//!     [`FETCH_COUNT`](crate::mailbox::FETCH_COUNT) of them and about
//!     [`FETCH_BYTES`](crate::mailbox::FETCH_BYTES); `more` 1 when others
//!     wait;
//!   - ack: `0 | deleted u32 BE`.
//!
//! A host that does not offer mailboxes answers every request `4`. The
//! host learns the mailbox id, the envelope sizes, times and the
//! depositor's and fetcher's PeerIds and addresses; never who the
//! recipient is (ids rotate daily and differ per direction).

use futures::channel::oneshot;
use libp2p::{Multiaddr, PeerId, StreamProtocol, request_response};

use super::budget::take_from;
use super::event_loop::EventLoop;
use super::{SwarmError, read_capped, write_capped};
use crate::mailbox::{Fetched, MAX_ENVELOPE, MailboxStore, Refusal};

/// The mailbox protocol.
pub const MAILBOX_PROTOCOL: &str = "/zks/mailbox/1.0.0";
/// Largest request: kind, id and the largest envelope.
pub const MAX_REQUEST: usize = 1 + 32 + MAX_ENVELOPE;
/// Largest response (a full fetch answer with its framing).
pub const MAX_RESPONSE: usize = 2 << 20;
/// Deposits per second (and burst) one depositor may make.
pub const DEPOSITS_PER_SEC: u64 = 200;

const DEPOSIT: u8 = 1;
const FETCH: u8 = 2;
const ACK: u8 = 3;

/// A mailbox request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxRequest {
    /// Store `envelope` in mailbox `id`.
    Deposit {
        /// The mailbox.
        id: [u8; 32],
        /// The sealed envelope (opaque to the host).
        envelope: Vec<u8>,
    },
    /// The envelopes of `id` after cursor `after`.
    Fetch {
        /// The mailbox.
        id: [u8; 32],
        /// The cursor (0: from the start).
        after: u64,
    },
    /// Delete the envelopes of `id` up to cursor `upto`.
    Ack {
        /// The mailbox.
        id: [u8; 32],
        /// The cursor.
        upto: u64,
    },
}

impl MailboxRequest {
    /// Its bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, id, body) = match self {
            MailboxRequest::Deposit { id, envelope } => (DEPOSIT, id, envelope.clone()),
            MailboxRequest::Fetch { id, after } => (FETCH, id, after.to_be_bytes().to_vec()),
            MailboxRequest::Ack { id, upto } => (ACK, id, upto.to_be_bytes().to_vec()),
        };
        let mut out = Vec::with_capacity(33 + body.len());
        out.push(kind);
        out.extend_from_slice(id);
        out.extend_from_slice(&body);
        out
    }

    /// The request `bytes` carry; `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<MailboxRequest> {
        let kind = *bytes.first()?;
        let id: [u8; 32] = bytes.get(1..33)?.try_into().ok()?;
        let body = &bytes[33..];
        let cursor = || Some(u64::from_be_bytes(body.try_into().ok()?));
        match kind {
            DEPOSIT if !body.is_empty() && body.len() <= MAX_ENVELOPE => {
                Some(MailboxRequest::Deposit {
                    id,
                    envelope: body.to_vec(),
                })
            }
            FETCH => Some(MailboxRequest::Fetch {
                id,
                after: cursor()?,
            }),
            ACK => Some(MailboxRequest::Ack {
                id,
                upto: cursor()?,
            }),
            _ => None,
        }
    }
}

/// Encodes a fetch answer.
pub fn encode_fetched(fetched: &Fetched) -> Vec<u8> {
    let mut out = vec![0, u8::from(fetched.more)];
    out.extend_from_slice(&(fetched.envelopes.len() as u16).to_be_bytes());
    for (seq, envelope) in &fetched.envelopes {
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&(envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(envelope);
    }
    out
}

/// Decodes an answer: `Ok` with the part after the status byte, or the
/// host's refusal; `None` for anything malformed.
fn status(answer: &[u8]) -> Option<Result<&[u8], Refusal>> {
    match *answer.first()? {
        0 => Some(Ok(&answer[1..])),
        code => Some(Err(Refusal::from_code(code)?)),
    }
}

/// The inverse of [`encode_fetched`] (or the refusal); `None` for
/// anything malformed.
pub fn decode_fetched(answer: &[u8]) -> Option<Result<Fetched, Refusal>> {
    let body = match status(answer)? {
        Ok(body) => body,
        Err(refusal) => return Some(Err(refusal)),
    };
    let more = match *body.first()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let count = usize::from(u16::from_be_bytes(body.get(1..3)?.try_into().ok()?));
    let mut pos = 3;
    let mut envelopes = Vec::with_capacity(count.min(crate::mailbox::FETCH_COUNT));
    for _ in 0..count {
        let seq = u64::from_be_bytes(body.get(pos..pos + 8)?.try_into().ok()?);
        let len = u32::from_be_bytes(body.get(pos + 8..pos + 12)?.try_into().ok()?) as usize;
        if len > MAX_ENVELOPE {
            return None;
        }
        let envelope = body.get(pos + 12..pos + 12 + len)?.to_vec();
        pos += 12 + len;
        envelopes.push((seq, envelope));
    }
    if pos != body.len() {
        return None;
    }
    Some(Ok(Fetched { envelopes, more }))
}

/// The codec: whole-stream requests and responses, each capped.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailboxCodec;

impl request_response::Codec for MailboxCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, MAX_REQUEST, "mailbox request too large").await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, MAX_RESPONSE, "mailbox response too large").await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        // Not capped here: a host must refuse oversized requests itself.
        use futures::AsyncWriteExt;
        io.write_all(&body).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        write_capped(io, &body, MAX_RESPONSE, "mailbox response too large").await
    }
}

/// An answer computed off the swarm task, back for the loop to send.
pub(super) struct MailboxAnswer {
    pub(super) channel: request_response::ResponseChannel<Vec<u8>>,
    pub(super) answer: Vec<u8>,
}

/// Serves one decoded request from `store` (blocking: disk I/O).
fn serve_blocking(store: &MailboxStore, depositor: &PeerId, request: MailboxRequest) -> Vec<u8> {
    let now = crate::mailbox::now_secs();
    let failed = |e: crate::mailbox::MailboxError| {
        tracing::warn!("{e}");
        vec![Refusal::DiskFull.code()]
    };
    match request {
        MailboxRequest::Deposit { id, envelope } => {
            match store.deposit(id, &depositor.to_bytes(), &envelope, now) {
                Ok(Ok(seq)) => {
                    let mut out = vec![0];
                    out.extend_from_slice(&seq.to_be_bytes());
                    out
                }
                Ok(Err(refusal)) => vec![refusal.code()],
                Err(e) => failed(e),
            }
        }
        MailboxRequest::Fetch { id, after } => match store.fetch(&id, after) {
            Ok(fetched) => encode_fetched(&fetched),
            Err(e) => failed(e),
        },
        MailboxRequest::Ack { id, upto } => match store.ack(&id, upto) {
            Ok(n) => {
                let mut out = vec![0];
                out.extend_from_slice(&n.to_be_bytes());
                out
            }
            Err(e) => failed(e),
        },
    }
}

impl EventLoop {
    /// Whether this node offers mailboxes now: it has a store, seeds, and
    /// is publicly reachable (a confirmed, non-relayed external address).
    pub(super) fn offers_mailboxes(&self) -> bool {
        self.mailbox.is_some()
            && self.amino_state.member
            && (matches!(self.amino_state.nat, libp2p::autonat::NatStatus::Public(_))
                || self.swarm.external_addresses().any(|a| {
                    !a.iter()
                        .any(|p| p == libp2p::multiaddr::Protocol::P2pCircuit)
                }))
    }

    /// Sends a mailbox request to `peer` (dialing `addresses` if needed).
    pub(super) fn send_mailbox(
        &mut self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    ) {
        let mailbox = &mut self.swarm.behaviour_mut().mailbox;
        let id = if addresses.is_empty() {
            mailbox.send_request(&peer, request)
        } else {
            mailbox.send_request_with_addresses(&peer, request, addresses)
        };
        self.pending_mailbox.insert(id, reply);
    }

    pub(super) fn on_mailbox_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve_mailbox(peer, &request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(tx) = self.pending_mailbox.remove(&request_id) {
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
                if let Some(tx) = self.pending_mailbox.remove(&request_id) {
                    let _ = tx.send(Err(SwarmError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Answers a request: refusals at once, storage work on a blocking
    /// thread (the answer comes back as a [`MailboxAnswer`]).
    fn serve_mailbox(
        &mut self,
        peer: PeerId,
        bytes: &[u8],
        channel: request_response::ResponseChannel<Vec<u8>>,
    ) {
        let refuse = |this: &mut EventLoop, channel, refusal: Refusal| {
            this.respond_mailbox(channel, vec![refusal.code()]);
        };
        if !self.offers_mailboxes() {
            return refuse(self, channel, Refusal::NotOffered);
        }
        let Some(request) = MailboxRequest::decode(bytes) else {
            return refuse(self, channel, Refusal::Malformed);
        };
        if matches!(request, MailboxRequest::Deposit { .. })
            && !take_from(&mut self.deposits, peer, DEPOSITS_PER_SEC, 1)
        {
            return refuse(self, channel, Refusal::Rate);
        }
        let Some(store): Option<std::sync::Arc<MailboxStore>> = self.mailbox.clone() else {
            return refuse(self, channel, Refusal::NotOffered);
        };
        let back = self.mailbox_answer_tx.clone();
        tokio::spawn(async move {
            let answer =
                tokio::task::spawn_blocking(move || serve_blocking(&store, &peer, request))
                    .await
                    .unwrap_or_else(|_| vec![Refusal::DiskFull.code()]);
            let _ = back.unbounded_send(MailboxAnswer { channel, answer });
        });
    }

    /// Sends the answer to a mailbox request.
    pub(super) fn respond_mailbox(
        &mut self,
        channel: request_response::ResponseChannel<Vec<u8>>,
        answer: Vec<u8>,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .mailbox
            .send_response(channel, answer)
            .is_err()
        {
            tracing::debug!("mailbox response not sent (peer gone)");
        }
    }

    /// Sweeps expired envelopes (off the swarm task).
    pub(super) fn sweep_mailboxes(&self) {
        if let Some(store) = self.mailbox.clone() {
            tokio::task::spawn_blocking(move || {
                let swept = store.sweep(crate::mailbox::now_secs());
                if swept > 0 {
                    tracing::info!(swept, "expired mailbox envelopes deleted");
                }
            });
        }
    }
}

/// A deposit's answer: the `seq` stored under, or the refusal.
pub fn decode_deposited(answer: &[u8]) -> Option<Result<u64, Refusal>> {
    match status(answer)? {
        Ok(body) => Some(Ok(u64::from_be_bytes(body.try_into().ok()?))),
        Err(refusal) => Some(Err(refusal)),
    }
}

/// An ack's answer: how many were deleted, or the refusal.
pub fn decode_acked(answer: &[u8]) -> Option<Result<u32, Refusal>> {
    match status(answer)? {
        Ok(body) => Some(Ok(u32::from_be_bytes(body.try_into().ok()?))),
        Err(refusal) => Some(Err(refusal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_malformed_ones_are_refused() {
        let id = [5; 32];
        for request in [
            MailboxRequest::Deposit {
                id,
                envelope: vec![1, 2, 3],
            },
            MailboxRequest::Fetch { id, after: 7 },
            MailboxRequest::Ack { id, upto: 9 },
        ] {
            assert_eq!(MailboxRequest::decode(&request.encode()), Some(request));
        }
        let deposit = MailboxRequest::Deposit {
            id,
            envelope: vec![1],
        }
        .encode();
        assert_eq!(
            MailboxRequest::decode(&deposit[..33]),
            None,
            "empty envelope"
        );
        assert_eq!(MailboxRequest::decode(&deposit[..20]), None, "short id");
        let mut big = deposit[..33].to_vec();
        big.extend(vec![0; MAX_ENVELOPE + 1]);
        assert_eq!(MailboxRequest::decode(&big), None, "oversized envelope");
        let mut fetch = MailboxRequest::Fetch { id, after: 1 }.encode();
        fetch.push(0);
        assert_eq!(MailboxRequest::decode(&fetch), None, "long cursor");
        let mut unknown = deposit;
        unknown[0] = 9;
        assert_eq!(MailboxRequest::decode(&unknown), None, "unknown kind");
        assert_eq!(MailboxRequest::decode(&[]), None);
    }

    #[test]
    fn fetch_answers_round_trip_and_garbage_is_refused() {
        let fetched = Fetched {
            envelopes: vec![(3, vec![1; 10]), (8, vec![2; 3])],
            more: true,
        };
        let encoded = encode_fetched(&fetched);
        assert_eq!(decode_fetched(&encoded), Some(Ok(fetched)));
        for cut in 1..encoded.len() {
            assert_eq!(decode_fetched(&encoded[..cut]), None, "cut {cut}");
        }
        assert_eq!(decode_fetched(&[4]), Some(Err(Refusal::NotOffered)));
        assert_eq!(decode_fetched(&[77]), None);
        assert_eq!(decode_deposited(&[0, 0, 0, 0, 0, 0, 0, 0, 5]), Some(Ok(5)));
        assert_eq!(decode_deposited(&[1]), Some(Err(Refusal::MailboxFull)));
        assert_eq!(decode_acked(&[0, 0, 0, 0, 2]), Some(Ok(2)));
    }
}
