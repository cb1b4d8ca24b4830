//! True pads on disk: creating a pad file from the OS CSPRNG, importing a
//! copy into the data directory, reading and wiping the bytes a message uses.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rand_core::RngCore;
use serde::Serialize;
use zeroize::Zeroizing;
use zks_pad::truepad::{MIN_PAD, pad_hasher, pad_id};
use zks_pad::{PadBook, Role};
use zks_store::PadRecord;

use crate::{Node, NodeError};

/// The largest pad `create_pad_file` writes (64 GiB).
pub const MAX_PAD: u64 = 64 << 30;

/// How much of a shared pad is left, per direction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

pub(crate) fn book_of(pad: &PadRecord, role: &str) -> Result<PadBook, NodeError> {
    let id: [u8; 16] = pad
        .pad_id
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::BadInput("the stored pad identifier is damaged".into()))?;
    let mut book = PadBook::new(id, pad.size, role_of(role))?;
    book.used = pad.used;
    book.received = pad.received.iter().map(|&(a, b)| a..b).collect();
    Ok(book)
}

pub(crate) fn status_of(pad: &PadRecord, role: &str) -> PadStatus {
    match book_of(pad, role) {
        Ok(book) => PadStatus {
            pad_id: hex::encode(&pad.pad_id),
            size: pad.size,
            send_left: book.left(),
            receive_left: book.peer_left(),
        },
        Err(_) => PadStatus {
            pad_id: hex::encode(&pad.pad_id),
            size: pad.size,
            send_left: 0,
            receive_left: 0,
        },
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
    path: PathBuf,
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

/// Reads (and decrypts) `range` of the pad.
pub(crate) fn read_range(pad: &PadFile, range: &Range<u64>) -> Result<Vec<u8>, NodeError> {
    let path = &pad.path;
    let mut file = File::open(path).map_err(|e| io("open the pad", path, &e))?;
    let mut out = vec![0u8; (range.end - range.start) as usize];
    file.seek(SeekFrom::Start(PAD_HEADER.len() as u64 + range.start))
        .and_then(|_| file.read_exact(&mut out))
        .map_err(|e| io("read the pad", path, &e))?;
    pad.apply(range.start, &mut out);
    Ok(out)
}

/// Overwrites `range` of the pad copy with zeros and syncs it.
pub(crate) fn wipe_range(pad: &PadFile, range: &Range<u64>) -> Result<(), NodeError> {
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
            file.sync_data()
        })
        .map_err(|e| io("wipe the pad", path, &e))
}

impl Node {
    fn pads_dir(&self) -> PathBuf {
        self.data_dir().path().join("pads")
    }

    /// Imports the pad file shared with `contact`: hashes it, copies it into
    /// the data directory and starts its ledger. Refuses to replace a pad
    /// that still has bytes left unless `replace` is set.
    pub fn import_pad(
        &self,
        contact: &str,
        file: &Path,
        replace: bool,
    ) -> Result<PadStatus, NodeError> {
        let dir = self.pads_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, &e))?;
        let tmp = dir.join(format!(".import-{}", std::process::id()));
        // The id is the hash of the clear pad: one pass to learn it, a second
        // to write the encrypted copy, which must see the same bytes.
        let hash_of = |mut src: File| -> Result<[u8; 16], NodeError> {
            let mut hasher = pad_hasher();
            std::io::copy(&mut src, &mut hasher).map_err(|e| io("read", file, &e))?;
            Ok(pad_id(hasher.finalize().as_bytes()))
        };
        let open = || File::open(file).map_err(|e| io("open", file, &e));
        let id = hash_of(open()?)?;
        let target = dir.join(format!("{}.pad", hex::encode(id)));
        let pad_file = PadFile::new(target.clone(), id, &self.pad_master());
        let mut again = pad_hasher();
        let size = pad_file.write_from(&mut open()?, &tmp, |clear| {
            again.update(clear);
        })?;
        if pad_id(again.finalize().as_bytes()) != id {
            let _ = std::fs::remove_file(&tmp);
            return Err(NodeError::BadInput(format!(
                "{} changed while it was being imported; import it again",
                file.display()
            )));
        }
        let cleanup = |e: NodeError| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        if size < MIN_PAD {
            return Err(cleanup(zks_pad::PadError::TooSmall.into()));
        }
        self.with_store_mut(|store| {
            let record = store.contact(contact)?;
            if let Some(existing) = store.pad(record.id)? {
                let left = book_of(&existing, &record.role)?.left();
                if existing.pad_id == id {
                    return Err(NodeError::BadInput(format!("this pad is already shared with {contact}")));
                }
                if left > 0 && !replace {
                    return Err(NodeError::BadInput(format!(
                        "a pad with {left} bytes left is already shared with {contact}; pass --replace to replace it"
                    )));
                }
            }
            std::fs::rename(&tmp, &target).map_err(|e| io("store the pad as", &target, &e))?;
            let pad = PadRecord {
                pad_id: id.to_vec(),
                size,
                used: 0,
                received: Vec::new(),
                file: target.display().to_string(),
            };
            store.set_pad(record.id, &pad)?;
            Ok(status_of(&pad, &record.role))
        })
        .map_err(cleanup)
    }

    /// The key pad copies are encrypted under (see [`PadFile`]).
    fn pad_master(&self) -> Zeroizing<[u8; 32]> {
        self.inner.pad_master.clone()
    }

    /// Our copy of `pad`, ready to read and wipe.
    pub(crate) fn pad_file(&self, pad: &PadRecord) -> Result<PadFile, NodeError> {
        let id: [u8; 16] = pad
            .pad_id
            .as_slice()
            .try_into()
            .map_err(|_| NodeError::BadInput("the stored pad identifier is damaged".into()))?;
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
        let pads = self.with_store(|store| Ok(store.pads()?))?;
        for record in pads {
            let pad = self.pad_file(&record)?;
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
            let pad = store.pad(record.id)?.ok_or_else(|| {
                NodeError::BadInput(format!("no one-time pad is shared with {contact}"))
            })?;
            Ok(status_of(&pad, &record.role))
        })
    }
}
