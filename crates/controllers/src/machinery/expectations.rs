//! Expectations (client-go's `ControllerExpectations` with UID tracking for deletes): before a
//! controller creates or deletes Pods for a key it records how many creates and which deletes
//! it expects; the informer's handlers mark them observed. Until they all are (or 5 minutes
//! pass, in case a watch event was lost), the controller does not act on that key again, so
//! it does not create twice what its cache has not shown yet.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use super::key_of;
use super::queue::WorkQueue;

/// How long expectations hold before the controller acts anyway.
pub const TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expected {
    adds: i64,
    deletes: HashSet<String>,
    since: Instant,
}

/// Creates and deletes in flight, per controller key.
#[derive(Debug, Default)]
pub struct Expectations {
    inner: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Expected>) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Expects `n` creates for `key` (replacing what was expected).
    pub fn expect_creations(&self, key: &str, n: usize) {
        self.with(|m| {
            m.insert(key.into(), Expected { adds: n as i64, deletes: HashSet::new(), since: Instant::now() });
        });
    }

    /// Expects the deletion of the Pods `pod_keys` for `key` (replacing what was expected).
    pub fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        self.with(|m| {
            m.insert(key.into(), Expected { adds: 0, deletes: pod_keys.into_iter().collect(), since: Instant::now() });
        });
    }

    /// One expected create was seen (or will never happen: the create failed or was skipped).
    pub fn creation_observed(&self, key: &str) {
        self.with(|m| {
            if let Some(e) = m.get_mut(key) {
                e.adds -= 1;
            }
        });
    }

    /// The deletion of `pod_key` was seen (or failed).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        self.with(|m| {
            if let Some(e) = m.get_mut(key) {
                e.deletes.remove(pod_key);
            }
        });
    }

    /// Whether the controller may act on `key`: nothing expected, everything observed, or
    /// the expectations expired.
    pub fn satisfied(&self, key: &str) -> bool {
        self.with(|m| match m.get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.since.elapsed() > TIMEOUT,
        })
    }

    /// Forgets `key` (its object is gone).
    pub fn forget(&self, key: &str) {
        self.with(|m| {
            m.remove(key);
        });
    }
}

/// A change of a Pod whose owner is found by `owner_key`: its creation or deletion settles the
/// owner's expectations, and any change wakes the owner (old and new owner on a re-parent).
pub fn observe_pod(
    expectations: &Expectations,
    queue: &WorkQueue,
    owner_key: impl Fn(&Pod) -> Option<String>,
    old: Option<&Arc<Pod>>,
    new: Option<&Arc<Pod>>,
) {
    match (old, new) {
        (None, Some(pod)) => {
            if let Some(key) = owner_key(pod) {
                if pod.metadata.deletion_timestamp.is_some() {
                    expectations.deletion_observed(&key, &key_of(pod.as_ref()));
                } else {
                    expectations.creation_observed(&key);
                }
                queue.add(key);
            }
        }
        (Some(old), Some(new)) => {
            if old.metadata.resource_version == new.metadata.resource_version {
                return;
            }
            for p in [old, new] {
                if let Some(key) = owner_key(p) {
                    if new.metadata.deletion_timestamp.is_some() {
                        expectations.deletion_observed(&key, &key_of(new.as_ref()));
                    }
                    queue.add(key);
                }
            }
        }
        (Some(pod), None) => {
            if let Some(key) = owner_key(pod) {
                expectations.deletion_observed(&key, &key_of(pod.as_ref()));
                queue.add(key);
            }
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_until_its_creates_and_deletes_are_seen() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        e.expect_deletions("ns/rs", ["ns/p1".to_string(), "ns/p2".to_string()]);
        e.deletion_observed("ns/rs", "ns/p1");
        e.deletion_observed("ns/rs", "ns/p1");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/p2");
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 1);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}
