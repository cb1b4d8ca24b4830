//! True pads on disk: creating a pad file from the OS CSPRNG, importing a
//! copy into the data directory, reading and wiping the bytes a message uses.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rand_core::RngCore;
use serde::Serialize;
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

/// Reads `range` of the pad file.
pub(crate) fn read_range(path: &Path, range: &Range<u64>) -> Result<Vec<u8>, NodeError> {
    let mut file = File::open(path).map_err(|e| io("open the pad", path, &e))?;
    let mut out = vec![0u8; (range.end - range.start) as usize];
    file.seek(SeekFrom::Start(range.start))
        .and_then(|_| file.read_exact(&mut out))
        .map_err(|e| io("read the pad", path, &e))?;
    Ok(out)
}

/// Overwrites `range` of the pad file with zeros and syncs it.
pub(crate) fn wipe_range(path: &Path, range: &Range<u64>) -> Result<(), NodeError> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io("open the pad", path, &e))?;
    let zeros = vec![0u8; (range.end - range.start).min(1 << 20) as usize];
    let mut left = range.end - range.start;
    file.seek(SeekFrom::Start(range.start))
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
        let (id, size) = (|| -> Result<([u8; 16], u64), NodeError> {
            let mut src = File::open(file).map_err(|e| io("open", file, &e))?;
            let mut dst = File::create(&tmp).map_err(|e| io("create", &tmp, &e))?;
            let mut hasher = pad_hasher();
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = src.read(&mut buf).map_err(|e| io("read", file, &e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                dst.write_all(&buf[..n])
                    .map_err(|e| io("write", &tmp, &e))?;
                size += n as u64;
            }
            buf.iter_mut().for_each(|b| *b = 0);
            dst.sync_all().map_err(|e| io("write", &tmp, &e))?;
            Ok((pad_id(hasher.finalize().as_bytes()), size))
        })()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        let cleanup = |e: NodeError| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        if size < MIN_PAD {
            return Err(cleanup(zks_pad::PadError::TooSmall.into()));
        }
        let target = dir.join(format!("{}.pad", hex::encode(id)));
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
