//! True pads on disk: creating a pad file from the OS CSPRNG, importing a
//! copy into the data directory, reading and wiping the bytes a message uses.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rand_core::RngCore;
use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::truepad::{ID_PREFIX, MIN_PAD, pad_id_of_prefix, whole_pad_hasher, whole_pad_id};
use zks_pad::{PadBook, PadError, PadLayout, Role};
use zks_store::PadLedger;

use crate::{Node, NodeError};

/// The largest pad `create_pad_file` writes (64 GiB).
pub const MAX_PAD: u64 = 64 << 30;

/// How much of a shared pad is left, per direction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PadStatus {
    /// Pad identifier (hex).
    pub pad_id: String,
    /// Total size in bytes.
    pub size: u64,
    /// Bytes left for messages we send (each message uses its length + 32).
    pub send_left: u64,
    /// Bytes the contact can still use for messages to us, at most.
    pub receive_left: u64,
}

pub(crate) fn role_of(role: &str) -> Role {
    if role == "initiator" {
        Role::Initiator
    } else {
        Role::Responder
    }
}

fn damaged(what: &str) -> NodeError {
    NodeError::Store(zks_store::StoreError::Corrupt {
        what: "pad ledger".into(),
        message: what.into(),
    })
}

/// The book of a pad's ledger: its half comes from the role stored with
/// the pad at import, never from the contact's current pairing.
pub(crate) fn book_of(pad: &PadLedger) -> Result<PadBook, NodeError> {
    let id: [u8; 16] = pad
        .pad_id
        .as_slice()
        .try_into()
        .map_err(|_| damaged("the pad identifier is damaged"))?;
    let layout = PadLayout::from_u8(pad.layout).ok_or_else(|| damaged("unknown pad layout"))?;
    let mut book = PadBook::new(id, pad.size, layout, role_of(&pad.role))?;
    book.used = pad.used;
    book.received = pad.received.iter().map(|&(a, b)| a..b).collect();
    Ok(book)
}

pub(crate) fn status_of(pad: &PadLedger) -> PadStatus {
    let (send_left, receive_left) = book_of(pad)
        .map(|book| (book.left(), book.peer_left()))
        .unwrap_or((0, 0));
    PadStatus {
        pad_id: hex::encode(&pad.pad_id),
        size: pad.size,
        send_left,
        receive_left,
    }
}

fn io(what: &str, path: &Path, e: &std::io::Error) -> NodeError {
    NodeError::Io(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes a new pad of `size` bytes from the OS CSPRNG to `path`, which
/// must not exist. Give a copy to the contact in person.
pub fn create_pad_file(path: &Path, size: u64) -> Result<(), NodeError> {
    if !(MIN_PAD..=MAX_PAD).contains(&size) {
        return Err(NodeError::BadInput(format!(
            "a pad must be between {MIN_PAD} bytes and 64 GiB, not {size} bytes"
        )));
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io("create", path, &e))?;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    let result = (|| {
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            rand_core::OsRng.fill_bytes(&mut chunk[..n]);
            file.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        file.sync_all()
    })();
    chunk.iter_mut().for_each(|b| *b = 0);
    if let Err(e) = result {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io("write", path, &e));
    }
    Ok(())
}

/// Overwrites `path` with zeros, syncs it and deletes it: for the clear
/// pad file once it is imported. (On SSDs and copy-on-write file systems
/// old blocks may survive an overwrite; the user is told to destroy every
/// copy.)
pub fn destroy_file(path: &Path) -> Result<(), NodeError> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io("open", path, &e))?;
    let len = file.metadata().map_err(|e| io("read", path, &e))?.len();
    let zeros = vec![0u8; len.min(1 << 20) as usize];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])
            .map_err(|e| io("overwrite", path, &e))?;
        left -= n as u64;
    }
    file.sync_all().map_err(|e| io("overwrite", path, &e))?;
    drop(file);
    std::fs::remove_file(path).map_err(|e| io("delete", path, &e))
}

/// First bytes of a pad copy encrypted at rest; pad byte `i` is at file
/// offset `PAD_HEADER.len() + i`.
const PAD_HEADER: &[u8; 16] = b"ZKS pad at rest1";
/// Name of the local key (in the encrypted database) pad copies hang off.
const PADS_KEY: &str = "pads";
const PAD_KEY_CONTEXT: &str = "ZKS Entropy Grid 2026-11 pad copy at rest v1";

/// Our copy of a shared pad in the data directory, encrypted at rest: the
/// stored bytes are the pad XOR a BLAKE3 XOF keystream (seekable, so any
/// range reads alone) under a per-pad key derived from a random key kept in
/// the encrypted database. Wiping writes zeros over the stored bytes. The
/// pad's secrecy on disk is therefore that of the database key; its
/// perfect secrecy on the wire is unchanged.
#[derive(Clone)]
pub(crate) struct PadFile {
    pub(crate) path: PathBuf,
    /// The pad identifier.
    pub(crate) pad_id: [u8; 16],
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PadFile({})", self.path.display())
    }
}

impl PadFile {
    fn new(path: PathBuf, pad_id: [u8; 16], master: &[u8; 32]) -> PadFile {
        let mut material = Zeroizing::new([0u8; 48]);
        material[..32].copy_from_slice(master);
        material[32..].copy_from_slice(&pad_id);
        let key = Zeroizing::new(blake3::derive_key(PAD_KEY_CONTEXT, &material[..]));
        PadFile { path, pad_id, key }
    }

    /// XORs `bytes` with the keystream at pad offset `offset`.
    fn apply(&self, offset: u64, bytes: &mut [u8]) {
        let mut xof = blake3::Hasher::new_keyed(&self.key).finalize_xof();
        xof.set_position(offset);
        let mut stream = Zeroizing::new(vec![0u8; bytes.len().min(1 << 16)]);
        for part in bytes.chunks_mut(stream.len().max(1)) {
            xof.fill(&mut stream[..part.len()]);
            part.iter_mut()
                .zip(stream.iter())
                .for_each(|(b, k)| *b ^= k);
        }
    }

    /// Writes the clear pad read from `src`, encrypted, to `tmp` (synced;
    /// the caller renames it to the copy's path), showing each clear block
    /// to `on_clear`. Returns the pad's size.
    fn write_from(
        &self,
        src: &mut impl Read,
        tmp: &Path,
        mut on_clear: impl FnMut(&[u8]),
    ) -> Result<u64, NodeError> {
        let result = (|| -> Result<u64, NodeError> {
            let mut dst = File::create(tmp).map_err(|e| io("create", tmp, &e))?;
            dst.write_all(PAD_HEADER)
                .map_err(|e| io("write", tmp, &e))?;
            let mut buf = Zeroizing::new(vec![0u8; 1 << 20]);
            let mut size = 0u64;
            loop {
                let n = src
                    .read(&mut buf)
                    .map_err(|e| io("read the pad", &self.path, &e))?;
                if n == 0 {
                    break;
                }
                on_clear(&buf[..n]);
                self.apply(size, &mut buf[..n]);
                dst.write_all(&buf[..n]).map_err(|e| io("write", tmp, &e))?;
                size += n as u64;
            }
            dst.sync_all().map_err(|e| io("write", tmp, &e))?;
            Ok(size)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(tmp);
        }
        result
    }

    /// Whether the copy on disk is encrypted (a copy imported by a release
    /// before encryption at rest is not).
    fn is_encrypted(&self) -> Result<bool, NodeError> {
        let mut header = [0u8; 16];
        let mut file = File::open(&self.path).map_err(|e| io("open the pad", &self.path, &e))?;
        Ok(file.read_exact(&mut header).is_ok() && &header == PAD_HEADER)
    }
}

/// The key pad copies hang off, made on first use.
pub(crate) fn pad_master_of(
    store: &mut zks_store::Store,
    rng: &mut impl RngCore,
) -> Result<Zeroizing<[u8; 32]>, NodeError> {
    Ok(store.local_key(PADS_KEY, || {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        key
    })?)
}

/// A wiped range reads back as zeros. The stored bytes of an unused range
/// are pad bytes XOR a keystream, which hold this many zero bytes in a row
/// with probability 2^-256 per position; every used range is at least this
/// long (a message takes its length + 32 pad bytes).
const WIPED_RUN: usize = 32;

/// Reads (and decrypts) `range` of the pad. Fails closed: a range outside
/// the pad, or one holding a run of [`WIPED_RUN`] zero bytes in the stored
/// copy, is refused ([`PadError::Wiped`]), never read as if it were pad (a
/// wiped byte would decrypt to the at-rest keystream, which is no pad at
/// all). Every overlap with a used range that a rolled-back ledger can
/// produce is at least that long: a ledger goes back only to a point where
/// an earlier range started, and each range is at least 32 bytes. (Only
/// the range itself is examined: its neighbours are often wiped, and a
/// chance zero byte at its edge must not join their run.)
pub(crate) fn read_range(pad: &PadFile, range: &Range<u64>) -> Result<Vec<u8>, NodeError> {
    let path = &pad.path;
    let mut file = File::open(path).map_err(|e| io("open the pad", path, &e))?;
    let stored = file
        .metadata()
        .map_err(|e| io("read the pad", path, &e))?
        .len()
        .saturating_sub(PAD_HEADER.len() as u64);
    if range.start >= range.end || range.end > stored {
        return Err(NodeError::BadInput(format!(
            "pad bytes {}..{} lie outside the pad ({stored} bytes)",
            range.start, range.end
        )));
    }
    let mut out = vec![0u8; (range.end - range.start) as usize];
    file.seek(SeekFrom::Start(PAD_HEADER.len() as u64 + range.start))
        .and_then(|_| file.read_exact(&mut out))
        .map_err(|e| io("read the pad", path, &e))?;
    let mut zeros = 0;
    for &byte in &out {
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        if zeros >= WIPED_RUN {
            return Err(PadError::Wiped {
                start: range.start,
                end: range.end,
            }
            .into());
        }
    }
    pad.apply(range.start, &mut out);
    Ok(out)
}

/// Overwrites `range` of the pad copy with zeros and syncs it.
pub(crate) fn wipe_range(pad: &PadFile, range: &Range<u64>) -> Result<(), NodeError> {
    overwrite_range(pad, range, true)
}

/// Overwrites `range` of the pad copy with zeros, leaving the sync to a
/// later [`sync_pad`] (one per batch of messages). The ledger, not the
/// zeros, is what keeps a range from being used twice; the zeros keep used
/// bytes from lingering on the disk, and a power loss before the sync can
/// only leave them there.
pub(crate) fn wipe_range_unsynced(pad: &PadFile, range: &Range<u64>) -> Result<(), NodeError> {
    overwrite_range(pad, range, false)
}

/// Syncs a pad copy's overwritten bytes to the disk.
pub(crate) fn sync_pad(path: &Path) -> Result<(), NodeError> {
    File::open(path)
        .and_then(|f| f.sync_data())
        .map_err(|e| io("sync the pad", path, &e))
}

fn overwrite_range(pad: &PadFile, range: &Range<u64>, sync: bool) -> Result<(), NodeError> {
    let path = &pad.path;
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io("open the pad", path, &e))?;
    let zeros = vec![0u8; (range.end - range.start).min(1 << 20) as usize];
    let mut left = range.end - range.start;
    file.seek(SeekFrom::Start(PAD_HEADER.len() as u64 + range.start))
        .and_then(|_| {
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                file.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            if sync { file.sync_data() } else { Ok(()) }
        })
        .map_err(|e| io("wipe the pad", path, &e))
}

impl Node {
    fn pads_dir(&self) -> PathBuf {
        self.data_dir().path().join("pads")
    }

    /// Imports the pad file shared with `contact`: names it by its id
    /// prefix, copies it (encrypted) into the data directory and starts its
    /// ledger with this side's half fixed. Refuses a pad this home has ever
    /// held, for any contact, and refuses to replace a pad that still has
    /// bytes left unless `replace` is set; a replaced pad's ledger is
    /// retired (kept), its copy wiped, and its open transfers fail.
    pub fn import_pad(
        &self,
        contact: &str,
        file: &Path,
        replace: bool,
    ) -> Result<PadStatus, NodeError> {
        self.import_pad_with(contact, file, replace, false)
    }

    /// [`Node::import_pad`]; `new_pad` is the user's word that the pad was
    /// made after the backup this home was restored from, needed only when
    /// that backup predates pad ledgers (it cannot name the old pads).
    pub fn import_pad_with(
        &self,
        contact: &str,
        file: &Path,
        replace: bool,
        new_pad: bool,
    ) -> Result<PadStatus, NodeError> {
        let dir = self.pads_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, &e))?;
        let tmp = dir.join(format!(".import-{}", std::process::id()));
        let mut src = File::open(file).map_err(|e| io("open", file, &e))?;
        let mut prefix = Zeroizing::new([0u8; ID_PREFIX]);
        if src.read_exact(&mut prefix[..]).is_err() {
            return Err(PadError::TooSmall.into());
        }
        src.seek(SeekFrom::Start(0))
            .map_err(|e| io("read", file, &e))?;
        let id = pad_id_of_prefix(&prefix);
        let target = dir.join(format!("{}.pad", hex::encode(id)));
        let pad_file = PadFile::new(target.clone(), id, &self.pad_master());
        // The id of earlier releases (a hash of the whole pad), to
        // recognise a pad one of them imported.
        let mut whole = whole_pad_hasher();
        let mut seen = Zeroizing::new(Vec::with_capacity(ID_PREFIX));
        let size = pad_file.write_from(&mut src, &tmp, |clear| {
            whole.update(clear);
            let want = ID_PREFIX.saturating_sub(seen.len()).min(clear.len());
            seen.extend_from_slice(&clear[..want]);
        })?;
        let cleanup = |e: NodeError| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        if seen[..] != prefix[..] {
            return Err(cleanup(NodeError::BadInput(format!(
                "{} changed while it was being imported; import it again",
                file.display()
            ))));
        }
        if size < MIN_PAD {
            return Err(cleanup(PadError::TooSmall.into()));
        }
        let legacy_id = whole_pad_id(&whole);
        let installed = self.with_store_mut(|store| {
            store.atomically(|store| {
                let record = store.contact(contact)?;
                for known in [id, legacy_id] {
                    if let Some(ledger) = store.pad_ledger(&known)? {
                        return Err(PadError::KnownPad {
                            in_use: ledger.is_active(),
                        }
                        .into());
                    }
                }
                if !new_pad
                    && store
                        .setting::<i64>(zks_store::PADS_UNKNOWN_SETTING)?
                        .is_some()
                {
                    return Err(NodeError::BadInput(
                        "this home was restored from a backup made before pad ledgers were kept, so it cannot tell a pad it used before from a new one; import only a pad made after that backup, and confirm it (`zks pad import --new-pad`)".into(),
                    ));
                }
                if let Some(existing) = store.active_pad(record.id)? {
                    let left = book_of(&existing)?.left();
                    if left > 0 && !replace {
                        return Err(NodeError::BadInput(format!(
                            "a pad with {left} bytes left is already shared with {contact}; pass --replace to replace it"
                        )));
                    }
                }
                std::fs::rename(&tmp, &target).map_err(|e| io("store the pad as", &target, &e))?;
                let ledger = PadLedger {
                    pad_id: id.to_vec(),
                    contact_id: Some(record.id),
                    peer_id: record.peer_id.clone(),
                    role: record.role.clone(),
                    layout: PadLayout::Prefix.to_u8(),
                    size,
                    used: 0,
                    received: Vec::new(),
                    file: target.display().to_string(),
                    imported_at: crate::clock::now_secs() as i64,
                    retired_at: None,
                };
                let retired = store.install_pad(&ledger).inspect_err(|_| {
                    let _ = std::fs::remove_file(&target);
                })?;
                Ok((status_of(&ledger), retired))
            })
        });
        let (status, retired) = installed.map_err(cleanup)?;
        if let Some(old) = retired {
            self.wipe_pad_copy(&old);
        }
        Ok(status)
    }

    /// Overwrites a retired pad's copy and removes it (best effort: its
    /// ledger is retired already, so no byte of it is ever used again).
    fn wipe_pad_copy(&self, old: &PadLedger) {
        if old.file.is_empty() {
            return;
        }
        let Ok(copy) = self.pad_file(old) else { return };
        let result = wipe_range(&copy, &(0..old.size)).and_then(|()| {
            std::fs::remove_file(&copy.path).map_err(|e| io("remove", &copy.path, &e))
        });
        if let Err(e) = result {
            tracing::warn!(pad = %hex::encode(&old.pad_id), "cannot wipe a replaced pad: {e}");
        }
    }

    /// The key pad copies are encrypted under (see [`PadFile`]).
    fn pad_master(&self) -> Zeroizing<[u8; 32]> {
        self.inner.pad_master.clone()
    }

    /// Our copy of `pad`, ready to read and wipe.
    pub(crate) fn pad_file(&self, pad: &PadLedger) -> Result<PadFile, NodeError> {
        let id: [u8; 16] = pad
            .pad_id
            .as_slice()
            .try_into()
            .map_err(|_| damaged("the pad identifier is damaged"))?;
        if pad.file.is_empty() {
            return Err(NodeError::BadInput(
                "this pad's copy is not on this device (its ledger came from a backup)".into(),
            ));
        }
        Ok(PadFile::new(
            PathBuf::from(&pad.file),
            id,
            &self.pad_master(),
        ))
    }

    /// Encrypts pad copies imported before encryption at rest, in place
    /// (through a temporary file and a rename, so a crash leaves either the
    /// old clear copy or the encrypted one; the header tells them apart).
    pub(crate) fn encrypt_clear_pads(&self) -> Result<(), NodeError> {
        let pads = self.with_store(|store| Ok(store.pad_ledgers()?))?;
        for record in pads.iter().filter(|p| p.is_active() && !p.file.is_empty()) {
            let pad = self.pad_file(record)?;
            if !pad.path.exists() || pad.is_encrypted()? {
                continue;
            }
            let tmp = pad.path.with_extension("encrypting");
            let mut src = File::open(&pad.path).map_err(|e| io("open the pad", &pad.path, &e))?;
            pad.write_from(&mut src, &tmp, |_| {})?;
            std::fs::rename(&tmp, &pad.path).map_err(|e| io("store the pad as", &pad.path, &e))?;
            tracing::info!(pad = %hex::encode(pad.pad_id), "encrypted a pad copy at rest");
        }
        Ok(())
    }

    /// The pad shared with `contact`.
    pub fn pad_status(&self, contact: &str) -> Result<PadStatus, NodeError> {
        self.with_store(|store| {
            let record = store.contact(contact)?;
            let pad = store.active_pad(record.id)?.ok_or_else(|| {
                NodeError::BadInput(format!("no one-time pad is shared with {contact}"))
            })?;
            Ok(status_of(&pad))
        })
    }

    /// The pad in use with a contact, or the error a pad-mode message gets
    /// without one.
    pub(crate) fn active_pad_of(
        store: &zks_store::Store,
        record: &zks_store::ContactRecord,
    ) -> Result<PadLedger, NodeError> {
        store.active_pad(record.id)?.ok_or_else(|| {
            NodeError::BadInput(format!(
                "no one-time pad is shared with {}; exchange one in person and `zks pad import` it",
                record.name
            ))
        })
    }
}
