use super::*;

fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(SqliteOptions::new(dir.join("state.db"))).expect("open")
}

#[tokio::test]
async fn conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    crate::testing::run_all(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        dirs.lock().unwrap().push(dir);
        async move { store }
    })
    .await;
}

#[tokio::test]
async fn conformance_through_watch_cache() {
    let dirs = std::sync::Mutex::new(Vec::new());
    crate::testing::run_all(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(open(dir.path()));
        dirs.lock().unwrap().push(dir);
        async move { crate::WatchCache::new(store, 1000).await.expect("cache") }
    })
    .await;
}

#[tokio::test]
async fn acknowledged_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b);
    {
        let s = open(dir.path());
        a = s.create("/k/a", Bytes::from_static(b"1")).await.unwrap();
        b = s.update("/k/a", Bytes::from_static(b"2"), a.mod_revision).await.unwrap();
        s.create("/k/b", Bytes::from_static(b"3")).await.unwrap();
        s.delete("/k/b", 0).await.unwrap();
    }
    let s = open(dir.path());
    let got = s.get("/k/a").await.unwrap().unwrap();
    assert_eq!(got, b);
    assert_eq!(got.create_revision, a.create_revision);
    assert!(s.get("/k/b").await.unwrap().is_none());
    assert_eq!(s.current_revision().await.unwrap(), 4);
    // The next write continues the revision sequence.
    let c = s.create("/k/c", Bytes::from_static(b"4")).await.unwrap();
    assert_eq!(c.mod_revision, 5);
}

#[tokio::test]
async fn compaction_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for i in 0..5 {
            s.create(&format!("/k/{i}"), Bytes::from_static(b"x")).await.unwrap();
        }
        s.compact(3).await.unwrap();
    }
    let s = open(dir.path());
    assert_eq!(s.compacted_revision().await.unwrap(), 3);
    assert!(matches!(s.watch("/k/", 2).await, Err(StoreError::Compacted { .. })));
    assert!(s.watch("/k/", 3).await.is_ok());
}
