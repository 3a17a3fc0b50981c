//! skiff-store: the storage layer under the API server, with etcd's semantics.
//!
//! * One global, strictly increasing revision; every write gets the next one and it becomes the
//!   object's `resourceVersion`.
//! * [`Store`] is the trait every backend implements: create, get, list by prefix with
//!   limit/continue, compare-and-swap update and delete, and watch from a revision (with
//!   [`StoreError::Compacted`] once that revision's history is gone).
//! * Backends: [`SqliteStore`] (durable, the default; group commit through one writer thread)
//!   and [`MemoryStore`] (for unit tests of the layers above).
//! * [`WatchCache`] is a decorator over any `Store` that serves get, list and watch from memory.
//! * [`testing`] is the conformance suite every backend (and the cache) must pass.
//!
//! The store knows nothing of Kubernetes objects: keys are strings, values are bytes.

mod cache;
mod compactor;
mod error;
mod fanout;
mod memory;
mod sqlite;
mod types;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cache::WatchCache;
pub use compactor::spawn_compactor;
pub use error::StoreError;
pub use memory::MemoryStore;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use types::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision, WatchStream};

use async_trait::async_trait;
use bytes::Bytes;

/// A key-value store with a global revision, compare-and-swap writes and watches.
///
/// Implementations must be safe to share between tasks (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates `key`; fails with [`StoreError::AlreadyExists`] when it exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError>;

    /// The current value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// The keys under `prefix` in key order, at the current revision.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError>;

    /// Replaces `key` if its current `mod_revision` equals `expected` (0 = any);
    /// [`StoreError::Conflict`] otherwise, [`StoreError::NotFound`] when it does not exist.
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue, StoreError>;

    /// Deletes `key` if its current `mod_revision` equals `expected` (0 = any). Returns the last
    /// value, with `mod_revision` set to the revision of the delete.
    async fn delete(&self, key: &str, expected: Revision) -> Result<KeyValue, StoreError>;

    /// Events for keys under `prefix` with a revision greater than `after`, oldest first, then
    /// live events. [`StoreError::Compacted`] when history after `after` is no longer kept.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError>;

    /// The revision of the newest write.
    async fn current_revision(&self) -> Result<Revision, StoreError>;

    /// Drops history up to and including `revision`; watches from before it fail afterwards.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;

    /// The oldest revision a watch can start after.
    async fn compacted_revision(&self) -> Result<Revision, StoreError>;
}
