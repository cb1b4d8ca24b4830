//! The cascade's swarm layer: a range of rounds fetched chunk by chunk
//! from the peers that provide each chunk, as a grid of hundreds of peers
//! that come and go (and some of which lie) requires.
//!
//! Per chunk: its providers are looked up in the DHT (else the connected
//! grid peers), put in a random order (so that load spreads over every
//! provider, not the few with the smallest peer ids), and the chunk's
//! missing rounds are split evenly over the first [`PARALLEL_PROVIDERS`].
//! Each answer is batch-verified before it is stored. Then, pass after
//! pass, what is still missing is split over the providers left:
//!
//! - a provider whose answer does not verify is banned (network-wide, for
//!   [`BAN`](crate::swarm::BAN)) and never asked again;
//! - a part of a pass whose provider stays silent for a hedge delay (four
//!   times the pass's first answer, 250 ms to 2 s) or fails is asked of a
//!   spare provider too, and the first answer wins;
//! - a provider that fails (gone, stream dropped, refused), stays silent
//!   for [`REQUEST_DEADLINE`] or answers after a spare did is set aside
//!   for the rest of the fetch, not banned: a slow or departed peer is not
//!   a liar;
//! - a provider that answers empty (it lacks those rounds, or its upload
//!   rate is spent) moves to the back of the chunk's queue;
//! - when every peer in the queue was asked since the chunk last gained a
//!   round (or the queue ran dry), the providers are looked up again at
//!   once (some left, others joined); when that round gains nothing
//!   either, a chunk that anyone ever announced gets up to
//!   [`IDLE_ROUNDS`] more rounds, each after a pause (250 ms, 500 ms, 1 s:
//!   its providers are busy, their upload rate spent, or gone while
//!   others join) and a new lookup whose newcomers join the queue; a
//!   chunk nobody announced gets none. Then the connected grid peers not
//!   asked yet join the queue, once (twenty liars that announced first
//!   fill a key's provider records on the DHT, and hide its honest
//!   holders). Then, or after [`MAX_PASSES`] passes, the chunk's
//!   remainder goes to the next layer (the gateway, then HTTP).
//!
//! Pipelined: the first pass of the next chunks ([`PIPELINE_DEPTH`] in all)
//! is in flight while one chunk's answers are verified and stored.

use std::collections::{HashSet, VecDeque};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::PeerId;
use rand_core::RngCore;
use zks_beacon::{BatchVerifier, ChainHash, ChainInfo};

use super::{CascadeError, FetchCascade, FetchReport, PROVIDER_TIMEOUT};
use crate::cache::{CHUNK_ROUNDS, chunk_of};
use crate::swarm::{RangeRequest, ServedRound, SwarmClient, SwarmError, to_beacons};

/// Most providers asked in parallel for parts of one chunk.
pub(super) const PARALLEL_PROVIDERS: usize = 4;
/// Chunks whose first pass (provider lookup and requests) may be under way
/// at once, the one being verified included: the next ones download while
/// one is verified. At most this many chunks' answers wait unverified in
/// memory: 3 × 16384 rounds from honest peers (about 5 MiB of 96-byte
/// signatures), never more than 3 × 4 parts × 4 MiB; while a part is
/// hedged, its two answers may both be arriving.
const PIPELINE_DEPTH: usize = 3;
/// How long one range request may go unanswered before its provider is
/// taken for stalled and set aside for the rest of the fetch. A whole
/// chunk of a G2 chain is about 1.6 MB, so 2 Mbit/s still makes it.
pub(super) const REQUEST_DEADLINE: Duration = Duration::from_secs(8);
/// A part of a pass unanswered this many times as long as the pass's
/// first answer took is asked of a spare provider too (see [`ask_parts`]).
const HEDGE_FACTOR: u32 = 4;
/// The shortest wait before a part is hedged: answers a few milliseconds
/// apart on a quiet network are no reason to ask twice.
const HEDGE_MIN: Duration = Duration::from_millis(250);
/// The longest: when no answer has come at all (every provider asked
/// stalls), a quarter of [`REQUEST_DEADLINE`].
const HEDGE_MAX: Duration = Duration::from_secs(2);
/// Passes over one chunk at most, the prefetched first one included.
const MAX_PASSES: usize = 48;
/// Rounds of asking, each after a pause, that a chunk whose announced
/// providers all answered empty gets before it is given up.
const IDLE_ROUNDS: u32 = 3;
/// The first of those pauses; it doubles each time.
const IDLE_PAUSE: Duration = Duration::from_millis(250);

/// What one fetch learned about peers.
#[derive(Default)]
struct Judged {
    /// Sent a round that does not verify: banned.
    banned: HashSet<PeerId>,
    /// Failed or stalled: not asked again in this fetch while others are
    /// left.
    set_aside: HashSet<PeerId>,
}

/// One provider's answer to a part `first..=last` of a chunk (unverified).
pub(super) type PartAnswer = (PeerId, u64, u64, Result<Vec<ServedRound>, SwarmError>);

/// What became of a provider's answer.
enum Answer {
    /// The request failed (no answer in time, refused, peer gone).
    Failed,
    /// `added` verified rounds were new to the cache; `bad` did not verify.
    Stored { added: u64, bad: usize },
}

/// The first passes in flight, oldest first, each with its chunk and the
/// gaps it asked for; dropping it (the fetch was given up) stops them.
#[derive(Default)]
struct Ahead(VecDeque<(u64, Vec<RangeInclusive<u64>>, FirstPass)>);

type FirstPass = tokio::task::JoinHandle<((VecDeque<PeerId>, bool), Vec<PartAnswer>)>;

impl Drop for Ahead {
    fn drop(&mut self) {
        for (_, _, task) in &self.0 {
            task.abort();
        }
    }
}

impl FetchCascade {
    /// The swarm layer over `range` (see the module documentation).
    pub(super) async fn fetch_swarm(
        &self,
        chain: &ChainInfo,
        verifier: &Arc<BatchVerifier>,
        range: RangeInclusive<u64>,
        report: &mut FetchReport,
    ) -> Result<(), CascadeError> {
        let Some(swarm) = &self.swarm else {
            return Ok(());
        };
        let started = Instant::now();
        let (mut delivered, mut failures) = (0u64, 0u64);
        let mut judged = Judged::default();
        let (first_chunk, last_chunk) = (chunk_of(*range.start()), chunk_of(*range.end()));
        let bounds = |chunk: u64| {
            (
                (*range.start()).max(chunk * CHUNK_ROUNDS + 1),
                (*range.end()).min((chunk + 1) * CHUNK_ROUNDS),
            )
        };
        let mut ahead = Ahead::default();
        let mut next = first_chunk;
        loop {
            while ahead.0.len() < PIPELINE_DEPTH && next <= last_chunk {
                let (lo, hi) = bounds(next);
                let gaps = self.cache.missing(chain, lo..=hi)?;
                let task = first_pass(swarm.clone(), chain.hash, next, gaps.clone());
                ahead.0.push_back((next, gaps, tokio::spawn(task)));
                next += 1;
            }
            let Some((chunk, gaps, task)) = ahead.0.pop_front() else {
                break;
            };
            let ((mut queue, mut announced), answers) = task
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            let (lo, hi) = bounds(chunk);
            let mut pending = Some((gaps, answers));
            let mut from_chunk = 0;
            // Asked since the chunk last gained a round.
            let mut asked: HashSet<PeerId> = HashSet::new();
            let (mut idle, mut looked_again, mut second_chance) = (0u32, false, false);
            let mut widened = false;
            for _pass in 0..MAX_PASSES {
                let answers = match pending.take() {
                    Some((_, first)) => first,
                    None => {
                        let gaps = self.cache.missing(chain, lo..=hi)?;
                        if gaps.is_empty() {
                            break;
                        }
                        queue.retain(|p| !judged.banned.contains(p));
                        let mut ask = usable(&queue, &judged.set_aside);
                        if ask.is_empty() && !second_chance {
                            // Nobody else: those set aside get one more try.
                            second_chance = true;
                            ask = queue.iter().copied().collect();
                        }
                        ask_parts(swarm, chain.hash, &ask, &gaps).await
                    }
                };
                let mut added = 0;
                for (peer, outcome) in self.verify_answers(chain, verifier, answers).await? {
                    asked.insert(peer);
                    match outcome {
                        Answer::Failed => {
                            failures += 1;
                            judged.set_aside.insert(peer);
                        }
                        Answer::Stored { added: n, bad } if bad > 0 => {
                            if judged.banned.insert(peer) {
                                tracing::warn!(%peer, bad, "peer sent bad beacons; banning it");
                                let _ = swarm.ban(peer).await;
                                failures += 1;
                            }
                            added += n;
                        }
                        Answer::Stored { added: 0, .. } => {
                            // Nothing of what it was asked: others first.
                            queue.retain(|p| *p != peer);
                            queue.push_back(peer);
                        }
                        Answer::Stored { added: n, .. } => added += n,
                    }
                }
                from_chunk += added;
                if added > 0 {
                    asked.clear();
                    idle = 0;
                    continue;
                }
                if usable(&queue, &judged.set_aside)
                    .iter()
                    .any(|p| !asked.contains(p))
                {
                    // Others not asked yet: no reason to wait.
                    continue;
                }
                // Everyone was asked since the chunk last gained a round.
                asked.clear();
                if !looked_again {
                    looked_again = true;
                    let (found, now) = look_up(swarm, chain.hash, chunk, &judged.banned).await;
                    (queue, announced) = (found, announced || now);
                    continue;
                }
                if !announced || idle >= IDLE_ROUNDS {
                    // Before the next layer: the connected grid peers not
                    // asked yet, once. The DHT keeps twenty providers a
                    // key, the first to come, so liars that announced
                    // first can hide a chunk's honest holders there.
                    if !widened {
                        widened = true;
                        let others = others_connected(swarm, &queue, &judged.banned).await;
                        if !others.is_empty() {
                            queue.extend(others);
                            continue;
                        }
                    }
                    break;
                }
                // The chunk was announced, yet nobody gave a round: its
                // providers are busy (their upload rate spent) or gone while
                // others join. Wait, then look again and ask the newcomers.
                tokio::time::sleep(IDLE_PAUSE * (1 << idle)).await;
                idle += 1;
                let (found, _) = look_up(swarm, chain.hash, chunk, &judged.banned).await;
                for peer in found {
                    if !queue.contains(&peer) {
                        queue.push_back(peer);
                    }
                }
            }
            if from_chunk > 0 {
                delivered += from_chunk;
                let _ = swarm.provide(chain.hash, chunk).await;
            }
        }
        if delivered > 0 {
            *report.from.entry("swarm".into()).or_default() += delivered;
        }
        self.count("swarm", delivered, failures, started);
        Ok(())
    }

    /// Verifies the answers (on a blocking thread, so the requests in
    /// flight go on meanwhile) and stores what verified.
    async fn verify_answers(
        &self,
        chain: &ChainInfo,
        verifier: &Arc<BatchVerifier>,
        answers: Vec<PartAnswer>,
    ) -> Result<Vec<(PeerId, Answer)>, CascadeError> {
        if answers.is_empty() {
            return Ok(Vec::new());
        }
        let (chain, verifier, cache) = (chain.clone(), verifier.clone(), self.cache.clone());
        let work = move || -> Result<Vec<(PeerId, Answer)>, CascadeError> {
            let mut out = Vec::with_capacity(answers.len());
            for (peer, first, last, result) in answers {
                let Ok(served) = result else {
                    out.push((peer, Answer::Failed));
                    continue;
                };
                let (beacons, malformed) = to_beacons(&chain, first, last, served);
                let (good, bad) = verifier.verify_split(beacons, &mut rand_core::OsRng);
                let added = cache.put(&chain, &good)? as u64;
                let bad = bad.len() + malformed;
                out.push((peer, Answer::Stored { added, bad }));
            }
            Ok(out)
        };
        tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// The peers of `queue` not set aside, in queue order.
fn usable(queue: &VecDeque<PeerId>, set_aside: &HashSet<PeerId>) -> Vec<PeerId> {
    queue
        .iter()
        .filter(|p| !set_aside.contains(p))
        .copied()
        .collect()
}

/// The providers of `chunk` in a random order, and `true`; else the
/// connected grid peers and `false` (a seeder may still be announcing;
/// wrong answers are refused and their senders banned as for any
/// provider). Never ourselves nor a peer banned in this fetch.
async fn look_up(
    swarm: &SwarmClient,
    chain: ChainHash,
    chunk: u64,
    banned: &HashSet<PeerId>,
) -> (VecDeque<PeerId>, bool) {
    let me = swarm.peer_id();
    let mut found: Vec<PeerId> = swarm
        .providers(chain, chunk, PROVIDER_TIMEOUT)
        .await
        .into_iter()
        .filter(|p| *p != me && !banned.contains(p))
        .collect();
    if found.is_empty() {
        let others = others_connected(swarm, &VecDeque::new(), banned).await;
        return (others.into(), false);
    }
    // Sorted first so that the order depends on the random draws alone.
    found.sort();
    shuffle(&mut found, &mut rand_core::OsRng);
    (found.into(), true)
}

/// The connected grid peers not in `queue`, in a random order; never
/// ourselves nor a peer banned in this fetch.
async fn others_connected(
    swarm: &SwarmClient,
    queue: &VecDeque<PeerId>,
    banned: &HashSet<PeerId>,
) -> Vec<PeerId> {
    let me = swarm.peer_id();
    let mut others = swarm.grid_peers().await.unwrap_or_default();
    others.retain(|p| *p != me && !banned.contains(p) && !queue.contains(p));
    others.sort();
    shuffle(&mut others, &mut rand_core::OsRng);
    others
}

/// Fisher–Yates: every order equally likely.
fn shuffle<T>(items: &mut [T], rng: &mut impl RngCore) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The first pass of one chunk: looks its providers up and asks them for
/// `gaps`. Nothing is asked when nothing is missing.
async fn first_pass(
    swarm: SwarmClient,
    chain: ChainHash,
    chunk: u64,
    gaps: Vec<RangeInclusive<u64>>,
) -> ((VecDeque<PeerId>, bool), Vec<PartAnswer>) {
    if gaps.is_empty() {
        return ((VecDeque::new(), false), Vec::new());
    }
    let (queue, announced) = look_up(&swarm, chain, chunk, &HashSet::new()).await;
    let providers: Vec<PeerId> = queue.iter().copied().collect();
    let answers = ask_parts(&swarm, chain, &providers, &gaps).await;
    ((queue, announced), answers)
}

/// Asks the first [`PARALLEL_PROVIDERS`] of `providers` for one share of
/// the missing rounds each, at once; a request unanswered within
/// [`REQUEST_DEADLINE`] fails. Hedged: a part still unanswered after
/// [`hedge_delay`], or whose request failed or was answered empty, is
/// asked of one more provider, and the first answer with rounds wins. That
/// provider is the next of `providers` not asked yet, else one that has
/// already answered a part of this pass with rounds (a chunk with four
/// providers or fewer has no spare, and its fastest holder is the best
/// bet). The slower provider's request is dropped and reported as failed,
/// so that it is set aside like a staller: a staller costs a pass the
/// hedge delay, not the deadline. Each part is asked of two providers at
/// most.
async fn ask_parts(
    swarm: &SwarmClient,
    chain: ChainHash,
    providers: &[PeerId],
    gaps: &[RangeInclusive<u64>],
) -> Vec<PartAnswer> {
    let batch = providers.len().min(PARALLEL_PROVIDERS);
    let mut spares: VecDeque<PeerId> = providers[batch..].iter().copied().collect();
    let shares = split_missing(gaps, batch);
    let parts: Vec<(PeerId, (u64, u64))> = providers[..batch]
        .iter()
        .zip(shares)
        .flat_map(|(peer, share)| share.into_iter().map(move |range| (*peer, range)))
        .collect();
    let ask = |part: usize, peer: PeerId, (first, last): (u64, u64)| async move {
        let request = RangeRequest {
            chain: chain.0,
            first,
            last,
        };
        let answer =
            match tokio::time::timeout(REQUEST_DEADLINE, swarm.request(peer, request)).await {
                Ok(answer) => answer,
                Err(_) => Err(SwarmError::Request {
                    peer,
                    reason: format!("no answer within {REQUEST_DEADLINE:?}"),
                }),
            };
        (part, peer, answer)
    };
    let mut in_flight = futures::stream::FuturesUnordered::new();
    // Per part: every provider asked, those still unanswered, whether it
    // was hedged, whether it has its answer.
    let mut asked: Vec<Vec<PeerId>> = Vec::with_capacity(parts.len());
    let mut waiting: Vec<Vec<PeerId>> = Vec::with_capacity(parts.len());
    for (part, &(peer, range)) in parts.iter().enumerate() {
        in_flight.push(ask(part, peer, range));
        asked.push(vec![peer]);
        waiting.push(vec![peer]);
    }
    let mut hedged = vec![false; parts.len()];
    let mut done = vec![false; parts.len()];
    // Providers that answered a part of this pass with rounds, fastest first.
    let mut helpers: Vec<PeerId> = Vec::new();
    let mut out: Vec<PartAnswer> = Vec::with_capacity(parts.len());
    let started = Instant::now();
    let mut first_answer: Option<Duration> = None;
    while done.iter().any(|d| !d) {
        let hedge_at = started + hedge_delay(first_answer);
        let hedgeable = (0..parts.len())
            .any(|p| !done[p] && !hedged[p] && can_hedge(&spares, &helpers, &asked[p]));
        tokio::select! {
            Some((part, peer, answer)) = in_flight.next() => {
                waiting[part].retain(|p| *p != peer);
                if done[part] {
                    // The slower of two; already reported as failed.
                    continue;
                }
                let (first, last) = parts[part].1;
                let answered = answer.as_ref().is_ok_and(|rounds| !rounds.is_empty());
                out.push((peer, first, last, answer));
                if answered {
                    first_answer.get_or_insert(started.elapsed());
                    done[part] = true;
                    if !helpers.contains(&peer) {
                        helpers.push(peer);
                    }
                    for slower in std::mem::take(&mut waiting[part]) {
                        let reason = format!("slower than {peer}");
                        out.push((slower, first, last, Err(SwarmError::Request {
                            peer: slower,
                            reason,
                        })));
                    }
                } else if waiting[part].is_empty() {
                    // Failed or answered empty, and nobody else was asked:
                    // another provider now if there is one, else later (the
                    // hedge timer, once someone has answered).
                    if hedged[part] {
                        done[part] = true;
                    } else if let Some(next) = hedge_peer(&mut spares, &helpers, &asked[part]) {
                        hedged[part] = true;
                        asked[part].push(next);
                        waiting[part].push(next);
                        in_flight.push(ask(part, next, parts[part].1));
                    }
                }
            }
            () = tokio::time::sleep_until(hedge_at.into()), if hedgeable => {
                for part in 0..parts.len() {
                    if done[part] || hedged[part] {
                        continue;
                    }
                    if let Some(next) = hedge_peer(&mut spares, &helpers, &asked[part]) {
                        hedged[part] = true;
                        asked[part].push(next);
                        waiting[part].push(next);
                        in_flight.push(ask(part, next, parts[part].1));
                    }
                }
            }
            // Nothing in flight and nobody left to ask: the parts without
            // an answer are left to the next pass.
            else => break,
        }
    }
    out
}

/// Whether a part asked of `asked` has someone left to hedge it with.
fn can_hedge(spares: &VecDeque<PeerId>, helpers: &[PeerId], asked: &[PeerId]) -> bool {
    !spares.is_empty() || helpers.iter().any(|h| !asked.contains(h))
}

/// The provider a part asked of `asked` is hedged with: the next spare,
/// else the fastest helper not asked for it yet.
fn hedge_peer(
    spares: &mut VecDeque<PeerId>,
    helpers: &[PeerId],
    asked: &[PeerId],
) -> Option<PeerId> {
    spares
        .pop_front()
        .or_else(|| helpers.iter().find(|h| !asked.contains(h)).copied())
}

/// How long a part may go unanswered before it is hedged: [`HEDGE_FACTOR`]
/// times as long as the pass's first answer took, between [`HEDGE_MIN`]
/// and [`HEDGE_MAX`]; [`HEDGE_MAX`] while no answer came.
pub(super) fn hedge_delay(first_answer: Option<Duration>) -> Duration {
    first_answer.map_or(HEDGE_MAX, |t| {
        (t * HEDGE_FACTOR).clamp(HEDGE_MIN, HEDGE_MAX)
    })
}

/// Splits the missing rounds `gaps` (sorted, disjoint) into at most `n`
/// shares of nearly equal size, each a list of contiguous ranges that cover
/// only missing rounds: no request asks for rounds already held.
pub(super) fn split_missing(gaps: &[RangeInclusive<u64>], n: usize) -> Vec<Vec<(u64, u64)>> {
    let total: u64 = gaps.iter().map(|g| g.end() - g.start() + 1).sum();
    if total == 0 || n == 0 {
        return Vec::new();
    }
    let per = total.div_ceil(n as u64);
    let mut shares: Vec<Vec<(u64, u64)>> = vec![Vec::new()];
    let mut room = per;
    for gap in gaps {
        let mut start = *gap.start();
        while start <= *gap.end() {
            if room == 0 {
                shares.push(Vec::new());
                room = per;
            }
            let end = (start + room - 1).min(*gap.end());
            if let Some(share) = shares.last_mut() {
                share.push((start, end));
            }
            room -= end - start + 1;
            start = end + 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn missing_rounds_are_split_evenly_and_held_rounds_never_asked() {
        // Scattered gaps, as after an earlier pass: 10 + 1 + 5 = 16 missing.
        let gaps = vec![1..=10, 20..=20, 30..=34];
        let shares = split_missing(&gaps, 4);
        assert_eq!(
            shares,
            vec![
                vec![(1, 4)],
                vec![(5, 8)],
                vec![(9, 10), (20, 20), (30, 30)],
                vec![(31, 34)],
            ]
        );
        let asked: Vec<u64> = shares.iter().flatten().flat_map(|&(a, b)| a..=b).collect();
        let missing: Vec<u64> = gaps.iter().flat_map(Clone::clone).collect();
        assert_eq!(asked, missing, "every missing round once, nothing else");
        // Fewer rounds than providers: one share each, no empty share.
        assert_eq!(split_missing(&[7..=8], 4), vec![vec![(7, 7)], vec![(8, 8)]]);
        assert!(split_missing(&[], 4).is_empty());
    }

    #[test]
    fn a_part_is_hedged_after_four_times_the_first_answer_within_bounds() {
        assert_eq!(hedge_delay(None), HEDGE_MAX);
        assert_eq!(hedge_delay(Some(Duration::from_millis(1))), HEDGE_MIN);
        assert_eq!(
            hedge_delay(Some(Duration::from_millis(100))),
            Duration::from_millis(400)
        );
        assert_eq!(hedge_delay(Some(Duration::from_secs(3))), HEDGE_MAX);
        assert!(HEDGE_MAX < REQUEST_DEADLINE);
    }

    #[test]
    fn a_part_is_hedged_with_a_spare_first_then_the_fastest_helper_not_asked() {
        let [a, b, c, d] = [(); 4].map(|()| PeerId::random());
        let mut spares = VecDeque::from([c]);
        assert!(can_hedge(&spares, &[], &[a]));
        assert_eq!(hedge_peer(&mut spares, &[b], &[a]), Some(c));
        // No spare left: the first helper that was not asked for the part.
        assert!(can_hedge(&spares, &[a, b], &[a]));
        assert_eq!(hedge_peer(&mut spares, &[a, b, d], &[a]), Some(b));
        // Nobody left who was not asked already.
        assert!(!can_hedge(&spares, &[a, b], &[a, b]));
        assert_eq!(hedge_peer(&mut spares, &[a, b], &[b, a]), None);
    }

    #[test]
    fn a_shuffle_keeps_every_peer_and_spreads_the_first_place() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let peers: Vec<u32> = (0..16).collect();
        let mut first = [0u32; 16];
        for _ in 0..1600 {
            let mut p = peers.clone();
            shuffle(&mut p, &mut rng);
            let mut sorted = p.clone();
            sorted.sort();
            assert_eq!(sorted, peers);
            first[p[0] as usize] += 1;
        }
        // 100 expected each; a fixed order would put one peer first 1600 times.
        assert!(first.iter().all(|&n| (50..=160).contains(&n)), "{first:?}");
    }
}
