//! Mailbox storage: the sealed envelopes a seeder holds for recipients who
//! are offline (`/zks/mailbox/1.0.0` serves it; see `swarm::mailbox`).
//!
//! A mailbox is a directory named by its opaque 32-byte id (hex); each
//! envelope is one file `<seq>.env` holding
//! `"ZKMB1" | deposited_at u64 BE | depositor_len u8 | depositor PeerId | envelope`.
//! `seq` is one counter for the whole store, so a mailbox's files in
//! `seq` order are its deposit order and `seq` is the fetch cursor. A
//! deposit is written to `tmp/`, synced, then renamed into place (and the
//! directory synced): a crash leaves either the whole envelope or nothing
//! (leftovers in `tmp/` are removed on open).
//!
//! Limits, all checked before anything is written: per mailbox
//! ([`Quotas::per_mailbox_count`], [`Quotas::per_mailbox_bytes`]), per
//! depositor over all mailboxes ([`Quotas::per_depositor_bytes`]) and the
//! store's total ([`MailboxStore::set_cap`], the `mailbox_cap_mb` setting).
//! Envelopes older than [`Quotas::ttl_secs`] are swept; an acknowledged
//! envelope is deleted. The store never learns who a mailbox belongs to.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest envelope a mailbox takes (bigger messages go direct).
pub const MAX_ENVELOPE: usize = 256 * 1024;
/// At most this many envelope bytes in one fetch answer (at least one
/// envelope is always sent when one is waiting).
pub const FETCH_BYTES: usize = 1024 * 1024;
/// At most this many envelopes in one fetch answer.
pub const FETCH_COUNT: usize = 256;
/// How long an envelope is kept: 14 days.
pub const TTL_SECS: u64 = 14 * 86_400;

const MAGIC: &[u8; 5] = b"ZKMB1";
/// Header bytes before the depositor's PeerId.
const HEADER: usize = MAGIC.len() + 8 + 1;

/// The limits a store holds depositors to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Envelopes one mailbox holds.
    pub per_mailbox_count: usize,
    /// Bytes one mailbox holds.
    pub per_mailbox_bytes: u64,
    /// Bytes one depositor may have stored over all mailboxes.
    pub per_depositor_bytes: u64,
    /// How long an envelope is kept, in seconds.
    pub ttl_secs: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            per_mailbox_count: 2_000,
            per_mailbox_bytes: 32 << 20,
            per_depositor_bytes: 64 << 20,
            ttl_secs: TTL_SECS,
        }
    }
}

/// Why a deposit was not stored (the reason codes of the wire format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The mailbox holds its quota of envelopes or bytes.
    #[error("this mailbox is full")]
    MailboxFull,
    /// The depositor has its quota stored already.
    #[error("the depositor's quota is used up")]
    DepositorQuota,
    /// The store is at its disk cap (or the disk is full).
    #[error("the host's mailbox storage is full")]
    DiskFull,
    /// The host does not offer mailboxes now (not seeding, or not publicly
    /// reachable).
    #[error("the host does not offer mailboxes")]
    NotOffered,
    /// The depositor sends deposits faster than its rate.
    #[error("too many deposits; try later")]
    Rate,
    /// The request broke the wire format.
    #[error("malformed request")]
    Malformed,
}

impl Refusal {
    /// Its code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Refusal::MailboxFull => 1,
            Refusal::DepositorQuota => 2,
            Refusal::DiskFull => 3,
            Refusal::NotOffered => 4,
            Refusal::Rate => 5,
            Refusal::Malformed => 6,
        }
    }

    /// The refusal of wire code `code`.
    pub fn from_code(code: u8) -> Option<Refusal> {
        Some(match code {
            1 => Refusal::MailboxFull,
            2 => Refusal::DepositorQuota,
            3 => Refusal::DiskFull,
            4 => Refusal::NotOffered,
            5 => Refusal::Rate,
            6 => Refusal::Malformed,
            _ => return None,
        })
    }
}

/// A storage failure (I/O).
#[derive(Debug, thiserror::Error)]
#[error("mailbox storage: {0}")]
pub struct MailboxError(String);

fn io(e: impl std::fmt::Display) -> MailboxError {
    MailboxError(e.to_string())
}

#[derive(Debug, Clone)]
struct Entry {
    bytes: u64,
    depositor: Vec<u8>,
    at: u64,
}

#[derive(Debug, Default)]
struct Index {
    boxes: HashMap<[u8; 32], BTreeMap<u64, Entry>>,
    depositors: HashMap<Vec<u8>, u64>,
    total: u64,
    next_seq: u64,
}

impl Index {
    fn add(&mut self, id: [u8; 32], seq: u64, entry: Entry) {
        self.total += entry.bytes;
        *self.depositors.entry(entry.depositor.clone()).or_default() += entry.bytes;
        self.next_seq = self.next_seq.max(seq + 1);
        self.boxes.entry(id).or_default().insert(seq, entry);
    }

    fn remove(&mut self, id: &[u8; 32], seq: u64) -> Option<Entry> {
        let held = self.boxes.get_mut(id)?;
        let entry = held.remove(&seq)?;
        if held.is_empty() {
            self.boxes.remove(id);
        }
        self.total -= entry.bytes;
        if let Some(d) = self.depositors.get_mut(&entry.depositor) {
            *d -= entry.bytes;
            if *d == 0 {
                self.depositors.remove(&entry.depositor);
            }
        }
        Some(entry)
    }
}

/// One fetch answer: envelopes after the cursor in deposit order, each
/// with its `seq` (the cursor to fetch after or acknowledge up to), and
/// whether more wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// `(seq, envelope)`, oldest first.
    pub envelopes: Vec<(u64, Vec<u8>)>,
    /// More envelopes wait after the last one.
    pub more: bool,
}

/// The mailboxes a seeder holds, on disk under one directory.
#[derive(Debug)]
pub struct MailboxStore {
    root: PathBuf,
    quotas: Quotas,
    cap: AtomicU64,
    index: Mutex<Index>,
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(id: &[u8; 32]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(name: &str) -> Option<[u8; 32]> {
    if name.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(name.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Parses a stored file's header: `(deposited_at, depositor, header length)`.
fn parse_header(bytes: &[u8]) -> Option<(u64, Vec<u8>, usize)> {
    if bytes.get(..MAGIC.len())? != MAGIC {
        return None;
    }
    let at = u64::from_be_bytes(bytes.get(MAGIC.len()..MAGIC.len() + 8)?.try_into().ok()?);
    let len = usize::from(*bytes.get(HEADER - 1)?);
    let depositor = bytes.get(HEADER..HEADER + len)?.to_vec();
    Some((at, depositor, HEADER + len))
}

fn sync_dir(dir: &Path) {
    // Directory fsync makes the rename durable (not supported everywhere).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl MailboxStore {
    /// Opens (or creates) the store under `root` with a total cap of
    /// `cap_bytes`, removing half-written deposits left by a crash and
    /// anything unreadable.
    pub fn open(root: &Path, cap_bytes: u64, quotas: Quotas) -> Result<MailboxStore, MailboxError> {
        fs::create_dir_all(root.join("tmp")).map_err(io)?;
        for leftover in fs::read_dir(root.join("tmp")).map_err(io)?.flatten() {
            let _ = fs::remove_file(leftover.path());
        }
        let mut index = Index::default();
        for dir in fs::read_dir(root).map_err(io)?.flatten() {
            let name = dir.file_name();
            let Some(id) = name.to_str().and_then(unhex) else {
                continue;
            };
            for file in fs::read_dir(dir.path()).map_err(io)?.flatten() {
                let path = file.path();
                let seq = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".env"))
                    .and_then(|n| n.parse::<u64>().ok());
                let header = fs::read(&path).ok().and_then(|b| {
                    let (at, depositor, _) = parse_header(&b)?;
                    Some((at, depositor, b.len() as u64))
                });
                match (seq, header) {
                    (Some(seq), Some((at, depositor, bytes))) => index.add(
                        id,
                        seq,
                        Entry {
                            bytes,
                            depositor,
                            at,
                        },
                    ),
                    _ => {
                        tracing::warn!(path = %path.display(), "removing an unreadable mailbox file");
                        let _ = fs::remove_file(&path);
                    }
                }
            }
        }
        Ok(MailboxStore {
            root: root.to_owned(),
            quotas,
            cap: AtomicU64::new(cap_bytes),
            index: Mutex::new(index),
        })
    }

    /// Changes the total cap (the `mailbox_cap_mb` setting); what is held
    /// beyond a lowered cap stays until fetched, acknowledged or expired.
    pub fn set_cap(&self, cap_bytes: u64) {
        self.cap.store(cap_bytes, Ordering::Relaxed);
    }

    /// The total cap in bytes.
    pub fn cap(&self) -> u64 {
        self.cap.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes held on disk (file contents, headers included) and envelopes.
    pub fn usage(&self) -> (u64, usize) {
        let index = self.lock();
        (index.total, index.boxes.values().map(BTreeMap::len).sum())
    }

    /// How many envelopes `id` holds.
    pub fn held(&self, id: &[u8; 32]) -> usize {
        self.lock().boxes.get(id).map_or(0, BTreeMap::len)
    }

    fn path_of(&self, id: &[u8; 32], seq: u64) -> PathBuf {
        self.root.join(hex(id)).join(format!("{seq:020}.env"))
    }

    /// Stores `envelope` in mailbox `id` for `depositor` (its PeerId bytes)
    /// at Unix time `now`; its `seq`, or why not. Nothing is written
    /// unless every quota allows it.
    pub fn deposit(
        &self,
        id: [u8; 32],
        depositor: &[u8],
        envelope: &[u8],
        now: u64,
    ) -> Result<Result<u64, Refusal>, MailboxError> {
        if envelope.is_empty() || envelope.len() > MAX_ENVELOPE || depositor.len() > 255 {
            return Ok(Err(Refusal::Malformed));
        }
        let mut index = self.lock();
        let size = (HEADER + depositor.len() + envelope.len()) as u64;
        let held = index.boxes.get(&id);
        let (count, bytes) = held.map_or((0, 0), |h| {
            (h.len(), h.values().map(|e| e.bytes).sum::<u64>())
        });
        if count >= self.quotas.per_mailbox_count || bytes + size > self.quotas.per_mailbox_bytes {
            return Ok(Err(Refusal::MailboxFull));
        }
        if index.depositors.get(depositor).copied().unwrap_or(0) + size
            > self.quotas.per_depositor_bytes
        {
            return Ok(Err(Refusal::DepositorQuota));
        }
        if index.total + size > self.cap() {
            return Ok(Err(Refusal::DiskFull));
        }
        let seq = index.next_seq.max(1);
        let mut body = Vec::with_capacity(size as usize);
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&now.to_be_bytes());
        body.push(depositor.len() as u8);
        body.extend_from_slice(depositor);
        body.extend_from_slice(envelope);
        let tmp = self.root.join("tmp").join(format!("{seq:020}.tmp"));
        let dir = self.root.join(hex(&id));
        let written = (|| -> std::io::Result<()> {
            fs::create_dir_all(&dir)?;
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&body)?;
            file.sync_all()?;
            fs::rename(&tmp, self.path_of(&id, seq))?;
            sync_dir(&dir);
            Ok(())
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            if e.kind() == std::io::ErrorKind::StorageFull {
                return Ok(Err(Refusal::DiskFull));
            }
            return Err(io(e));
        }
        index.add(
            id,
            seq,
            Entry {
                bytes: size,
                depositor: depositor.to_vec(),
                at: now,
            },
        );
        Ok(Ok(seq))
    }

    /// The envelopes of `id` after cursor `after`, in deposit order, at
    /// most [`FETCH_COUNT`] and about [`FETCH_BYTES`].
    pub fn fetch(&self, id: &[u8; 32], after: u64) -> Result<Fetched, MailboxError> {
        let wanted: Vec<u64> = {
            let index = self.lock();
            let Some(held) = index.boxes.get(id) else {
                return Ok(Fetched::default());
            };
            held.range(after.saturating_add(1)..)
                .map(|(s, _)| *s)
                .collect()
        };
        let mut out = Fetched::default();
        let mut bytes = 0;
        for (i, seq) in wanted.iter().enumerate() {
            if i >= FETCH_COUNT || (i > 0 && bytes >= FETCH_BYTES) {
                out.more = true;
                break;
            }
            let Ok(body) = fs::read(self.path_of(id, *seq)) else {
                // Acknowledged or swept meanwhile.
                continue;
            };
            let Some((_, _, start)) = parse_header(&body) else {
                continue;
            };
            let envelope = body[start..].to_vec();
            if i > 0 && bytes + envelope.len() > FETCH_BYTES {
                out.more = true;
                break;
            }
            bytes += envelope.len();
            out.envelopes.push((*seq, envelope));
        }
        Ok(out)
    }

    /// Deletes the envelopes of `id` up to cursor `upto`; how many.
    pub fn ack(&self, id: &[u8; 32], upto: u64) -> Result<u32, MailboxError> {
        let mut index = self.lock();
        let seqs: Vec<u64> = index
            .boxes
            .get(id)
            .map(|h| h.range(..=upto).map(|(s, _)| *s).collect())
            .unwrap_or_default();
        let mut deleted = 0;
        for seq in seqs {
            match fs::remove_file(self.path_of(id, seq)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
            index.remove(id, seq);
            deleted += 1;
        }
        if !index.boxes.contains_key(id) {
            let _ = fs::remove_dir(self.root.join(hex(id)));
        }
        Ok(deleted)
    }

    /// Deletes every envelope deposited before `now - ttl`; how many.
    pub fn sweep(&self, now: u64) -> usize {
        let limit = now.saturating_sub(self.quotas.ttl_secs);
        let expired: Vec<([u8; 32], u64)> = {
            let index = self.lock();
            index
                .boxes
                .iter()
                .flat_map(|(id, held)| {
                    held.iter()
                        .filter(|(_, e)| e.at < limit)
                        .map(move |(s, _)| (*id, *s))
                })
                .collect()
        };
        let mut index = self.lock();
        for (id, seq) in &expired {
            let _ = fs::remove_file(self.path_of(id, *seq));
            index.remove(id, *seq);
            if !index.boxes.contains_key(id) {
                let _ = fs::remove_dir(self.root.join(hex(id)));
            }
        }
        expired.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_directories_and_back() {
        let id = [0xa7; 32];
        assert_eq!(unhex(&hex(&id)), Some(id));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
    }

    #[test]
    fn deposits_fetch_in_order_and_ack_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = MailboxStore::open(dir.path(), 1 << 30, Quotas::default()).unwrap();
        let id = [1; 32];
        let a = store.deposit(id, b"alice", b"one", 10).unwrap().unwrap();
        let b = store.deposit(id, b"alice", b"two", 11).unwrap().unwrap();
        assert!(a < b);
        let got = store.fetch(&id, 0).unwrap();
        assert_eq!(
            got.envelopes,
            vec![(a, b"one".to_vec()), (b, b"two".to_vec())]
        );
        assert!(!got.more);
        assert_eq!(store.fetch(&id, a).unwrap().envelopes.len(), 1);
        assert_eq!(store.ack(&id, a).unwrap(), 1);
        assert_eq!(store.held(&id), 1);
        assert_eq!(store.fetch(&[2; 32], 0).unwrap(), Fetched::default());
    }

    #[test]
    fn a_fetch_is_bounded_and_says_more() {
        let dir = tempfile::tempdir().unwrap();
        let store = MailboxStore::open(dir.path(), 1 << 30, Quotas::default()).unwrap();
        let id = [3; 32];
        for _ in 0..6 {
            store
                .deposit(id, b"d", &vec![9; MAX_ENVELOPE], 1)
                .unwrap()
                .unwrap();
        }
        let first = store.fetch(&id, 0).unwrap();
        assert_eq!(first.envelopes.len(), 4, "1 MiB of 256 KiB envelopes");
        assert!(first.more);
        let last = first.envelopes.last().unwrap().0;
        let rest = store.fetch(&id, last).unwrap();
        assert_eq!(rest.envelopes.len(), 2);
        assert!(!rest.more);
    }

    #[test]
    fn half_written_deposits_and_junk_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let id = [4; 32];
        {
            let store = MailboxStore::open(dir.path(), 1 << 30, Quotas::default()).unwrap();
            store.deposit(id, b"d", b"kept", 1).unwrap().unwrap();
        }
        fs::write(
            dir.path().join("tmp").join("00000000000000000009.tmp"),
            b"half",
        )
        .unwrap();
        fs::write(
            dir.path().join(hex(&id)).join("7.env"),
            b"not a mailbox file",
        )
        .unwrap();
        let store = MailboxStore::open(dir.path(), 1 << 30, Quotas::default()).unwrap();
        assert_eq!(store.fetch(&id, 0).unwrap().envelopes.len(), 1);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(dir.path().join(hex(&id))).unwrap().count(), 1);
        // New deposits continue after the highest seq held.
        let next = store.deposit(id, b"d", b"next", 2).unwrap().unwrap();
        assert_eq!(next, 2);
    }
}
