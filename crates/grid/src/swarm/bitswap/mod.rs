//! Bitswap (`/ipfs/bitswap/1.2.0`, and 1.1.0 / 1.0.0 inbound): complete
//! chunks of the cache, content-addressed as CIDv1 (raw, sha2-256), served
//! to any IPFS node (kubo, Helia) and fetched from any that holds them.
//! A minimal, strict subset of <https://specs.ipfs.tech/bitswap-protocol/>.
//!
//! Wire. Each side sends on streams it opened itself: length-prefixed
//! (unsigned varint) protobuf messages ([`message`]), at most 4 MiB each,
//! one or many per stream. We open one stream per peer and keep writing on
//! it until it has been idle for [`IDLE`]; inbound, a peer may use one
//! stream for everything or one per message.
//!
//! Server. A want-block of a chunk we hold complete is answered with the
//! block (payload with the CID prefix), a want-have with HAVE; any other
//! CID, when the peer set sendDontHave, with DONT_HAVE. A peer's wantlist
//! holds at most [`MAX_WANTS`] entries; at most [`SENDING_PER_PEER`] of its
//! blocks are read or on the wire at once ([`SENDING`] for all peers), and
//! a block counts as a chunk's rounds against the peer's serving rate
//! ([`Limits::served_rounds_per_sec`](super::Limits), a bucket of its own
//! beside the chunk protocol's) and the node-wide upload cap. Beyond the
//! rates, wants wait in line.
//!
//! Client. [`Handle::want`] sends a want-block with sendDontHave and waits
//! for the block or DONT_HAVE; a block is taken only when the hash of its
//! bytes is the CID wanted (the CID is computed from the bytes, never
//! taken from the sender), so a wrong block is an unwanted one: dropped.
//!
//! One task (the engine) holds the wantlists and the wants; stream readers,
//! cache reads (blocking threads) and stream writers run in their own tasks
//! and talk to it over a channel, so the swarm task never waits on any.

mod index;
pub mod message;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use libp2p_stream::{Control, OpenStreamError};
use tokio::sync::{Semaphore, mpsc, oneshot};
use zks_beacon::ChainInfo;

use self::index::{CHUNK_PREFIX, CidIndex, chunk_digest};
use self::message::{Block, Entry, MAX_MESSAGE, Message, Presence, WantType, read_length};
use super::budget::{UploadBudget, take_from};
use crate::cache::{BeaconCache, CHUNK_ROUNDS};

/// Bitswap 1.2.0 (want-have, DONT_HAVE): what we open and prefer.
pub const BITSWAP_120: StreamProtocol = StreamProtocol::new("/ipfs/bitswap/1.2.0");
/// Bitswap 1.1.0 (payload with CID prefixes).
pub const BITSWAP_110: StreamProtocol = StreamProtocol::new("/ipfs/bitswap/1.1.0");
/// Bitswap 1.0.0 (bare blocks, CIDv0): accepted inbound only.
pub const BITSWAP_100: StreamProtocol = StreamProtocol::new("/ipfs/bitswap/1.0.0");

/// Wantlist entries kept per peer (boxo's and Helia's default).
pub const MAX_WANTS: usize = 1024;
/// Blocks of one peer being read or sent at once.
pub const SENDING_PER_PEER: usize = 2;
/// Blocks being read or sent at once, all peers together.
pub const SENDING: usize = 32;
/// Inbound Bitswap streams open at once, all peers together.
pub const INBOUND_STREAMS: usize = 256;
/// Inbound Bitswap streams open at once from one peer.
pub const INBOUND_PER_PEER: usize = 8;
/// How long a message may take to arrive once its length is read.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long our stream to a peer stays open with nothing to send.
pub const IDLE: Duration = Duration::from_secs(60);
/// Peers with server state (a wantlist) at once; wants of more are ignored.
const MAX_PEERS: usize = 1024;
/// Messages queued for one peer's writer.
const OUTBOX: usize = 64;
/// Cache reads (lookups and blocks) at once.
const READERS: usize = 4;

/// What the client's want comes to: the block's bytes or why not.
type Answer = Result<Vec<u8>, String>;

/// What the engine hears about.
enum Event {
    /// A message a peer sent.
    Inbound(PeerId, Message),
    /// Our want of a block from a peer.
    Want {
        peer: PeerId,
        cid: Vec<u8>,
        reply: oneshot::Sender<Answer>,
    },
    /// Our want ended (answered or timed out).
    Cancel { peer: PeerId, cid: Vec<u8> },
    /// A cache read for a peer's want (of this type) is done.
    Looked {
        peer: PeerId,
        cid: Vec<u8>,
        want_type: WantType,
        found: Found,
    },
    /// A block for the peer is written (or dropped): its slot is free.
    Sent { peer: PeerId },
    /// Our stream to the peer could not be opened or written.
    SendFailed { peer: PeerId, reason: String },
    /// Wake a peer whose wants wait for its rate.
    Pump { peer: PeerId },
}

/// What a cache read found.
enum Found {
    Block(Vec<u8>, tokio::sync::OwnedSemaphorePermit),
    Have,
    Missing,
}

/// A frame for a peer's writer; a block's frame holds a [`SENDING`]
/// permit and frees the peer's slot once written.
struct Frame {
    bytes: Vec<u8>,
    block: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// A peer's wantlist and its wants waiting to be answered.
#[derive(Default)]
struct PeerWants {
    wants: HashMap<Vec<u8>, (WantType, bool)>,
    queue: VecDeque<Vec<u8>>,
    sending: usize,
    pump_due: bool,
}

/// A cheap handle to the Bitswap engine.
#[derive(Clone)]
pub(in crate::swarm) struct Handle {
    events: mpsc::Sender<Event>,
    index: Arc<CidIndex>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bitswap::Handle")
    }
}

impl Handle {
    /// Wants the block `cid` (bytes) from `peer`: its bytes, or why not
    /// (DONT_HAVE, the stream could not be opened, the engine stopped).
    /// Waits forever: the caller bounds it and calls [`Handle::cancel`].
    pub(in crate::swarm) async fn want(&self, peer: PeerId, cid: Vec<u8>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.events
            .send(Event::Want { peer, cid, reply })
            .await
            .map_err(|_| "the grid network has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the grid network has stopped".to_owned())?
    }

    /// Withdraws our want of `cid` from `peer` (when no other waits for it).
    pub(in crate::swarm) async fn cancel(&self, peer: PeerId, cid: Vec<u8>) {
        let _ = self.events.send(Event::Cancel { peer, cid }).await;
    }

    /// Serves another chain's complete chunks too.
    pub(in crate::swarm) fn add_chain(&self, chain: ChainInfo) {
        self.index.add_chain(chain);
    }
}

/// Starts Bitswap on `control` (the swarm's `libp2p_stream` behaviour)
/// over `cache`: accepts inbound streams, serves the complete chunks of
/// `chains`, and returns the handle the client wants blocks through.
pub(in crate::swarm) fn start(
    mut control: Control,
    cache: Arc<BeaconCache>,
    chains: Vec<ChainInfo>,
    serve_rounds_per_sec: Option<u64>,
    peer_rounds_per_sec: u64,
) -> Handle {
    let (events, inbox) = mpsc::channel(1024);
    let index = Arc::new(CidIndex::new(chains));
    let streams = Arc::new(Semaphore::new(INBOUND_STREAMS));
    let per_peer: Arc<std::sync::Mutex<HashMap<PeerId, usize>>> = Arc::default();
    for protocol in [BITSWAP_120, BITSWAP_110, BITSWAP_100] {
        let Ok(mut incoming) = control.accept(protocol) else {
            continue;
        };
        let (weak, streams, per_peer) = (events.downgrade(), streams.clone(), per_peer.clone());
        tokio::spawn(async move {
            while let Some((peer, stream)) = incoming.next().await {
                let Some(events) = weak.upgrade() else {
                    return;
                };
                let Ok(permit) = streams.clone().try_acquire_owned() else {
                    tracing::debug!(%peer, "bitswap: too many inbound streams; dropping one");
                    continue;
                };
                {
                    let mut open = lock(&per_peer);
                    let n = open.entry(peer).or_default();
                    if *n >= INBOUND_PER_PEER {
                        tracing::debug!(%peer, "bitswap: peer over its inbound streams");
                        continue;
                    }
                    *n += 1;
                }
                let per_peer = per_peer.clone();
                tokio::spawn(async move {
                    if let Err(e) = read_messages(peer, stream, &events).await {
                        tracing::debug!(%peer, "bitswap: inbound stream ended: {e}");
                    }
                    let mut open = lock(&per_peer);
                    if let Some(n) = open.get_mut(&peer) {
                        *n -= 1;
                        if *n == 0 {
                            open.remove(&peer);
                        }
                    }
                    drop(permit);
                });
            }
        });
    }
    let engine = Engine {
        control,
        cache: cache.clone(),
        index: index.clone(),
        events: events.downgrade(),
        peers: HashMap::new(),
        budgets: HashMap::new(),
        peer_rate: peer_rounds_per_sec,
        upload: serve_rounds_per_sec.map(|r| UploadBudget::new(r, Instant::now())),
        outboxes: HashMap::new(),
        wanted: HashMap::new(),
        readers: Arc::new(Semaphore::new(READERS)),
        sending: Arc::new(Semaphore::new(SENDING)),
    };
    // Hash the complete chunks once at start, off the swarm task.
    let warm = index.clone();
    tokio::task::spawn_blocking(move || warm.scan(&cache));
    tokio::spawn(engine.run(inbox));
    Handle { events, index }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads length-prefixed messages off one inbound stream until it ends.
async fn read_messages(
    peer: PeerId,
    mut stream: libp2p::Stream,
    events: &mpsc::Sender<Event>,
) -> std::io::Result<()> {
    while let Some(len) = read_length(&mut stream).await? {
        if len > MAX_MESSAGE {
            return Err(super::invalid("message over 4 MiB"));
        }
        let mut body = vec![0u8; len];
        tokio::time::timeout(MESSAGE_TIMEOUT, stream.read_exact(&mut body))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let msg = Message::decode(&body).map_err(|e| super::invalid(&e.to_string()))?;
        if events.send(Event::Inbound(peer, msg)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

struct Engine {
    control: Control,
    cache: Arc<BeaconCache>,
    index: Arc<CidIndex>,
    /// For the tasks the engine starts; weak, so that the engine (and with
    /// it the accept loops) stops once every [`Handle`] and stream is gone.
    events: mpsc::WeakSender<Event>,
    /// Server side: each peer's wantlist.
    peers: HashMap<PeerId, PeerWants>,
    /// Rounds (a chunk's per block) sent per peer per second.
    budgets: HashMap<PeerId, UploadBudget>,
    peer_rate: u64,
    /// The node-wide upload cap, in rounds (a block counts a chunk's).
    upload: Option<UploadBudget>,
    /// Our writer to each peer.
    outboxes: HashMap<PeerId, mpsc::Sender<Frame>>,
    /// Client side: who waits for which block from which peer.
    wanted: HashMap<(PeerId, Vec<u8>), Vec<oneshot::Sender<Answer>>>,
    readers: Arc<Semaphore>,
    sending: Arc<Semaphore>,
}

impl Engine {
    async fn run(mut self, mut inbox: mpsc::Receiver<Event>) {
        let mut sweep = tokio::time::interval(IDLE);
        loop {
            tokio::select! {
                event = inbox.recv() => match event {
                    Some(e) => self.on_event(e),
                    None => return,
                },
                _ = sweep.tick() => {
                    self.outboxes.retain(|_, tx| !tx.is_closed());
                    self.wanted.retain(|_, waiting| {
                        waiting.retain(|w| !w.is_closed());
                        !waiting.is_empty()
                    });
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Inbound(peer, msg) => self.on_message(peer, msg),
            Event::Want { peer, cid, reply } => {
                let waiting = self.wanted.entry((peer, cid.clone())).or_default();
                waiting.push(reply);
                if waiting.len() == 1 {
                    let want = Entry {
                        cid,
                        priority: 1,
                        cancel: false,
                        want_type: WantType::Block,
                        send_dont_have: true,
                    };
                    self.send(peer, &wantlist(want), None);
                }
            }
            Event::Cancel { peer, cid } => {
                let key = (peer, cid);
                if let Some(waiting) = self.wanted.get_mut(&key) {
                    waiting.retain(|w| !w.is_closed());
                    if !waiting.is_empty() {
                        return;
                    }
                    self.wanted.remove(&key);
                }
                let cancel = Entry {
                    cid: key.1,
                    priority: 0,
                    cancel: true,
                    want_type: WantType::Block,
                    send_dont_have: false,
                };
                self.send(peer, &wantlist(cancel), None);
            }
            Event::Looked {
                peer,
                cid,
                want_type,
                found,
            } => self.answer(peer, cid, want_type, found),
            Event::Sent { peer } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.sending = p.sending.saturating_sub(1);
                }
                self.pump(peer);
            }
            Event::SendFailed { peer, reason } => {
                self.outboxes.remove(&peer);
                self.wanted.retain(|(p, _), waiting| {
                    if *p == peer {
                        for w in waiting.drain(..) {
                            let _ = w.send(Err(reason.clone()));
                        }
                    }
                    !waiting.is_empty()
                });
            }
            Event::Pump { peer } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.pump_due = false;
                }
                self.pump(peer);
            }
        }
    }

    /// A peer's message: its wantlist changes (server), the blocks and
    /// presences it sends (client).
    fn on_message(&mut self, peer: PeerId, msg: Message) {
        if !msg.wants.is_empty() || msg.full {
            self.on_wantlist(peer, msg.wants, msg.full);
        }
        for block in msg.blocks {
            self.on_block(peer, block);
        }
        for Presence { cid, have } in msg.presences {
            if have {
                continue;
            }
            if let Some(waiting) = self.wanted.remove(&(peer, cid)) {
                for w in waiting {
                    let _ = w.send(Err("the peer does not have the block (DONT_HAVE)".into()));
                }
            }
        }
    }

    fn on_wantlist(&mut self, peer: PeerId, entries: Vec<Entry>, full: bool) {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_PEERS {
            tracing::debug!(%peer, "bitswap: too many peers with wantlists; ignoring one");
            return;
        }
        let p = self.peers.entry(peer).or_default();
        if full {
            p.wants.clear();
        }
        for e in entries {
            if e.cancel {
                p.wants.remove(&e.cid);
                continue;
            }
            if p.wants.len() >= MAX_WANTS && !p.wants.contains_key(&e.cid) {
                continue;
            }
            let fresh = p
                .wants
                .insert(e.cid.clone(), (e.want_type, e.send_dont_have))
                .is_none_or(|(old, _)| old != e.want_type);
            if fresh {
                p.queue.push_back(e.cid);
            }
        }
        // A queue longer than the wantlist holds cancelled entries only.
        if p.queue.len() > 2 * MAX_WANTS {
            let wants = &p.wants;
            p.queue.retain(|c| wants.contains_key(c));
        }
        self.pump(peer);
    }

    /// Starts answering the peer's queued wants, within its slots and rates;
    /// the DONT_HAVEs known at once (CIDs that are not chunks) go out
    /// together in one message.
    fn pump(&mut self, peer: PeerId) {
        let mut absent = Vec::new();
        self.pump_into(peer, &mut absent);
        if !absent.is_empty() {
            let msg = Message {
                presences: absent,
                ..Message::default()
            };
            self.send(peer, &msg, None);
        }
    }

    fn pump_into(&mut self, peer: PeerId, absent: &mut Vec<Presence>) {
        loop {
            let Some(p) = self.peers.get_mut(&peer) else {
                return;
            };
            if p.sending >= SENDING_PER_PEER {
                return;
            }
            let Some(cid) = p.queue.pop_front() else {
                if p.wants.is_empty() && p.sending == 0 && !p.pump_due {
                    self.peers.remove(&peer);
                }
                return;
            };
            let Some(&(want_type, send_dont_have)) = p.wants.get(&cid) else {
                continue;
            };
            let Some(digest) = chunk_digest(&cid) else {
                p.wants.remove(&cid);
                if send_dont_have {
                    absent.push(Presence { cid, have: false });
                }
                continue;
            };
            if want_type == WantType::Block {
                let now = Instant::now();
                let over_peer = !take_from(&mut self.budgets, peer, self.peer_rate, CHUNK_ROUNDS);
                let over_node = !over_peer
                    && self
                        .upload
                        .as_mut()
                        .is_some_and(|b| !b.take(CHUNK_ROUNDS, now));
                if over_peer || over_node {
                    p.queue.push_front(cid);
                    if !p.pump_due
                        && let Some(events) = self.events.upgrade()
                    {
                        p.pump_due = true;
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            let _ = events.send(Event::Pump { peer }).await;
                        });
                    }
                    return;
                }
            }
            let Some(events) = self.events.upgrade() else {
                return;
            };
            p.sending += 1;
            let (cache, index, readers, sending) = (
                self.cache.clone(),
                self.index.clone(),
                self.readers.clone(),
                self.sending.clone(),
            );
            tokio::spawn(async move {
                let permit = match want_type {
                    WantType::Block => sending.acquire_owned().await.ok(),
                    WantType::Have => None,
                };
                let found = match readers.acquire_owned().await {
                    Ok(_reader) => tokio::task::spawn_blocking(move || match permit {
                        Some(permit) => match index.block(&cache, &digest) {
                            Some(bytes) => Found::Block(bytes, permit),
                            None => Found::Missing,
                        },
                        None if index.has(&cache, &digest) => Found::Have,
                        None => Found::Missing,
                    })
                    .await
                    .unwrap_or(Found::Missing),
                    Err(_) => Found::Missing,
                };
                let looked = Event::Looked {
                    peer,
                    cid,
                    want_type,
                    found,
                };
                let _ = events.send(looked).await;
            });
        }
    }

    /// Answers one want with what the cache read found, unless the peer
    /// cancelled it meanwhile or turned it into a want of the other type
    /// (want-have, then want-block: that one is in line already).
    fn answer(&mut self, peer: PeerId, cid: Vec<u8>, want_type: WantType, found: Found) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let still = match p.wants.get(&cid) {
            Some(&(t, dont_have)) if t == want_type => {
                p.wants.remove(&cid);
                Some((t, dont_have))
            }
            _ => None,
        };
        match (found, still) {
            (Found::Block(data, permit), Some(_)) => {
                let msg = Message {
                    blocks: vec![Block {
                        prefix: CHUNK_PREFIX.to_vec(),
                        data,
                    }],
                    ..Message::default()
                };
                // The slot is freed once the writer is done with it.
                self.send(peer, &msg, Some(permit));
                return;
            }
            (Found::Have, Some(_)) => self.send(peer, &presence(cid, true), None),
            (Found::Missing, Some((_, true))) => self.send(peer, &presence(cid, false), None),
            _ => {}
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.sending = p.sending.saturating_sub(1);
        }
        self.pump(peer);
    }

    /// A block a peer sent: taken by whoever wants its CID from that peer
    /// (or, failing that, from anyone), else dropped.
    fn on_block(&mut self, peer: PeerId, block: Block) {
        if self.wanted.is_empty() {
            tracing::debug!(%peer, "bitswap: dropping a block nobody wants");
            return;
        }
        let Some(cid) = block.cid() else {
            tracing::debug!(%peer, "bitswap: dropping a block with an unusable CID prefix");
            return;
        };
        let key = if self.wanted.contains_key(&(peer, cid.clone())) {
            Some((peer, cid))
        } else {
            self.wanted.keys().find(|(_, c)| *c == cid).cloned()
        };
        let Some(key) = key else {
            tracing::debug!(%peer, "bitswap: dropping a block that is not one we want");
            return;
        };
        let mut waiting = self.wanted.remove(&key).unwrap_or_default();
        let last = waiting.pop();
        for w in waiting {
            let _ = w.send(Ok(block.data.clone()));
        }
        if let Some(w) = last {
            let _ = w.send(Ok(block.data));
        }
    }

    /// Queues `msg` for the peer's writer, starting one if needed. A block
    /// that cannot be queued frees its slot at once.
    fn send(
        &mut self,
        peer: PeerId,
        msg: &Message,
        block: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let is_block = block.is_some();
        let frame = Frame {
            bytes: msg.to_frame(),
            block,
        };
        let Some(events) = self.events.upgrade() else {
            return;
        };
        let tx = match self.outboxes.get(&peer) {
            Some(tx) if !tx.is_closed() => tx.clone(),
            _ => {
                let (tx, rx) = mpsc::channel(OUTBOX);
                tokio::spawn(write_messages(
                    peer,
                    self.control.clone(),
                    rx,
                    events.clone(),
                ));
                self.outboxes.insert(peer, tx.clone());
                tx
            }
        };
        if let Err(e) = tx.try_send(frame) {
            tracing::debug!(%peer, "bitswap: outbox full or closed; dropping a message");
            drop(e);
            if is_block {
                tokio::spawn(async move { events.send(Event::Sent { peer }).await });
            }
        }
    }
}

fn wantlist(entry: Entry) -> Message {
    Message {
        wants: vec![entry],
        ..Message::default()
    }
}

fn presence(cid: Vec<u8>, have: bool) -> Message {
    Message {
        presences: vec![Presence { cid, have }],
        ..Message::default()
    }
}

/// Opens our stream to `peer` (1.2.0, else 1.1.0).
async fn open(control: &mut Control, peer: PeerId) -> Result<libp2p::Stream, String> {
    match control.open_stream(peer, BITSWAP_120).await {
        Ok(s) => Ok(s),
        Err(OpenStreamError::UnsupportedProtocol(_)) => control
            .open_stream(peer, BITSWAP_110)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the frames queued for `peer` on one stream of ours, opened on the
/// first; ends after [`IDLE`] without frames or on the first error (a later
/// message starts another writer).
async fn write_messages(
    peer: PeerId,
    mut control: Control,
    mut rx: mpsc::Receiver<Frame>,
    events: mpsc::Sender<Event>,
) {
    let mut stream: Option<libp2p::Stream> = None;
    let failure = loop {
        let frame = match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => break None,
        };
        let written = async {
            if stream.is_none() {
                stream = Some(open(&mut control, peer).await?);
            }
            let s = stream.as_mut().ok_or("no stream")?;
            s.write_all(&frame.bytes).await.map_err(|e| e.to_string())?;
            s.flush().await.map_err(|e| e.to_string())
        }
        .await;
        if frame.block.is_some() {
            let _ = events.send(Event::Sent { peer }).await;
        }
        if let Err(reason) = written {
            break Some(reason);
        }
    };
    rx.close();
    while let Some(frame) = rx.recv().await {
        if frame.block.is_some() {
            let _ = events.send(Event::Sent { peer }).await;
        }
    }
    if let Some(mut s) = stream {
        let _ = s.close().await;
    }
    if let Some(reason) = failure {
        tracing::debug!(%peer, "bitswap: cannot send: {reason}");
        let _ = events.send(Event::SendFailed { peer, reason }).await;
    }
}

/// The bytes of a CIDv1 raw sha2-256 CID in its base32 text form (`b…`),
/// the only CIDs chunks have; `None` for anything else.
pub(in crate::swarm) fn parse_chunk_cid(text: &str) -> Option<Vec<u8>> {
    let body = text.strip_prefix('b')?;
    if body.len() != 58 {
        return None;
    }
    let mut out = Vec::with_capacity(37);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let value = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // The two bits left over must be zero (one text per CID).
    if buffer != 0 {
        return None;
    }
    chunk_digest(&out).map(|_| out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_cids_parse_to_their_bytes_and_nothing_else_does() {
        let cid = crate::cache::chunk_cid(b"a chunk");
        let bytes = parse_chunk_cid(&cid).unwrap();
        assert_eq!(&bytes[..4], &CHUNK_PREFIX);
        assert_eq!(
            &bytes[4..],
            <sha2::Sha256 as sha2::Digest>::digest(b"a chunk").as_slice()
        );
        let mut upper = cid.clone();
        upper.make_ascii_uppercase();
        for bad in [
            "",
            "b",
            &cid[1..],
            &cid[..cid.len() - 1],
            &format!("{cid}a"),
            &upper,
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            // CIDv1 dag-pb of the same digest: not a chunk CID.
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
        ] {
            assert_eq!(parse_chunk_cid(bad), None, "{bad}");
        }
        // The last character's two spare bits must be zero.
        let mut spare = cid.into_bytes();
        *spare.last_mut().unwrap() = b'b';
        assert_eq!(parse_chunk_cid(std::str::from_utf8(&spare).unwrap()), None);
    }
}
