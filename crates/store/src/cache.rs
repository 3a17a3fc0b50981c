//! The watch cache: a decorator over any [`Store`] that keeps every key and a window of recent
//! events in memory, fed by one watch on the inner store. Gets, lists and watches that the
//! window covers never touch the backend; writes go to the backend and return once the cache
//! has seen them, so a client reads its own writes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;

use crate::fanout::{watch_stream, Fanout};
use crate::types::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision, WatchStream};
use crate::{Store, StoreError};

struct State {
    data: BTreeMap<Arc<str>, KeyValue>,
    /// Recent events, oldest first.
    ring: VecDeque<Arc<Event>>,
    /// Every event newer than this revision is in `ring`.
    ring_floor: Revision,
    rev: Revision,
    fanout: Fanout,
}

/// A [`Store`] decorator serving reads and watches from memory.
pub struct WatchCache<S: Store> {
    inner: Arc<S>,
    state: Arc<RwLock<State>>,
    seen: watch::Receiver<Revision>,
    capacity: usize,
}

impl<S: Store> WatchCache<S> {
    /// Loads every key of `inner` and follows its changes; keeps the last `capacity` events.
    pub async fn new(inner: Arc<S>, capacity: usize) -> Result<Self, StoreError> {
        let (data, rev) = load(&*inner).await?;
        let state = Arc::new(RwLock::new(State {
            data,
            ring: VecDeque::with_capacity(capacity.min(1 << 16)),
            ring_floor: rev,
            rev,
            fanout: Fanout::new(),
        }));
        let (tx, seen) = watch::channel(rev);
        let stream = inner.watch("", rev).await?;
        tokio::spawn(follow(inner.clone(), state.clone(), tx, stream, capacity));
        Ok(WatchCache { inner, state, seen, capacity })
    }

    /// The events the cache keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The backend under the cache.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the cache has applied `rev`.
    async fn wait_for(&self, rev: Revision) -> Result<(), StoreError> {
        let mut seen = self.seen.clone();
        seen.wait_for(|r| *r >= rev).await.map(|_| ()).map_err(|_| StoreError::Closed)
    }

    async fn written(&self, kv: KeyValue) -> Result<KeyValue, StoreError> {
        self.wait_for(kv.mod_revision).await?;
        Ok(kv)
    }
}

async fn load<S: Store + ?Sized>(inner: &S) -> Result<(BTreeMap<Arc<str>, KeyValue>, Revision), StoreError> {
    let mut data = BTreeMap::new();
    let mut opts = ListOptions { start_after: None, limit: 10_000 };
    let mut first_rev = None;
    loop {
        let page = inner.list("", opts.clone()).await?;
        let rev = *first_rev.get_or_insert(page.revision);
        if page.revision != rev {
            // The store changed while paging: start over for a consistent snapshot.
            return Box::pin(load(inner)).await;
        }
        opts.start_after = page.items.last().map(|kv| kv.key.to_string());
        for kv in page.items {
            data.insert(kv.key.clone(), kv);
        }
        if !page.more {
            return Ok((data, rev));
        }
    }
}

fn write(state: &RwLock<State>) -> RwLockWriteGuard<'_, State> {
    state.write().unwrap_or_else(|p| p.into_inner())
}

/// Applies the inner store's events to the cache; on a broken watch, reloads and restarts
/// (ending every cache watch, whose clients then re-watch or relist).
async fn follow<S: Store>(
    inner: Arc<S>,
    state: Arc<RwLock<State>>,
    seen: watch::Sender<Revision>,
    mut stream: WatchStream,
    capacity: usize,
) {
    loop {
        while let Some(item) = stream.next().await {
            let ev = match item {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::warn!(error = %e, "watch cache lost its feed; reloading");
                    break;
                }
            };
            let rev = ev.revision();
            {
                let mut st = write(&state);
                match ev.kind {
                    EventKind::Deleted => {
                        st.data.remove(&ev.kv.key);
                    }
                    _ => {
                        st.data.insert(ev.kv.key.clone(), ev.kv.clone());
                    }
                }
                st.rev = rev;
                if st.ring.len() >= capacity {
                    if let Some(old) = st.ring.pop_front() {
                        st.ring_floor = old.revision();
                    }
                }
                st.ring.push_back(ev.clone());
                st.fanout.publish(ev);
            }
            seen.send_replace(rev);
        }
        if seen.is_closed() && Arc::strong_count(&state) == 1 {
            return;
        }
        // Reload and restart.
        loop {
            match load(&*inner).await {
                Ok((data, rev)) => match inner.watch("", rev).await {
                    Ok(s) => {
                        let mut st = write(&state);
                        st.data = data;
                        st.ring.clear();
                        st.ring_floor = rev;
                        st.rev = rev;
                        st.fanout.reset();
                        drop(st);
                        seen.send_replace(rev);
                        stream = s;
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "watch cache: re-watch failed"),
                },
                Err(StoreError::Closed) => return,
                Err(e) => tracing::warn!(error = %e, "watch cache: reload failed"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// A list over a sorted map, shared with [`crate::MemoryStore`].
pub(crate) fn list_map(
    data: &BTreeMap<Arc<str>, KeyValue>,
    prefix: &str,
    opts: &ListOptions,
    rev: Revision,
) -> ListResult {
    use std::ops::Bound;
    let lower = match &opts.start_after {
        Some(s) if s.as_str() >= prefix => Bound::Excluded(s.as_str()),
        _ => Bound::Included(prefix),
    };
    let mut items = Vec::new();
    let mut more = false;
    for (k, kv) in data.range::<str, _>((lower, Bound::Unbounded)) {
        if !k.starts_with(prefix) {
            break;
        }
        if opts.limit != 0 && items.len() == opts.limit {
            more = true;
            break;
        }
        items.push(kv.clone());
    }
    ListResult { items, revision: rev, more }
}

#[async_trait]
impl<S: Store> Store for WatchCache<S> {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        let kv = self.inner.create(key, value).await?;
        self.written(kv).await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.read().data.get(key).cloned())
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        let st = self.read();
        Ok(list_map(&st.data, prefix, &opts, st.rev))
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue, StoreError> {
        let kv = self.inner.update(key, value, expected).await?;
        self.written(kv).await
    }

    async fn delete(&self, key: &str, expected: Revision) -> Result<KeyValue, StoreError> {
        let kv = self.inner.delete(key, expected).await?;
        self.written(kv).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let from_inner = {
            let st = self.read();
            if after > st.rev {
                // Possibly written but not yet seen; wait below.
                false
            } else if after >= st.ring_floor {
                let rx = st.fanout.subscribe();
                let history: Vec<Arc<Event>> = st
                    .ring
                    .iter()
                    .skip_while(|e| e.revision() <= after)
                    .filter(|e| e.kv.key.starts_with(prefix))
                    .cloned()
                    .collect();
                return Ok(watch_stream(history, rx, prefix, after));
            } else {
                true
            }
        };
        if from_inner {
            return self.inner.watch(prefix, after).await;
        }
        let current = self.inner.current_revision().await?;
        if after > current {
            return Err(StoreError::FutureRevision(after));
        }
        self.wait_for(after).await?;
        Box::pin(self.watch(prefix, after)).await
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.read().rev)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.inner.compact(revision).await?;
        let mut st = write(&self.state);
        while st.ring.front().is_some_and(|e| e.revision() <= revision) {
            st.ring.pop_front();
        }
        st.ring_floor = st.ring_floor.max(revision);
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        self.inner.compacted_revision().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn conformance_over_memory() {
        crate::testing::run_all(|| async { WatchCache::new(Arc::new(MemoryStore::new()), 1000).await.unwrap() }).await;
    }

    #[tokio::test]
    async fn old_watch_falls_back_to_inner_history() {
        let inner = Arc::new(MemoryStore::new());
        let cache = WatchCache::new(inner.clone(), 2).await.unwrap();
        for i in 0..5 {
            cache.create(&format!("/a/{i}"), Bytes::from_static(b"x")).await.unwrap();
        }
        let mut w = cache.watch("/a/", 1).await.unwrap();
        let mut revs = Vec::new();
        for _ in 0..4 {
            revs.push(w.next().await.unwrap().unwrap().revision());
        }
        assert_eq!(revs, vec![2, 3, 4, 5]);
    }
}
