//! Where an install keeps its data.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use crate::NodeError;

/// Environment variable that overrides the data directory (like `--home`).
pub(crate) const HOME_ENV: &str = "ZKS_HOME";

/// The data directory of one install: database, beacon cache, pads, keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
    overridden: bool,
}

impl DataDir {
    /// Picks the data directory: `explicit` (from `--home`) first, then
    /// `ZKS_HOME`, then the platform's per-user data directory. Creates it
    /// and checks that it is writable.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<DataDir, NodeError> {
        let from_env = std::env::var_os(HOME_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let dir = match explicit.or(from_env) {
            Some(path) => DataDir {
                path,
                overridden: true,
            },
            None => {
                let dirs = directories::ProjectDirs::from("org", "ZKS", "Entropy Grid")
                    .ok_or(NodeError::NoHome)?;
                DataDir {
                    path: dirs.data_dir().to_owned(),
                    overridden: false,
                }
            }
        };
        dir.prepare()?;
        Ok(dir)
    }

    /// Uses exactly `path` as the data directory (tests, embedding).
    pub fn at(path: impl Into<PathBuf>) -> Result<DataDir, NodeError> {
        let dir = DataDir {
            path: path.into(),
            overridden: true,
        };
        dir.prepare()?;
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the user chose the directory (`--home` or `ZKS_HOME`), so
    /// everything, downloads included, stays inside it.
    pub fn is_overridden(&self) -> bool {
        self.overridden
    }

    fn prepare(&self) -> Result<(), NodeError> {
        let fail = |e: std::io::Error| NodeError::DataDir {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        fs::create_dir_all(&self.path).map_err(fail)?;
        // Creating a directory can succeed on a read-only mount that already
        // has it; a probe file tells for sure before anything else starts.
        // One probe per process: two processes opening one home at once must
        // not remove each other's.
        let probe = self
            .path
            .join(format!(".zks-write-probe-{}", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
            .map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_directory_is_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::resolve(Some(tmp.path().join("a/b"))).unwrap();
        assert!(dir.path().is_dir());
        assert!(dir.is_overridden());
    }

    #[test]
    fn an_unwritable_directory_is_refused_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain-file");
        fs::write(&file, b"x").unwrap();
        let err = DataDir::at(file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("plain-file/sub"), "{err}");
        assert_eq!(err.code(), "data_dir");
    }
}
