//! The fetch cascade: local cache first, then the drand HTTP API (the swarm
//! and IPFS gateway layers slot in between as they land). Everything fetched
//! is verified with the batch verifier before it is stored or returned; a
//! base that sends a bad signature is demoted and its rounds refetched
//! elsewhere. Per-source counters feed the dashboard and `zks fetch`.

mod swarm_layer;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::PeerId;
use serde::Serialize;
use zks_beacon::{BatchVerifier, Beacon, ChainInfo, VerifiedBeacon};

use crate::cache::{BeaconCache, CHUNK_ROUNDS, CacheError, chunk_of};
use crate::gateway::{ChunkIndex, IpfsGateway, chunk_beacons};
use crate::http::{DrandHttp, HttpError};
use crate::swarm::{RangeRequest, ServedRound, SwarmClient};

/// How long to look for providers of a chunk.
const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Rounds verified and stored per batch.
const BATCH: u64 = 1024;
/// HTTP requests in flight at once (polite to public endpoints).
pub const HTTP_CONCURRENCY: usize = 16;

/// Counters of one source.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SourceStats {
    /// Verified rounds delivered.
    pub rounds: u64,
    /// Failed or refused requests (errors, bad signatures).
    pub failures: u64,
    /// Total time spent waiting on this source, in milliseconds.
    pub millis: u64,
}

/// What one fetch did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FetchReport {
    /// Rounds asked for.
    pub requested: u64,
    /// Rounds now held, per source that delivered them (`cache`, `drand`, …).
    pub from: BTreeMap<String, u64>,
    /// Rounds that could not be had, with the last reason.
    pub failed: Vec<(u64, String)>,
}

impl FetchReport {
    /// Rounds now held.
    pub fn held(&self) -> u64 {
        self.from.values().sum()
    }
}

/// Why a fetch could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CascadeError {
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The rounds asked for are not published yet.
    #[error("round {first} of {chain} is not published yet (the newest is {latest})")]
    Future {
        /// The chain.
        chain: String,
        /// First round asked for.
        first: u64,
        /// Newest published round.
        latest: u64,
    },
    /// The chain's key is unusable.
    #[error("chain {0}'s public key is unusable")]
    BadChain(String),
}

/// The cascade over one cache and the configured sources.
#[derive(Debug)]
pub struct FetchCascade {
    cache: Arc<BeaconCache>,
    swarm: Option<SwarmClient>,
    gateway: Option<IpfsGateway>,
    indexes: Mutex<BTreeMap<String, ChunkIndex>>,
    /// CIDs of complete chunks already hashed (a complete chunk never changes).
    cids: Mutex<BTreeMap<(zks_beacon::ChainHash, u64), String>>,
    http: Option<DrandHttp>,
    stats: Mutex<BTreeMap<String, SourceStats>>,
}

impl FetchCascade {
    /// A cascade over `cache` and, if given, the drand HTTP endpoints.
    pub fn new(cache: Arc<BeaconCache>, http: Option<DrandHttp>) -> FetchCascade {
        FetchCascade {
            cache,
            swarm: None,
            gateway: None,
            indexes: Mutex::new(BTreeMap::new()),
            cids: Mutex::new(BTreeMap::new()),
            http,
            stats: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds the swarm layer (tried after the cache, before HTTP).
    pub fn with_swarm(mut self, swarm: SwarmClient) -> FetchCascade {
        self.swarm = Some(swarm);
        self
    }

    /// Adds the IPFS gateway layer (tried after the swarm, before HTTP).
    pub fn with_gateway(mut self, gateway: IpfsGateway) -> FetchCascade {
        self.gateway = Some(gateway);
        self
    }

    /// Learns which CIDs hold which chunks of a chain.
    pub fn add_index(&self, index: ChunkIndex) {
        self.indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(index.chain.clone(), index);
    }

    /// The index of this node's complete chunks of `chain` (what it can
    /// serve by CID).
    pub fn own_index(&self, chain: &ChainInfo) -> Result<ChunkIndex, CascadeError> {
        let mut chunks = BTreeMap::new();
        for (index, held) in self.cache.coverage(chain)?.chunks {
            if held != CHUNK_ROUNDS {
                continue;
            }
            let memo = self
                .cids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&(chain.hash, index))
                .cloned();
            let cid = match memo {
                Some(cid) => cid,
                None => {
                    let Some(bytes) = self.cache.chunk_bytes(chain, index)? else {
                        continue;
                    };
                    let cid = crate::cache::chunk_cid(&bytes);
                    self.cids
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert((chain.hash, index), cid.clone());
                    cid
                }
            };
            chunks.insert(index, cid);
        }
        Ok(ChunkIndex {
            chain: chain.hash.to_hex(),
            chunks,
        })
    }

    /// The swarm, if any.
    pub fn swarm(&self) -> Option<&SwarmClient> {
        self.swarm.as_ref()
    }

    /// Announces every chunk of `chain` this node holds any round of.
    pub async fn announce(&self, chain: &ChainInfo) -> Result<usize, CascadeError> {
        let Some(swarm) = &self.swarm else {
            return Ok(0);
        };
        let coverage = self.cache.coverage(chain)?;
        for (chunk, _) in &coverage.chunks {
            let _ = swarm.provide(chain.hash, *chunk).await;
        }
        for (chunk, cid) in self.own_index(chain)?.chunks {
            let _ = swarm.publish_cid(chain.hash, chunk, cid).await;
        }
        Ok(coverage.chunks.len())
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<BeaconCache> {
        &self.cache
    }

    /// The HTTP source, if configured.
    pub fn http(&self) -> Option<&DrandHttp> {
        self.http.as_ref()
    }

    /// Counters per source since start.
    pub fn stats(&self) -> BTreeMap<String, SourceStats> {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn count(&self, source: &str, rounds: u64, failures: u64, started: Instant) {
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = stats.entry(source.to_owned()).or_default();
        entry.rounds += rounds;
        entry.failures += failures;
        entry.millis += started.elapsed().as_millis() as u64;
    }

    /// Makes `rounds` of `chain` present in the cache (as far as the sources
    /// allow) and reports where they came from. `now` is Unix time.
    pub async fn fetch(
        &self,
        chain: &ChainInfo,
        rounds: RangeInclusive<u64>,
        now: u64,
    ) -> Result<FetchReport, CascadeError> {
        let latest = chain.round_at(now);
        let first = (*rounds.start()).max(1);
        if first > latest {
            return Err(CascadeError::Future {
                chain: chain.name.clone(),
                first,
                latest,
            });
        }
        let last = (*rounds.end()).min(latest);
        let mut report = FetchReport {
            requested: last - first + 1,
            ..FetchReport::default()
        };
        let started = Instant::now();
        let missing = self.cache.missing(chain, first..=last)?;
        let missing_count: u64 = missing.iter().map(|r| r.end() - r.start() + 1).sum();
        let cached = report.requested - missing_count;
        if cached > 0 {
            report.from.insert("cache".into(), cached);
            self.count("cache", cached, 0, started);
        }
        let verifier = Arc::new(
            BatchVerifier::new(chain).map_err(|_| CascadeError::BadChain(chain.name.clone()))?,
        );
        let missing = if self.swarm.is_some() {
            let mut still = Vec::new();
            for range in missing {
                self.fetch_swarm(chain, &verifier, range.clone(), &mut report)
                    .await?;
                still.extend(self.cache.missing(chain, range)?);
            }
            still
        } else {
            missing
        };
        let missing = if self.gateway.is_some() {
            let mut still = Vec::new();
            for range in missing {
                self.fetch_gateway(chain, &verifier, range.clone(), &mut report)
                    .await?;
                still.extend(self.cache.missing(chain, range)?);
            }
            still
        } else {
            missing
        };
        for range in missing {
            let mut start = *range.start();
            while start <= *range.end() {
                let end = (start + BATCH - 1).min(*range.end());
                self.fetch_http(chain, &verifier, start..=end, &mut report)
                    .await?;
                start = end + 1;
            }
        }
        Ok(report)
    }

    /// The gateway layer: whole chunks by CID from the index, hash-checked
    /// and then verified.
    async fn fetch_gateway(
        &self,
        chain: &ChainInfo,
        verifier: &BatchVerifier,
        range: RangeInclusive<u64>,
        report: &mut FetchReport,
    ) -> Result<(), CascadeError> {
        let Some(gateway) = &self.gateway else {
            return Ok(());
        };
        // CIDs from the configured index, else from the swarm's (the DHT).
        let mut cids: Vec<(u64, String)> = Vec::new();
        for chunk in chunk_of(*range.start())..=chunk_of(*range.end()) {
            let known = self
                .indexes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&chain.hash.to_hex())
                .and_then(|index| index.chunks.get(&chunk).cloned());
            match (known, &self.swarm) {
                (Some(cid), _) => cids.push((chunk, cid)),
                (None, Some(swarm)) => {
                    for cid in swarm.find_cids(chain.hash, chunk, PROVIDER_TIMEOUT).await {
                        cids.push((chunk, cid));
                    }
                }
                (None, None) => {}
            }
        }
        let started = Instant::now();
        let (mut delivered, mut failures) = (0u64, 0u64);
        for (chunk, cid) in cids {
            let chunk_rounds = crate::cache::chunk_rounds(chunk);
            let lo = (*range.start()).max(*chunk_rounds.start());
            let hi = (*range.end()).min(*chunk_rounds.end());
            if self.cache.missing(chain, lo..=hi)?.is_empty() {
                continue; // an earlier candidate CID already filled this chunk
            }
            let beacons = match gateway
                .block(&cid)
                .await
                .and_then(|b| chunk_beacons(chain, chunk, &b))
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("gateway chunk {chunk}: {e}");
                    failures += 1;
                    continue;
                }
            };
            let (good, bad) = verifier.verify_split(beacons, &mut rand_core::OsRng);
            if !bad.is_empty() {
                // The bytes matched the CID, so the index named a bad block.
                tracing::warn!(chunk, "the chunk index named a block with bad signatures");
                failures += 1;
                continue;
            }
            // Whole chunks are stored; the report counts the asked-for rounds
            // (all of `range` was missing).
            delivered += good.iter().filter(|b| range.contains(&b.round())).count() as u64;
            self.cache.put(chain, &good)?;
        }
        if delivered > 0 {
            *report.from.entry("gateway".into()).or_default() += delivered;
        }
        self.count("gateway", delivered, failures, started);
        Ok(())
    }

    async fn fetch_http(
        &self,
        chain: &ChainInfo,
        verifier: &BatchVerifier,
        rounds: RangeInclusive<u64>,
        report: &mut FetchReport,
    ) -> Result<(), CascadeError> {
        let Some(http) = &self.http else {
            report
                .failed
                .extend(rounds.map(|r| (r, "no source has it (HTTP disabled)".to_owned())));
            return Ok(());
        };
        let started = Instant::now();
        let (got, failed) = http.rounds(chain, rounds, HTTP_CONCURRENCY).await;
        let mut failures = failed.len() as u64;
        report
            .failed
            .extend(failed.into_iter().map(|(r, e)| (r, e.to_string())));
        let (beacons, origins): (Vec<Beacon>, Vec<String>) = got.into_iter().unzip();
        let judged = verifier.verify_each(beacons, &mut rand_core::OsRng);
        let mut good: Vec<VerifiedBeacon> = Vec::new();
        let mut retry = Vec::new();
        for (judged, origin) in judged.into_iter().zip(origins) {
            match judged {
                Ok(verified) => good.push(verified),
                Err((beacon, e)) => {
                    // A bad signature: this base is not trusted for a while,
                    // and the round is asked of the others.
                    http.demote(&origin);
                    failures += 1;
                    retry.push((beacon.round(), e.to_string()));
                }
            }
        }
        for (round, first_reason) in retry {
            match http.round(chain, round).await {
                Ok((b, origin)) => {
                    match verifier.verify_each(vec![b], &mut rand_core::OsRng).pop() {
                        Some(Ok(verified)) => good.push(verified),
                        _ => {
                            http.demote(&origin);
                            report.failed.push((round, first_reason));
                        }
                    }
                }
                Err(HttpError::Future(_)) | Err(_) => report.failed.push((round, first_reason)),
            }
        }
        good.sort_by_key(VerifiedBeacon::round);
        let count = good.len() as u64;
        self.cache.put(chain, &good)?;
        if count > 0 {
            *report.from.entry("drand".into()).or_default() += count;
        }
        self.count("drand", count, failures, started);
        Ok(())
    }

    /// Asks every connected grid peer at once for its newest round of `chain`
    /// (a head request of `/zks/chunk/1.0.0`, each waited on at most
    /// `timeout`), verifies each answer with the reference verifier, keeps
    /// the rounds that verify in the cache and bans a peer whose answer
    /// does not verify (or is not one round). A round past `max_round` (not
    /// out yet by this device's clock and the caller's allowance) is not
    /// taken, and its sender not banned: the clocks may disagree. Returns
    /// the newest verified round any peer gave.
    pub async fn peer_heads(
        &self,
        chain: &ChainInfo,
        max_round: u64,
        timeout: std::time::Duration,
    ) -> Result<Option<VerifiedBeacon>, CascadeError> {
        let Some(swarm) = &self.swarm else {
            return Ok(None);
        };
        let started = Instant::now();
        // Only grid nodes: the public DHT's other peers do not speak the
        // chunk protocol.
        let peers = swarm.grid_peers().await.unwrap_or_default();
        let me = swarm.peer_id();
        let asks = peers
            .into_iter()
            .filter(|p| *p != me)
            .map(|peer| async move {
                let ask = swarm.request(peer, RangeRequest::head(chain.hash.0));
                let answer = match tokio::time::timeout(timeout, ask).await {
                    Ok(Ok(served)) => Some(served),
                    _ => None,
                };
                (peer, answer)
            });
        let answers = futures::future::join_all(asks).await;
        let verifier = zks_beacon::ReferenceVerifier::new(chain)
            .map_err(|_| CascadeError::BadChain(chain.name.clone()))?;
        let (chain_c, cache) = (chain.clone(), self.cache.clone());
        let work = move || -> Result<HeadsJudged, CascadeError> {
            let mut judged = HeadsJudged::default();
            for (peer, answer) in answers {
                match judge_head(&chain_c, &verifier, answer, max_round) {
                    Head::Failed => judged.failures += 1,
                    Head::Nothing => {}
                    Head::Ahead(round) => {
                        tracing::debug!(%peer, round, "a peer's head is past this device's clock; not taken");
                    }
                    Head::Lie => judged.liars.push(peer),
                    Head::Good(b) => judged.good.push(b),
                }
            }
            judged.good.sort_by_key(VerifiedBeacon::round);
            judged.good.dedup_by_key(|b| b.round());
            judged.added = cache.put(&chain_c, &judged.good)? as u64;
            Ok(judged)
        };
        let mut judged = tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        for peer in &judged.liars {
            tracing::warn!(%peer, "peer sent a head round that does not verify; banning it");
            let _ = swarm.ban(*peer).await;
        }
        self.count(
            "swarm",
            judged.added,
            judged.failures + judged.liars.len() as u64,
            started,
        );
        Ok(judged.good.pop())
    }

    /// One round: from the cache, else fetched (and cached).
    pub async fn get(
        &self,
        chain: &ChainInfo,
        round: u64,
        now: u64,
    ) -> Result<Option<VerifiedBeacon>, CascadeError> {
        if let Some(b) = self.cache.get(chain, round)? {
            return Ok(Some(b));
        }
        self.fetch(chain, round..=round, now).await?;
        Ok(self.cache.get(chain, round)?)
    }
}

/// One peer's answer to a head request, judged.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// No answer (the request failed or timed out).
    Failed,
    /// An empty answer: nothing held (or a server before head requests).
    Nothing,
    /// A round past the caller's limit (not judged: clocks differ).
    Ahead(u64),
    /// Several rounds, a malformed one, round 0, or a signature that does
    /// not verify: the sender is banned.
    Lie,
    /// A verified round.
    Good(VerifiedBeacon),
}

/// Judges `answer` to a head request for `chain`.
fn judge_head(
    chain: &ChainInfo,
    verifier: &zks_beacon::ReferenceVerifier,
    answer: Option<Vec<ServedRound>>,
    max_round: u64,
) -> Head {
    let Some(mut served) = answer else {
        return Head::Failed;
    };
    if served.len() > 1 {
        return Head::Lie;
    }
    let Some((round, sig, prev)) = served.pop() else {
        return Head::Nothing;
    };
    if round > max_round {
        return Head::Ahead(round);
    }
    if round == 0 {
        return Head::Lie;
    }
    match Beacon::new(chain.scheme, round, sig, prev).map(|b| verifier.verified(b)) {
        Ok(Ok(b)) => Head::Good(b),
        _ => Head::Lie,
    }
}

/// What the answers to head requests came to.
#[derive(Default)]
struct HeadsJudged {
    /// Verified rounds, one per round number, oldest first.
    good: Vec<VerifiedBeacon>,
    /// Rounds of `good` new to the cache.
    added: u64,
    /// Peers that sent a round that does not verify, or several.
    liars: Vec<PeerId>,
    /// Requests that failed or timed out.
    failures: u64,
}

#[cfg(test)]
mod head_tests {
    use super::*;

    fn recorded(n: usize) -> (u64, Vec<u8>) {
        let line = zks_testkit::QUICKNET.lines().nth(n).unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        (
            v["round"].as_u64().unwrap(),
            unhex(v["signature"].as_str().unwrap()),
        )
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Every class of answer to a head request: only one well-formed,
    /// verifying round within the limit is taken; several rounds, round 0,
    /// a malformed or false signature are lies; a round past the limit is
    /// left alone; an empty answer is nothing, a missing one a failure.
    #[test]
    fn head_answers_are_judged_by_class() {
        let chain = ChainInfo::quicknet();
        let verifier = zks_beacon::ReferenceVerifier::new(&chain).unwrap();
        let judge =
            |answer: Option<Vec<ServedRound>>, max: u64| judge_head(&chain, &verifier, answer, max);
        let (round, sig) = recorded(100);
        let (other_round, other_sig) = recorded(101);
        match judge(Some(vec![(round, sig.clone(), None)]), u64::MAX) {
            Head::Good(b) => assert_eq!(b.round(), round),
            other => panic!("{other:?}"),
        }
        assert_eq!(judge(None, u64::MAX), Head::Failed);
        assert_eq!(judge(Some(vec![]), u64::MAX), Head::Nothing);
        assert_eq!(
            judge(Some(vec![(round, sig.clone(), None)]), round - 1),
            Head::Ahead(round)
        );
        assert_eq!(
            judge(
                Some(vec![
                    (round, sig.clone(), None),
                    (other_round, other_sig.clone(), None)
                ]),
                u64::MAX
            ),
            Head::Lie,
            "two rounds"
        );
        assert_eq!(
            judge(Some(vec![(round, other_sig, None)]), u64::MAX),
            Head::Lie,
            "another round's signature"
        );
        let mut flipped = sig.clone();
        flipped[3] ^= 1;
        assert_eq!(
            judge(Some(vec![(round, flipped, None)]), u64::MAX),
            Head::Lie
        );
        assert_eq!(
            judge(Some(vec![(round, sig[..20].to_vec(), None)]), u64::MAX),
            Head::Lie,
            "a short signature"
        );
        assert_eq!(judge(Some(vec![(0, sig, None)]), u64::MAX), Head::Lie);
    }
}
