//! The conformance suite: every [`Store`] implementation (and the watch cache over one) must
//! pass [`run_all`]. Each case gets a fresh, empty store from the factory.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::{EventKind, ListOptions, Store, StoreError, WatchStream};

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

async fn next(w: &mut WatchStream) -> std::sync::Arc<crate::Event> {
    tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("watch event within 5s")
        .expect("stream open")
        .expect("event, not error")
}

/// Runs every conformance case, each on a new store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    create_and_get(&make().await).await;
    revisions_increase_globally(&make().await).await;
    update_compare_and_swap(&make().await).await;
    delete_compare_and_swap(&make().await).await;
    list_prefix_and_pagination(&make().await).await;
    watch_history_then_live(&make().await).await;
    watch_filters_by_prefix(&make().await).await;
    watch_compacted_is_gone(&make().await).await;
    concurrent_writes_get_unique_revisions(make().await).await;
}

/// Create assigns create and mod revisions; a second create of the key fails.
pub async fn create_and_get<S: Store>(s: &S) {
    assert_eq!(s.get("/a/x").await.unwrap(), None);
    let kv = s.create("/a/x", b("1")).await.unwrap();
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert!(kv.mod_revision > 0);
    assert_eq!(s.get("/a/x").await.unwrap(), Some(kv.clone()));
    assert_eq!(s.create("/a/x", b("2")).await, Err(StoreError::AlreadyExists("/a/x".into())));
    assert_eq!(s.get("/a/x").await.unwrap().unwrap().value, b("1"));
}

/// One revision counter across all keys; failed writes do not consume revisions.
pub async fn revisions_increase_globally<S: Store>(s: &S) {
    let r0 = s.current_revision().await.unwrap();
    let a = s.create("/a/1", b("x")).await.unwrap();
    let bb = s.create("/b/1", b("x")).await.unwrap();
    let _ = s.create("/a/1", b("x")).await;
    let c = s.update("/a/1", b("y"), 0).await.unwrap();
    assert_eq!(a.mod_revision, r0 + 1);
    assert_eq!(bb.mod_revision, r0 + 2);
    assert_eq!(c.mod_revision, r0 + 3);
    assert_eq!(c.create_revision, a.create_revision);
    assert_eq!(s.current_revision().await.unwrap(), r0 + 3);
}

/// Update succeeds only against the current revision (or 0), and fails on missing keys.
pub async fn update_compare_and_swap<S: Store>(s: &S) {
    let kv = s.create("/a/x", b("1")).await.unwrap();
    let kv2 = s.update("/a/x", b("2"), kv.mod_revision).await.unwrap();
    match s.update("/a/x", b("3"), kv.mod_revision).await {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, kv2.mod_revision),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(s.get("/a/x").await.unwrap().unwrap().value, b("2"));
    assert!(matches!(s.update("/a/none", b("1"), 0).await, Err(StoreError::NotFound(_))));
}

/// Delete honours the precondition and returns the last value at the delete's revision.
pub async fn delete_compare_and_swap<S: Store>(s: &S) {
    let kv = s.create("/a/x", b("1")).await.unwrap();
    assert!(matches!(s.delete("/a/x", kv.mod_revision + 100).await, Err(StoreError::Conflict { .. })));
    let del = s.delete("/a/x", kv.mod_revision).await.unwrap();
    assert_eq!(del.value, b("1"));
    assert!(del.mod_revision > kv.mod_revision);
    assert_eq!(s.get("/a/x").await.unwrap(), None);
    assert!(matches!(s.delete("/a/x", 0).await, Err(StoreError::NotFound(_))));
    // The key can be created again, with a new create revision.
    let again = s.create("/a/x", b("2")).await.unwrap();
    assert!(again.create_revision > del.mod_revision);
}

/// Lists return keys under the prefix in order, pages with limit/start_after, and the revision.
pub async fn list_prefix_and_pagination<S: Store>(s: &S) {
    for k in ["/p/c", "/p/a", "/p/b", "/pz", "/q/a", "/p/d"] {
        s.create(k, b("v")).await.unwrap();
    }
    let all = s.list("/p/", ListOptions::default()).await.unwrap();
    let keys: Vec<&str> = all.items.iter().map(|kv| &*kv.key).collect();
    assert_eq!(keys, ["/p/a", "/p/b", "/p/c", "/p/d"]);
    assert!(!all.more);
    assert_eq!(all.revision, s.current_revision().await.unwrap());

    let p1 = s.list("/p/", ListOptions { start_after: None, limit: 3 }).await.unwrap();
    assert_eq!(p1.items.len(), 3);
    assert!(p1.more);
    let last = p1.items.last().unwrap().key.to_string();
    let p2 = s.list("/p/", ListOptions { start_after: Some(last), limit: 3 }).await.unwrap();
    assert_eq!(p2.items.iter().map(|kv| &*kv.key).collect::<Vec<_>>(), ["/p/d"]);
    assert!(!p2.more);
    let exact = s.list("/p/", ListOptions { start_after: None, limit: 4 }).await.unwrap();
    assert!(!exact.more);
}

/// A watch from a revision replays history after it, then delivers live events, with kinds
/// and previous values.
pub async fn watch_history_then_live<S: Store>(s: &S) {
    let a = s.create("/w/a", b("1")).await.unwrap();
    s.update("/w/a", b("2"), 0).await.unwrap();
    let mut w = s.watch("/w/", a.mod_revision).await.unwrap();
    let e1 = next(&mut w).await;
    assert_eq!(e1.kind, EventKind::Updated);
    assert_eq!(e1.kv.value, b("2"));
    assert_eq!(e1.prev.as_ref().unwrap().value, b("1"));
    s.delete("/w/a", 0).await.unwrap();
    let e2 = next(&mut w).await;
    assert_eq!(e2.kind, EventKind::Deleted);
    assert_eq!(e2.kv.value, b("2"));
    assert!(e2.revision() > e1.revision());
    let c = s.create("/w/c", b("3")).await.unwrap();
    let e3 = next(&mut w).await;
    assert_eq!((e3.kind, e3.revision()), (EventKind::Created, c.mod_revision));
    assert!(e3.prev.is_none());

    // A watch from the current revision sees only what comes after.
    let now = s.current_revision().await.unwrap();
    let mut w2 = s.watch("/w/", now).await.unwrap();
    let d = s.create("/w/d", b("4")).await.unwrap();
    assert_eq!(next(&mut w2).await.revision(), d.mod_revision);
}

/// Watches see only keys under their prefix.
pub async fn watch_filters_by_prefix<S: Store>(s: &S) {
    let now = s.current_revision().await.unwrap();
    let mut w = s.watch("/pods/ns1/", now).await.unwrap();
    s.create("/pods/ns2/a", b("x")).await.unwrap();
    s.create("/pods/ns1x", b("x")).await.unwrap();
    let want = s.create("/pods/ns1/a", b("x")).await.unwrap();
    assert_eq!(next(&mut w).await.kv.key.as_ref(), "/pods/ns1/a");
    let _ = want;
}

/// Watching from a compacted revision fails with Compacted; newer ones work.
pub async fn watch_compacted_is_gone<S: Store>(s: &S) {
    let mut revs = Vec::new();
    for i in 0..4 {
        revs.push(s.create(&format!("/c/{i}"), b("x")).await.unwrap().mod_revision);
    }
    s.compact(revs[2]).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), revs[2]);
    assert!(matches!(s.watch("/c/", revs[0]).await, Err(StoreError::Compacted { .. })));
    let mut w = s.watch("/c/", revs[2]).await.unwrap();
    assert_eq!(next(&mut w).await.revision(), revs[3]);
    // Data itself is untouched by compaction.
    assert_eq!(s.list("/c/", ListOptions::default()).await.unwrap().items.len(), 4);
}

/// Concurrent writers each get a distinct revision and all writes are visible.
pub async fn concurrent_writes_get_unique_revisions<S: Store>(s: S) {
    let s = std::sync::Arc::new(s);
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("/cc/", start).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..25 {
                revs.push(s.create(&format!("/cc/{t}-{i}"), b("x")).await.unwrap().mod_revision);
            }
            revs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200);
    assert_eq!(s.list("/cc/", ListOptions::default()).await.unwrap().items.len(), 200);
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen.push(next(&mut w).await.revision());
    }
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "watch events in revision order");
}
