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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use serde::Serialize;
use zks_grid::swarm::{InboundMessage, SwarmClient, SwarmError};
use zks_pad::invite::code_kind;
use zks_pad::{Mode, OpenError, PadError};

use crate::clock::now_secs;
use crate::content::Outgoing;
use crate::wire::msg;
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
    /// One-time pad: the pad bytes it used.
    pub pad_used: Option<u64>,
    /// One-time pad: the bytes left for sending afterwards.
    pub pad_left: Option<u64>,
}

impl QueuedMessage {
    /// The queued message `id` sealed as `sealed`.
    pub(crate) fn of(sealed: &crate::Sealed, id: Option<i64>) -> QueuedMessage {
        QueuedMessage {
            message_id: id.unwrap_or_default(),
            protection: sealed.protection,
            round: sealed.round,
            pad_used: sealed.pad_used,
            pad_left: sealed.pad_left,
        }
    }
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
        self.after_opened(&opened);
        Ok(opened)
    }

    /// [`Node::open_envelope`] for a batch, in order (see
    /// [`Node::open_batch`]).
    fn open_envelopes(
        &self,
        envelopes: &[&[u8]],
        peer: Option<&str>,
    ) -> Result<Vec<Result<OpenedMessage, NodeError>>, NodeError> {
        let results = self.open_batch(envelopes, peer, self.auto_accepts_files())?;
        for opened in results.iter().flatten() {
            self.after_opened(opened);
        }
        Ok(results)
    }

    fn after_opened(&self, opened: &OpenedMessage) {
        if let Some(notice) = &opened.file {
            self.after_file_message(&opened.from, notice);
        }
        if let Some(notice) = &opened.group {
            self.after_group_message(&opened.from, notice);
        }
        if let Some(notice) = &opened.device {
            self.after_device_message(notice);
        }
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
        Ok(QueuedMessage::of(&sealed, id))
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
        // What disappeared stays away even when no node runs the timer.
        self.expire_messages()?;
        self.with_store(|store| {
            let record = store.contact(contact)?;
            let mut all = store.messages(record.id)?;
            all.retain(|m| m.kind != "control");
            // Files offered by the person's other devices travel pairwise
            // with those devices; they show in the person's conversation
            // (decision 0072).
            if record.person_key.is_none() {
                let mut files = Vec::new();
                for row in store.device_rows(&record.identity_key)? {
                    files.extend(
                        store
                            .messages(row.id)?
                            .into_iter()
                            .filter(|m| m.kind == "file"),
                    );
                }
                if !files.is_empty() {
                    all.extend(files);
                    all.sort_by_key(|m| m.id);
                }
            }
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
        let expiry = self.clone();
        self.spawn_until_stopped(expiry.expiry_loop());
        let opener = self.clone();
        self.spawn_until_stopped(opener.opener_loop());
        let groups = self.clone();
        self.spawn_until_stopped(groups.group_copy_loop());
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
            if message.protocol == crate::wire::invite::PROTOCOL {
                let node = self.clone();
                let request = message.envelope;
                let answer = tokio::task::spawn_blocking(move || node.serve_invite(&request))
                    .await
                    .unwrap_or_else(|e| format!("err:io: {e}").into_bytes());
                if swarm.acknowledge(message.reply, answer).await.is_err() {
                    return;
                }
                continue;
            }
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
            let batch = message.protocol == crate::wire::msg::BATCH_PROTOCOL;
            let handled = tokio::task::spawn_blocking(move || {
                if batch {
                    return node.receive_batch(&bytes, &peer);
                }
                if code_kind(&bytes) == Some("reply") {
                    return (node.receive_pairing_reply(&bytes, &peer), Vec::new());
                }
                let result = node.open_envelope(&bytes, Some(&peer));
                (
                    acknowledgement(&result),
                    result
                        .ok()
                        .filter(|m| !m.quiet)
                        .map(|m| m.from)
                        .into_iter()
                        .collect(),
                )
            })
            .await;
            let ack = match handled {
                Ok((ack, senders)) => {
                    for from in senders {
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

    /// Opens a batch (`/zks/msg/1.1.0`) from `peer`: the framed
    /// acknowledgements, and who sent each message stored. A batch that
    /// cannot be read is refused whole; one the database could not take
    /// (or not make durable) is answered busy, and the sender tries again.
    fn receive_batch(&self, bytes: &[u8], peer: &str) -> (Vec<u8>, Vec<String>) {
        let envelopes = match msg::decode_batch(bytes) {
            Ok(envelopes) => envelopes,
            Err(e) => return (format!("err:bad_input: {e}").into_bytes(), Vec::new()),
        };
        match self.open_envelopes(&envelopes, Some(peer)) {
            Ok(results) => {
                let acks: Vec<Vec<u8>> = results.iter().map(acknowledgement).collect();
                let senders = results
                    .into_iter()
                    .filter_map(|r| r.ok().filter(|m| !m.quiet).map(|m| m.from))
                    .collect();
                (msg::encode_acks(&acks), senders)
            }
            Err(e) => {
                tracing::warn!("cannot store a batch of {} messages: {e}", envelopes.len());
                (ACK_BUSY.to_vec(), Vec::new())
            }
        }
    }

    /// Empties the outbox: each contact with a message due gets a task that
    /// sends its queue in batches, one batch in flight at a time (the next
    /// batch holds whatever was queued meanwhile), until the queue is empty
    /// or the contact cannot be reached; contacts do not wait for each other.
    async fn send_loop(self, swarm: SwarmClient) {
        let mut connected = HashSet::new();
        let busy: Arc<Mutex<HashSet<i64>>> = Arc::default();
        let old_peers: Arc<Mutex<HashSet<libp2p::PeerId>>> = Arc::default();
        loop {
            let due = self.with_store(|store| Ok(store.due_outbox(now_secs() as i64, 64)?));
            let due = match due {
                Ok(due) => due,
                Err(NodeError::Stopped) => return,
                Err(e) => {
                    tracing::warn!("cannot read the outbox: {e}");
                    Vec::new()
                }
            };
            let mut started = false;
            for item in due {
                if !lock(&busy).insert(item.contact_id) {
                    continue;
                }
                started = true;
                let (node, swarm, busy, old_peers) =
                    (self.clone(), swarm.clone(), busy.clone(), old_peers.clone());
                self.spawn_until_stopped(async move {
                    node.send_queue(&swarm, item.contact_id, &old_peers).await;
                    lock(&busy).remove(&item.contact_id);
                    node.inner.outbox_wake.notify_one();
                });
            }
            if !started {
                if self
                    .hurry_reconnected(&swarm, &mut connected, &old_peers)
                    .await
                {
                    continue;
                }
                // Sleep until a new message, a finished queue, or a second
                // passes (retries).
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
        old_peers: &Mutex<HashSet<libp2p::PeerId>>,
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
        // A peer that connects again may have been upgraded.
        lock(old_peers).retain(|p| !arrived.contains(&p.to_string()));
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

    /// Sends a contact's queue in batches until it is empty, a batch was
    /// not fully taken, or the contact cannot be reached.
    async fn send_queue(
        &self,
        swarm: &SwarmClient,
        contact_id: i64,
        old_peers: &Mutex<HashSet<libp2p::PeerId>>,
    ) {
        loop {
            let run = self.with_store(|store| {
                let contact = store.contacts()?.into_iter().find(|c| c.id == contact_id);
                let run = store.queued_run(contact_id, msg::MAX_BATCH_ENVELOPES, BATCH_BYTES)?;
                Ok((contact, run))
            });
            let Ok((Some(contact), mut run)) = run else {
                return;
            };
            let Some(head) = run.first() else { return };
            // A pairing reply goes alone, on `/zks/msg/1.0.0`; batches carry
            // only sealed messages.
            let reply = code_kind(&head.envelope) == Some("reply");
            let cut = if reply {
                1
            } else {
                run.iter()
                    .position(|i| code_kind(&i.envelope) == Some("reply"))
                    .unwrap_or(run.len())
            };
            run.truncate(cut);
            let Some(head) = run.first() else { return };
            if head.attempts > 0 && !self.is_due(head.id) {
                return;
            }
            if !self.deliver(swarm, &contact, &run, reply, old_peers).await {
                return;
            }
        }
    }

    /// Whether an outbox entry's next attempt is due.
    fn is_due(&self, outbox_id: i64) -> bool {
        self.with_store(|store| Ok(store.due_outbox(now_secs() as i64, 64)?))
            .is_ok_and(|due| due.iter().any(|d| d.id == outbox_id))
    }

    /// Delivers `run` (a contact's queue, oldest first) in one batch, or
    /// one by one (`single`, or to a peer that does not take batches); records each
    /// outcome (in one transaction) and returns whether all were taken.
    async fn deliver(
        &self,
        swarm: &SwarmClient,
        contact: &zks_store::ContactRecord,
        run: &[zks_store::OutboxItem],
        single: bool,
        old_peers: &Mutex<HashSet<libp2p::PeerId>>,
    ) -> bool {
        let Ok(peer) = contact.peer_id.parse::<libp2p::PeerId>() else {
            let _ = self.with_store_mut(|s| {
                s.atomically(|s| {
                    for item in run {
                        s.outbox_failed(item.id, "the contact's PeerId is invalid")?;
                    }
                    Ok::<_, NodeError>(())
                })
            });
            return false;
        };
        // What sealed these envelopes must outlast a power loss before they
        // leave: one sync for the whole batch.
        let durable = {
            let node = self.clone();
            let name = contact.name.clone();
            tokio::task::spawn_blocking(move || node.make_durable_for(&name)).await
        };
        if !matches!(durable, Ok(Ok(()))) {
            tracing::warn!(contact = %contact.name, "cannot sync the outbox to disk; holding its messages");
            return false;
        }
        let addresses = self.reach(swarm, contact, peer).await;
        // Unless connected, the DHT is asked where the contact is now (it
        // may have moved) while the stored addresses are tried.
        self.look_up_contact(swarm, contact, peer);
        let old = single || lock(old_peers).contains(&peer);
        let outcomes: Vec<Outcome> = if old {
            let mut outcomes = Vec::new();
            for item in run {
                let outcome = swarm
                    .send_direct(msg::ID, peer, addresses.clone(), item.envelope.clone())
                    .await
                    .map_err(|e| e.to_string());
                let taken = matches!(&outcome, Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE);
                outcomes.push(outcome);
                if !taken {
                    break;
                }
            }
            outcomes
        } else {
            let envelopes: Vec<&[u8]> = run.iter().map(|i| i.envelope.as_slice()).collect();
            let request = match msg::encode_batch(&envelopes) {
                Ok(request) => request,
                Err(e) => {
                    tracing::error!("cannot frame a batch: {e}");
                    return false;
                }
            };
            match swarm
                .send_direct(msg::BATCH_ID, peer, addresses, request)
                .await
            {
                Ok(answer) => match msg::decode_acks(&answer, run.len()) {
                    Ok(acks) => acks.into_iter().map(Ok).collect(),
                    // One answer for the whole batch (busy, refused).
                    Err(_) => vec![Ok(answer); run.len()],
                },
                Err(SwarmError::Unsupported { .. }) => {
                    // An older release: one message per request from now on.
                    lock(old_peers).insert(peer);
                    return true;
                }
                Err(e) => vec![Err(e.to_string()); run.len()],
            }
        };
        let all_taken = outcomes.len() == run.len()
            && outcomes
                .iter()
                .all(|o| matches!(o, Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE));
        let now = now_secs() as i64;
        let recorded = self.with_store_mut(|store| {
            store.atomically(|store| {
                for (item, outcome) in run.iter().zip(&outcomes) {
                    match outcome {
                        Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE => {
                            store.outbox_delivered(item.id)?;
                        }
                        Ok(ack) if ack.starts_with(b"err:") => {
                            store.outbox_failed(item.id, &String::from_utf8_lossy(&ack[4..]))?;
                        }
                        Ok(ack) => {
                            let reason =
                                format!("the contact answered {:?}", String::from_utf8_lossy(ack));
                            store.outbox_retry(item.id, now + 1, &reason)?;
                        }
                        Err(e) => {
                            let backoff = (1i64 << item.attempts.min(6)).min(MAX_BACKOFF_SECS);
                            store.outbox_retry(item.id, now + backoff, e)?;
                        }
                    }
                }
                Ok::<_, NodeError>(())
            })
        });
        if let Err(e) = recorded {
            tracing::warn!("cannot record delivery outcomes: {e}");
            return false;
        }
        for (item, outcome) in run.iter().zip(&outcomes) {
            if matches!(outcome, Ok(ack) if ack == ACK_OK || ack == ACK_DUPLICATE) {
                self.emit(NodeEvent::MessageDelivered {
                    message_id: item.message_id,
                });
            }
        }
        if outcomes
            .iter()
            .any(|o| matches!(o, Ok(ack) if ack.starts_with(b"err:key_reuse")))
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
        all_taken
    }
}

/// What became of one envelope: the contact's answer, or why none came.
type Outcome = Result<Vec<u8>, String>;

/// Envelope bytes in one batch (past its first envelope), within
/// [`msg::MAX_BATCH`] with the framing of a full batch.
const BATCH_BYTES: usize = msg::MAX_BATCH - 2 - 4 * msg::MAX_BATCH_ENVELOPES;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
