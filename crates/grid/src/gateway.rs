//! The IPFS trustless gateway layer: complete chunks are content-addressed
//! (CIDv1, raw, sha2-256), so any IPFS gateway or node can serve them.
//! `GET {gateway}/ipfs/{cid}` with `Accept: application/vnd.ipld.raw`; the
//! bytes must hash to the CID, then every signature is verified as usual.
//! Which CID holds which chunk comes from a chunk index (served by seeders'
//! relays at `/{chainhash}/chunks`, or given as a file).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use zks_beacon::{Beacon, ChainInfo};

use crate::cache::{CHUNK_ROUNDS, cid_matches};

/// Largest chunk accepted (16384 G2 signatures plus a previous signature).
const MAX_CHUNK: usize = 2 << 20;

/// Chunk → CID of one chain's complete chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkIndex {
    /// Chain hash (hex).
    pub chain: String,
    /// Complete chunks: index → CID.
    pub chunks: BTreeMap<u64, String>,
}

impl ChunkIndex {
    /// Parses an index document, refusing one for another chain.
    pub fn from_json(text: &str, chain: &ChainInfo) -> Result<ChunkIndex, String> {
        let index: ChunkIndex =
            serde_json::from_str(text).map_err(|e| format!("not a chunk index: {e}"))?;
        if index.chain != chain.hash.to_hex() {
            return Err(format!(
                "the chunk index is for chain {}, not {}",
                index.chain, chain.hash
            ));
        }
        if index
            .chunks
            .values()
            .any(|cid| cid.len() > 100 || !cid.starts_with('b'))
        {
            return Err("the chunk index holds something that is not a CIDv1".into());
        }
        Ok(index)
    }
}

/// Why a gateway fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The request failed or timed out.
    #[error("{url}: {reason}")]
    Transport {
        /// The request URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The bytes do not hash to the CID asked for.
    #[error("{url} sent bytes that do not match the CID")]
    CidMismatch {
        /// The request URL.
        url: String,
    },
    /// The bytes are not a chunk of this chain.
    #[error("the block is not a chunk of this chain ({0})")]
    NotAChunk(String),
    /// No gateway is configured.
    #[error("no IPFS gateway is configured")]
    NoGateway,
}

/// Several trustless gateways, tried in order.
#[derive(Debug)]
pub struct IpfsGateway {
    client: reqwest::Client,
    bases: Vec<String>,
}

impl IpfsGateway {
    /// Gateways at `bases` (e.g. `https://ipfs.io`), each request bounded by `timeout`.
    pub fn new(bases: &[String], timeout: Duration) -> Result<IpfsGateway, GatewayError> {
        let bases: Vec<String> = bases
            .iter()
            .map(|b| b.trim_end_matches('/').to_owned())
            .collect();
        if bases.is_empty()
            || bases
                .iter()
                .any(|b| !b.starts_with("http://") && !b.starts_with("https://"))
        {
            return Err(GatewayError::NoGateway);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| GatewayError::Transport {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(IpfsGateway { client, bases })
    }

    /// Reads a chain's chunk index from `location` (a URL or a file); by
    /// default each gateway's `/{chainhash}/chunks`, which seeders' relays
    /// serve. Unreachable locations are skipped; a malformed index or one
    /// for another chain is an error.
    pub async fn load_index(
        &self,
        location: Option<&str>,
        chain: &ChainInfo,
    ) -> Result<Vec<ChunkIndex>, String> {
        let locations: Vec<String> = match location {
            Some(loc) => vec![loc.to_owned()],
            None => self
                .bases
                .iter()
                .map(|g| format!("{g}/{}/chunks", chain.hash))
                .collect(),
        };
        let mut out = Vec::new();
        for loc in locations {
            let text = if loc.starts_with("http://") || loc.starts_with("https://") {
                match self.client.get(&loc).send().await {
                    Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
                    _ => continue,
                }
            } else {
                std::fs::read_to_string(&loc).map_err(|e| format!("cannot read {loc}: {e}"))?
            };
            match ChunkIndex::from_json(&text, chain) {
                Ok(index) => out.push(index),
                Err(e) => tracing::warn!("chunk index {loc}: {e}"),
            }
        }
        Ok(out)
    }

    /// The raw block `cid`, checked against its multihash.
    pub async fn block(&self, cid: &str) -> Result<Vec<u8>, GatewayError> {
        let mut last = GatewayError::NoGateway;
        for base in &self.bases {
            let url = format!("{base}/ipfs/{cid}");
            match self.get(&url).await {
                Ok(bytes) if cid_matches(cid, &bytes) => return Ok(bytes),
                Ok(_) => last = GatewayError::CidMismatch { url },
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, GatewayError> {
        let err = |e: &dyn std::fmt::Display| GatewayError::Transport {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/vnd.ipld.raw")
            .send()
            .await
            .map_err(|e| err(&e))?;
        if !response.status().is_success() {
            return Err(err(&response.status()));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| err(&e))?;
            if body.len() + chunk.len() > MAX_CHUNK {
                return Err(err(&"block too large for a chunk"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Splits a complete chunk's canonical bytes into its (unverified) beacons.
pub fn chunk_beacons(
    chain: &ChainInfo,
    index: u64,
    bytes: &[u8],
) -> Result<Vec<Beacon>, GatewayError> {
    let sig_len = chain.scheme.signature_group().point_len();
    let prev_len = if chain.scheme.is_chained() {
        sig_len
    } else {
        0
    };
    if bytes.len() != prev_len + CHUNK_ROUNDS as usize * sig_len {
        return Err(GatewayError::NotAChunk(format!("{} bytes", bytes.len())));
    }
    let (prev, slots) = bytes.split_at(prev_len);
    let first = index * CHUNK_ROUNDS + 1;
    let mut previous: Option<Vec<u8>> = chain.scheme.is_chained().then(|| {
        let mut p = prev.to_vec();
        if first == 1 {
            p.truncate(32); // round 1 signs over the 32-byte genesis seed
        }
        p
    });
    let mut out = Vec::with_capacity(CHUNK_ROUNDS as usize);
    for (i, sig) in slots.chunks_exact(sig_len).enumerate() {
        let beacon = Beacon::new(
            chain.scheme,
            first + i as u64,
            sig.to_vec(),
            previous.clone(),
        )
        .map_err(|e| GatewayError::NotAChunk(e.to_string()))?;
        if chain.scheme.is_chained() {
            previous = Some(sig.to_vec());
        }
        out.push(beacon);
    }
    Ok(out)
}
