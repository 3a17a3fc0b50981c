use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;

use crate::StoreError;

/// A store revision; 0 means "none".
pub type Revision = i64;

/// One key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Arc<str>,
    pub value: Bytes,
    /// The revision that created the key.
    pub create_revision: Revision,
    /// The revision of the last write (or of the delete, for deleted values).
    pub mod_revision: Revision,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
}

/// One change, as watches deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The new value; for deletes the last value, with `mod_revision` the delete's revision.
    pub kv: KeyValue,
    /// The value before the change (None for creates, or when history no longer has it).
    pub prev: Option<KeyValue>,
}

impl Event {
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// Options of [`crate::Store::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Return only keys strictly greater than this one (pagination).
    pub start_after: Option<String>,
    /// At most this many items; 0 = no limit.
    pub limit: usize,
}

/// The result of [`crate::Store::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The store revision the list reflects.
    pub revision: Revision,
    /// True when `limit` cut the list short.
    pub more: bool,
}

/// A stream of watch events; ends with an error item when the watch breaks.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Arc<Event>, StoreError>> + Send>>;
