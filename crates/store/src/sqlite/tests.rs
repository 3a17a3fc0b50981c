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

#[tokio::test]
async fn revision_survives_compacting_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.create("/k/a", Bytes::from_static(b"1")).await.unwrap();
        let b = s.create("/k/b", Bytes::from_static(b"2")).await.unwrap();
        s.delete("/k/b", b.mod_revision).await.unwrap();
        s.compact(3).await.unwrap();
    }
    let s = open(dir.path());
    assert_eq!(s.current_revision().await.unwrap(), 3);
    assert_eq!(s.list("/k/", ListOptions::default()).await.unwrap().revision, 3);
    assert_eq!(s.create("/k/c", Bytes::from_static(b"3")).await.unwrap().mod_revision, 4);
}

/// A database written before values lived only in the log (`kv` held each current value) opens
/// with every value, revision and the compaction point as they were.
#[tokio::test]
async fn databases_with_a_kv_table_are_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,
                 mod_rev INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, kind INTEGER NOT NULL,
                 value BLOB NOT NULL, create_rev INTEGER NOT NULL, prev_rev INTEGER);
             CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO meta VALUES ('rev', 4), ('compacted', 3);
             -- /k/a created at 1 and updated at 3 (both compacted away), /k/b created at 4.
             INSERT INTO kv VALUES ('/k/a', CAST('a2' AS BLOB), 1, 3), ('/k/b', CAST('b1' AS BLOB), 4, 4);
             INSERT INTO log VALUES (4, '/k/b', 0, CAST('b1' AS BLOB), 4, NULL);",
        )
        .unwrap();
    }
    let s = SqliteStore::open(SqliteOptions::new(&path)).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), 4);
    assert_eq!(s.compacted_revision().await.unwrap(), 3);
    let a = s.get("/k/a").await.unwrap().unwrap();
    assert_eq!((&a.value[..], a.create_revision, a.mod_revision), (&b"a2"[..], 1, 3));
    let all = s.list("/k/", ListOptions::default()).await.unwrap();
    assert_eq!(all.items.iter().map(|kv| &*kv.key).collect::<Vec<_>>(), ["/k/a", "/k/b"]);
    let u = s.update("/k/a", Bytes::from_static(b"a3"), 3).await.unwrap();
    assert_eq!(u.mod_revision, 5);
    // Compacting keeps current values however old their revision.
    s.compact(5).await.unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(&s.get("/k/a").await.unwrap().unwrap().value[..], b"a3");
    assert_eq!(&s.get("/k/b").await.unwrap().unwrap().value[..], b"b1");
}
