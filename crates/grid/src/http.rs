//! The drand HTTP API as a source: `GET {base}/{chainhash}/public/{round}`,
//! `/public/latest` and `/info`, over several bases in rotation. Responses are
//! size-capped and parsed strictly; verification is the caller's job (the
//! cascade verifies everything before it is stored or used).

use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use zks_beacon::{Beacon, ChainHash, ChainInfo};

/// A round's outcome from one request: the beacon and the base it came from.
type RoundResult = Result<(Beacon, String), HttpError>;

/// Largest response body accepted (a beacon or an info document is < 1 KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// How long a base that misbehaved is skipped.
const DEMOTION: Duration = Duration::from_secs(60);

/// Why an HTTP source did not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The round is not published yet (HTTP 425, or 404 for a round ahead).
    #[error("round {0} is not published yet")]
    Future(u64),
    /// 404 or another client error.
    #[error("HTTP {status} from {url}")]
    Status {
        /// The status code.
        status: u16,
        /// The request URL.
        url: String,
    },
    /// No answer in time, or the connection failed.
    #[error("{url}: {reason}")]
    Transport {
        /// The request URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The body is not what drand serves.
    #[error("{url} answered something that is not a drand beacon: {reason}")]
    Malformed {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// No base URL is configured or usable.
    #[error("no drand HTTP base URL is configured")]
    NoBase,
    /// A configured base is not an http(s) URL.
    #[error("{0:?} is not an http:// or https:// URL")]
    BadBase(String),
}

#[derive(Debug)]
struct Base {
    url: String,
    demoted_until: Mutex<Option<Instant>>,
}

/// Several drand HTTP endpoints, used in rotation.
#[derive(Debug)]
pub struct DrandHttp {
    client: reqwest::Client,
    bases: Vec<Base>,
}

impl DrandHttp {
    /// Endpoints at `bases` (e.g. `https://api.drand.sh`), each request
    /// bounded by `timeout`.
    pub fn new(bases: &[String], timeout: Duration) -> Result<DrandHttp, HttpError> {
        if bases.is_empty() {
            return Err(HttpError::NoBase);
        }
        let mut out = Vec::new();
        for b in bases {
            let url = b.trim_end_matches('/').to_owned();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(HttpError::BadBase(b.clone()));
            }
            out.push(Base {
                url,
                demoted_until: Mutex::new(None),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("zks-entropy-grid/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Transport {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(DrandHttp { client, bases: out })
    }

    /// The base URLs.
    pub fn bases(&self) -> Vec<String> {
        self.bases.iter().map(|b| b.url.clone()).collect()
    }

    /// Bases to try, starting at `seed` in rotation, demoted ones last.
    fn order(&self, seed: u64) -> Vec<&Base> {
        let n = self.bases.len();
        let now = Instant::now();
        let mut order: Vec<&Base> = (0..n)
            .map(|i| &self.bases[(seed as usize + i) % n])
            .collect();
        order.sort_by_key(|b| {
            b.demoted_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_some_and(|t| t > now)
        });
        order
    }

    /// Skips `base` for a while (it sent a bad signature or garbage).
    pub fn demote(&self, base: &str) {
        if let Some(b) = self.bases.iter().find(|b| b.url == base) {
            *b.demoted_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(Instant::now() + DEMOTION);
        }
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, HttpError> {
        let transport = |e: reqwest::Error| HttpError::Transport {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let response = self.client.get(url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(HttpError::Status {
                status,
                url: url.to_owned(),
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(HttpError::Malformed {
                url: url.to_owned(),
                reason: "response too large".into(),
            });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(transport)?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::Malformed {
                    url: url.to_owned(),
                    reason: "response too large".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The chain with this hash, from the first base that knows it; accepted
    /// only if its contents hash to `hash` (drand's chain-hash rule).
    pub async fn info(&self, hash: &ChainHash) -> Result<ChainInfo, HttpError> {
        let mut last = HttpError::NoBase;
        for base in self.order(0) {
            let url = format!("{}/{}/info", base.url, hash.to_hex());
            match self.get(&url).await {
                Ok(body) => {
                    let text = String::from_utf8_lossy(&body);
                    match ChainInfo::from_info_json(&text) {
                        Ok(info) if info.hash == *hash => return Ok(info),
                        Ok(info) => {
                            last = HttpError::Malformed {
                                url,
                                reason: format!("info of chain {}", info.hash),
                            };
                        }
                        Err(e) => {
                            last = HttpError::Malformed {
                                url,
                                reason: e.to_string(),
                            }
                        }
                    }
                    self.demote(&base.url);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// One round, parsed (not yet verified), with the base it came from.
    pub async fn round(
        &self,
        chain: &ChainInfo,
        round: u64,
    ) -> Result<(Beacon, String), HttpError> {
        let mut last = HttpError::NoBase;
        for base in self.order(round) {
            let url = format!("{}/{}/public/{round}", base.url, chain.hash.to_hex());
            match self.get(&url).await {
                Ok(body) => {
                    match Beacon::from_json(chain.scheme, &String::from_utf8_lossy(&body)) {
                        Ok(b) if b.round() == round => return Ok((b, base.url.clone())),
                        Ok(b) => {
                            last = HttpError::Malformed {
                                url,
                                reason: format!("asked for round {round}, got {}", b.round()),
                            };
                            self.demote(&base.url);
                        }
                        Err(e) => {
                            last = HttpError::Malformed {
                                url,
                                reason: e.to_string(),
                            };
                            self.demote(&base.url);
                        }
                    }
                }
                Err(HttpError::Status { status: 425, .. }) => return Err(HttpError::Future(round)),
                Err(e) => {
                    // Timeouts, refused connections and server errors: try the
                    // others first for a while.
                    if matches!(
                        e,
                        HttpError::Transport { .. } | HttpError::Status { status: 500.., .. }
                    ) {
                        self.demote(&base.url);
                    }
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// The newest round a base serves.
    pub async fn latest(&self, chain: &ChainInfo) -> Result<(Beacon, String), HttpError> {
        let mut last = HttpError::NoBase;
        for base in self.order(0) {
            let url = format!("{}/{}/public/latest", base.url, chain.hash.to_hex());
            match self.get(&url).await {
                Ok(body) => {
                    match Beacon::from_json(chain.scheme, &String::from_utf8_lossy(&body)) {
                        Ok(b) => return Ok((b, base.url.clone())),
                        Err(e) => {
                            last = HttpError::Malformed {
                                url,
                                reason: e.to_string(),
                            };
                            self.demote(&base.url);
                        }
                    }
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Many rounds with at most `concurrency` requests in flight: the
    /// beacons delivered (unverified, with their base) and the failures.
    pub async fn rounds(
        &self,
        chain: &ChainInfo,
        rounds: RangeInclusive<u64>,
        concurrency: usize,
    ) -> (Vec<(Beacon, String)>, Vec<(u64, HttpError)>) {
        let results: Vec<(u64, RoundResult)> = futures::stream::iter(rounds)
            .map(|r| async move { (r, self.round(chain, r).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for (r, result) in results {
            match result {
                Ok(b) => good.push(b),
                Err(e) => bad.push((r, e)),
            }
        }
        good.sort_by_key(|(b, _)| b.round());
        bad.sort_by_key(|(r, _)| *r);
        (good, bad)
    }
}
