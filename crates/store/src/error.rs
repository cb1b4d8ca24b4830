use std::path::PathBuf;

/// What went wrong in the store, phrased for the person who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or is not a database.
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The key does not open the database (or the file is not a database).
    #[error("the database {} does not open with this key: wrong passphrase or key, or not a ZKS database", path.display())]
    WrongKey {
        /// The database file.
        path: PathBuf,
    },
    /// The disk holding the database is full.
    #[error("the disk holding {} is full: free some space and try again (nothing was changed)", path.display())]
    DiskFull {
        /// The database file.
        path: PathBuf,
    },
    /// A file beside the database could not be read, written or moved.
    #[error("database file error: {0}")]
    Io(String),
    /// The file system refused write-ahead logging (e.g. a network share).
    #[error("the database {} cannot use write-ahead logging (journal mode stays {mode}); put the data directory on a local disk", path.display())]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The database was written by a newer release of the program.
    #[error("the database {} has schema version {found}, newer than the {supported} this release knows; upgrade zks or use another --home", path.display())]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// A schema migration failed; the database is left at its old version.
    #[error("cannot migrate the database {}: {message}", path.display())]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// What the migration reported.
        message: String,
    },
    /// A stored value does not decode (a bug or a hand-edited database).
    #[error("the stored value of {what} is corrupt: {message}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why it does not decode.
        message: String,
    },
    /// The change conflicts with what is stored (a name taken, a code used twice).
    #[error("{0}")]
    Conflict(String),
    /// Input the operation does not accept (e.g. a search with no word in
    /// it); nothing was read or changed.
    #[error("{0}")]
    BadInput(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}
