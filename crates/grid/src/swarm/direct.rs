//! Request/response protocols between paired peers, described by their
//! owner: the grid carries them without knowing what they mean. The node
//! passes each as a [`DirectProtocol`] (id, size caps, timeout, streams per
//! connection, per-peer rate, and the answers "busy" and "refused") in
//! [`SwarmConfig::direct`](super::SwarmConfig::direct); inbound requests
//! leave the loop as [`InboundMessage`]s naming their protocol, with the
//! channel to answer on, and [`SwarmClient::send_direct`](super::SwarmClient::send_direct)
//! sends a request on a protocol named by its id.
//!
//! Wire format, the same for every direct protocol: one request per
//! stream, its bytes read to the end of the stream and refused past
//! `max_request`; the answer likewise, refused past `max_response`. What the
//! bytes mean is the owner's business.

use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::handler::multi::MultiHandler;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{PeerId, StreamProtocol, request_response};

use super::SwarmError;
use super::budget::take_from;
use super::event_loop::EventLoop;
use super::{read_capped, write_capped};

/// One request/response protocol between paired peers, as its owner
/// describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectProtocol {
    /// The protocol id, e.g. `/example/chat/1.0.0`.
    pub id: StreamProtocol,
    /// Largest request read or sent, in bytes.
    pub max_request: usize,
    /// Largest answer read or sent, in bytes.
    pub max_response: usize,
    /// How long one of our requests may wait for its answer.
    pub timeout: Duration,
    /// Concurrent streams per connection (bounds what one connection can
    /// make us buffer: `streams × max_request`).
    pub streams: usize,
    /// Requests per second (and burst) one peer may make.
    pub requests_per_sec: u64,
    /// The answer to a peer over its rate, or when the node's inbound
    /// queue is full.
    pub busy: Vec<u8>,
    /// The answer when this node takes no inbound requests
    /// ([`SwarmConfig::inbound`](super::SwarmConfig::inbound) is `None`).
    pub refused: Vec<u8>,
}

/// A length-capped byte codec for the protocols between paired peers: a
/// request and a response, each read to the end of its stream and refused
/// past its cap.
#[derive(Debug, Clone, Copy)]
pub struct BytesCodec {
    max_request: usize,
    max_response: usize,
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_request, "message too large").await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, self.max_response, "message too large").await
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
        write_capped(io, &body, self.max_request, "request too large").await
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
        write_capped(io, &body, self.max_response, "response too large").await
    }
}

/// The request-response behaviour of one direct protocol: its caps, its
/// request timeout, its streams per connection.
fn direct_behaviour(protocol: &DirectProtocol) -> request_response::Behaviour<BytesCodec> {
    request_response::Behaviour::with_codec(
        BytesCodec {
            max_request: protocol.max_request,
            max_response: protocol.max_response,
        },
        [(protocol.id.clone(), request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(protocol.timeout)
            .with_max_concurrent_streams(protocol.streams),
    )
}

/// All direct protocols as one libp2p behaviour: one request-response
/// behaviour per protocol (each keeps its own timeout and stream cap), their
/// connection handlers combined by libp2p's `MultiHandler`, keyed by the
/// protocol's index in the configured list.
pub(super) struct Direct {
    protocols: Vec<request_response::Behaviour<BytesCodec>>,
}

impl Direct {
    /// The behaviours of `protocols`, in order.
    pub(super) fn new(protocols: &[DirectProtocol]) -> Direct {
        Direct {
            protocols: protocols.iter().map(direct_behaviour).collect(),
        }
    }

    /// The behaviour of protocol number `index`.
    pub(super) fn get_mut(
        &mut self,
        index: usize,
    ) -> Option<&mut request_response::Behaviour<BytesCodec>> {
        self.protocols.get_mut(index)
    }
}

type Inner = request_response::Behaviour<BytesCodec>;

impl NetworkBehaviour for Direct {
    type ConnectionHandler = MultiHandler<usize, THandler<Inner>>;
    type ToSwarm = (usize, request_response::Event<Vec<u8>, Vec<u8>>);

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        for p in &mut self.protocols {
            p.handle_pending_inbound_connection(connection_id, local_addr, remote_addr)?;
        }
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let mut handlers = Vec::with_capacity(self.protocols.len());
        for (i, p) in self.protocols.iter_mut().enumerate() {
            handlers.push((
                i,
                p.handle_established_inbound_connection(
                    connection_id,
                    peer,
                    local_addr,
                    remote_addr,
                )?,
            ));
        }
        MultiHandler::try_from_iter(handlers).map_err(ConnectionDenied::new)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        let mut out = Vec::new();
        for p in &mut self.protocols {
            out.extend(p.handle_pending_outbound_connection(
                connection_id,
                maybe_peer,
                addresses,
                effective_role,
            )?);
        }
        Ok(out)
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let mut handlers = Vec::with_capacity(self.protocols.len());
        for (i, p) in self.protocols.iter_mut().enumerate() {
            handlers.push((
                i,
                p.handle_established_outbound_connection(
                    connection_id,
                    peer,
                    addr,
                    role_override,
                    port_use,
                )?,
            ));
        }
        MultiHandler::try_from_iter(handlers).map_err(ConnectionDenied::new)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        for p in &mut self.protocols {
            p.on_swarm_event(event);
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection_id: ConnectionId,
        (index, event): THandlerOutEvent<Self>,
    ) {
        if let Some(p) = self.protocols.get_mut(index) {
            p.on_connection_handler_event(peer, connection_id, event);
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        for (i, p) in self.protocols.iter_mut().enumerate() {
            if let Poll::Ready(event) = p.poll(cx) {
                return Poll::Ready(event.map_out(|e| (i, e)).map_in(|e| (i, e)));
            }
        }
        Poll::Pending
    }
}

/// Where the answer to an inbound request goes.
#[derive(Debug)]
pub struct InboundReply {
    index: usize,
    channel: request_response::ResponseChannel<Vec<u8>>,
}

/// A request from a peer on a direct protocol, with the way to answer.
#[derive(Debug)]
pub struct InboundMessage {
    /// The sending peer (authenticated by the connection).
    pub peer: PeerId,
    /// The protocol it came on ([`DirectProtocol::id`]).
    pub protocol: StreamProtocol,
    /// The request bytes.
    pub envelope: Vec<u8>,
    /// Where the answer goes ([`SwarmClient::acknowledge`](super::SwarmClient::acknowledge)).
    pub reply: InboundReply,
}

/// Inbound messages waiting for the node; beyond this the sender is told
/// "busy" and retries later.
pub const INBOUND_QUEUE: usize = 256;

impl EventLoop {
    /// Sends `request` to `peer` on the direct protocol `protocol`
    /// (learning `addresses` for it first); the answer goes to `reply`.
    pub(super) fn send_direct(
        &mut self,
        protocol: &StreamProtocol,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SwarmError>>,
    ) {
        let Some(index) = self.direct.iter().position(|p| p.id == *protocol) else {
            let _ = reply.send(Err(SwarmError::Request {
                peer,
                reason: format!("{protocol} is not a protocol of this node"),
            }));
            return;
        };
        for addr in addresses {
            self.swarm.add_peer_address(peer, addr);
        }
        if let Some(behaviour) = self.swarm.behaviour_mut().direct.get_mut(index) {
            let id = behaviour.send_request(&peer, request);
            self.pending_msgs.insert((index, id), reply);
        }
    }

    /// Answers an inbound request.
    pub(super) fn respond(&mut self, to: InboundReply, answer: Vec<u8>) {
        if let Some(behaviour) = self.swarm.behaviour_mut().direct.get_mut(to.index) {
            let _ = behaviour.send_response(to.channel, answer);
        }
    }

    /// Requests from and answers of paired peers, on direct protocol
    /// number `index`.
    pub(super) fn on_direct_event(
        &mut self,
        index: usize,
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
                let Some(protocol) = self.direct.get(index) else {
                    return;
                };
                let (id, rate, busy) = (
                    protocol.id.clone(),
                    protocol.requests_per_sec,
                    protocol.busy.clone(),
                );
                let reply = InboundReply { index, channel };
                if !take_from(&mut self.peer_rates, (peer, index), rate, 1) {
                    self.respond(reply, busy);
                    return;
                }
                let refused = match &mut self.inbound {
                    Some(queue) => match queue.try_send(InboundMessage {
                        peer,
                        protocol: id,
                        envelope: request,
                        reply,
                    }) {
                        Ok(()) => None,
                        Err(e) => Some((e.into_inner().reply, busy)),
                    },
                    None => Some((reply, self.direct[index].refused.clone())),
                };
                if let Some((reply, answer)) = refused {
                    self.respond(reply, answer);
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
                if let Some(tx) = self.pending_msgs.remove(&(index, request_id)) {
                    let _ = tx.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(tx) = self.pending_msgs.remove(&(index, request_id)) {
                    let error = match error {
                        request_response::OutboundFailure::UnsupportedProtocols => {
                            SwarmError::Unsupported {
                                peer,
                                protocol: self
                                    .direct
                                    .get(index)
                                    .map(|p| p.id.to_string())
                                    .unwrap_or_default(),
                            }
                        }
                        other => SwarmError::Request {
                            peer,
                            reason: other.to_string(),
                        },
                    };
                    let _ = tx.send(Err(error));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte codec reads at most its cap plus one byte from a stream,
    /// whatever the peer sends, and refuses to write more than the peer
    /// would read (here with the caps of the messenger's message protocol,
    /// then of its file protocol).
    #[test]
    fn byte_codecs_stop_reading_at_their_caps() {
        use request_response::Codec;
        const MAX_REQUEST: usize = 256 * 1024;
        const MAX_ANSWER: usize = 1024;
        let proto = StreamProtocol::new("/test/direct/1.0.0");
        let mut codec = BytesCodec {
            max_request: MAX_REQUEST,
            max_response: MAX_ANSWER,
        };
        futures::executor::block_on(async {
            let exact = vec![1u8; MAX_REQUEST];
            let mut io = futures::io::Cursor::new(exact.clone());
            assert_eq!(codec.read_request(&proto, &mut io).await.unwrap(), exact);
            // A peer sending 16 MiB: refused after reading the cap + 1.
            let mut io = futures::io::Cursor::new(vec![1u8; 16 << 20]);
            assert!(codec.read_request(&proto, &mut io).await.is_err());
            assert_eq!(io.position(), MAX_REQUEST as u64 + 1, "no more was read");
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_ANSWER + 1]);
            assert!(codec.read_response(&proto, &mut io).await.is_err());
            let mut sink = futures::io::Cursor::new(Vec::new());
            assert!(
                codec
                    .write_request(&proto, &mut sink, vec![0; MAX_REQUEST + 1])
                    .await
                    .is_err()
            );
            assert!(sink.get_ref().is_empty(), "nothing of it was sent");
            const MAX_CHUNK: usize = (1 << 20) + 4096;
            let mut file = BytesCodec {
                max_request: 64,
                max_response: MAX_CHUNK,
            };
            let mut io = futures::io::Cursor::new(vec![0u8; MAX_CHUNK + 10]);
            assert!(file.read_response(&proto, &mut io).await.is_err());
            let mut io = futures::io::Cursor::new(vec![0u8; 65]);
            assert!(file.read_request(&proto, &mut io).await.is_err());
        });
    }
}
