//! Request/response protocols between paired peers (`/zks/msg/1.0.0`,
//! `/zks/file/1.0.0`): capped byte requests and answers, per-peer rates,
//! and the queue that hands inbound requests to the node with the channel
//! to answer them on.

use std::time::Duration;

use futures::channel::oneshot;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{Multiaddr, PeerId, StreamProtocol, request_response};

use super::SwarmError;
use super::budget::take_from;
use super::event_loop::EventLoop;
use super::invalid;

/// Protocol carrying sealed messages between paired peers.
pub const MSG_PROTOCOL: &str = "/zks/msg/1.0.0";
/// Largest envelope carried by `/zks/msg/1.0.0`.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Largest acknowledgement.
pub(super) const MAX_ACK: usize = 1024;
/// First byte of a `/zks/file/1.0.0` answer meaning "busy, ask again".
pub const FILE_BUSY: u8 = 4;
/// Requests per second (and burst) one peer may make on `/zks/msg/1.0.0`.
pub const MSG_RATE: u64 = 1000;
/// Chunk requests per second (and burst) one peer may make on
/// `/zks/file/1.0.0` (1 GiB/s of 1 MiB chunks).
pub const FILE_RATE: u64 = 1024;
/// Concurrent `/zks/msg/1.0.0` streams per connection: an outbox sends one
/// message per contact at a time, and each stream may hold a 256 KiB
/// envelope, so this bounds what one connection can make us buffer (2 MiB).
pub(super) const MSG_STREAMS: usize = 8;
/// Concurrent `/zks/file/1.0.0` streams per connection (requests are 64
/// bytes; a receiver keeps 8 chunks in flight).
pub(super) const FILE_STREAMS: usize = 32;

/// Protocol pulling chunks of an offered file from a paired peer.
pub const FILE_PROTOCOL: &str = "/zks/file/1.0.0";
/// Largest file-chunk request.
pub const MAX_FILE_REQUEST: usize = 64;
/// Largest file-chunk response: a 1 MiB chunk with its framing.
pub const MAX_FILE_RESPONSE: usize = (1 << 20) + 4096;

/// A length-capped byte codec for the protocols between paired peers
/// (`/zks/msg/1.0.0`, `/zks/file/1.0.0`): a request and a response, each
/// read to the end of its stream and refused past its cap.
#[derive(Debug, Clone, Copy)]
pub struct BytesCodec {
    max_request: usize,
    max_response: usize,
}

async fn read_capped<T: futures::AsyncRead + Unpin>(
    io: &mut T,
    cap: usize,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    io.take(cap as u64 + 1).read_to_end(&mut body).await?;
    if body.len() > cap {
        return Err(invalid("message too large"));
    }
    Ok(body)
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_response).await
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
        if body.len() > self.max_request {
            return Err(invalid("request too large"));
        }
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
        if body.len() > self.max_response {
            return Err(invalid("response too large"));
        }
        io.write_all(&body).await?;
        io.close().await
    }
}

/// A request-response behaviour for one paired-peer protocol: capped
/// request and response sizes, a request timeout, at most 32 streams.
pub(super) fn paired_peer_behaviour(
    protocol: &'static str,
    max_request: usize,
    max_response: usize,
    timeout_secs: u64,
    streams: usize,
) -> request_response::Behaviour<BytesCodec> {
    request_response::Behaviour::with_codec(
        BytesCodec {
            max_request,
            max_response,
        },
        [(
            StreamProtocol::new(protocol),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(timeout_secs))
            .with_max_concurrent_streams(streams),
    )
}

/// Which protocol between paired peers a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerProtocol {
    /// `/zks/msg/1.0.0`: a sealed message, answered by an acknowledgement.
    Message,
    /// `/zks/file/1.0.0`: a request for one file chunk, answered by it.
    File,
}

/// Where the answer to an inbound request goes.
#[derive(Debug)]
pub struct InboundReply {
    pub(super) protocol: PeerProtocol,
    pub(super) channel: request_response::ResponseChannel<Vec<u8>>,
}

/// A request from a peer on a paired-peer protocol, with the way to answer.
#[derive(Debug)]
pub struct InboundMessage {
    /// The sending peer (authenticated by the connection).
    pub peer: PeerId,
    /// The protocol it came on.
    pub protocol: PeerProtocol,
    /// The request bytes (an envelope, or a chunk request).
    pub envelope: Vec<u8>,
    /// Where the answer goes ([`SwarmClient::acknowledge`]).
    pub reply: InboundReply,
}

/// Inbound messages waiting for the node; beyond this the sender is told
/// "busy" and retries later.
pub const INBOUND_QUEUE: usize = 256;

impl EventLoop {
    /// Sends `request` to `peer` on `protocol` (learning `addresses` for
    /// it first); the answer goes to `reply`.
    pub(super) fn send_direct(
        &mut self,
        protocol: PeerProtocol,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    ) {
        for addr in addresses {
            self.swarm.add_peer_address(peer, addr);
        }
        let id = self.peer_behaviour(protocol).send_request(&peer, request);
        self.pending_msgs.insert((protocol, id), reply);
    }

    /// Answers an inbound request.
    pub(super) fn respond(&mut self, to: InboundReply, answer: Vec<u8>) {
        let _ = self
            .peer_behaviour(to.protocol)
            .send_response(to.channel, answer);
    }

    pub(super) fn peer_behaviour(
        &mut self,
        protocol: PeerProtocol,
    ) -> &mut request_response::Behaviour<BytesCodec> {
        match protocol {
            PeerProtocol::Message => &mut self.swarm.behaviour_mut().msg,
            PeerProtocol::File => &mut self.swarm.behaviour_mut().file,
        }
    }

    /// Requests from and answers of paired peers, on either protocol.
    pub(super) fn on_peer_event(
        &mut self,
        protocol: PeerProtocol,
        event: request_response::Event<Vec<u8>, Vec<u8>>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let reply = InboundReply { protocol, channel };
                let busy = match protocol {
                    PeerProtocol::Message => b"busy".to_vec(),
                    PeerProtocol::File => vec![FILE_BUSY],
                };
                if !self.within_rate(peer, protocol) {
                    let _ = self
                        .peer_behaviour(protocol)
                        .send_response(reply.channel, busy);
                    return;
                }
                let refused = match &mut self.inbound {
                    Some(queue) => match queue.try_send(InboundMessage {
                        peer,
                        protocol,
                        envelope: request,
                        reply,
                    }) {
                        Ok(()) => None,
                        Err(e) => Some((e.into_inner().reply, busy)),
                    },
                    None => Some((reply, b"err:this node does not take messages".to_vec())),
                };
                if let Some((reply, ack)) = refused {
                    let _ = self
                        .peer_behaviour(protocol)
                        .send_response(reply.channel, ack);
                }
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(tx) = self.pending_msgs.remove(&(protocol, request_id)) {
                    let _ = tx.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tx) = self.pending_msgs.remove(&(protocol, request_id)) {
                    let _ = tx.send(Err(SwarmError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Whether `peer` may make another request on `protocol` now (a token
    /// bucket per peer: a flooding peer is answered "busy" and cannot fill
    /// the node's queue for everyone else).
    fn within_rate(&mut self, peer: PeerId, protocol: PeerProtocol) -> bool {
        let rate = match protocol {
            PeerProtocol::Message => self.limits.messages_per_sec,
            PeerProtocol::File => self.limits.file_chunks_per_sec,
        };
        take_from(&mut self.peer_rates, (peer, protocol), rate, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte codecs of `/zks/msg/1.0.0` and `/zks/file/1.0.0` read at
    /// most their cap plus one byte from a stream, whatever the peer sends,
    /// and refuse to write more than the peer would read.
    #[test]
    fn byte_codecs_stop_reading_at_their_caps() {
        use request_response::Codec;
        let proto = StreamProtocol::new(MSG_PROTOCOL);
        let mut codec = BytesCodec {
            max_request: MAX_MESSAGE,
            max_response: MAX_ACK,
        };
        futures::executor::block_on(async {
            let exact = vec![1u8; MAX_MESSAGE];
            let mut io = futures::io::Cursor::new(exact.clone());
            assert_eq!(codec.read_request(&proto, &mut io).await.unwrap(), exact);
            // A peer sending 16 MiB: refused after reading the cap + 1.
            let mut io = futures::io::Cursor::new(vec![1u8; 16 << 20]);
            assert!(codec.read_request(&proto, &mut io).await.is_err());
            assert_eq!(io.position(), MAX_MESSAGE as u64 + 1, "no more was read");
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_ACK + 1]);
            assert!(codec.read_response(&proto, &mut io).await.is_err());
            let mut sink = futures::io::Cursor::new(Vec::new());
            assert!(
                codec
                    .write_request(&proto, &mut sink, vec![0; MAX_MESSAGE + 1])
                    .await
                    .is_err()
            );
            assert!(sink.get_ref().is_empty(), "nothing of it was sent");
            let mut file = BytesCodec {
                max_request: MAX_FILE_REQUEST,
                max_response: MAX_FILE_RESPONSE,
            };
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_FILE_RESPONSE + 10]);
            assert!(file.read_response(&proto, &mut io).await.is_err());
            let mut io = futures::io::Cursor::new(vec![0u8; 65]);
            assert!(file.read_request(&proto, &mut io).await.is_err());
        });
    }
}
