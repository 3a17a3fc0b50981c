use crate::types::Revision;

/// Errors of a [`crate::Store`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("key {0:?} already exists")]
    AlreadyExists(String),
    #[error("key {0:?} not found")]
    NotFound(String),
    /// The compare-and-swap failed; carries the current value's revision.
    #[error("key {key:?} was modified: expected revision {expected}, found {actual}")]
    Conflict { key: String, expected: Revision, actual: Revision },
    /// The requested revision's history has been compacted away.
    #[error("required revision {requested} has been compacted (oldest available: {compacted})")]
    Compacted { requested: Revision, compacted: Revision },
    /// The requested revision is newer than the store's.
    #[error("revision {0} is in the future")]
    FutureRevision(Revision),
    /// A watcher fell too far behind and was dropped; it should re-watch from its last revision.
    #[error("watcher fell behind and was dropped")]
    Lagged,
    #[error("invalid continue token")]
    InvalidContinue,
    #[error("storage backend: {0}")]
    Backend(String),
    #[error("store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
