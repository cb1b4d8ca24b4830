//! Ranges of a chain's history fetched on request (the desktop app's
//! "Fetch history"), and ranges pinned so the cache budget keeps them.
//!
//! A request is checked as a whole before anything starts ([`Node::plan_history`]):
//! a known chain, rounds from 1 to the chain's head, a range the cache
//! budget can hold (and, pinned, that fits beside the ranges already
//! pinned). The fetch goes through the same cascade as `zks fetch` (cache,
//! grid peers over the node's own swarm when it is online, IPFS gateways,
//! drand HTTP), reports the rounds held every half second and stops when
//! asked. Pins are stored in the cache folder, so every process on the
//! home (the app, the daemon, the CLI) keeps them, also after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use zks_beacon::{ChainHash, ChainInfo};
use zks_grid::{BeaconCache, CHUNK_ROUNDS, FetchCascade, chunk_file_len};

use crate::clock::now_secs;
use crate::{Node, NodeError};

/// Most rounds one request may name (as `zks fetch`).
pub const MAX_HISTORY_ROUNDS: u64 = 50_000_000;

/// How often progress is reported (and a cancel noticed).
const TICK: Duration = Duration::from_millis(500);

/// A checked request: what [`Node::fetch_history`] fetches.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPlan {
    /// The chain.
    pub chain: ChainInfo,
    /// The rounds, inclusive (1 ≤ first ≤ last ≤ head when checked).
    pub rounds: RangeInclusive<u64>,
    /// Keep the rounds from eviction.
    pub pin: bool,
    /// Bytes of cache the range takes once held (whole chunk files).
    pub bytes: u64,
}

/// How far a fetch is.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryProgress {
    /// Chain name.
    pub chain: String,
    /// First round asked for.
    pub from: u64,
    /// Last round asked for.
    pub to: u64,
    /// Rounds asked for.
    pub total: u64,
    /// Rounds of the range verified and held now.
    pub held: u64,
    /// Rounds verified per second since the fetch started (rounds held
    /// before it do not count).
    pub rounds_per_sec: f64,
    /// Milliseconds since the fetch started.
    pub elapsed_ms: u64,
}

/// What a fetch did.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryReport {
    /// Chain name.
    pub chain: String,
    /// First round asked for.
    pub from: u64,
    /// Last round asked for.
    pub to: u64,
    /// Rounds asked for.
    pub total: u64,
    /// Rounds of the range verified and held at the end.
    pub held: u64,
    /// Rounds per source that delivered them (`cache`, `swarm`, `gateway`,
    /// `drand`); empty when cancelled.
    pub sources: BTreeMap<String, u64>,
    /// Rounds no source could deliver.
    pub failed: u64,
    /// Why the first of them failed.
    pub first_failure: Option<String>,
    /// The range is pinned (kept from eviction).
    pub pinned: bool,
    /// The user stopped the fetch before it finished.
    pub cancelled: bool,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

/// A range kept from eviction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PinnedRange {
    /// Chain name (its hash when the chain is not known here).
    pub chain: String,
    /// Chain hash (hex).
    pub hash: String,
    /// First round.
    pub from: u64,
    /// Last round.
    pub to: u64,
    /// Rounds of the range held now.
    pub held: u64,
    /// Bytes of cache the range takes once held.
    pub bytes: u64,
}

fn bad(message: String) -> NodeError {
    NodeError::BadInput(message)
}

/// Chunk files `rounds` touches.
fn chunks_of(rounds: &RangeInclusive<u64>) -> RangeInclusive<u64> {
    (rounds.start() - 1) / CHUNK_ROUNDS..=(rounds.end() - 1) / CHUNK_ROUNDS
}

fn mib(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

fn held_in(
    cache: &BeaconCache,
    chain: &ChainInfo,
    rounds: RangeInclusive<u64>,
) -> Result<u64, NodeError> {
    let total = rounds.end() - rounds.start() + 1;
    let missing: u64 = cache
        .missing(chain, rounds)
        .map_err(NodeError::grid)?
        .iter()
        .map(|r| r.end() - r.start() + 1)
        .sum();
    Ok(total - missing)
}

impl Node {
    /// Checks a request to fetch rounds `from..=to` of `chain` (a name or
    /// hash this home knows), pinned if `pin`; changes nothing.
    pub fn plan_history(
        &self,
        chain: &str,
        from: u64,
        to: u64,
        pin: bool,
    ) -> Result<HistoryPlan, NodeError> {
        self.plan_history_at(chain, from, to, pin, now_secs())
    }

    pub(crate) fn plan_history_at(
        &self,
        chain: &str,
        from: u64,
        to: u64,
        pin: bool,
        now: u64,
    ) -> Result<HistoryPlan, NodeError> {
        let name = chain.trim();
        if name.is_empty() {
            return Err(bad("choose a chain".into()));
        }
        let chain = self.chain(name).map_err(|_| {
            bad(format!(
                "{name:?} is not a chain known here; choose one of the listed chains"
            ))
        })?;
        if from == 0 {
            return Err(bad(format!(
                "rounds of {} start at 1 (its genesis); round 0 does not exist",
                chain.name
            )));
        }
        if from > to {
            return Err(bad(format!(
                "the first round ({from}) is after the last ({to})"
            )));
        }
        let total = to - from + 1;
        if total > MAX_HISTORY_ROUNDS {
            return Err(bad(format!(
                "{total} rounds is more than one request may fetch ({MAX_HISTORY_ROUNDS}); fetch a smaller range"
            )));
        }
        let head = chain.round_at(now);
        if head == 0 {
            return Err(bad(format!("{} has not published a round yet", chain.name)));
        }
        if to > head {
            return Err(bad(format!(
                "round {to} of {} is not published yet; the newest is {head}",
                chain.name
            )));
        }
        let rounds = from..=to;
        let per_chunk = chunk_file_len(&chain);
        let chunks = chunks_of(&rounds);
        let bytes = (chunks.end() - chunks.start() + 1) * per_chunk;
        let budget = self.settings()?.cache_budget_bytes;
        if bytes > budget {
            return Err(bad(format!(
                "rounds {from}–{to} of {} take about {} of cache, more than its budget of {}; fetch a smaller range or raise the budget in Settings",
                chain.name,
                mib(bytes),
                mib(budget)
            )));
        }
        if pin {
            let pinned = self.pinned_chunks()?;
            let mut all: BTreeSet<(ChainHash, u64)> = pinned.keys().copied().collect();
            all.extend(chunks.map(|c| (chain.hash, c)));
            let needed: u64 = all
                .iter()
                .map(|k| pinned.get(k).copied().unwrap_or(per_chunk))
                .sum();
            if needed > budget {
                return Err(bad(format!(
                    "pinned, these rounds and the ranges pinned already would take about {} of cache, more than its budget of {}; unpin a range, pin a smaller one or raise the budget in Settings",
                    mib(needed),
                    mib(budget)
                )));
            }
        }
        Ok(HistoryPlan {
            chain,
            rounds,
            pin,
            bytes,
        })
    }

    /// Every chunk the stored pins keep, with its file size.
    fn pinned_chunks(&self) -> Result<BTreeMap<(ChainHash, u64), u64>, NodeError> {
        let cache = self.binding_cache()?;
        let mut out = BTreeMap::new();
        for (hash, rounds) in cache.stored_pins().map_err(NodeError::grid)? {
            // A pin of a chain no longer known counts as the largest chunks.
            let len = self
                .chain(&hash.to_hex())
                .map_or(chunk_file_len_g2(), |c| chunk_file_len(&c));
            for chunk in chunks_of(&rounds) {
                out.insert((hash, chunk), len);
            }
        }
        Ok(out)
    }

    /// The cascade a history fetch goes through: the settings' sources,
    /// over the node's own swarm when it is online (a second swarm with the
    /// same identity would compete with it, so offline there is no swarm
    /// layer: gateways and drand HTTP only).
    async fn history_cascade(&self, chain: &ChainInfo) -> Result<FetchCascade, NodeError> {
        let mut sources = self.sources_from_settings()?;
        let swarm = self
            .inner
            .grid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|g| g.swarm.clone());
        if swarm.is_none() {
            sources.bootstrap.clear();
            sources.listen.clear();
            sources.mdns = false;
        }
        let cascade = self
            .open_cascade(&sources, std::slice::from_ref(chain), swarm)
            .await?;
        self.with_gateway(cascade, &sources, chain).await
    }

    /// Fetches a checked plan, calling `progress` every half second and at
    /// the end; stops soon after `cancel` turns true (the rounds verified
    /// by then stay). A pinned plan is pinned before the first round comes
    /// (so the fetch's own writes never evict its start), and unpinned
    /// again if the fetch is cancelled or fails, unless it was pinned
    /// before.
    pub async fn fetch_history(
        &self,
        plan: &HistoryPlan,
        cancel: &AtomicBool,
        mut progress: impl FnMut(HistoryProgress) + Send,
    ) -> Result<HistoryReport, NodeError> {
        let started = Instant::now();
        let chain = &plan.chain;
        let cascade = self.history_cascade(chain).await?;
        let cache = cascade.cache().clone();
        let (from, to) = (*plan.rounds.start(), *plan.rounds.end());
        let total = to - from + 1;
        let at_start = held_in(&cache, chain, plan.rounds.clone())?;
        let newly_pinned = plan.pin
            && cache
                .pin_stored(chain.hash, plan.rounds.clone())
                .map_err(NodeError::grid)?;
        let snapshot = |held: u64| HistoryProgress {
            chain: chain.name.clone(),
            from,
            to,
            total,
            held,
            rounds_per_sec: held.saturating_sub(at_start) as f64
                / started.elapsed().as_secs_f64().max(0.001),
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        progress(snapshot(at_start));
        let fetch = cascade.fetch(chain, plan.rounds.clone(), now_secs());
        tokio::pin!(fetch);
        let mut ticker = tokio::time::interval(TICK);
        ticker.tick().await;
        let outcome = loop {
            tokio::select! {
                result = &mut fetch => break Some(result),
                _ = ticker.tick() => {
                    if cancel.load(Ordering::Relaxed) {
                        break None;
                    }
                    progress(snapshot(held_in(&cache, chain, plan.rounds.clone())?));
                }
            }
        };
        let held = held_in(&cache, chain, plan.rounds.clone())?;
        let unpin = || {
            if newly_pinned {
                let _ = cache.unpin_stored(chain.hash, plan.rounds.clone());
            }
        };
        let cancelled = outcome.is_none();
        let report = match outcome {
            Some(Err(e)) => {
                unpin();
                return Err(NodeError::grid(e));
            }
            Some(Ok(report)) => report,
            None => {
                unpin();
                zks_grid::FetchReport::default()
            }
        };
        progress(snapshot(held));
        Ok(HistoryReport {
            chain: chain.name.clone(),
            from,
            to,
            total,
            held,
            first_failure: report
                .failed
                .first()
                .map(|(r, why)| format!("round {r}: {why}")),
            failed: report.failed.len() as u64,
            sources: report.from,
            pinned: plan.pin && !cancelled,
            cancelled,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The ranges kept from eviction, oldest first, with what is held of
    /// each.
    pub fn pinned_history(&self) -> Result<Vec<PinnedRange>, NodeError> {
        let cache = self.binding_cache()?;
        let mut out = Vec::new();
        for (hash, rounds) in cache.stored_pins().map_err(NodeError::grid)? {
            let chunks = chunks_of(&rounds);
            let count = chunks.end() - chunks.start() + 1;
            let (chain, held, bytes) = match self.chain(&hash.to_hex()) {
                Ok(chain) => (
                    chain.name.clone(),
                    held_in(&cache, &chain, rounds.clone())?,
                    count * chunk_file_len(&chain),
                ),
                Err(_) => (hash.to_hex(), 0, count * chunk_file_len_g2()),
            };
            out.push(PinnedRange {
                chain,
                hash: hash.to_hex(),
                from: *rounds.start(),
                to: *rounds.end(),
                held,
                bytes,
            });
        }
        Ok(out)
    }

    /// Lets a pinned range be evicted again (its rounds stay until the
    /// budget needs the room). `chain` is a name or hash.
    pub fn unpin_history(&self, chain: &str, from: u64, to: u64) -> Result<(), NodeError> {
        let hash = match self.chain(chain.trim()) {
            Ok(info) => info.hash,
            Err(_) => chain
                .trim()
                .parse::<ChainHash>()
                .map_err(|_| bad(format!("{chain:?} is not a chain known here")))?,
        };
        let cache = self.binding_cache()?;
        if from == 0
            || from > to
            || !cache
                .unpin_stored(hash, from..=to)
                .map_err(NodeError::grid)?
        {
            return Err(bad(format!(
                "rounds {from}–{to} of {chain} are not pinned; nothing was changed"
            )));
        }
        Ok(())
    }
}

/// Bytes of a chunk file of a chain with the largest signatures (96-byte
/// G2 points), for pins of chains this home does not know.
fn chunk_file_len_g2() -> u64 {
    64 + CHUNK_ROUNDS / 8 + 96 * (CHUNK_ROUNDS + 1)
}
