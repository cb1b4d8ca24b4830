//! A drand-compatible HTTP relay: `/{chainhash}/info`,
//! `/{chainhash}/public/{round}`, `/{chainhash}/public/latest`, `/chains`,
//! and the unprefixed `/info` and `/public/…` of the first chain, in the exact
//! JSON shapes drand serves, so an unmodified drand client can use a seeder.
//!
//! Two backends: the fetch cascade (a seeder: cache first, then its sources)
//! and a devnet signer (a local chain producing a round every period).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use zks_beacon::{Beacon, ChainHash, ChainInfo, DevnetSigner};

use crate::cascade::FetchCascade;

/// Where the relay's beacons come from.
#[derive(Debug, Clone)]
pub enum RelaySource {
    /// A seeder: the cache, then the cascade's other sources.
    Cascade {
        /// The cascade.
        cascade: Arc<FetchCascade>,
        /// The chains served.
        chains: Vec<ChainInfo>,
    },
    /// A local devnet chain signed on demand (unchained schemes only).
    Devnet(Arc<DevnetSigner>),
}

impl RelaySource {
    fn chains(&self) -> Vec<ChainInfo> {
        match self {
            RelaySource::Cascade { chains, .. } => chains.clone(),
            RelaySource::Devnet(signer) => vec![signer.chain().clone()],
        }
    }

    async fn beacon(&self, chain: &ChainInfo, round: u64, now: u64) -> Result<Beacon, RelayError> {
        if round == 0 || chain.is_future(round, now) {
            return Err(too_early(chain, round));
        }
        match self {
            RelaySource::Devnet(signer) => signer
                .sign(round, None)
                .map_err(|e| RelayError(StatusCode::NOT_FOUND, e.to_string())),
            RelaySource::Cascade { cascade, .. } => match cascade.get(chain, round, now).await {
                Ok(Some(b)) => Ok(b.beacon().clone()),
                Ok(None) => Err(RelayError(
                    StatusCode::NOT_FOUND,
                    "round not available from any source".into(),
                )),
                Err(e) => Err(RelayError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
            },
        }
    }
}

/// An error answer: a status and a one-line reason.
#[derive(Debug)]
struct RelayError(StatusCode, String);

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn too_early(chain: &ChainInfo, round: u64) -> RelayError {
    RelayError(
        StatusCode::TOO_EARLY,
        format!("round {round} of {} is not published yet", chain.name),
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json(body: String, max_age: u64) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    response
}

fn find(source: &RelaySource, hash: &str) -> Result<ChainInfo, RelayError> {
    let hash: ChainHash = hash
        .parse()
        .map_err(|_| RelayError(StatusCode::NOT_FOUND, "not a chain hash".into()))?;
    source
        .chains()
        .into_iter()
        .find(|c| c.hash == hash)
        .ok_or_else(|| RelayError(StatusCode::NOT_FOUND, "unknown chain".into()))
}

fn first_chain(source: &RelaySource) -> Result<ChainInfo, RelayError> {
    let chains = source.chains();
    chains
        .iter()
        .find(|c| c.name == "default")
        .or(chains.first())
        .cloned()
        .ok_or_else(|| RelayError(StatusCode::NOT_FOUND, "no chain".into()))
}

async fn chains(State(source): State<RelaySource>) -> Response {
    let hashes: Vec<String> = source.chains().iter().map(|c| c.hash.to_hex()).collect();
    json(serde_json::to_string(&hashes).unwrap_or_default(), 60)
}

async fn info(State(source): State<RelaySource>, Path(hash): Path<String>) -> Response {
    match find(&source, &hash) {
        Ok(chain) => json(chain.to_info_json(), 3600),
        Err(r) => r.into_response(),
    }
}

async fn round(
    State(source): State<RelaySource>,
    Path((hash, round)): Path<(String, String)>,
) -> Response {
    let chain = match find(&source, &hash) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    serve_round(&source, &chain, &round).await
}

async fn serve_round(source: &RelaySource, chain: &ChainInfo, round: &str) -> Response {
    let now = now_secs();
    let round = if round == "latest" {
        chain.round_at(now)
    } else {
        match round.parse::<u64>() {
            Ok(r) => r,
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    "the round must be a number or latest",
                )
                    .into_response();
            }
        }
    };
    match source.beacon(chain, round, now).await {
        Ok(b) => {
            // Past rounds never change; the latest changes at the next round.
            let max_age = if round < chain.round_at(now) {
                7 * 24 * 3600
            } else {
                chain.time_of_round(round + 1).saturating_sub(now).max(1)
            };
            json(b.to_json(), max_age)
        }
        Err(r) => r.into_response(),
    }
}

/// Our extension: the CIDs of the complete chunks this relay holds.
async fn chunk_index(State(source): State<RelaySource>, Path(hash): Path<String>) -> Response {
    let chain = match find(&source, &hash) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    match &source {
        RelaySource::Cascade { cascade, .. } => match cascade.own_index(&chain) {
            Ok(index) => json(serde_json::to_string(&index).unwrap_or_default(), 60),
            Err(e) => RelayError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        },
        RelaySource::Devnet(_) => {
            RelayError(StatusCode::NOT_FOUND, "a devnet keeps no chunks".into()).into_response()
        }
    }
}

/// A trustless-gateway view of the complete chunks this relay holds:
/// `GET /ipfs/{cid}` answers the raw block.
async fn ipfs_block(State(source): State<RelaySource>, Path(cid): Path<String>) -> Response {
    let RelaySource::Cascade { cascade, chains } = &source else {
        return RelayError(StatusCode::NOT_FOUND, "no blocks here".into()).into_response();
    };
    for chain in chains {
        let Ok(index) = cascade.own_index(chain) else {
            continue;
        };
        if let Some((&k, _)) = index.chunks.iter().find(|(_, c)| **c == cid)
            && let Ok(Some(bytes)) = cascade.cache().chunk_bytes(chain, k)
        {
            let mut response = (StatusCode::OK, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.ipld.raw"),
            );
            return response;
        }
    }
    RelayError(StatusCode::NOT_FOUND, "no such block".into()).into_response()
}

async fn default_info(State(source): State<RelaySource>) -> Response {
    match first_chain(&source) {
        Ok(chain) => json(chain.to_info_json(), 3600),
        Err(r) => r.into_response(),
    }
}

async fn default_round(State(source): State<RelaySource>, Path(round): Path<String>) -> Response {
    match first_chain(&source) {
        Ok(chain) => serve_round(&source, &chain, &round).await,
        Err(r) => r.into_response(),
    }
}

/// The relay's routes over `source`.
pub fn router(source: RelaySource) -> Router {
    Router::new()
        .route("/chains", get(chains))
        .route("/info", get(default_info))
        .route("/public/{round}", get(default_round))
        .route("/{hash}/info", get(info))
        .route("/{hash}/public/{round}", get(round))
        .route("/{hash}/chunks", get(chunk_index))
        .route("/ipfs/{cid}", get(ipfs_block))
        .with_state(source)
}

/// Connections the relay serves at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// A connection that sends nothing for this long is closed (slowloris,
/// idle keep-alive).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `addr` and serves the relay until the task is dropped; returns the
/// bound address (useful with port 0). At most [`MAX_CONNECTIONS`] at once,
/// each closed after [`IDLE_TIMEOUT`] without a byte from the client.
pub async fn serve(
    addr: SocketAddr,
    source: RelaySource,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_limited(addr, source, MAX_CONNECTIONS, IDLE_TIMEOUT).await
}

/// [`serve`] with explicit limits (tests use small ones).
pub async fn serve_limited(
    addr: SocketAddr,
    source: RelaySource,
    max_connections: usize,
    idle: Duration,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(source);
    let limited = LimitedListener {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(max_connections.max(1))),
        idle,
    };
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(limited, app).await {
            tracing::warn!("relay stopped: {e}");
        }
    });
    Ok((bound, task))
}

/// A TCP listener that holds a permit per open connection and closes
/// connections that stay silent.
struct LimitedListener {
    inner: tokio::net::TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
    idle: Duration,
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (LimitedStream, SocketAddr) {
        loop {
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                // The semaphore is never closed; wait and retry if it were.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        LimitedStream {
                            inner: stream,
                            _permit: permit,
                            idle: self.idle,
                            deadline: Box::pin(tokio::time::sleep(self.idle)),
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off.
                    tracing::warn!("relay accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection of the relay: its permit is returned when it closes, and
/// a read that waits longer than the idle timeout fails.
struct LimitedStream {
    inner: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
    idle: Duration,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl tokio::io::AsyncRead for LimitedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.inner).poll_read(cx, buf) {
            std::task::Poll::Ready(result) => {
                if buf.filled().len() > before {
                    let next = tokio::time::Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                std::task::Poll::Ready(result)
            }
            std::task::Poll::Pending => match self.deadline.as_mut().poll(cx) {
                std::task::Poll::Ready(()) => std::task::Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client sent nothing for too long",
                ))),
                std::task::Poll::Pending => std::task::Poll::Pending,
            },
        }
    }
}

impl tokio::io::AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
