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
    /// An invite or reply is unreadable, damaged, expired or forged.
    #[error(transparent)]
    Code(#[from] zks_pad::CodeError),
    /// A QR image or `ZKS1:` text is unreadable.
    #[error(transparent)]
    Qr(#[from] zks_qr::QrError),
    /// A pairing step failed.
    #[error(transparent)]
    Pairing(#[from] zks_pad::PairingError),
    /// A message is not a well-formed envelope.
    #[error(transparent)]
    Envelope(#[from] zks_pad::EnvelopeError),
    /// A grid-pad message could not be opened.
    #[error(transparent)]
    Open(#[from] zks_pad::OpenError),
    /// A true-pad operation was refused.
    #[error(transparent)]
    Pad(#[from] zks_pad::PadError),
    /// Beacons or chain information are unusable.
    #[error("{0}")]
    Beacon(String),
    /// Input that is none of the things the operation accepts (the user's
    /// or a peer's; for stored data that fails its checks see `Corrupt`).
    #[error("{0}")]
    BadInput(String),
    /// Data this home stored earlier fails its checks (a damaged or
    /// hand-edited home, or a bug): nothing the person just typed is wrong.
    #[error("{0}")]
    Corrupt(String),
    /// The beacon grid failed: its cache, the swarm, a drand HTTP source, an
    /// IPFS gateway or the fetch cascade. The grid's own error is the source.
    #[error("{0}")]
    Grid(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The home is locked: its key cannot be had (no passphrase given, a
    /// damaged or missing key file, or the wrong kind of unlock).
    #[error("{0}")]
    Locked(String),
    /// The passphrase does not open the home.
    #[error("wrong passphrase; nothing was changed")]
    WrongPassphrase,
    /// The OS keyring cannot be used.
    #[error("the OS keyring cannot be used ({0}); set a passphrase instead (ZKS_PASSPHRASE)")]
    NoKeyring(String),
    /// Another process is using the home in a way that rules this out.
    #[error("{0}")]
    Busy(String),
    /// A message reused a message key or pad bytes of an earlier, different
    /// message: refused, logged and shown to both people (never taken for
    /// a harmless duplicate).
    #[error("key or pad reuse detected: {0}")]
    KeyReuse(String),
    /// Another device could not be reached over the network.
    #[error("{0}")]
    Unreachable(String),
}

impl NodeError {
    /// Wraps an error of the beacon grid (kept as the source).
    pub(crate) fn grid(e: impl std::error::Error + Send + Sync + 'static) -> NodeError {
        NodeError::Grid(Box::new(e))
    }

    /// A stable machine-readable code for front ends (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::DataDir { .. } => "data_dir",
            NodeError::NoHome => "no_home",
            NodeError::Store(_) => "store",
            NodeError::Stopped => "stopped",
            NodeError::Code(_) => "bad_code",
            NodeError::Qr(_) => "bad_qr",
            NodeError::Pairing(_) => "pairing_failed",
            NodeError::Envelope(_) => "bad_message",
            NodeError::Open(_) => "cannot_open",
            NodeError::Pad(_) => "pad",
            NodeError::Beacon(_) => "bad_beacons",
            NodeError::BadInput(_) => "bad_input",
            NodeError::Corrupt(_) => "corrupt",
            NodeError::Grid(_) => "grid",
            NodeError::Io(_) => "io",
            NodeError::Locked(_) => "locked",
            NodeError::WrongPassphrase => "wrong_passphrase",
            NodeError::NoKeyring(_) => "no_keyring",
            NodeError::Busy(_) => "busy",
            NodeError::KeyReuse(_) => "key_reuse",
            NodeError::Unreachable(_) => "unreachable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_and_grid_errors_have_their_own_codes_and_keep_the_source() {
        let corrupt = NodeError::Corrupt("the stored session is damaged".into());
        assert_eq!(corrupt.code(), "corrupt");
        assert_eq!(corrupt.to_string(), "the stored session is damaged");

        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 10 s");
        let grid = NodeError::grid(io);
        assert_eq!(grid.code(), "grid");
        assert_eq!(grid.to_string(), "no answer in 10 s");
        let source = std::error::Error::source(&grid).expect("the grid error is the source");
        assert_eq!(source.to_string(), "no answer in 10 s");

        // The codes of the older kinds stay as they were.
        assert_eq!(NodeError::BadInput(String::new()).code(), "bad_input");
        assert_eq!(NodeError::Io(String::new()).code(), "io");
    }
}
