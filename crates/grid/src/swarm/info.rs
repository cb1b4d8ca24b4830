//! `/zks/chain-info/1.0.0`: learning a chain from peers by its hash.
//!
//! Wire format. Participants: a node that knows a chain only by hash
//! (requester) and any peer serving it. One request per stream:
//!
//! - request: the 32-byte chain hash.
//! - response: the chain's drand `/info` JSON, at most [`MAX_INFO`] bytes,
//!   or nothing when the peer does not know the chain.
//!
//! The requester accepts the info only if it hashes to the hash asked for
//! (drand's chain-hash rule), so a peer cannot pass off another chain.

use futures::channel::oneshot;
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{PeerId, StreamProtocol, request_response};
use zks_beacon::ChainHash;

use super::event_loop::EventLoop;
use super::read_capped;

/// Protocol asking a peer for a chain's `/info` JSON by chain hash.
pub const INFO_PROTOCOL: &str = "/zks/chain-info/1.0.0";
/// Largest chain info document accepted.
const MAX_INFO: usize = 4096;

/// The codec of `/zks/chain-info/1.0.0`: a 32-byte chain hash, answered by
/// the chain's info JSON (empty if unknown), at most 4 KiB.
#[derive(Debug, Clone, Default)]
pub struct InfoCodec;

impl request_response::Codec for InfoCodec {
    type Protocol = StreamProtocol;
    type Request = [u8; 32];
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<[u8; 32]>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let mut hash = [0u8; 32];
        io.read_exact(&mut hash).await?;
        Ok(hash)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_capped(io, MAX_INFO, "chain info too large").await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        hash: [u8; 32],
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&hash).await?;
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
        io.write_all(&body[..body.len().min(MAX_INFO)]).await?;
        io.close().await
    }
}

impl EventLoop {
    /// Asks `peer` for the info of `chain`; the answer (`None` if the
    /// request failed) goes to `reply`.
    pub(super) fn ask_chain_info(
        &mut self,
        peer: PeerId,
        chain: ChainHash,
        reply: oneshot::Sender<Option<Vec<u8>>>,
    ) {
        let id = self.swarm.behaviour_mut().info.send_request(&peer, chain.0);
        self.pending_info.insert(id, reply);
    }

    /// A peer asking for a chain's info (answered from the chains we
    /// serve), or the answer to one of our questions.
    pub(super) fn on_info_event(&mut self, event: request_response::Event<[u8; 32], Vec<u8>>) {
        match event {
            request_response::Event::Message { message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let body = self
                        .chains
                        .get(&ChainHash(request))
                        .map(|c| c.to_info_json().into_bytes())
                        .unwrap_or_default();
                    let _ = self.swarm.behaviour_mut().info.send_response(channel, body);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(tx) = self.pending_info.remove(&request_id) {
                        let _ = tx.send(Some(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { request_id, .. } => {
                if let Some(tx) = self.pending_info.remove(&request_id) {
                    let _ = tx.send(None);
                }
            }
            _ => {}
        }
    }
}
