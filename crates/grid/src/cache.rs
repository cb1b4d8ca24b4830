//! The beacon cache: flat chunk files of 16384 rounds per chain.
//!
//! ```text
//! <root>/<chain hash>/<chunk index>.chunk
//!   header 64 B: "ZKSC" version=1 sig_len flags(1 = prev present) | chunk index u64 | chain hash 32 | pad
//!   bitmap 2048 B: bit i set ⇔ slot i holds a verified signature
//!   prev   sig_len B: chained chains: the previous signature of the chunk's first round
//!   slots  16384 × sig_len B
//! ```
//! Chunk k holds rounds k·16384+1 … (k+1)·16384. A slot is marked present only
//! after its bytes reached the disk (write slots, fsync, then write the
//! bitmap, fsync), so a process killed at any point never leaves a present
//! bit over a torn or missing slot. Writers take an exclusive file lock, so
//! several processes may share one home. Only [`VerifiedBeacon`]s go in.
//!
//! The canonical bytes of a *complete* chunk are `[prev] ‖ sig₁ ‖ … ‖ sig₁₆₃₈₄`;
//! their CIDv1 (raw codec 0x55, sha2-256) is what IPFS gateways serve.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use zks_beacon::{Beacon, ChainHash, ChainInfo, VerifiedBeacon};

/// Rounds per chunk.
pub const CHUNK_ROUNDS: u64 = 16384;
const HEADER_LEN: u64 = 64;
const BITMAP_LEN: u64 = CHUNK_ROUNDS / 8;
const MAGIC: &[u8; 4] = b"ZKSC";
const FLAG_PREV: u8 = 1;
/// The file in the cache root naming the ranges kept from eviction by
/// every process sharing the cache, one a line: `<chain hash> <first> <last>`.
const PINS_FILE: &str = "pinned";

/// Bytes of one chunk file of `chain` on disk (the same whether it holds
/// one round or all of them: the file is allocated whole).
pub fn chunk_file_len(chain: &ChainInfo) -> u64 {
    let sig_len = chain.scheme.signature_group().point_len() as u64;
    HEADER_LEN + BITMAP_LEN + sig_len * (CHUNK_ROUNDS + 1)
}

/// Why the cache failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The file system refused.
    #[error("beacon cache I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A chunk file is not ours or is damaged (it is left alone).
    #[error("beacon cache file {0} is damaged; delete it to refetch its rounds")]
    Damaged(PathBuf),
    /// A beacon of another chain was offered.
    #[error("a beacon of chain {found} was offered to the cache of {expected}")]
    WrongChain {
        /// The chain of the cache call.
        expected: ChainHash,
        /// The chain the beacon verified under.
        found: ChainHash,
    },
}

type Result<T> = std::result::Result<T, CacheError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The chunk holding `round` (rounds start at 1).
pub fn chunk_of(round: u64) -> u64 {
    round.saturating_sub(1) / CHUNK_ROUNDS
}

/// The rounds of chunk `index`.
pub fn chunk_rounds(index: u64) -> RangeInclusive<u64> {
    index * CHUNK_ROUNDS + 1..=(index + 1) * CHUNK_ROUNDS
}

/// How much of a chain the cache holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    /// Chain hash (hex).
    pub chain: String,
    /// Rounds held.
    pub rounds: u64,
    /// Per chunk that has any round: (chunk index, rounds held).
    pub chunks: Vec<(u64, u64)>,
}

/// The verified beacon cache of one home.
#[derive(Debug)]
pub struct BeaconCache {
    root: PathBuf,
    budget: u64,
    /// Least-recently-used order: chunk path → last use (a counter).
    uses: Mutex<(u64, BTreeMap<PathBuf, u64>)>,
    pinned: Mutex<Vec<(ChainHash, RangeInclusive<u64>)>>,
}

struct ChunkFile {
    path: PathBuf,
    file: File,
    sig_len: u64,
    bitmap: Vec<u8>,
    prev: Option<Vec<u8>>,
}

impl ChunkFile {
    fn slot_offset(&self, slot: u64) -> u64 {
        HEADER_LEN + BITMAP_LEN + self.sig_len + slot * self.sig_len
    }

    fn present(&self, slot: u64) -> bool {
        self.bitmap[(slot / 8) as usize] & (1 << (slot % 8)) != 0
    }

    /// Whether the slot can be served: present and, for chained chains,
    /// with its predecessor's signature (the previous slot, or the stored
    /// previous signature for the chunk's first slot).
    fn servable(&self, chain: &ChainInfo, slot: u64) -> bool {
        self.present(slot)
            && (!chain.scheme.is_chained()
                || if slot == 0 {
                    self.prev.is_some()
                } else {
                    self.present(slot - 1)
                })
    }

    fn count(&self) -> u64 {
        self.bitmap.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    fn read_slot(&mut self, slot: u64) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.sig_len as usize];
        let offset = self.slot_offset(slot);
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut sig))
            .map_err(io(&self.path))?;
        Ok(sig)
    }

    /// Opens an existing chunk file and checks its header.
    fn open(path: &Path, chain: &ChainInfo, index: u64, write: bool) -> Result<Option<ChunkFile>> {
        let file = match OpenOptions::new().read(true).write(write).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let mut chunk = ChunkFile {
            path: path.to_owned(),
            file,
            sig_len: chain.scheme.signature_group().point_len() as u64,
            bitmap: vec![0; BITMAP_LEN as usize],
            prev: None,
        };
        let mut header = [0u8; HEADER_LEN as usize];
        chunk
            .file
            .read_exact(&mut header)
            .map_err(|_| CacheError::Damaged(path.to_owned()))?;
        if &header[..4] != MAGIC
            || header[4] != 1
            || u64::from(header[5]) != chunk.sig_len
            || header[8..16] != index.to_be_bytes()
            || header[16..48] != chain.hash.0
        {
            return Err(CacheError::Damaged(path.to_owned()));
        }
        chunk
            .file
            .read_exact(&mut chunk.bitmap)
            .map_err(|_| CacheError::Damaged(path.to_owned()))?;
        let mut prev = vec![0u8; chunk.sig_len as usize];
        chunk
            .file
            .read_exact(&mut prev)
            .map_err(|_| CacheError::Damaged(path.to_owned()))?;
        if header[6] & FLAG_PREV != 0 {
            chunk.prev = Some(prev);
        }
        Ok(Some(chunk))
    }

    fn create(path: &Path, chain: &ChainInfo, index: u64) -> Result<ChunkFile> {
        let sig_len = chain.scheme.signature_group().point_len() as u64;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io(path))?;
        let mut header = [0u8; HEADER_LEN as usize];
        header[..4].copy_from_slice(MAGIC);
        header[4] = 1;
        header[5] = sig_len as u8;
        header[8..16].copy_from_slice(&index.to_be_bytes());
        header[16..48].copy_from_slice(&chain.hash.0);
        file.write_all(&header).map_err(io(path))?;
        let total = HEADER_LEN + BITMAP_LEN + sig_len * (CHUNK_ROUNDS + 1);
        file.set_len(total).map_err(io(path))?;
        file.sync_all().map_err(io(path))?;
        Ok(ChunkFile {
            path: path.to_owned(),
            file,
            sig_len,
            bitmap: vec![0; BITMAP_LEN as usize],
            prev: None,
        })
    }
}

impl BeaconCache {
    /// Opens (creating) the cache under `root` with a size budget in bytes.
    pub fn open(root: &Path, budget: u64) -> Result<BeaconCache> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let mut uses = BTreeMap::new();
        let mut tick = 0;
        for chain_dir in std::fs::read_dir(root).map_err(io(root))?.flatten() {
            if let Ok(entries) = std::fs::read_dir(chain_dir.path()) {
                for entry in entries.flatten() {
                    if entry.path().extension().is_some_and(|e| e == "chunk") {
                        tick += 1;
                        uses.insert(entry.path(), tick);
                    }
                }
            }
        }
        Ok(BeaconCache {
            root: root.to_owned(),
            budget,
            uses: Mutex::new((tick, uses)),
            pinned: Mutex::new(Vec::new()),
        })
    }

    /// Keeps `rounds` of `chain` from eviction.
    pub fn pin(&self, chain: ChainHash, rounds: RangeInclusive<u64>) {
        self.pinned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((chain, rounds));
    }

    /// The ranges kept from eviction that are stored in the cache folder
    /// (see [`BeaconCache::pin_stored`]), oldest first. Unreadable lines are
    /// skipped.
    pub fn stored_pins(&self) -> Result<Vec<(ChainHash, RangeInclusive<u64>)>> {
        let path = self.root.join(PINS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let chain = parts.next()?.parse::<ChainHash>().ok()?;
                let first = parts.next()?.parse::<u64>().ok()?;
                let last = parts.next()?.parse::<u64>().ok()?;
                (first >= 1 && first <= last).then_some((chain, first..=last))
            })
            .collect())
    }

    /// Keeps `rounds` of `chain` from eviction in every process that uses
    /// this cache folder, now and after a restart (stored in the folder).
    /// False if that exact range was pinned already.
    pub fn pin_stored(&self, chain: ChainHash, rounds: RangeInclusive<u64>) -> Result<bool> {
        let mut pins = self.stored_pins()?;
        if pins.contains(&(chain, rounds.clone())) {
            return Ok(false);
        }
        pins.push((chain, rounds));
        self.write_pins(&pins)?;
        Ok(true)
    }

    /// Lets a range pinned with [`BeaconCache::pin_stored`] be evicted again
    /// (its rounds stay until the budget needs the room). False if that
    /// exact range was not pinned.
    pub fn unpin_stored(&self, chain: ChainHash, rounds: RangeInclusive<u64>) -> Result<bool> {
        let mut pins = self.stored_pins()?;
        let before = pins.len();
        pins.retain(|p| *p != (chain, rounds.clone()));
        if pins.len() == before {
            return Ok(false);
        }
        self.write_pins(&pins)?;
        Ok(true)
    }

    /// Replaces the pins file (written beside it, then renamed over it, so
    /// a reader never sees half a list).
    fn write_pins(&self, pins: &[(ChainHash, RangeInclusive<u64>)]) -> Result<()> {
        let path = self.root.join(PINS_FILE);
        let tmp = self
            .root
            .join(format!("{PINS_FILE}.{}.tmp", std::process::id()));
        let text: String = pins
            .iter()
            .map(|(c, r)| format!("{} {} {}\n", c.to_hex(), r.start(), r.end()))
            .collect();
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    fn chunk_path(&self, chain: &ChainInfo, index: u64) -> PathBuf {
        self.root
            .join(chain.hash.to_hex())
            .join(format!("{index}.chunk"))
    }

    fn touch(&self, path: &Path) {
        let mut uses = self
            .uses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        uses.0 += 1;
        let tick = uses.0;
        uses.1.insert(path.to_owned(), tick);
    }

    /// Stores verified beacons of `chain`; returns how many were new.
    pub fn put(&self, chain: &ChainInfo, beacons: &[VerifiedBeacon]) -> Result<usize> {
        let mut by_chunk: BTreeMap<u64, Vec<&VerifiedBeacon>> = BTreeMap::new();
        for b in beacons {
            if b.chain_hash() != chain.hash {
                return Err(CacheError::WrongChain {
                    expected: chain.hash,
                    found: b.chain_hash(),
                });
            }
            by_chunk.entry(chunk_of(b.round())).or_default().push(b);
        }
        let mut added = 0;
        for (index, group) in by_chunk {
            added += self.put_chunk(chain, index, &group)?;
        }
        self.evict()?;
        Ok(added)
    }

    fn put_chunk(
        &self,
        chain: &ChainInfo,
        index: u64,
        beacons: &[&VerifiedBeacon],
    ) -> Result<usize> {
        let path = self.chunk_path(chain, index);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        // Exclusive lock on the directory's lock file: one writer per chain.
        let lock_path = path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        let mut chunk = match ChunkFile::open(&path, chain, index, true)? {
            Some(c) => c,
            None => ChunkFile::create(&path, chain, index)?,
        };
        let first = index * CHUNK_ROUNDS + 1;
        let mut new_slots = Vec::new();
        for b in beacons {
            let slot = b.round() - first;
            if chunk.present(slot) {
                continue;
            }
            let offset = chunk.slot_offset(slot);
            chunk
                .file
                .seek(SeekFrom::Start(offset))
                .and_then(|_| chunk.file.write_all(b.beacon().signature()))
                .map_err(io(&path))?;
            new_slots.push(slot);
        }
        let needs_prev = chain.scheme.is_chained() && chunk.prev.is_none();
        let prev = beacons
            .iter()
            .find(|b| b.round() == first && needs_prev)
            .and_then(|b| b.beacon().previous_signature().map(<[u8]>::to_vec));
        if let Some(prev) = &prev {
            // Round 1 signs over the 32-byte genesis seed; pad it to the slot.
            let mut field = prev.clone();
            field.resize(chunk.sig_len as usize, 0);
            chunk
                .file
                .seek(SeekFrom::Start(HEADER_LEN + BITMAP_LEN))
                .and_then(|_| chunk.file.write_all(&field))
                .map_err(io(&path))?;
        }
        if new_slots.is_empty() && prev.is_none() {
            self.touch(&path);
            return Ok(0);
        }
        // Data first, durably; only then the bits (and flag) that say so.
        chunk.file.sync_data().map_err(io(&path))?;
        for slot in &new_slots {
            chunk.bitmap[(slot / 8) as usize] |= 1 << (slot % 8);
        }
        chunk
            .file
            .seek(SeekFrom::Start(HEADER_LEN))
            .and_then(|_| chunk.file.write_all(&chunk.bitmap))
            .map_err(io(&path))?;
        if prev.is_some() {
            chunk
                .file
                .seek(SeekFrom::Start(6))
                .and_then(|_| chunk.file.write_all(&[FLAG_PREV]))
                .map_err(io(&path))?;
        }
        chunk.file.sync_data().map_err(io(&path))?;
        drop(lock);
        self.touch(&path);
        Ok(new_slots.len())
    }

    /// The held beacons among `rounds`, in order.
    pub fn get_range(
        &self,
        chain: &ChainInfo,
        rounds: RangeInclusive<u64>,
    ) -> Result<Vec<VerifiedBeacon>> {
        let (lo, hi) = (*rounds.start().max(&1), *rounds.end());
        let mut out = Vec::new();
        if lo > hi {
            return Ok(out);
        }
        for index in chunk_of(lo)..=chunk_of(hi) {
            let path = self.chunk_path(chain, index);
            let Some(mut chunk) = ChunkFile::open(&path, chain, index, false)? else {
                continue;
            };
            self.touch(&path);
            let first = index * CHUNK_ROUNDS + 1;
            let span = lo.max(first)..=hi.min(first + CHUNK_ROUNDS - 1);
            for round in span {
                let slot = round - first;
                if !chunk.servable(chain, slot) {
                    continue;
                }
                let sig = chunk.read_slot(slot)?;
                let prev = match (chain.scheme.is_chained(), slot) {
                    (false, _) => None,
                    (true, 0) => chunk.prev.clone().map(|mut p| {
                        if round == 1 {
                            p.truncate(32);
                        }
                        p
                    }),
                    (true, _) => Some(chunk.read_slot(slot - 1)?),
                };
                let beacon = Beacon::new(chain.scheme, round, sig, prev)
                    .map_err(|_| CacheError::Damaged(path.clone()))?;
                // The one place allowed to (clippy.toml): a slot is only
                // ever written from a VerifiedBeacon (see `put`).
                #[allow(clippy::disallowed_methods)]
                out.push(VerifiedBeacon::from_verified_storage(chain.hash, beacon));
            }
        }
        Ok(out)
    }

    /// One held beacon.
    pub fn get(&self, chain: &ChainInfo, round: u64) -> Result<Option<VerifiedBeacon>> {
        Ok(self.get_range(chain, round..=round)?.pop())
    }

    /// The newest held (servable) beacon of `chain`: what outgoing messages
    /// bind to. Reads the bitmaps of the chunks from the newest down.
    pub fn latest(&self, chain: &ChainInfo) -> Result<Option<VerifiedBeacon>> {
        let mut indices = self.chunk_indices(chain);
        indices.sort_unstable_by(|a, b| b.cmp(a));
        for index in indices {
            let path = self.chunk_path(chain, index);
            let Some(chunk) = ChunkFile::open(&path, chain, index, false)? else {
                continue;
            };
            if let Some(slot) = (0..CHUNK_ROUNDS).rev().find(|&s| chunk.servable(chain, s)) {
                return self.get(chain, index * CHUNK_ROUNDS + 1 + slot);
            }
        }
        Ok(None)
    }

    /// The indices of the chunk files of `chain` on disk.
    fn chunk_indices(&self, chain: &ChainInfo) -> Vec<u64> {
        let dir = self.root.join(chain.hash.to_hex());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                entry
                    .path()
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".chunk"))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .collect()
    }

    /// The sub-ranges of `rounds` the cache does not hold (servably). Reads
    /// only the chunks' bitmaps, not their slots.
    pub fn missing(
        &self,
        chain: &ChainInfo,
        rounds: RangeInclusive<u64>,
    ) -> Result<Vec<RangeInclusive<u64>>> {
        let (lo, hi) = (*rounds.start(), *rounds.end());
        let mut out: Vec<RangeInclusive<u64>> = Vec::new();
        let mut add = |r: RangeInclusive<u64>| match out.last_mut() {
            Some(last) if *last.end() + 1 == *r.start() => *last = *last.start()..=*r.end(),
            _ => out.push(r),
        };
        if lo > hi {
            return Ok(out);
        }
        if lo == 0 {
            add(0..=0); // there is no round 0
        }
        let lo = lo.max(1);
        if lo > hi {
            return Ok(out);
        }
        for index in chunk_of(lo)..=chunk_of(hi) {
            let first = index * CHUNK_ROUNDS + 1;
            let span = lo.max(first)..=hi.min(first + CHUNK_ROUNDS - 1);
            let path = self.chunk_path(chain, index);
            let Some(chunk) = ChunkFile::open(&path, chain, index, false)? else {
                add(span);
                continue;
            };
            for round in span {
                if !chunk.servable(chain, round - first) {
                    add(round..=round);
                }
            }
        }
        Ok(out)
    }

    /// How much of `chain` is held, chunk by chunk.
    pub fn coverage(&self, chain: &ChainInfo) -> Result<Coverage> {
        let mut chunks = Vec::new();
        for index in self.chunk_indices(chain) {
            let path = self.chunk_path(chain, index);
            if let Some(chunk) = ChunkFile::open(&path, chain, index, false)? {
                chunks.push((index, chunk.count()));
            }
        }
        chunks.sort_unstable();
        Ok(Coverage {
            chain: chain.hash.to_hex(),
            rounds: chunks.iter().map(|c| c.1).sum(),
            chunks,
        })
    }

    /// The canonical bytes of chunk `index` if it is complete.
    pub fn chunk_bytes(&self, chain: &ChainInfo, index: u64) -> Result<Option<Vec<u8>>> {
        let path = self.chunk_path(chain, index);
        let Some(mut chunk) = ChunkFile::open(&path, chain, index, false)? else {
            return Ok(None);
        };
        if chunk.count() != CHUNK_ROUNDS || (chain.scheme.is_chained() && chunk.prev.is_none()) {
            return Ok(None);
        }
        let mut out = chunk.prev.clone().unwrap_or_default();
        let mut slots = vec![0u8; (CHUNK_ROUNDS * chunk.sig_len) as usize];
        let offset = chunk.slot_offset(0);
        chunk
            .file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| chunk.file.read_exact(&mut slots))
            .map_err(io(&path))?;
        out.extend_from_slice(&slots);
        Ok(Some(out))
    }

    /// Bytes used by chunk files.
    pub fn size(&self) -> u64 {
        let uses = self
            .uses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        uses.1
            .keys()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Deletes least-recently-used, unpinned chunks until within the budget
    /// (pinned here or in the folder's stored pins).
    pub fn evict(&self) -> Result<u64> {
        let mut size = self.size();
        let mut freed = 0;
        if size <= self.budget {
            return Ok(0);
        }
        let mut pinned = self
            .pinned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        pinned.extend(self.stored_pins()?);
        let mut order: Vec<(u64, PathBuf)> = {
            let uses = self
                .uses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            uses.1.iter().map(|(p, t)| (*t, p.clone())).collect()
        };
        order.sort_unstable();
        for (_, path) in order {
            if size <= self.budget {
                break;
            }
            if is_pinned(&path, &pinned) {
                continue;
            }
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            std::fs::remove_file(&path).map_err(io(&path))?;
            self.uses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .1
                .remove(&path);
            size = size.saturating_sub(len);
            freed += len;
        }
        Ok(freed)
    }
}

fn is_pinned(path: &Path, pinned: &[(ChainHash, RangeInclusive<u64>)]) -> bool {
    let chain = path
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    let index = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".chunk"))
        .and_then(|n| n.parse::<u64>().ok());
    let (Some(chain), Some(index)) = (chain, index) else {
        return false;
    };
    let rounds = chunk_rounds(index);
    pinned
        .iter()
        .any(|(c, r)| c.to_hex() == chain && r.start() <= rounds.end() && rounds.start() <= r.end())
}

/// CIDv1 (raw codec, sha2-256) of canonical chunk bytes, as a base32 string.
pub fn chunk_cid(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut cid = vec![0x01, 0x55, 0x12, 0x20];
    cid.extend_from_slice(&digest);
    format!("b{}", base32_lower(&cid))
}

/// Checks that `bytes` hash to `cid` (a CIDv1 raw sha2-256 string).
pub fn cid_matches(cid: &str, bytes: &[u8]) -> bool {
    chunk_cid(bytes) == cid
}

/// RFC 4648 base32, lower case, no padding (the multibase `b` alphabet).
pub(crate) fn base32_lower(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests;
