//! Where a received file lands on disk: the downloads folder, safe names
//! from a peer, the first free name (never replacing a file), and
//! positioned reads and writes of partial files.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::{Node, NodeError};

/// `name`, or `name (1).ext`, `name (2).ext`, … : the first that `create`
/// manages to create without replacing anything.
pub(super) fn first_free_name(
    dir: &Path,
    name: &str,
    mut create: impl FnMut(&Path) -> std::io::Result<()>,
) -> Result<PathBuf, NodeError> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0..10_000 {
        let candidate = if n == 0 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match create(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(NodeError::Io(format!(
                    "cannot create {}: {e}",
                    candidate.display()
                )));
            }
        }
    }
    Err(NodeError::Io(format!(
        "no free name for {name} in {}",
        dir.display()
    )))
}

/// Puts the finished partial file at a free name in `dir`: a hard link
/// (atomic, never replaces), or a copy into a newly created file where links
/// are not supported. The partial file stays until the transfer is stored
/// as completed, so a crash in between finishes again instead of losing it.
pub(super) fn place_file(partial: &Path, dir: &Path, name: &str) -> Result<PathBuf, NodeError> {
    let target = first_free_name(dir, name, |candidate| {
        match std::fs::hard_link(partial, candidate) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(candidate)?;
                let mut input = File::open(partial)?;
                std::io::copy(&mut input, &mut out)?;
                out.sync_all()
            }
            other => other,
        }
    })?;
    Ok(target)
}

pub(super) fn io_err(what: &str, path: &Path, e: &std::io::Error) -> NodeError {
    NodeError::Io(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(unix)]
pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
pub(super) fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
pub(super) fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
pub(super) fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

impl Node {
    /// Where received files land: the user's Downloads folder, or
    /// `<home>/downloads` when the home was chosen with `--home`/`ZKS_HOME`.
    pub fn downloads_dir(&self) -> PathBuf {
        let home = self.data_dir();
        if !home.is_overridden()
            && let Some(dir) =
                directories::UserDirs::new().and_then(|d| d.download_dir().map(Path::to_owned))
        {
            return dir;
        }
        home.path().join("downloads")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_file_never_replaces_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"mine").unwrap();
        std::fs::write(dir.path().join("a (1).txt"), b"mine too").unwrap();
        let partial = dir.path().join(".zks-1.part");
        std::fs::write(&partial, b"theirs").unwrap();
        let placed = place_file(&partial, dir.path(), "a.txt").unwrap();
        assert_eq!(placed, dir.path().join("a (2).txt"));
        assert_eq!(std::fs::read(&placed).unwrap(), b"theirs");
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
        assert!(
            partial.exists(),
            "removed only once the transfer is stored complete"
        );
        let partial = dir.path().join(".zks-2.part");
        std::fs::write(&partial, b"x").unwrap();
        assert_eq!(
            place_file(&partial, dir.path(), "noext").unwrap(),
            dir.path().join("noext")
        );
    }
}
