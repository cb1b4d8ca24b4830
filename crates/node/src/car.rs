//! CAR export and import of the beacon cache's complete chunks, so drand
//! history can travel through IPFS (`ipfs dag import`, Helia, any CARv1
//! tool) or a USB stick. The layout (decision 0060):
//!
//! - block 1: the chain's chunk index (the JSON `{"chain", "chunks":
//!   {index: CID}}` that seeders' relays serve at `/{chainhash}/chunks`),
//!   as a raw block;
//! - then every exported chunk's canonical bytes, one raw block each;
//! - roots: the index's CID first, then every chunk's CID (raw blocks
//!   have no links, so each block an IPFS node should pin is a root).
//!
//! Only complete chunks are exported: a partial chunk has no canonical
//! bytes, so no stable CID. An import trusts nothing in the file: each
//! block must hash to its CID, be named by the index, decode as a chunk of
//! the chain, and every one of its beacons must verify (the batch
//! verifier, as every other import path) before any of it is cached. A
//! chunk that fails is refused and reported; the others are kept. A file
//! that is not a well-formed CAR of this layout changes nothing: it is
//! read through once before anything is stored.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zks_beacon::{BatchVerifier, ChainInfo};
use zks_grid::cache::{CHUNK_ROUNDS, chunk_of, chunk_rounds};
use zks_grid::car::{CarReader, CarWriter, RawCid};
use zks_grid::{BeaconCache, ChunkIndex};

use crate::beacons::MAX_ROUND_AHEAD_SECS;
use crate::clock::now_secs;
use crate::{Node, NodeError};

/// A complete chunk in a CAR.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CarChunk {
    /// Chunk index (rounds `index·16384+1 … (index+1)·16384`).
    pub index: u64,
    /// Its first round.
    pub first_round: u64,
    /// Its last round.
    pub last_round: u64,
    /// Its CIDv1 (raw, sha2-256).
    pub cid: String,
    /// Rounds newly cached (imports only; 0 when the chunk was already held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
}

/// A chunk of the asked-for rounds that was not exported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartialChunk {
    /// Chunk index.
    pub index: u64,
    /// Its first round.
    pub first_round: u64,
    /// Its last round.
    pub last_round: u64,
    /// Rounds of it the cache holds (fewer than 16384, or a chained chunk
    /// without its previous signature).
    pub held: u64,
}

/// What [`Node::export_car`] wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CarExport {
    /// Chain name.
    pub chain: String,
    /// Chain hash (hex).
    pub chain_hash: String,
    /// The file written.
    pub path: PathBuf,
    /// The CID of the chunk index block (the first root).
    pub index_cid: String,
    /// The chunks written, in order.
    pub chunks: Vec<CarChunk>,
    /// Chunks overlapping the rounds that the cache holds only in part
    /// (not exported: no stable CID).
    pub partial: Vec<PartialChunk>,
    /// Chunks overlapping the rounds of which the cache holds nothing.
    pub absent: u64,
    /// Size of the file.
    pub bytes: u64,
}

/// A chunk [`Node::import_car`] refused.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefusedChunk {
    /// Chunk index, if the CAR's index names the block.
    pub index: Option<u64>,
    /// The block's CID (as the CAR declares it).
    pub cid: String,
    /// Byte offset of the block's section in the file (none for a chunk
    /// the index names but the file lacks).
    pub offset: Option<u64>,
    /// Why.
    pub reason: String,
}

/// What [`Node::import_car`] did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CarImport {
    /// Chain name.
    pub chain: String,
    /// Chain hash (hex).
    pub chain_hash: String,
    /// Chunks verified and cached (or already held), in file order.
    pub imported: Vec<CarChunk>,
    /// Chunks refused, with the reason.
    pub refused: Vec<RefusedChunk>,
    /// Rounds newly cached.
    pub rounds_added: u64,
    /// The newest verified round now held.
    pub latest_round: Option<u64>,
}

fn io_err(action: &str, path: &Path, e: &dyn std::fmt::Display) -> NodeError {
    NodeError::Io(format!("cannot {action} {}: {e}", path.display()))
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(cache_err)`
fn cache_err(e: zks_grid::CacheError) -> NodeError {
    NodeError::grid(e)
}

/// The rounds of chunk `index`, or `None` if they are past `u64`.
fn rounds_of(index: u64) -> Option<RangeInclusive<u64>> {
    index
        .checked_add(1)
        .and_then(|n| n.checked_mul(CHUNK_ROUNDS))
        .map(|_| chunk_rounds(index))
}

impl Node {
    /// Writes every complete chunk of `chain` overlapping `rounds` to the
    /// CARv1 file `out`, which must not exist. The file appears whole or
    /// not at all (written to a temporary file beside it, synced, renamed).
    /// No complete chunk in the range is an error and writes nothing.
    pub fn export_car(
        &self,
        chain: &str,
        rounds: RangeInclusive<u64>,
        out: &Path,
    ) -> Result<CarExport, NodeError> {
        let chain = self.chain(chain)?;
        let (lo, hi) = (*rounds.start(), *rounds.end());
        if lo == 0 || hi < lo {
            return Err(NodeError::BadInput(format!(
                "rounds {lo}..{hi}: rounds start at 1 and the range must not be empty"
            )));
        }
        if out.exists() {
            return Err(NodeError::BadInput(format!(
                "{} exists; choose another file (nothing was written)",
                out.display()
            )));
        }
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(NodeError::Io(format!(
                "cannot create {}: {} is not a folder (nothing was written)",
                out.display(),
                dir.display()
            )));
        }
        let cache = self.beacon_cache(u64::MAX)?;
        let held: BTreeMap<u64, u64> = cache
            .coverage(&chain)
            .map_err(cache_err)?
            .chunks
            .into_iter()
            .collect();
        let (mut complete, mut partial, mut absent) = (Vec::new(), Vec::new(), 0);
        for index in chunk_of(lo)..=chunk_of(hi) {
            let span = chunk_rounds(index);
            match cache.chunk_bytes(&chain, index).map_err(cache_err)? {
                Some(bytes) => {
                    let cid = RawCid::of(&bytes);
                    complete.push((
                        CarChunk {
                            index,
                            first_round: *span.start(),
                            last_round: *span.end(),
                            cid: cid.to_string(),
                            added: None,
                        },
                        cid,
                    ));
                }
                None => match held.get(&index) {
                    Some(&held) if held > 0 => partial.push(PartialChunk {
                        index,
                        first_round: *span.start(),
                        last_round: *span.end(),
                        held,
                    }),
                    _ => absent += 1,
                },
            }
        }
        if complete.is_empty() {
            return Err(NodeError::BadInput(format!(
                "no complete chunk of {} overlaps rounds {lo}..{hi} ({} partial, {absent} absent; \
                 a chunk is 16384 rounds and only complete ones have a CID); nothing was written",
                chain.name,
                partial.len()
            )));
        }
        let index = ChunkIndex {
            chain: chain.hash.to_hex(),
            chunks: complete
                .iter()
                .map(|(c, _)| (c.index, c.cid.clone()))
                .collect(),
        };
        let index_json =
            serde_json::to_vec(&index).map_err(|e| NodeError::Io(format!("chunk index: {e}")))?;
        let index_cid = RawCid::of(&index_json);
        let mut roots = vec![index_cid];
        roots.extend(complete.iter().map(|(_, cid)| *cid));
        let bytes = write_atomically(out, |file| {
            let mut car = CarWriter::new(BufWriter::with_capacity(1 << 20, file), &roots)
                .map_err(|e| io_err("write", out, &e))?;
            car.write_block(&index_json)
                .map_err(|e| io_err("write", out, &e))?;
            for (chunk, root) in &complete {
                let bytes = cache
                    .chunk_bytes(&chain, chunk.index)
                    .map_err(cache_err)?
                    .ok_or_else(|| {
                        NodeError::Busy(format!(
                            "chunk {} left the cache during the export (evicted?)",
                            chunk.index
                        ))
                    })?;
                let cid = car
                    .write_block(&bytes)
                    .map_err(|e| io_err("write", out, &e))?;
                // A complete chunk never changes; if it did, the roots lie.
                if cid != *root {
                    return Err(NodeError::Busy(format!(
                        "chunk {} changed during the export",
                        chunk.index
                    )));
                }
            }
            let written = car.bytes_written();
            car.into_inner()
                .into_inner()
                .map_err(|e| io_err("write", out, e.error()))?;
            Ok(written)
        })?;
        Ok(CarExport {
            chain: chain.name.clone(),
            chain_hash: chain.hash.to_hex(),
            path: out.to_owned(),
            index_cid: index_cid.to_string(),
            chunks: complete.into_iter().map(|(c, _)| c).collect(),
            partial,
            absent,
            bytes,
        })
    }

    /// Imports the chunks of a CAR written by [`Node::export_car`] (or any
    /// tool, in that layout): each block is checked against its CID, decoded
    /// as a chunk of the chain the CAR's index names, and every beacon
    /// verified before the chunk is cached. Refused chunks are reported and
    /// the others kept. With `chain`, the CAR must be of that chain; without,
    /// its chain must be known here (built in or remembered). A file that is
    /// not a well-formed CAR of this layout is an error and changes nothing.
    pub fn import_car(&self, input: &Path, chain: Option<&str>) -> Result<CarImport, NodeError> {
        let open = || -> Result<CarReader<BufReader<File>>, NodeError> {
            let file = File::open(input).map_err(|e| io_err("read", input, &e))?;
            CarReader::new(BufReader::with_capacity(1 << 20, file)).map_err(|e| bad_car(input, &e))
        };
        // Pass 1: the whole file's structure and its index, storing nothing.
        let mut reader = open()?;
        let index_root = *reader.roots().first().ok_or_else(|| {
            bad_layout(
                input,
                "its header names no root (the chunk index comes first)",
            )
        })?;
        let first = reader
            .next_block()
            .map_err(|e| bad_car(input, &e))?
            .ok_or_else(|| bad_layout(input, "it holds no block"))?;
        if first.cid != index_root || !first.hash_matches() {
            return Err(bad_layout(
                input,
                "its first block is not the chunk index its first root names",
            ));
        }
        let index: ChunkIndex = serde_json::from_slice(&first.data).map_err(|e| {
            bad_layout(input, &format!("its first block is not a chunk index: {e}"))
        })?;
        while reader
            .next_block()
            .map_err(|e| bad_car(input, &e))?
            .is_some()
        {}
        let chain = self.car_chain(&index, chain)?;
        let index = ChunkIndex::from_json(&String::from_utf8_lossy(&first.data), &chain)
            .map_err(|e| bad_layout(input, &e))?;

        // Pass 2: chunk by chunk, verified, then cached.
        let cache = self.beacon_cache(self.settings()?.cache_budget_bytes)?;
        let verifier = BatchVerifier::new(&chain).map_err(|e| NodeError::Beacon(e.to_string()))?;
        let mut by_cid: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for (k, cid) in &index.chunks {
            by_cid.entry(cid.as_str()).or_default().push(*k);
        }
        let mut seen = BTreeSet::new();
        let mut report = CarImport {
            chain: chain.name.clone(),
            chain_hash: chain.hash.to_hex(),
            imported: Vec::new(),
            refused: Vec::new(),
            rounds_added: 0,
            latest_round: None,
        };
        let mut reader = open()?;
        reader.next_block().map_err(|e| bad_car(input, &e))?; // the index
        let now = now_secs();
        while let Some(block) = reader.next_block().map_err(|e| bad_car(input, &e))? {
            let cid = block.cid.to_string();
            let refuse = |index: Option<u64>, reason: String| RefusedChunk {
                index,
                cid: cid.clone(),
                offset: Some(block.offset),
                reason,
            };
            let Some(indices) = by_cid.get(cid.as_str()) else {
                report.refused.push(refuse(
                    None,
                    "the CAR's chunk index does not name this block".into(),
                ));
                continue;
            };
            for &k in indices {
                seen.insert(k);
                match self.import_chunk(&cache, &verifier, k, &block, now) {
                    Ok(chunk) => {
                        report.rounds_added += chunk.added.unwrap_or(0);
                        report.imported.push(chunk);
                    }
                    Err(ChunkFailure::Refused(reason)) => {
                        report.refused.push(refuse(Some(k), reason));
                    }
                    Err(ChunkFailure::Node(e)) => return Err(e),
                }
            }
        }
        for (k, cid) in &index.chunks {
            if !seen.contains(k) {
                report.refused.push(RefusedChunk {
                    index: Some(*k),
                    cid: cid.clone(),
                    offset: None,
                    reason: "the CAR's index names it but the CAR does not hold it".into(),
                });
            }
        }
        report.latest_round = cache.latest(&chain).map_err(cache_err)?.map(|b| b.round());
        Ok(report)
    }

    /// The chain of a CAR's index: `chosen` (which must match), or the
    /// index's own chain if this home knows it.
    fn car_chain(&self, index: &ChunkIndex, chosen: Option<&str>) -> Result<ChainInfo, NodeError> {
        match chosen {
            Some(name) => {
                let chain = self.chain(name)?;
                if chain.hash.to_hex() != index.chain {
                    return Err(NodeError::BadInput(format!(
                        "the CAR holds chunks of chain {}, not of {} ({}); nothing was imported",
                        index.chain, chain.name, chain.hash
                    )));
                }
                Ok(chain)
            }
            None => self.chain(&index.chain).map_err(|_| {
                NodeError::Beacon(format!(
                    "the CAR holds chunks of chain {}, which this home does not know; \
                     give its /info JSON with --chain-info FILE (nothing was imported)",
                    index.chain
                ))
            }),
        }
    }

    /// Checks, verifies and caches one chunk of a CAR.
    fn import_chunk(
        &self,
        cache: &BeaconCache,
        verifier: &BatchVerifier,
        index: u64,
        block: &zks_grid::car::Block,
        now: u64,
    ) -> Result<CarChunk, ChunkFailure> {
        let chain = verifier.chain();
        let span = rounds_of(index)
            .ok_or_else(|| ChunkFailure::Refused(format!("chunk index {index} is out of range")))?;
        let chunk = |added| CarChunk {
            index,
            first_round: *span.start(),
            last_round: *span.end(),
            cid: block.cid.to_string(),
            added: Some(added),
        };
        if !block.hash_matches() {
            return Err(ChunkFailure::Refused(
                "its bytes do not hash to its CID (damaged or altered)".into(),
            ));
        }
        if chain.is_future(*span.end(), now + MAX_ROUND_AHEAD_SECS) {
            return Err(ChunkFailure::Refused(format!(
                "its rounds {}..{} are not published yet (check this device's clock)",
                span.start(),
                span.end()
            )));
        }
        // A chunk already held whole (verified when it came) is not verified again.
        let held = cache
            .chunk_bytes(chain, index)
            .map_err(|e| ChunkFailure::Node(cache_err(e)))?;
        if held.is_some_and(|b| block.cid.matches(&b)) {
            return Ok(chunk(0));
        }
        let beacons = zks_grid::gateway::chunk_beacons(chain, index, &block.data)
            .map_err(|e| ChunkFailure::Refused(e.to_string()))?;
        let (good, bad) = verifier.verify_split(beacons, &mut rand_core::OsRng);
        if let Some((beacon, why)) = bad.first() {
            return Err(ChunkFailure::Refused(format!(
                "{} of its {CHUNK_ROUNDS} beacons do not verify (round {}: {why})",
                bad.len(),
                beacon.round()
            )));
        }
        let added = cache
            .put(chain, &good)
            .map_err(|e| ChunkFailure::Node(cache_err(e)))?;
        Ok(chunk(added as u64))
    }
}

/// Why one chunk of a CAR was not imported.
enum ChunkFailure {
    /// The chunk is bad: reported, the import goes on.
    Refused(String),
    /// This home failed (disk, cache): the import stops.
    Node(NodeError),
}

fn bad_car(path: &Path, e: &zks_grid::car::CarError) -> NodeError {
    NodeError::BadInput(format!(
        "{} is not a CAR this build reads: {e}; nothing was imported",
        path.display()
    ))
}

fn bad_layout(path: &Path, why: &str) -> NodeError {
    NodeError::BadInput(format!(
        "{} is not a CAR of beacon chunks: {why}; nothing was imported",
        path.display()
    ))
}

/// Creates `out` through a temporary file in the same directory: `write`
/// fills it, then it is synced and renamed; on any failure it is removed.
fn write_atomically(
    out: &Path,
    write: impl FnOnce(File) -> Result<u64, NodeError>,
) -> Result<u64, NodeError> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| NodeError::BadInput(format!("{} is not a file name", out.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err("create", &tmp, &e))?;
    let result = (|| {
        let sync = file.try_clone().map_err(|e| io_err("write", &tmp, &e))?;
        let bytes = write(file)?;
        sync.sync_all().map_err(|e| io_err("write", &tmp, &e))?;
        if out.exists() {
            return Err(NodeError::BadInput(format!(
                "{} appeared during the export; nothing was written",
                out.display()
            )));
        }
        std::fs::rename(&tmp, out).map_err(|e| io_err("create", out, &e))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests;
