//! `skiff bench store`: durable writes/s of the default backend (SQLite with group commit)
//! and of redb driven the same way (one writer thread committing queued creates together,
//! current value plus history row per write), with 1 and 16 concurrent writers.

use std::sync::mpsc;

use redb::ReadableTable;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use skiff_store::{SqliteOptions, SqliteStore, Store};
use tokio::sync::oneshot;

use crate::Stats;

/// Errors of the store benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] skiff_store::StoreError),
    #[error("redb: {0}")]
    Redb(String),
}

const VALUE: &[u8] = &[b'x'; 1200];

async fn drive<F, Fut>(writers: usize, duration: Duration, write: F) -> Result<Stats, BenchError>
where
    F: Fn(String) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<(), BenchError>> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let write = write.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while start.elapsed() < duration {
                let t = Instant::now();
                write(format!("/registry/configmaps/bench/{w}-{i}")).await?;
                lat.push(t.elapsed());
                i += 1;
            }
            Ok::<_, BenchError>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| BenchError::Redb(e.to_string()))??);
    }
    Ok(Stats::new(all, start.elapsed()))
}

type RedbReq = (String, oneshot::Sender<Result<(), String>>);

const KV: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("kv");
const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");

fn commit_batch(db: &redb::Database, batch: &[RedbReq], rev: &mut u64) -> Result<(), Box<redb::Error>> {
    let txn = db.begin_write().map_err(|e| Box::new(e.into()))?;
    {
        let mut kv = txn.open_table(KV).map_err(|e| Box::new(e.into()))?;
        let mut log = txn.open_table(LOG).map_err(|e| Box::new(e.into()))?;
        for (key, _) in batch {
            if kv.get(key.as_str()).map_err(|e| Box::new(e.into()))?.is_none() {
                *rev += 1;
                kv.insert(key.as_str(), VALUE).map_err(|e| Box::new(e.into()))?;
                log.insert(*rev, VALUE).map_err(|e| Box::new(e.into()))?;
            }
        }
    }
    txn.commit().map_err(|e| Box::new(e.into()))?;
    Ok(())
}

fn redb_writer(db: redb::Database, rx: mpsc::Receiver<RedbReq>) {
    let mut rev = 0u64;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let result = commit_batch(&db, &batch, &mut rev).map_err(|e| e.to_string());
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}

/// Runs the store benchmark; returns the report lines.
pub async fn run(duration: Duration) -> Result<Vec<String>, BenchError> {
    let mut out = Vec::new();
    for writers in [1usize, 16] {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(SqliteOptions::new(dir.path().join("state.db")))?);
        let s = drive(writers, duration, move |key| {
            let store = store.clone();
            async move {
                store.create(&key, Bytes::from_static(VALUE)).await?;
                Ok(())
            }
        })
        .await?;
        out.push(s.line(&format!("sqlite (default) create, {writers} writer(s)")));

        let dir = tempfile::tempdir()?;
        let db = redb::Database::create(dir.path().join("state.redb")).map_err(|e| BenchError::Redb(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<RedbReq>();
        std::thread::spawn(move || redb_writer(db, rx));
        let s = drive(writers, duration, move |key| {
            let tx = tx.clone();
            async move {
                let (reply, wait) = oneshot::channel();
                tx.send((key, reply)).map_err(|e| BenchError::Redb(e.to_string()))?;
                wait.await.map_err(|e| BenchError::Redb(e.to_string()))?.map_err(BenchError::Redb)
            }
        })
        .await?;
        out.push(s.line(&format!("redb create, {writers} writer(s)")));
    }
    Ok(out)
}
