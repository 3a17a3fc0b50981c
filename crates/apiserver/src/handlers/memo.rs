//! What every watcher of one store event shares: the object decoded once (for Tables), its
//! PartialObjectMetadata bytes made once (for metadata-only watchers such as the garbage
//! collector's), what selectors read of it and of its previous version (`selectable`: the
//! written object itself when the write left it in `recent`, else decoded once), and the
//! object's wire bytes made once, by whichever watcher asks first. Without it, each watcher
//! with a selector decoded every event of its resource twice and encoded it again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use serde_json::Value;
use skiff_store::{Event, EventKind, Revision};

use crate::object::Object;
use crate::registry::Recent;
use crate::{objects, selectable};

/// How many recent events are remembered: far more than watchers fall apart in practice
/// (they read the same broadcast), few enough to be small.
const CAPACITY: usize = 1024;

/// One event's shared forms.
#[derive(Default)]
pub struct Shared {
    object: OnceLock<Option<Arc<Value>>>,
    metadata: OnceLock<Option<Bytes>>,
    selectable: OnceLock<Option<Arc<Object>>>,
    prev_selectable: OnceLock<Option<Arc<Object>>>,
    raw: OnceLock<Option<Bytes>>,
}

impl Shared {
    /// The new (or, for deletes, last) object.
    pub fn object(&self, ev: &Event) -> Option<&Value> {
        self.object.get_or_init(|| objects::decode(&ev.kv).ok().map(Arc::new)).as_deref()
    }

    /// The new (or, for deletes, last) object as PartialObjectMetadata JSON.
    pub fn metadata(&self, ev: &Event) -> Option<&Bytes> {
        self.metadata.get_or_init(|| objects::raw_metadata_only(&ev.kv).ok()).as_ref()
    }

    /// What selectors read of the new (or, for deletes, last) object: the whole object (without
    /// resourceVersion, which no selector reads) if the write that made it has left it decoded
    /// in `recent`, staged or done.
    pub fn selectable(&self, ev: &Event, recent: &Recent) -> Option<&Value> {
        self.selectable
            .get_or_init(|| {
                let written = (ev.kind != EventKind::Deleted).then(|| {
                    recent.get(&ev.kv.key, ev.kv.mod_revision).or_else(|| recent.staged(&ev.kv.key, &ev.kv.value))
                });
                written.flatten().or_else(|| selectable::decode(&ev.kv.value).ok().map(decoded))
            })
            .as_deref()
            .map(Object::tree)
    }

    /// What selectors read of the object before the change, if the event carries it: taken
    /// from the event that wrote it, when that one was decoded already.
    pub fn prev_selectable(&self, ev: &Event, memo: &Memo) -> Option<&Value> {
        self.prev_selectable
            .get_or_init(|| {
                let prev = ev.prev.as_ref()?;
                let earlier = memo.peek(prev.mod_revision).and_then(|s| s.selectable.get().cloned().flatten());
                earlier.or_else(|| selectable::decode(&prev.value).ok().map(decoded))
            })
            .as_deref()
            .map(Object::tree)
    }

    /// The object as JSON with its resourceVersion, as watch events carry it.
    pub fn raw(&self, ev: &Event) -> Option<&Bytes> {
        self.raw.get_or_init(|| objects::raw_with_rv(&ev.kv).ok()).as_ref()
    }
}

/// What selectors read of an object, decoded, held as `recent` holds whole objects.
fn decoded(part: Value) -> Arc<Object> {
    Arc::new(Object::new(part, None))
}

/// Recent events' shared forms by revision (each revision is one event).
#[derive(Default)]
pub struct Memo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_rev: HashMap<Revision, Arc<Shared>>,
    order: VecDeque<Revision>,
}

impl Memo {
    fn peek(&self, rev: Revision) -> Option<Arc<Shared>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).by_rev.get(&rev).cloned()
    }

    /// The shared forms of the event at `rev` (new and empty if nobody asked yet).
    pub fn get(&self, rev: Revision) -> Arc<Shared> {
        // What leaves is dropped after the lock is released: freeing an object takes a while,
        // and every watcher takes this lock for every event.
        let mut gone = Vec::new();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = inner.by_rev.get(&rev) {
            return s.clone();
        }
        let s = Arc::new(Shared::default());
        inner.by_rev.insert(rev, s.clone());
        inner.order.push_back(rev);
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                gone.extend(inner.by_rev.remove(&old));
            }
        }
        drop(inner);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_store::KeyValue;

    fn event(rev: Revision, name: &str) -> Event {
        let value = serde_json::to_vec(&serde_json::json!({"metadata": {"name": name}})).unwrap();
        let kv = KeyValue { key: "/k".into(), value: value.into(), create_revision: rev, mod_revision: rev };
        Event { kind: EventKind::Created, kv, prev: None }
    }

    #[test]
    fn one_event_is_decoded_once_for_every_watcher() {
        let memo = Memo::default();
        let ev = event(7, "a");
        let a = memo.get(7);
        let b = memo.get(7);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.object(&ev).unwrap()["metadata"]["name"], "a");
        assert!(b.object.get().is_some(), "the second watcher sees the first one's decode");
        assert_eq!(a.selectable(&ev, &Recent::default()).unwrap()["metadata"]["name"], "a");
        let meta: Value = serde_json::from_slice(a.metadata(&ev).unwrap()).unwrap();
        assert_eq!(meta["metadata"]["resourceVersion"], "7");
        assert!(a.prev_selectable(&ev, &memo).is_none());
        let raw = a.raw(&ev).unwrap();
        let v: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn metadata_alone_is_made_once_as_partial_object_metadata() {
        let value = serde_json::to_vec(&serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c"}]}
        }))
        .unwrap();
        let kv = KeyValue { key: "/k".into(), value: value.into(), create_revision: 9, mod_revision: 9 };
        let ev = Event { kind: EventKind::Created, kv, prev: None };
        let memo = Memo::default();
        let meta: Value = serde_json::from_slice(memo.get(9).metadata(&ev).unwrap()).unwrap();
        assert_eq!(
            meta,
            serde_json::json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"name": "p", "labels": {"a": "b"}, "resourceVersion": "9"}})
        );
        assert!(memo.get(9).metadata.get().is_some(), "kept for the next watcher");
    }

    #[test]
    fn the_previous_object_is_the_earlier_events_object() {
        let memo = Memo::default();
        let first = event(3, "a");
        let earlier = memo.get(3);
        let decoded = earlier.selectable(&first, &Recent::default()).unwrap() as *const Value;
        let mut second = event(5, "a");
        second.kind = EventKind::Updated;
        second.prev = Some(first.kv.clone());
        let prev = memo.get(5).prev_selectable(&second, &memo).unwrap() as *const Value;
        assert_eq!(prev, decoded, "not decoded a second time");
    }

    #[test]
    fn old_events_are_forgotten() {
        let memo = Memo::default();
        let first = memo.get(1);
        for rev in 2..(CAPACITY as i64 + 2) {
            memo.get(rev);
        }
        assert!(!Arc::ptr_eq(&first, &memo.get(1)));
        assert!(memo.inner.lock().unwrap().by_rev.len() <= CAPACITY);
    }
}
