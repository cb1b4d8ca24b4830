//! Messages that open at a chosen time (decision 0069): the text is first
//! timelocked to the drand round of that time (`zks_tlock`, an age file
//! with a tlock stanza), then sealed for the contact as any message (grid
//! pad or true pad), so only the contact can open the envelope and only
//! the round's beacon opens what is inside.
//!
//! The receiver keeps the timelocked file with an empty message until the
//! round is out; the opener ([`Node::open_due_timelocks`], every second
//! while messaging runs) takes the round from the beacon cache, or through
//! the grid's fetch cascade, opens the file and puts the text in place in
//! one write. Without the round (offline, not cached) the message waits.
//!
//! Files that open at a chosen time (decision 0070) take the same path
//! with the file: `files/offer.rs` streams it through `zks_tlock::seal`
//! into an age file that is offered like any file, and the receiver keeps
//! that age file when it arrived whole; the opener's second pass turns it
//! into the file at its round (`files/unlock.rs`).
//!
//! The lock is pairing-based (not post-quantum) and rests on the drand
//! signers not publishing a round early; the outer seal keeps its own
//! guarantee. THREAT_MODEL.md says so.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};

use zks_beacon::{ChainInfo, VerifiedBeacon};
use zks_grid::{BeaconCache, FetchCascade};
use zks_pad::Mode;
use zks_pad::file::OfferTimelock;
use zks_store::{Store, Timelock, TransferLock};

use crate::clock::now_secs;
use crate::content::Outgoing;
use crate::delivery::QueuedMessage;
use crate::wire::chat::ChatControl;
use crate::{Node, NodeError, NodeEvent};

/// The furthest ahead a message may be timelocked: ten years. Neither the
/// chain nor pairing-based cryptography is sure to last longer; front ends
/// ask before anything beyond a year.
pub const MAX_OPEN_AHEAD_SECS: u64 = 10 * 365 * 86_400;
/// How many due messages one pass of the opener takes.
const OPEN_BATCH: usize = 64;
/// How many due files one pass of the opener takes (each is read whole).
const OPEN_FILES_BATCH: usize = 4;
/// How long the opener waits before asking the network again for a round
/// it could not get (the cache is looked at every pass).
const FETCH_RETRY: std::time::Duration = std::time::Duration::from_secs(3);

/// The chain messages are timelocked to: the binding chain when it can be
/// used for timelock (quicknet by default; a devnet in tests), else
/// quicknet.
fn timelock_chain(store: &Store) -> Result<ChainInfo, NodeError> {
    let chain = crate::beacons::binding_chain(store)?;
    Ok(if zks_tlock::check_chain(&chain).is_ok() {
        chain
    } else {
        ChainInfo::quicknet()
    })
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(tlock_err)`
fn tlock_err(e: zks_tlock::TlockError) -> NodeError {
    NodeError::BadInput(format!("timelock: {e}"))
}

/// The chain and round something timelocked at Unix time `open_at` is
/// locked to: the first round of the timelock chain published then or
/// later. Refuses a time that has passed or is more than ten years ahead.
pub(crate) fn lock_round(store: &Store, open_at: u64) -> Result<(ChainInfo, u64), NodeError> {
    let now = now_secs();
    if open_at <= now {
        return Err(NodeError::BadInput(
            "that time has passed: choose a time in the future".into(),
        ));
    }
    if open_at - now > MAX_OPEN_AHEAD_SECS {
        return Err(NodeError::BadInput(
            "that is more than 10 years ahead: the chain and its cryptography may not last that long".into(),
        ));
    }
    let chain = timelock_chain(store)?;
    let round = zks_tlock::round_for_time(&chain, open_at);
    Ok((chain, round))
}

/// Unix time a round is published, as the store keeps it.
pub(crate) fn opens_at(chain: &ChainInfo, round: u64) -> i64 {
    i64::try_from(chain.time_of_round(round)).unwrap_or(i64::MAX)
}

/// Where the opener finds the beacon of a due round: the beacon cache,
/// then (online) the grid's fetch cascade.
struct RoundSources {
    chains: Vec<ChainInfo>,
    cache: Arc<BeaconCache>,
    cascade: Option<Arc<FetchCascade>>,
}

impl RoundSources {
    fn chain(&self, hash: &[u8]) -> Option<&ChainInfo> {
        self.chains.iter().find(|c| c.hash.0[..] == hash[..])
    }

    /// The verified beacon of `round` of `chain`, if it can be had now: the
    /// cache every pass, the network at most every [`FETCH_RETRY`] per round
    /// (`node`'s memory of what it asked).
    async fn beacon(
        &self,
        node: &Node,
        chain: &ChainInfo,
        round: u64,
        now: u64,
    ) -> Result<Option<VerifiedBeacon>, NodeError> {
        if let Some(beacon) = self.cache.get(chain, round).map_err(NodeError::grid)? {
            return Ok(Some(beacon));
        }
        let Some(cascade) = &self.cascade else {
            return Ok(None);
        };
        if !node.may_fetch_round(chain.hash.0, round) {
            return Ok(None);
        }
        Ok(match cascade.get(chain, round, now).await {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(round, "timelock round not fetched: {e}");
                None
            }
        })
    }
}

impl Node {
    /// Sends `text` to `contact` so that it opens at Unix time `open_at`
    /// (at the first round of the timelock chain published then or later).
    pub fn send_timelocked(
        &self,
        contact: &str,
        text: &[u8],
        mode: Mode,
        open_at: u64,
    ) -> Result<QueuedMessage, NodeError> {
        Outgoing::text(text)?;
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(NodeError::BadInput("the message is empty".into()));
        }
        let (chain, round) = self.with_store(|store| lock_round(store, open_at))?;
        let file =
            zks_tlock::seal_bytes(&chain, round, text, &mut rand_core::OsRng).map_err(tlock_err)?;
        let lock = Timelock {
            chain_hash: chain.hash.0.to_vec(),
            round,
            opens_at: opens_at(&chain, round),
            file: None,
        };
        let control = ChatControl::Timelocked { file };
        let (sealed, id) = self.seal_inner(contact, mode, true, |_, _| {
            let mut out = Outgoing::control(&control, None);
            out.body = text.to_vec();
            out.timelock = Some(lock);
            Ok(out)
        })?;
        self.inner.outbox_wake.notify_one();
        Ok(QueuedMessage::of(&sealed, id))
    }

    /// Offers the file at `path` to `contact` so that it opens at Unix time
    /// `open_at`: it is streamed through the timelock (to the first round
    /// of the timelock chain published then or later) into a sealed copy,
    /// and that copy is offered and sent as any file in `mode`. Blocking:
    /// call it off the async runtime (a large file takes a while).
    pub fn send_timelocked_file(
        &self,
        contact: &str,
        path: &std::path::Path,
        mode: Mode,
        open_at: u64,
    ) -> Result<crate::TransferInfo, NodeError> {
        let (chain, round) = self.with_store(|store| lock_round(store, open_at))?;
        let lock = crate::files::FileLock {
            chain: &chain,
            round,
            opens_at: opens_at(&chain, round),
        };
        self.offer_file(contact, path, mode, Some(&lock))
    }

    /// Opens the received timelocked messages and files whose round is due
    /// and can be had (the beacon cache, then the grid's cascade when
    /// online). Returns how many opened. Messages that cannot be opened at
    /// all (a damaged file) are reported once and left locked; such a file
    /// fails its transfer.
    pub async fn open_due_timelocks(&self) -> Result<usize, NodeError> {
        let now = now_secs();
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        let (due, files) = self.with_store(|store| {
            Ok((
                store.locked_due(at, OPEN_BATCH)?,
                store.locked_transfers_due(at, OPEN_FILES_BATCH)?,
            ))
        })?;
        if due.is_empty() && files.is_empty() {
            return Ok(0);
        }
        let sources = RoundSources {
            chains: self.with_store(crate::beacons::known_chains)?,
            cache: self.binding_cache()?,
            cascade: self
                .inner
                .grid
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|g| g.cascade.clone()),
        };
        let opened = self.open_due_messages(due, &sources, now).await?;
        let files = self.open_due_files(files, &sources, now).await?;
        Ok(opened + files)
    }

    async fn open_due_messages(
        &self,
        due: Vec<zks_store::LockedMessage>,
        sources: &RoundSources,
        now: u64,
    ) -> Result<usize, NodeError> {
        let mut opened = 0;
        for locked in due {
            if self.timelock_failed(locked.id) {
                continue;
            }
            let Some(chain) = sources.chain(&locked.chain_hash) else {
                self.note_timelock_failure(locked.id, "its chain is not known here");
                continue;
            };
            let Some(beacon) = sources.beacon(self, chain, locked.round, now).await? else {
                continue;
            };
            let text = match zks_tlock::open_bytes(&locked.file, chain, &beacon) {
                Ok(text) => text,
                Err(e) => {
                    self.note_timelock_failure(locked.id, &e.to_string());
                    continue;
                }
            };
            if Outgoing::text(&text).is_err() {
                self.note_timelock_failure(locked.id, "it holds no chat text");
                continue;
            }
            if self.with_store_mut(|store| Ok(store.open_locked(locked.id, &text)?))? {
                opened += 1;
            }
        }
        if opened > 0 {
            tracing::debug!(opened, "timelocked messages opened");
            self.emit(NodeEvent::MessagesOpened {
                count: opened as u64,
            });
        }
        Ok(opened)
    }

    /// The opener's second pass: received timelocked files that arrived
    /// whole and whose round is due. Each is opened off the async threads
    /// (`Node::open_locked_file`), streaming; one whose age file cannot
    /// be opened fails its transfer with the reason, and one that hit an
    /// I/O error here (a full disk) waits until the next start.
    async fn open_due_files(
        &self,
        due: Vec<zks_store::TransferRecord>,
        sources: &RoundSources,
        now: u64,
    ) -> Result<usize, NodeError> {
        let mut opened = 0;
        for t in due {
            if self.unlock_failed(&t.transfer_id) {
                continue;
            }
            let Some(lock) = t.timelock.clone() else {
                continue;
            };
            let Some(chain) = sources.chain(&lock.chain_hash).cloned() else {
                self.fail_locked_file(&t, "its drand chain is not known here");
                continue;
            };
            let Some(beacon) = sources.beacon(self, &chain, lock.round, now).await? else {
                continue;
            };
            let node = self.clone();
            let record = t.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                node.open_locked_file(&record, &chain, &beacon)
            })
            .await
            .map_err(|e| NodeError::Io(format!("opening a timelocked file stopped: {e}")))?;
            if outcome {
                opened += 1;
            }
        }
        Ok(opened)
    }

    /// Whether the opener may ask the network for `round` now: once per
    /// [`FETCH_RETRY`] per round, however many messages wait for it.
    fn may_fetch_round(&self, chain: [u8; 32], round: u64) -> bool {
        let mut asked = self
            .inner
            .timelock_fetches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        asked.retain(|_, at| now.duration_since(*at) < FETCH_RETRY);
        match asked.entry((chain, round)) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now);
                true
            }
        }
    }

    fn timelock_failed(&self, id: i64) -> bool {
        self.inner
            .timelock_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
    }

    fn note_timelock_failure(&self, id: i64, why: &str) {
        tracing::warn!(message = id, "a timelocked message cannot be opened: {why}");
        self.inner
            .timelock_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    /// Opens due timelocked messages every second until the node stops.
    pub(crate) async fn opener_loop(self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.open_due_timelocks().await {
                tracing::warn!("cannot open timelocked messages: {e}");
            }
        }
    }
}

/// What a received timelocked message records: the round that opens it
/// (of a chain this home knows and that can timelock, at most ten years
/// and an hour ahead) and the file to keep until then.
pub(crate) fn incoming_lock(store: &Store, file: &[u8]) -> Result<Timelock, NodeError> {
    let (round, hash) = zks_tlock::peek(file).map_err(tlock_err)?;
    let chains = crate::beacons::known_chains(store)?;
    let chain = chains.iter().find(|c| c.hash == hash).ok_or_else(|| {
        NodeError::BadInput(format!(
            "a timelocked message for chain {}, which this home does not know",
            hash.to_hex()
        ))
    })?;
    zks_tlock::check_chain(chain).map_err(tlock_err)?;
    let opens_at = chain.time_of_round(round);
    if opens_at > now_secs() + MAX_OPEN_AHEAD_SECS + crate::MAX_ROUND_AHEAD_SECS {
        return Err(NodeError::BadInput(
            "a timelocked message that opens more than 10 years ahead".into(),
        ));
    }
    Ok(Timelock {
        chain_hash: hash.0.to_vec(),
        round,
        opens_at: i64::try_from(opens_at).unwrap_or(i64::MAX),
        file: Some(file.to_vec()),
    })
}

/// What a received timelocked file's offer records: the round that opens
/// it, checked like a message's (a chain this home knows and that can
/// timelock, at most ten years and an hour ahead).
pub(crate) fn incoming_file_lock(
    store: &Store,
    lock: &OfferTimelock,
) -> Result<TransferLock, NodeError> {
    let chains = crate::beacons::known_chains(store)?;
    let chain = chains
        .iter()
        .find(|c| c.hash.0 == lock.chain)
        .ok_or_else(|| {
            NodeError::BadInput(format!(
                "a timelocked file for chain {}, which this home does not know",
                hex::encode(lock.chain)
            ))
        })?;
    zks_tlock::check_chain(chain).map_err(tlock_err)?;
    let at = chain.time_of_round(lock.round);
    if at > now_secs() + MAX_OPEN_AHEAD_SECS + crate::MAX_ROUND_AHEAD_SECS {
        return Err(NodeError::BadInput(
            "a timelocked file that opens more than 10 years ahead".into(),
        ));
    }
    Ok(TransferLock {
        chain_hash: lock.chain.to_vec(),
        round: lock.round,
        opens_at: opens_at(chain, lock.round),
    })
}

/// The set of messages the opener gave up on (kept per process).
pub(crate) type Failures = std::sync::Mutex<HashSet<i64>>;
/// When the opener last asked the network for a (chain, round).
pub(crate) type Fetches =
    std::sync::Mutex<std::collections::HashMap<([u8; 32], u64), std::time::Instant>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{paired, relay};
    use zks_beacon::{DevnetSigner, Scheme};

    /// A devnet with one-second rounds whose round 100 is now; both homes
    /// know it, bind and timelock to it, and hold rounds 1..=100.
    fn devnet_for(nodes: [&Node; 2]) -> DevnetSigner {
        let genesis = now_secs() - 99;
        let signer = DevnetSigner::test(Scheme::UnchainedG1Rfc9380, 1, genesis);
        let lines: Vec<String> = signer
            .sign_range(1, 100)
            .unwrap()
            .iter()
            .map(zks_beacon::Beacon::to_json)
            .collect();
        for node in nodes {
            let chain = node.add_chain(&signer.chain().to_info_json()).unwrap();
            node.set_binding_chain(&chain.hash.to_hex()).unwrap();
            node.import_beacons(&chain.hash.to_hex(), &lines.join("\n"))
                .unwrap();
        }
        signer
    }

    fn last(node: &Node, contact: &str) -> zks_store::MessageRecord {
        node.history(contact).unwrap().pop().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pad_message_stays_locked_until_its_round_is_held_then_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = paired(tmp.path()).await;
        let pad = tmp.path().join("pad");
        crate::create_pad_file(&pad, 16 * 1024).unwrap();
        alice.import_pad("Bob", &pad, false).unwrap();
        bob.import_pad("Alice", &pad, false).unwrap();
        let signer = devnet_for([&alice, &bob]);
        let mut events = bob.subscribe();

        let open_at = now_secs() + 2;
        let sent = alice
            .send_timelocked("Bob", b"happy new year", Mode::Pad, open_at)
            .unwrap();
        assert!(sent.pad_used.is_some(), "sealed under the one-time pad");
        let mine = last(&alice, "Bob");
        assert_eq!(mine.body, b"happy new year");
        assert!(!mine.locked);
        let opens_at = mine.opens_at.unwrap();
        assert!(
            opens_at >= open_at as i64,
            "never opens before the time asked"
        );
        let round = mine.opens_round.unwrap();
        assert_eq!(signer.chain().time_of_round(round) as i64, opens_at);

        for r in relay(&alice, "Bob", &bob) {
            r.unwrap();
        }
        let theirs = last(&bob, "Alice");
        assert!(theirs.locked && theirs.body.is_empty());
        assert_eq!(
            (theirs.opens_at, theirs.opens_round),
            (Some(opens_at), Some(round))
        );
        assert_eq!(theirs.mode, "pad");
        // An edit of it is refused (its text would arrive before the round).
        assert!(alice.edit(mine.id, b"changed").is_err());

        // Not due yet; then due but the round is not held here: still locked.
        assert_eq!(bob.open_due_timelocks().await.unwrap(), 0);
        while now_secs() < opens_at as u64 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(bob.open_due_timelocks().await.unwrap(), 0);
        assert!(last(&bob, "Alice").locked);
        // The round arrives (as gossip or a fetch would put it in the cache).
        let beacon = signer.sign(round, None).unwrap().to_json();
        bob.import_beacons(&signer.chain().hash.to_hex(), &beacon)
            .unwrap();
        assert_eq!(bob.open_due_timelocks().await.unwrap(), 1);
        let opened = last(&bob, "Alice");
        assert!(!opened.locked);
        assert_eq!(opened.body, b"happy new year");
        let event = loop {
            match events.recv().await.unwrap() {
                NodeEvent::MessagesOpened { count } => break count,
                _ => continue,
            }
        };
        assert_eq!(event, 1);
        assert_eq!(bob.open_due_timelocks().await.unwrap(), 0, "opened once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn damaged_or_far_timelocked_messages_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (alice, bob) = paired(tmp.path()).await;
        let signer = devnet_for([&alice, &bob]);
        // Bad times are refused before anything is sealed.
        let now = now_secs();
        for at in [now - 1, now, now + MAX_OPEN_AHEAD_SECS + 10] {
            assert!(matches!(
                alice.send_timelocked("Bob", b"x", Mode::Grid, at),
                Err(NodeError::BadInput(_))
            ));
        }
        assert!(alice.history("Bob").unwrap().is_empty());
        // A control message carrying something that is not a timelocked
        // file, and one locked to a round twenty years ahead.
        let far_round = signer.chain().round_at(now + 20 * 365 * 86_400);
        let far =
            zks_tlock::seal_bytes(signer.chain(), far_round, b"x", &mut rand_core::OsRng).unwrap();
        for file in [b"not an age file".to_vec(), far] {
            let control = ChatControl::Timelocked { file };
            alice
                .seal_inner("Bob", Mode::Grid, true, |_, _| {
                    Ok(Outgoing::control(&control, None))
                })
                .unwrap();
        }
        let results = relay(&alice, "Bob", &bob);
        assert_eq!(results.len(), 2);
        for r in results {
            assert!(matches!(r, Err(NodeError::BadInput(_))), "{r:?}");
        }
        assert!(bob.history("Alice").unwrap().is_empty(), "nothing stored");
    }
}
