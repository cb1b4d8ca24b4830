//! The Entropy Grid: the verified beacon cache, the libp2p swarm, the fetch
//! cascade (cache → swarm → IPFS gateway → drand HTTP) and the
//! drand-compatible relay, and CAR files of complete chunks.
//!
//! Owns the network and the beacon cache. Never stores, serves or forwards a
//! beacon byte that `zks-beacon` has not verified.

pub mod cache;
pub mod car;
pub mod cascade;
pub mod gateway;
pub mod http;
pub mod mailbox;
pub mod relay;
pub mod swarm;

pub use cache::{BeaconCache, CHUNK_ROUNDS, CacheError, Coverage, chunk_cid, chunk_file_len};
pub use cascade::{CascadeError, FetchCascade, FetchReport, SourceStats};
pub use gateway::{ChunkIndex, GatewayError, IpfsGateway};
pub use http::{DrandHttp, HttpError};
pub use relay::RelaySource;
pub use swarm::{SwarmClient, SwarmConfig, SwarmError};
