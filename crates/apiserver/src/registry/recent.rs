//! Recently written objects, decoded. An object's next write usually follows its last one
//! closely (a Pod's create, binding and status update come within milliseconds of each other),
//! so an update finds the current object here, by key and revision, instead of parsing the
//! stored bytes again. A revision names one write, so a hit is exactly what the store holds.
//! Objects are kept without their resourceVersion: the revision beside them is that, and
//! setting it would copy an object that watchers may already share.
//!
//! A write in flight is staged here too, the same object, under the very bytes handed to the
//! store: its watch event, which may reach watchers before the write returns, carries those
//! bytes (the same buffer), so watchers with selectors need not decode them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use skiff_store::Revision;

use crate::object::Object;

/// How many objects are kept: far more than are written concurrently, few enough to be small.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct Recent {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The last write of each key: its revision and the object (without resourceVersion).
    by_key: HashMap<Arc<str>, (Revision, Arc<Object>)>,
    /// Writes in the order they were kept; the oldest goes first.
    order: VecDeque<(Arc<str>, Revision)>,
    /// Writes in flight by key: the bytes given to the store and the object they encode.
    staged: HashMap<Arc<str>, (Bytes, Arc<Object>)>,
}

fn same(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

impl Recent {
    /// The object `key` holds at `rev` (without resourceVersion), if it was written here recently.
    pub fn get(&self, key: &str, rev: Revision) -> Option<Arc<Object>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.by_key.get(key).filter(|(r, _)| *r == rev).map(|(_, v)| v.clone())
    }

    /// Stages a write in flight: `bytes`, about to be given to the store for `key`, and `obj`,
    /// the object they encode.
    pub fn stage(&self, key: &str, bytes: &Bytes, obj: Arc<Object>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.staged.insert(Arc::from(key), (bytes.clone(), obj));
    }

    /// The object `bytes` encode, if they are a write in flight to `key`.
    pub fn staged(&self, key: &str, bytes: &Bytes) -> Option<Arc<Object>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.staged.get(key).filter(|(b, _)| same(b, bytes)).map(|(_, v)| v.clone())
    }

    /// Forgets the staged write of `bytes` (once written, or failed).
    pub fn unstage(&self, key: &str, bytes: &Bytes) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.staged.get(key).is_some_and(|(b, _)| same(b, bytes)) {
            inner.staged.remove(key);
        }
    }

    /// Keeps `obj` (without resourceVersion) as what `key` holds at `rev`.
    pub fn put(&self, key: &str, rev: Revision, obj: Arc<Object>) {
        let key: Arc<str> = Arc::from(key);
        // What leaves is dropped after the lock is released: freeing a Pod takes a while.
        let mut gone = Vec::new();
        {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            gone.extend(inner.by_key.insert(key.clone(), (rev, obj)));
            inner.order.push_back((key, rev));
            while inner.order.len() > CAPACITY {
                let Some((old, rev)) = inner.order.pop_front() else { break };
                // Only if no later write of the key replaced it.
                if inner.by_key.get(&old).is_some_and(|(r, _)| *r == rev) {
                    gone.extend(inner.by_key.remove(&old));
                }
            }
        }
        drop(gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_staged_write_is_found_by_its_very_bytes() {
        let r = Recent::default();
        let bytes = Bytes::from_static(b"{\"metadata\":{\"name\":\"a\"}}");
        r.stage("/pods/a", &bytes, Arc::new(Object::from(json!({"metadata": {"name": "a"}}))));
        assert_eq!(r.staged("/pods/a", &bytes.clone()).unwrap()["metadata"]["name"], "a");
        let equal_elsewhere = Bytes::copy_from_slice(&bytes);
        assert!(r.staged("/pods/a", &equal_elsewhere).is_none(), "only the buffer given to the store");
        assert!(r.staged("/pods/b", &bytes).is_none());
        r.unstage("/pods/a", &equal_elsewhere);
        assert!(r.staged("/pods/a", &bytes).is_some(), "another write's unstage leaves it");
        r.unstage("/pods/a", &bytes);
        assert!(r.staged("/pods/a", &bytes).is_none());
    }

    #[test]
    fn a_hit_is_the_write_at_that_revision_and_old_writes_leave() {
        let r = Recent::default();
        r.put("/pods/a", 5, Arc::new(Object::from(json!({"v": 5}))));
        assert_eq!(r.get("/pods/a", 5).unwrap()["v"], 5);
        assert!(r.get("/pods/a", 4).is_none(), "another revision is another object");
        r.put("/pods/a", 9, Arc::new(Object::from(json!({"v": 9}))));
        assert!(r.get("/pods/a", 5).is_none());
        for i in 0..CAPACITY as i64 {
            r.put(&format!("/pods/{i}"), 100 + i, Arc::default());
        }
        assert!(r.get("/pods/a", 9).is_none(), "evicted, oldest first");
        assert!(r.get("/pods/0", 100).is_some());
        let inner = r.inner.lock().unwrap();
        assert_eq!((inner.by_key.len(), inner.order.len()), (CAPACITY, CAPACITY));
    }
}
