//! Hashing: a file whole and per chunk before it is offered (or, for a
//! timelocked file, its age file as it is written), and the receiver's
//! running hash of the verified prefix.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use zeroize::Zeroizing;
use zks_pad::file::{self as padfile, CHUNK_SIZE, FileOffer};

use super::placement::{io_err, read_at};
use super::record::bit;
use crate::NodeError;

/// Hashes a file whole and per chunk.
pub(super) fn hash_file(path: &Path, size: u64) -> Result<([u8; 32], Vec<u8>), NodeError> {
    let file = File::open(path).map_err(|e| io_err("open", path, &e))?;
    let mut whole = blake3::Hasher::new();
    let mut chunks = Vec::with_capacity(padfile::chunk_count(size, CHUNK_SIZE) as usize * 32);
    let mut buf = vec![0u8; CHUNK_SIZE as usize];
    let mut at = 0u64;
    while at < size {
        let len = (size - at).min(u64::from(CHUNK_SIZE)) as usize;
        read_at(&file, &mut buf[..len], at).map_err(|e| io_err("read", path, &e))?;
        whole.update(&buf[..len]);
        chunks.extend_from_slice(blake3::hash(&buf[..len]).as_bytes());
        at += len as u64;
    }
    Ok((*whole.finalize().as_bytes(), chunks))
}

/// A writer that hashes what passes through it, whole and per chunk of
/// [`CHUNK_SIZE`], exactly as [`hash_file`] hashes the file written: the
/// timelocked copy of a file is hashed as it is sealed, not read back.
pub(super) struct HashingWriter<W> {
    inner: W,
    whole: blake3::Hasher,
    chunk: blake3::Hasher,
    in_chunk: u64,
    chunks: Vec<u8>,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(super) fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            whole: blake3::Hasher::new(),
            chunk: blake3::Hasher::new(),
            in_chunk: 0,
            chunks: Vec::new(),
            len: 0,
        }
    }

    fn note(&mut self, mut data: &[u8]) {
        self.whole.update(data);
        self.len += data.len() as u64;
        while !data.is_empty() {
            let room = (u64::from(CHUNK_SIZE) - self.in_chunk) as usize;
            let (now, rest) = data.split_at(room.min(data.len()));
            self.chunk.update(now);
            self.in_chunk += now.len() as u64;
            if self.in_chunk == u64::from(CHUNK_SIZE) {
                self.chunks
                    .extend_from_slice(self.chunk.finalize().as_bytes());
                self.chunk = blake3::Hasher::new();
                self.in_chunk = 0;
            }
            data = rest;
        }
    }

    /// The writer back, with the whole hash, the chunks' hashes and the
    /// length of what was written.
    pub(super) fn finish(mut self) -> (W, [u8; 32], Vec<u8>, u64) {
        if self.in_chunk > 0 {
            self.chunks
                .extend_from_slice(self.chunk.finalize().as_bytes());
        }
        (
            self.inner,
            *self.whole.finalize().as_bytes(),
            self.chunks,
            self.len,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The whole file's BLAKE3, computed as the verified prefix grows, so the
/// final check needs no second pass over the file. Chunks that arrive ahead
/// of the prefix wait in memory (at most [`HASH_AHEAD`]), or are read back
/// from the partial file when their turn comes.
pub(super) struct RunningHash {
    pub(super) offer: Arc<FileOffer>,
    pub(super) hasher: blake3::Hasher,
    pub(super) next: u64,
    pub(super) ahead: std::collections::BTreeMap<u64, Zeroizing<Vec<u8>>>,
}

/// Verified chunks kept in memory ahead of the hashed prefix.
pub(super) const HASH_AHEAD: usize = 32;

impl RunningHash {
    pub(super) fn new(offer: Arc<FileOffer>) -> RunningHash {
        RunningHash {
            offer,
            hasher: blake3::Hasher::new(),
            next: 0,
            ahead: std::collections::BTreeMap::new(),
        }
    }

    /// Hashes the verified prefix already on disk (after a restart).
    pub(super) fn catch_up(&mut self, done: &[u8], file: &File) -> Result<(), NodeError> {
        self.advance(done, file)
    }

    pub(super) fn add(
        &mut self,
        index: u64,
        plain: Zeroizing<Vec<u8>>,
        done: &[u8],
        file: &File,
    ) -> Result<(), NodeError> {
        if index >= self.next && self.ahead.len() < HASH_AHEAD {
            self.ahead.insert(index, plain);
        }
        self.advance(done, file)
    }

    fn advance(&mut self, done: &[u8], file: &File) -> Result<(), NodeError> {
        while self.next < self.offer.chunks() && bit(done, self.next) {
            let chunk = match self.ahead.remove(&self.next) {
                Some(plain) => plain,
                None => {
                    let mut buf =
                        Zeroizing::new(vec![0u8; self.offer.chunk_len(self.next) as usize]);
                    read_at(file, &mut buf, self.next * u64::from(self.offer.chunk_size))
                        .map_err(|e| NodeError::Io(format!("cannot read the partial file: {e}")))?;
                    buf
                }
            };
            self.hasher.update(&chunk);
            self.next += 1;
        }
        Ok(())
    }

    pub(super) fn finish(mut self, done: &[u8], file: &File) -> Result<[u8; 32], NodeError> {
        self.advance(done, file)?;
        Ok(*self.hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the writer computes on the way is what hashing the written
    /// file gives, at every chunk boundary and written in odd pieces.
    #[test]
    fn the_hashing_writer_agrees_with_hashing_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let chunk = CHUNK_SIZE as usize;
        for len in [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("{len}"));
            let mut w = HashingWriter::new(File::create(&path).unwrap());
            for piece in data.chunks(65_536 + 16) {
                w.write_all(piece).unwrap();
            }
            let (file, whole, chunks, written) = w.finish();
            drop(file);
            assert_eq!(written, len as u64);
            assert_eq!(hash_file(&path, len as u64).unwrap(), (whole, chunks));
        }
    }
}
