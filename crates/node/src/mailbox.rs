//! Offline mailboxes: messages for a contact who is away wait on grid
//! seeders (`/zks/mailbox/1.0.0`) until it comes online.
//!
//! Sender: once a contact looks unreachable (its oldest queued envelope
//! was accepted [`MAILBOX_AFTER_SECS`] ago and a direct attempt failed),
//! each of its queued envelopes is deposited, in order, with
//! [`MAILBOX_HOSTS`] hosts chosen by DHT closeness to today's mailbox id
//! for that contact ([`zks_pad::mailbox`]); a host that refuses (full,
//! quota, not offered) is passed over for the next closest. The envelope
//! is then marked `mailbox` and direct delivery goes on as usual: the
//! contact's acknowledgement (`dup` once it got it from a mailbox) ends it.
//!
//! Recipient: when online, every [`POLL_EVERY`] and whenever a new peer
//! connects, each contact's mailbox ids of the days since its last
//! successful poll (at most the hosts' 14-day time to live) are fetched
//! from the closest hosts, opened in deposit order through the normal open
//! path (the envelope's AEAD authenticates the sender; duplicates from
//! several hosts or from the direct path are dropped by the usual rules,
//! a different envelope reusing a key or pad range is still the alarm),
//! and acknowledged so the hosts delete them.
//!
//! Host: a daemon with seeding on and a public address holds mailboxes
//! under its data directory (`mailboxes/`, capped by `mailbox_cap_mb`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use zks_grid::mailbox::{MAX_ENVELOPE, MailboxStore, Quotas, Refusal};
use zks_grid::swarm::SwarmClient;
use zks_pad::mailbox::{mailbox_id, poll_days};
use zks_pad::rendezvous::DAY_SECS;

use crate::clock::now_secs;
use crate::{Node, NodeError, NodeEvent};

/// Hosts each envelope is deposited with.
pub const MAILBOX_HOSTS: usize = 3;
/// Seconds a contact's oldest queued envelope waits (with a failed direct
/// attempt) before its envelopes go to mailboxes.
pub const MAILBOX_AFTER_SECS: i64 = 5;
/// How often an online node polls its mailboxes (besides when it comes
/// online and when a peer connects).
pub const POLL_EVERY: Duration = Duration::from_secs(120);
/// How long a contact's envelopes wait after no host took one.
const NO_HOST_PAUSE: Duration = Duration::from_secs(30);
/// Candidate hosts asked per deposit pass (the closest to the id; on the
/// public network many connected peers are not grid peers at all).
const MAX_CANDIDATES: usize = 20;
/// The shortest time between two polls started by peers connecting.
const MIN_POLL_GAP: Duration = Duration::from_secs(10);
/// Hosts that offer mailboxes asked per mailbox id when polling.
const FETCH_HOSTS: usize = 6;
/// How long a closest-peers lookup may take.
const LOOKUP: Duration = Duration::from_secs(5);
/// Envelopes taken from the outbox for mailboxes at once.
const BATCH: usize = 256;

/// Errors after which an envelope is left in its mailbox (to be fetched
/// again at the next poll): the node could not open it *now*.
fn transient(e: &NodeError) -> bool {
    matches!(
        e.code(),
        "no_beacon" | "bad_beacons" | "stopped" | "store" | "io" | "locked" | "busy" | "grid"
    )
}

impl Node {
    /// Where this home holds mailboxes for others.
    pub fn mailbox_dir(&self) -> std::path::PathBuf {
        self.data_dir().path().join("mailboxes")
    }

    /// Opens this home's mailbox store with the settings' cap.
    pub(crate) fn open_mailboxes(&self) -> Result<Arc<MailboxStore>, NodeError> {
        let cap = self.settings()?.mailbox_cap_mb.saturating_mul(1 << 20);
        MailboxStore::open(&self.mailbox_dir(), cap, Quotas::default())
            .map(Arc::new)
            .map_err(|e| NodeError::Io(e.to_string()))
    }

    /// Runs the sender and recipient sides of mailboxes over `swarm` until
    /// the node stops; `hosted`, if any, is this node's own store, whose
    /// cap follows the settings.
    pub(crate) fn run_mailboxes(&self, swarm: SwarmClient, hosted: Option<Arc<MailboxStore>>) {
        let sender = self.clone();
        let deposits = swarm.clone();
        self.spawn_until_stopped(async move { sender.deposit_loop(deposits, hosted).await });
        let recipient = self.clone();
        self.spawn_until_stopped(async move { recipient.poll_loop(swarm).await });
    }

    async fn deposit_loop(self, swarm: SwarmClient, hosted: Option<Arc<MailboxStore>>) {
        // Envelopes too large for a mailbox (files go direct only).
        let mut too_large: HashSet<i64> = HashSet::new();
        // Contacts whose envelopes no host took, and until when to wait.
        let mut resting: HashMap<i64, Instant> = HashMap::new();
        loop {
            if let (Some(store), Ok(settings)) = (&hosted, self.settings()) {
                store.set_cap(settings.mailbox_cap_mb.saturating_mul(1 << 20));
            }
            let items = self.with_store(|store| {
                Ok(store.outbox_for_mailboxes(now_secs() as i64, MAILBOX_AFTER_SECS, BATCH)?)
            });
            let items = match items {
                Ok(items) => items,
                Err(NodeError::Stopped) => return,
                Err(e) => {
                    tracing::warn!("cannot read the outbox for mailboxes: {e}");
                    Vec::new()
                }
            };
            let mut by_contact: Vec<(i64, Vec<zks_store::OutboxItem>)> = Vec::new();
            for item in items {
                if too_large.contains(&item.id) {
                    continue;
                }
                match by_contact.last_mut() {
                    Some((c, list)) if *c == item.contact_id => list.push(item),
                    _ => match by_contact.iter_mut().find(|(c, _)| *c == item.contact_id) {
                        Some((_, list)) => list.push(item),
                        None => by_contact.push((item.contact_id, vec![item])),
                    },
                }
            }
            resting.retain(|_, until| *until > Instant::now());
            for (contact, items) in by_contact {
                if resting.contains_key(&contact) {
                    continue;
                }
                if !self
                    .deposit_for(&swarm, contact, items, &mut too_large)
                    .await
                {
                    resting.insert(contact, Instant::now() + NO_HOST_PAUSE);
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Deposits `items` (one contact's, in order) with the hosts closest
    /// to today's mailbox id of that contact; false when no host took one
    /// (none around, or all full).
    async fn deposit_for(
        &self,
        swarm: &SwarmClient,
        contact_id: i64,
        items: Vec<zks_store::OutboxItem>,
        too_large: &mut HashSet<i64>,
    ) -> bool {
        let contact =
            self.with_store(|store| Ok(store.contacts()?.into_iter().find(|c| c.id == contact_id)));
        let Ok(Some(contact)) = contact else {
            return false;
        };
        let Ok(recipient) = contact.peer_id.parse::<PeerId>() else {
            return false;
        };
        let Ok(Some(secret)) = self.rendezvous_secret(&contact) else {
            return false;
        };
        let day = now_secs() / DAY_SECS;
        let id = mailbox_id(&secret, day, &recipient.to_bytes());
        let candidates: Vec<PeerId> = swarm
            .closest_peers(id.to_vec(), LOOKUP)
            .await
            .into_iter()
            .filter(|p| *p != recipient)
            .take(MAX_CANDIDATES)
            .collect();
        // Peers that do not host (or cannot be reached) this pass.
        let mut skip: HashSet<PeerId> = HashSet::new();
        for item in items {
            if item.envelope.len() > MAX_ENVELOPE {
                too_large.insert(item.id);
                continue;
            }
            // The closest hosts not passed over, MAILBOX_HOSTS at once (in
            // parallel; each host still gets the envelopes in order), then
            // the next ones for each that refused.
            let mut stored = Vec::new();
            let mut next = 0;
            while stored.len() < MAILBOX_HOSTS && next < candidates.len() {
                let mut batch = Vec::new();
                while batch.len() + stored.len() < MAILBOX_HOSTS && next < candidates.len() {
                    if !skip.contains(&candidates[next]) {
                        batch.push(candidates[next]);
                    }
                    next += 1;
                }
                let answers = futures::future::join_all(
                    batch
                        .iter()
                        .map(|host| deposit(swarm, *host, id, &item.envelope)),
                )
                .await;
                for (host, answer) in batch.into_iter().zip(answers) {
                    match answer {
                        Ok(Ok(_)) => stored.push(host),
                        Ok(Err(Refusal::NotOffered | Refusal::Malformed)) | Err(_) => {
                            skip.insert(host);
                        }
                        Ok(Err(refusal)) => {
                            tracing::debug!(%host, "mailbox host refused a deposit: {refusal}");
                        }
                    }
                }
            }
            if stored.is_empty() {
                tracing::debug!(contact = %contact.name, "no mailbox host took the envelope");
                return false;
            }
            tracing::debug!(contact = %contact.name, hosts = stored.len(), "envelope deposited in mailboxes");
            if self
                .with_store_mut(|store| Ok(store.outbox_mailboxed(item.id)?))
                .is_err()
            {
                return false;
            }
            self.emit(NodeEvent::MessageMailboxed {
                message_id: item.message_id,
            });
        }
        true
    }

    async fn poll_loop(self, swarm: SwarmClient) {
        let started = Instant::now();
        let mut known: HashSet<PeerId> = HashSet::new();
        let mut last: Option<Instant> = None;
        loop {
            let peers: HashSet<PeerId> = match swarm.peers().await {
                Ok(peers) => peers.into_iter().collect(),
                Err(_) => return,
            };
            let arrived = peers.difference(&known).count() > 0;
            let connected = !peers.is_empty();
            known = peers;
            // The first poll once a peer is up (or after a while alone);
            // then every POLL_EVERY, and when a peer connects, at most
            // every MIN_POLL_GAP (on the public network peers come and go
            // all the time).
            let due = match last {
                None => connected || started.elapsed() >= MIN_POLL_GAP,
                Some(t) => t.elapsed() >= POLL_EVERY || (arrived && t.elapsed() >= MIN_POLL_GAP),
            };
            if due {
                last = Some(Instant::now());
                if let Err(NodeError::Stopped) = self.poll_mailboxes(&swarm).await {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Fetches, opens and acknowledges what waits in every contact's
    /// mailboxes; how many messages arrived.
    pub async fn poll_mailboxes(&self, swarm: &SwarmClient) -> Result<usize, NodeError> {
        let contacts = self.with_store(|store| Ok(store.contacts()?))?;
        let mut arrived = 0;
        for contact in contacts {
            arrived += self.poll_contact(swarm, &contact).await?;
        }
        Ok(arrived)
    }

    async fn poll_contact(
        &self,
        swarm: &SwarmClient,
        contact: &zks_store::ContactRecord,
    ) -> Result<usize, NodeError> {
        let Some(secret) = self.rendezvous_secret(contact)? else {
            return Ok(0);
        };
        let me = swarm.peer_id().to_bytes();
        let now = now_secs();
        let polled = self.with_store(|store| Ok(store.mailbox_polled_day(contact.id)?))?;
        let sender: Option<PeerId> = contact.peer_id.parse().ok();
        let mut all_done = true;
        let mut arrived = 0;
        for day in poll_days(now, polled) {
            let id = mailbox_id(&secret, day, &me);
            let mut held: Vec<(PeerId, Held)> = Vec::new();
            for host in swarm.closest_peers(id.to_vec(), LOOKUP).await {
                if held.len() >= FETCH_HOSTS || Some(host) == sender {
                    continue;
                }
                if let Some((envelopes, complete)) = collect(swarm, host, id).await {
                    // The rest waits for the next poll of this day.
                    all_done &= complete;
                    held.push((host, envelopes));
                }
            }
            if held.is_empty() {
                all_done = false;
                continue;
            }
            match self.open_merged(swarm, id, &held).await {
                Ok(n) => arrived += n,
                Err(NodeError::Stopped) => return Err(NodeError::Stopped),
                Err(e) => {
                    tracing::warn!(contact = %contact.name, "mailbox messages left for later: {e}");
                    all_done = false;
                }
            }
        }
        if all_done {
            let today = now / DAY_SECS;
            self.with_store_mut(|store| Ok(store.set_mailbox_polled_day(contact.id, today)?))?;
        }
        Ok(arrived)
    }

    /// Opens what the hosts in `held` hold for mailbox `id`, each envelope
    /// once, in the sender's order ([`merge_in_order`]), then acknowledges
    /// on each host what was dealt with. An envelope that cannot be opened
    /// *now* stops there: it and the ones after it stay for the next poll.
    async fn open_merged(
        &self,
        swarm: &SwarmClient,
        id: [u8; 32],
        held: &[(PeerId, Held)],
    ) -> Result<usize, NodeError> {
        let lists: Vec<Vec<&[u8]>> = held
            .iter()
            .map(|(_, e)| e.iter().map(|(_, b)| b.as_slice()).collect())
            .collect();
        let mut done: HashSet<[u8; 32]> = HashSet::new();
        let mut arrived = 0;
        let mut stuck = None;
        for envelope in merge_in_order(&lists) {
            let node = self.clone();
            let bytes = envelope.to_vec();
            let opened = tokio::task::spawn_blocking(move || node.open(&bytes))
                .await
                .map_err(|e| NodeError::Io(format!("opening a message failed: {e}")))?;
            match opened {
                Ok(message) => {
                    arrived += 1;
                    if !message.quiet {
                        self.emit(NodeEvent::MessageReceived { from: message.from });
                    }
                }
                Err(e) if transient(&e) => {
                    stuck = Some(e);
                    break;
                }
                // Duplicates (from the direct path), and envelopes that
                // will never open here (not ours, forged, or a key reuse,
                // whose alarm the open path raised): the host drops them.
                Err(e) => tracing::debug!("mailbox envelope not stored: {e}"),
            }
            done.insert(*blake3::hash(envelope).as_bytes());
        }
        for (host, envelopes) in held {
            // Up to the last envelope before the first one not dealt with.
            let upto = envelopes
                .iter()
                .take_while(|(_, b)| done.contains(blake3::hash(b).as_bytes()))
                .last()
                .map(|(seq, _)| *seq);
            if let Some(upto) = upto {
                let _ = swarm.mailbox_ack(*host, id, upto).await;
            }
        }
        match stuck {
            Some(e) => Err(e),
            None => Ok(arrived),
        }
    }
}

/// Deposits `envelope` with `host`, waiting out the host's deposit rate
/// (up to a second).
async fn deposit(
    swarm: &SwarmClient,
    host: PeerId,
    id: [u8; 32],
    envelope: &[u8],
) -> Result<Result<u64, Refusal>, zks_grid::SwarmError> {
    let mut answer = swarm.mailbox_deposit(host, id, envelope.to_vec()).await;
    for _ in 0..20 {
        if !matches!(answer, Ok(Err(Refusal::Rate))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        answer = swarm.mailbox_deposit(host, id, envelope.to_vec()).await;
    }
    answer
}

/// Everything `host` holds in mailbox `id`, in deposit order, at most
/// [`MAX_COLLECT`] envelopes and about [`MAX_COLLECT_BYTES`] (the rest
/// comes at the next poll, after the acknowledgement), and whether that
/// was all (not cut short by a cap or a lost host); `None`
/// when the host does not offer mailboxes or cannot be reached.
async fn collect(swarm: &SwarmClient, host: PeerId, id: [u8; 32]) -> Option<(Held, bool)> {
    let mut all: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut bytes = 0;
    let mut after = 0;
    loop {
        let fetched = match swarm.mailbox_fetch(host, id, after).await {
            Ok(Ok(fetched)) => fetched,
            // A host lost mid-way: what came so far is still good.
            Ok(Err(_)) | Err(_) => return (!all.is_empty()).then_some((all, false)),
        };
        let Some(last) = fetched.envelopes.last().map(|(s, _)| *s) else {
            return Some((all, true));
        };
        if last <= after {
            return Some((all, true));
        }
        bytes += fetched
            .envelopes
            .iter()
            .map(|(_, e)| e.len())
            .sum::<usize>();
        all.extend(fetched.envelopes);
        if !fetched.more {
            return Some((all, true));
        }
        if all.len() >= MAX_COLLECT || bytes >= MAX_COLLECT_BYTES {
            return Some((all, false));
        }
        after = last;
    }
}

/// What one host holds in a mailbox: `(seq, envelope)` in deposit order.
type Held = Vec<(u64, Vec<u8>)>;

/// Envelopes kept from one host per mailbox and poll (an honest host's
/// quota per mailbox).
const MAX_COLLECT: usize = 2_000;
/// Envelope bytes kept from one host per mailbox and poll (an honest
/// host's quota per mailbox): a hostile host cannot make a poll hold more.
const MAX_COLLECT_BYTES: usize = 32 << 20;

/// One order of the envelopes several hosts hold, each once: every host
/// received the sender's envelopes in its order, perhaps with gaps (it was
/// down, or full), so each list is a subsequence of the sender's order.
/// Starting from the longest list, each envelope another list has and the
/// merge lacks goes right after its predecessor in that list (or first):
/// a gap in one host is filled from another in the right place.
pub(crate) fn merge_in_order<'a>(lists: &[Vec<&'a [u8]>]) -> Vec<&'a [u8]> {
    let mut order: Vec<usize> = (0..lists.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(lists[*i].len()));
    let mut merged: Vec<&'a [u8]> = Vec::new();
    let mut seen: HashSet<&'a [u8]> = HashSet::new();
    for i in order {
        let mut at = 0;
        for envelope in &lists[i] {
            if seen.contains(envelope) {
                at = merged
                    .iter()
                    .position(|e| e == envelope)
                    .map_or(at, |p| p + 1);
            } else {
                merged.insert(at, envelope);
                seen.insert(envelope);
                at += 1;
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::merge_in_order;

    fn merge(lists: &[&[u8]]) -> Vec<u8> {
        let lists: Vec<Vec<&[u8]>> = lists.iter().map(|l| l.chunks(1).collect()).collect();
        merge_in_order(&lists).iter().map(|e| e[0]).collect()
    }

    #[test]
    fn gaps_in_one_host_are_filled_in_place_from_another() {
        assert_eq!(merge(&[b"1267", b"1234567", b"12"]), b"1234567");
        assert_eq!(merge(&[b"34", b"1234"]), b"1234");
        assert_eq!(merge(&[b"12456", b"12345"]), b"123456");
        // Without a list holding both, any order keeping each list's is right.
        let both = merge(&[b"135", b"245"]);
        assert_eq!(both.len(), 5);
        let at = |x: u8| both.iter().position(|e| *e == x).unwrap();
        assert!(at(b'1') < at(b'3') && at(b'3') < at(b'5'));
        assert!(at(b'2') < at(b'4') && at(b'4') < at(b'5'));
        assert_eq!(merge(&[]), b"");
    }
}
