//! The controller manager's machinery, as client-go gives it to kube-controller-manager:
//!
//! - [`claim`]: adopting and releasing dependents by selector (`ControllerRefManager`);
//! - [`cache`]: objects of one type by namespace and name, shared by every controller;
//! - [`informer`]: list + watch (kube-runtime's watcher: re-lists on 410) into a cache,
//!   telling registered handlers what changed;
//! - [`queue`]: a work queue of keys that never hands one key to two workers at once,
//!   dedupes, and retries with per-key exponential back-off;
//! - [`expectations`]: creates and deletes in flight per controller key, so a controller does
//!   not act again before it has seen the effects of its last action;
//! - [`runner`]: workers that take keys and call a [`runner::Reconcile`];
//! - [`writer`]: the writes controllers make, behind a trait (the API, or a fake in tests).

use futures::future::join_all;

use self::writer::WriteError;

pub mod cache;
pub mod claim;
pub mod expectations;
pub mod history;
pub mod informer;
pub mod queue;
pub mod runner;
pub mod writer;

/// The key of a namespaced object (`namespace/name`), as client-go's MetaNamespaceKeyFunc.
pub fn key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Splits a key made by [`key`] into namespace and name.
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// The key of any object.
pub fn key_of<K: kube::Resource>(obj: &K) -> String {
    let m = obj.meta();
    key(m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""))
}

/// Runs `n` calls in batches of 1, 2, 4, … and stops after the first batch with a failure
/// (`slowStartBatch`), so a failing create (quota, admission) is tried a few times, not `n`.
/// Returns how many succeeded and the first error.
pub async fn slow_start_batch<F, Fut, T>(n: usize, call: F) -> (usize, Option<WriteError>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, WriteError>>,
{
    let mut done = 0;
    let mut batch = 1;
    while done < n {
        let size = batch.min(n - done);
        let results = join_all((done..done + size).map(&call)).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        done += size;
        if ok < size {
            let err = results.into_iter().find_map(Result::err);
            return (done - size + ok, err);
        }
        batch *= 2;
    }
    (done, None)
}
