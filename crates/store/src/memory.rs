//! An in-memory [`Store`], for unit tests of the layers above. Not durable.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;

use crate::fanout::{watch_stream, Fanout};
use crate::types::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision, WatchStream};
use crate::{Store, StoreError};

#[derive(Default)]
struct State {
    rev: Revision,
    compacted: Revision,
    data: BTreeMap<Arc<str>, KeyValue>,
    log: VecDeque<Arc<Event>>,
}

/// A [`Store`] held in memory, with the same semantics as the durable backends.
pub struct MemoryStore {
    state: Mutex<State>,
    fanout: Fanout,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { state: Mutex::new(State::default()), fanout: Fanout::new() }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, st: &mut State, ev: Event) {
        let ev = Arc::new(ev);
        st.log.push_back(ev.clone());
        self.fanout.publish(ev);
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        let mut st = self.lock();
        if st.data.contains_key(key) {
            return Err(StoreError::AlreadyExists(key.to_string()));
        }
        st.rev += 1;
        let kv = KeyValue { key: key.into(), value, create_revision: st.rev, mod_revision: st.rev };
        st.data.insert(kv.key.clone(), kv.clone());
        self.record(&mut st, Event { kind: EventKind::Created, kv: kv.clone(), prev: None });
        Ok(kv)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.lock().data.get(key).cloned())
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        let st = self.lock();
        Ok(crate::cache::list_map(&st.data, prefix, &opts, st.rev))
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue, StoreError> {
        let mut st = self.lock();
        let prev = st.data.get(key).cloned().ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        if expected != 0 && prev.mod_revision != expected {
            return Err(StoreError::Conflict { key: key.to_string(), expected, actual: prev.mod_revision });
        }
        st.rev += 1;
        let kv = KeyValue { key: prev.key.clone(), value, create_revision: prev.create_revision, mod_revision: st.rev };
        st.data.insert(kv.key.clone(), kv.clone());
        self.record(&mut st, Event { kind: EventKind::Updated, kv: kv.clone(), prev: Some(prev) });
        Ok(kv)
    }

    async fn delete(&self, key: &str, expected: Revision) -> Result<KeyValue, StoreError> {
        let mut st = self.lock();
        let prev = st.data.get(key).cloned().ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        if expected != 0 && prev.mod_revision != expected {
            return Err(StoreError::Conflict { key: key.to_string(), expected, actual: prev.mod_revision });
        }
        st.rev += 1;
        st.data.remove(key);
        let kv = KeyValue { mod_revision: st.rev, ..prev.clone() };
        self.record(&mut st, Event { kind: EventKind::Deleted, kv: kv.clone(), prev: Some(prev) });
        Ok(kv)
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let st = self.lock();
        if after < st.compacted {
            return Err(StoreError::Compacted { requested: after, compacted: st.compacted });
        }
        if after > st.rev {
            return Err(StoreError::FutureRevision(after));
        }
        let rx = self.fanout.subscribe();
        let history = st.log.iter().filter(|e| e.revision() > after && e.kv.key.starts_with(prefix)).cloned().collect();
        Ok(watch_stream(history, rx, prefix, after))
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.lock().rev)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let mut st = self.lock();
        if revision > st.rev {
            return Err(StoreError::FutureRevision(revision));
        }
        while st.log.front().is_some_and(|e| e.revision() <= revision) {
            st.log.pop_front();
        }
        st.compacted = st.compacted.max(revision);
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.lock().compacted)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conformance() {
        crate::testing::run_all(|| async { super::MemoryStore::new() }).await;
    }
}
