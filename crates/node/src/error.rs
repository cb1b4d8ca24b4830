use std::path::PathBuf;

/// Why a node operation failed, phrased for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory cannot be created or written.
    #[error("cannot use data directory {}: {reason}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// No data directory was given and the platform has no home directory.
    #[error("no home directory is known for this user; pass --home DIR or set ZKS_HOME")]
    NoHome,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] zks_store::StoreError),
    /// The node was stopped and cannot serve the request.
    #[error("the node has stopped")]
    Stopped,
}

impl NodeError {
    /// A stable machine-readable code for front ends (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::DataDir { .. } => "data_dir",
            NodeError::NoHome => "no_home",
            NodeError::Store(_) => "store",
            NodeError::Stopped => "stopped",
        }
    }
}
