//! Messages over the network (`/zks/msg/1.0.0` through the grid's swarm).
//!
//! Sending: a message is sealed and put in the outbox in one transaction
//! (so an accepted message survives a crash), then a sender task delivers
//! queued envelopes one at a time per contact, in order, until the contact
//! acknowledges; unreachable contacts are retried with backoff.
//! Receiving: an envelope is opened and stored (with the session state it
//! advanced) before it is acknowledged. A resent envelope that was already
//! stored (the identical bytes) is acknowledged as a duplicate, so each
//! message lands exactly once; a *different* envelope that reuses a message
//! key or pad bytes is answered `err:key_reuse` and both sides raise the
//! alarm ([`NodeEvent::KeyReuseDetected`]).

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use serde::Serialize;
use zks_grid::swarm::{InboundMessage, SwarmClient};
use zks_pad::invite::code_kind;
use zks_pad::{Mode, OpenError, PadError};

use crate::clock::now_secs;
use crate::content::Outgoing;
use crate::{Node, NodeError, NodeEvent, OpenedMessage, Protection};

/// The acknowledgement of a stored message.
pub const ACK_OK: &[u8] = crate::wire::msg::Ack::Ok.bytes();
/// The acknowledgement of a message stored earlier (a resend).
pub const ACK_DUPLICATE: &[u8] = crate::wire::msg::Ack::Duplicate.bytes();
/// The answer of a receiver too busy to take the message now.
pub const ACK_BUSY: &[u8] = crate::wire::msg::Ack::Busy.bytes();
/// File chunks sealed and served at once.
const FILE_SERVERS: usize = 8;
/// Longest wait between attempts to reach a contact.
const MAX_BACKOFF_SECS: i64 = 60;

/// A message accepted for sending.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedMessage {
    /// Its id in the history.
    pub message_id: i64,
    /// What protects it.
    pub protection: Protection,
    /// The beacon round its key is bound to (grid pad).
    pub round: Option<u64>,
}

/// What the receiver answers for an envelope.
fn acknowledgement(result: &Result<crate::OpenedMessage, NodeError>) -> Vec<u8> {
    match result {
        Ok(_) => ACK_OK.to_vec(),
        // `open_from` leaves these only for the identical envelope accepted
        // before; a different one reusing its key is `KeyReuse`.
        Err(
            NodeError::Open(OpenError::Replay { .. }) | NodeError::Pad(PadError::Overlap { .. }),
        ) => ACK_DUPLICATE.to_vec(),
        Err(e) => format!("err:{}: {e}", e.code()).into_bytes(),
    }
}

impl Node {
    /// Opens an envelope from one of our contacts and records the message.
    pub fn open(&self, bytes: &[u8]) -> Result<OpenedMessage, NodeError> {
        self.open_envelope(bytes, None)
    }

    /// Opens and records an envelope (from `peer`, when it came over the
    /// network; see [`Node::open_from`]), then lets file transfer act on a
    /// file-transfer message (start a receiver, close a transfer).
    fn open_envelope(&self, bytes: &[u8], peer: Option<&str>) -> Result<OpenedMessage, NodeError> {
        let opened = self.open_from(bytes, peer, self.auto_accepts_files())?;
        if let Some(notice) = &opened.file {
            self.after_file_message(&opened.from, notice);
        }
        Ok(opened)
    }

    /// Seals `plaintext` for `contact` and queues it for delivery; the
    /// message is stored (with its envelope) before this returns.
    pub fn send(
        &self,
        contact: &str,
        plaintext: &[u8],
        mode: Mode,
    ) -> Result<QueuedMessage, NodeError> {
        let (sealed, id) =
            self.seal_inner(contact, mode, true, |_, _| Outgoing::text(plaintext))?;
        self.inner.outbox_wake.notify_one();
        Ok(QueuedMessage {
            message_id: id.unwrap_or_default(),
            protection: sealed.protection,
            round: sealed.round,
        })
    }

    /// Where a contact can be reached (libp2p multiaddresses, at most 8,
    /// each ending in `/p2p/<the contact's peer id>` or without any peer
    /// id); anything else is refused and nothing changes.
    pub fn set_contact_addresses(
        &self,
        contact: &str,
        addresses: &[String],
    ) -> Result<(), NodeError> {
        if addresses.len() > 8 {
            return Err(NodeError::BadInput(format!(
                "{} addresses; a contact keeps at most 8",
                addresses.len()
            )));
        }
        self.with_store_mut(|store| {
            let record = store.contact(contact)?;
            for text in addresses {
                let addr: libp2p::Multiaddr = text
                    .parse()
                    .map_err(|_| NodeError::BadInput(format!("{text:?} is not a multiaddress")))?;
                if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last()
                    && peer.to_string() != record.peer_id
                {
                    return Err(NodeError::BadInput(format!(
                        "{text:?} is another peer's address, not {contact}'s"
                    )));
                }
            }
            store.set_contact_addresses(record.id, addresses)?;
            Ok(())
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    /// A sent message's delivery state (`queued`, `delivered`, `failed`) and
    /// the last error, if it went over the network.
    pub fn delivery_state(
        &self,
        message_id: i64,
    ) -> Result<Option<(String, Option<String>)>, NodeError> {
        self.with_store(|store| Ok(store.delivery_state(message_id)?))
    }

    /// How many sent messages (chat and file bookkeeping) still wait for
    /// the contact's acknowledgement.
    pub fn queued_messages(&self) -> Result<u64, NodeError> {
        self.with_store(|store| Ok(store.queued_count()?))
    }

    /// The conversation with a contact, oldest first: chat text and file
    /// offers (file-transfer bookkeeping messages are left out).
    pub fn history(&self, contact: &str) -> Result<Vec<zks_store::MessageRecord>, NodeError> {
        self.with_store(|store| {
            let record = store.contact(contact)?;
            let mut all = store.messages(record.id)?;
            all.retain(|m| m.kind != "control");
            Ok(all)
        })
    }

    /// Runs message delivery over `swarm` until the node stops: a task that
    /// answers `inbound` envelopes and one that empties the outbox.
    pub fn run_messaging(&self, swarm: SwarmClient, inbound: mpsc::Receiver<InboundMessage>) {
        let receiver = self.clone();
        let acks = swarm.clone();
        self.spawn_until_stopped(async move { receiver.receive_loop(acks, inbound).await });
        let sender = self.clone();
        let outbox = swarm.clone();
        self.spawn_until_stopped(async move { sender.send_loop(outbox).await });
        let caller = self.clone();
        let calls = swarm.clone();
        self.spawn_until_stopped(async move { caller.call_contacts(calls).await });
        let files = self.clone();
        self.spawn_until_stopped(async move { files.transfer_loop(swarm).await });
    }

    /// Connects to every contact at its stored addresses once, as this node
    /// comes online: their Identify then learns where this device listens
    /// now, so messages they queued while it was away (perhaps on another
    /// port or network) find it without waiting for the DHT.
    async fn call_contacts(self, swarm: SwarmClient) {
        let Ok(contacts) = self.with_store(|store| Ok(store.contacts()?)) else {
            return;
        };
        for contact in contacts {
            let Ok(peer) = contact.peer_id.parse() else {
                continue;
            };
            let addresses: Vec<libp2p::Multiaddr> = contact
                .addresses
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect();
            if swarm.dial(peer, addresses).await.is_err() {
                return;
            }
        }
    }

    async fn receive_loop(self, swarm: SwarmClient, mut inbound: mpsc::Receiver<InboundMessage>) {
        // Chunk requests are served concurrently, at most this many at once.
        let serving = std::sync::Arc::new(tokio::sync::Semaphore::new(FILE_SERVERS));
        while let Some(message) = inbound.next().await {
            if message.protocol == crate::wire::file::PROTOCOL {
                let Ok(permit) = serving.clone().acquire_owned().await else {
                    return;
                };
                let node = self.clone();
                let swarm = swarm.clone();
                tokio::spawn(async move {
                    let peer = message.peer.to_string();
                    let request = message.envelope;
                    let answer =
                        tokio::task::spawn_blocking(move || node.serve_chunk(&peer, &request))
                            .await
                            .unwrap_or_else(|_| vec![crate::wire::file::Status::Busy.byte()]);
                    let _ = swarm.acknowledge(message.reply, answer).await;
                    drop(permit);
                });
                continue;
            }
            let node = self.clone();
            let peer = message.peer.to_string();
            let bytes = message.envelope;
            let handled = tokio::task::spawn_blocking(move || {
                if code_kind(&bytes) == Some("reply") {
                    return (node.receive_pairing_reply(&bytes, &peer), None);
                }
                let result = node.open_envelope(&bytes, Some(&peer));
                (acknowledgement(&result), result.ok().map(|m| m.from))
            })
            .await;
            let ack = match handled {
                Ok((ack, from)) => {
                    if let Some(from) = from {
                        self.emit(NodeEvent::MessageReceived { from });
                    }
                    ack
                }
                Err(e) => format!("err:io: opening a message failed: {e}").into_bytes(),
            };
            if swarm.acknowledge(message.reply, ack).await.is_err() {
                return;
            }
        }
    }

    async fn send_loop(self, swarm: SwarmClient) {
        let mut connected = HashSet::new();
        loop {
            let due = self.with_store(|store| Ok(store.due_outbox(now_secs() as i64, 16)?));
            let due = match due {
                Ok(due) => due,
                Err(NodeError::Stopped) => return,
                Err(e) => {
                    tracing::warn!("cannot read the outbox: {e}");
                    Vec::new()
                }
            };
            for item in &due {
                self.deliver(&swarm, item).await;
            }
            if due.is_empty() {
                if self.hurry_reconnected(&swarm, &mut connected).await {
                    continue;
                }
                // Sleep until a new message or a second passes (retries).
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), self.inner.outbox_wake.notified())
                        .await;
            }
        }
    }

    /// Ends the backoff of contacts that connected since the last call
    /// (`connected` holds the peers connected then): their queued messages
    /// go now, not up to a minute later. Returns whether any became due.
    async fn hurry_reconnected(
        &self,
        swarm: &SwarmClient,
        connected: &mut HashSet<libp2p::PeerId>,
    ) -> bool {
        let Ok(peers) = swarm.peers().await else {
            return false;
        };
        let peers: HashSet<libp2p::PeerId> = peers.into_iter().collect();
        let arrived: HashSet<String> = peers
            .difference(connected)
            .map(ToString::to_string)
            .collect();
        *connected = peers;
        if arrived.is_empty() {
            return false;
        }
        let moved = self.with_store_mut(|store| {
            let mut moved = 0;
            for contact in store.contacts()? {
                if arrived.contains(&contact.peer_id) {
                    moved += store.outbox_retry_now(contact.id, now_secs() as i64)?;
                }
            }
            Ok(moved)
        });
        matches!(moved, Ok(n) if n > 0)
    }

    async fn deliver(&self, swarm: &SwarmClient, item: &zks_store::OutboxItem) {
        let contact = self.with_store(|store| {
            Ok(store
                .contacts()?
                .into_iter()
                .find(|c| c.id == item.contact_id))
        });
        let Ok(Some(contact)) = contact else { return };
        let Ok(peer) = contact.peer_id.parse() else {
            let _ = self.with_store_mut(|s| {
                Ok(s.outbox_failed(item.id, "the contact's PeerId is invalid")?)
            });
            return;
        };
        let addresses = self.reach(swarm, &contact, peer).await;
        // Unless connected, the DHT is asked where the contact is now (it
        // may have moved) while the stored addresses are tried.
        self.look_up_contact(swarm, &contact, peer);
        let outcome = swarm
            .send_direct(crate::wire::msg::ID, peer, addresses, item.envelope.clone())
            .await;
        let _ = self.with_store_mut(|store| {
            match &outcome {
                Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE => {
                    store.outbox_delivered(item.id)?;
                }
                Ok(ack) if ack.starts_with(b"err:") => {
                    store.outbox_failed(item.id, &String::from_utf8_lossy(&ack[4..]))?;
                }
                Ok(ack) => {
                    let reason = format!("the contact answered {:?}", String::from_utf8_lossy(ack));
                    store.outbox_retry(item.id, now_secs() as i64 + 1, &reason)?;
                }
                Err(e) => {
                    let backoff = (1i64 << item.attempts.min(6)).min(MAX_BACKOFF_SECS);
                    store.outbox_retry(item.id, now_secs() as i64 + backoff, &e.to_string())?;
                }
            }
            Ok(())
        });
        if matches!(&outcome, Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE) {
            self.emit(NodeEvent::MessageDelivered {
                message_id: item.message_id,
            });
        }
        if let Ok(ack) = &outcome
            && ack.starts_with(b"err:key_reuse")
        {
            tracing::error!(contact = %contact.name, "the contact refused a message for key or pad reuse");
            self.emit(NodeEvent::KeyReuseDetected {
                contact: contact.name.clone(),
                detail: format!(
                    "{} refused a message from this device because it reuses the key or pad bytes of an earlier, different message. This device may have been restored or copied; stop sending in that mode, check with them, and pair again (with a new pad)",
                    contact.name
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OnlineConfig, listen_addresses};

    /// A started node holding the recorded beacons to bind messages to.
    async fn started(home: &std::path::Path) -> Node {
        let node = crate::test_support::started(home).await;
        node.import_beacons("quicknet", zks_testkit::QUICKNET)
            .unwrap();
        node
    }

    fn on_loopback() -> OnlineConfig {
        OnlineConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..OnlineConfig::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_contact_coming_online_gets_its_queued_message_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let alice = started(&tmp.path().join("alice")).await;
        let bob = started(&tmp.path().join("bob")).await;
        let invite = alice.create_invite(Some("Alice"), 3600).unwrap();
        let accepted = bob.accept_invite(invite.text.as_bytes(), None).unwrap();
        alice
            .finish_pairing(accepted.reply_text.as_bytes(), Some("Bob"))
            .unwrap();
        // Alice queues a message while Bob is away, and her outbox has
        // given up on him for an hour (as after a long backoff).
        let sent = alice.send("Bob", b"are you there?", Mode::Grid).unwrap();
        alice
            .with_store_mut(|store| {
                for item in store.due_outbox(i64::MAX, 16)? {
                    store.outbox_retry(item.id, now_secs() as i64 + 3600, "unreachable")?;
                }
                Ok(())
            })
            .unwrap();
        let swarm = alice.go_online(on_loopback()).await.unwrap();
        let at = listen_addresses(&swarm).await;
        assert!(!at.is_empty());
        // Bob comes online knowing only where Alice listens; his node calls
        // on her, and her queued message reaches him without the hour's wait.
        bob.set_contact_addresses("Alice", &at).unwrap();
        let _bob_swarm = bob.go_online(on_loopback()).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let state = alice.delivery_state(sent.message_id).unwrap();
            if state.as_ref().is_some_and(|(s, _)| s == "delivered") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "still {state:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let history = bob.history("Alice").unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].body, b"are you there?");
        alice.stop().await;
        bob.stop().await;
    }
}
