//! The durable default backend: SQLite (bundled) in WAL mode with `synchronous=FULL`.
//!
//! All writes go through one writer thread that commits whatever is queued in one transaction
//! (group commit): a write is acknowledged only after its transaction is durable, and many
//! concurrent writers share one fsync. Reads use a separate connection (WAL snapshots).
//!
//! Tables: `log` holds one row per revision with its value (the history watches replay),
//! `live` points each key at the log row of its current value, `meta` keeps the compacted
//! revision.

mod schema;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::fanout::{prefix_end, watch_stream, Fanout};
use crate::types::{Event, EventKind, KeyValue, ListOptions, ListResult, Revision, WatchStream};
use crate::{Store, StoreError};
use writer::{Op, Request};

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// fsync every commit (`synchronous=FULL`). Only tests turn this off.
    pub durable: bool,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions { path: path.into(), durable: true }
    }
}

struct Shared {
    fanout: Fanout,
    rev: AtomicI64,
    compacted: AtomicI64,
}

/// A [`Store`] in one SQLite database file.
pub struct SqliteStore {
    writer: std::sync::mpsc::Sender<Request>,
    reader: Arc<Mutex<Connection>>,
    shared: Arc<Shared>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and starts the writer thread.
    pub fn open(opts: SqliteOptions) -> Result<Self, StoreError> {
        if let Some(dir) = opts.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        }
        let conn = schema::open(&opts.path, opts.durable)?;
        let (rev, compacted) = schema::revisions(&conn)?;
        let reader = schema::open(&opts.path, opts.durable)?;
        let shared =
            Arc::new(Shared { fanout: Fanout::new(), rev: AtomicI64::new(rev), compacted: AtomicI64::new(compacted) });
        let (tx, rx) = std::sync::mpsc::channel();
        let sh = shared.clone();
        std::thread::Builder::new()
            .name("skiff-store-writer".into())
            .spawn(move || writer::run(conn, rx, sh, rev))
            .map_err(|e| StoreError::Backend(format!("spawn writer: {e}")))?;
        Ok(SqliteStore { writer: tx, reader: Arc::new(Mutex::new(reader)), shared })
    }

    async fn write(&self, op: Op) -> Result<KeyValue, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(Request { op, reply }).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task: {e}")))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StoreError> {
        self.write(Op::Create { key: key.into(), value }).await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.read(move |conn| {
            conn.query_row(schema::GET, params![key], |r| {
                Ok(KeyValue {
                    key: key.as_str().into(),
                    value: Bytes::from(r.get::<_, Vec<u8>>(0)?),
                    create_revision: r.get(1)?,
                    mod_revision: r.get(2)?,
                })
            })
            .optional()
            .map_err(StoreError::from)
        })
        .await
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StoreError> {
        let prefix = prefix.to_string();
        self.read(move |conn| {
            let tx = conn.transaction()?;
            let rev: Revision = tx.prepare_cached(schema::CURRENT_REVISION)?.query_row([], |r| r.get(0))?;
            let start = match &opts.start_after {
                Some(s) if s.as_str() >= prefix.as_str() => s.clone(),
                _ => prefix.clone(),
            };
            let strict = opts.start_after.as_deref().is_some_and(|s| s >= prefix.as_str());
            let end = prefix_end(&prefix).unwrap_or_else(|| "\u{7f}".repeat(8));
            let limit: i64 = if opts.limit == 0 { -1 } else { opts.limit as i64 + 1 };
            let sql = if strict { schema::RANGE_AFTER } else { schema::RANGE_FROM };
            let mut stmt = tx.prepare_cached(sql)?;
            let mut items = stmt
                .query_map(params![start, end, limit], |r| {
                    Ok(KeyValue {
                        key: r.get::<_, String>(0)?.into(),
                        value: Bytes::from(r.get::<_, Vec<u8>>(1)?),
                        create_revision: r.get(2)?,
                        mod_revision: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let more = opts.limit != 0 && items.len() > opts.limit;
            items.truncate(if opts.limit == 0 { items.len() } else { opts.limit });
            Ok(ListResult { items, revision: rev, more })
        })
        .await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<KeyValue, StoreError> {
        self.write(Op::Update { key: key.into(), value, expected }).await
    }

    async fn delete(&self, key: &str, expected: Revision) -> Result<KeyValue, StoreError> {
        self.write(Op::Delete { key: key.into(), expected }).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        // Subscribe first, then read history: events committed in between arrive twice and
        // the stream drops the duplicates by revision.
        let rx = self.shared.fanout.subscribe();
        let compacted = self.shared.compacted.load(Ordering::SeqCst);
        if after < compacted {
            return Err(StoreError::Compacted { requested: after, compacted });
        }
        let current = self.shared.rev.load(Ordering::SeqCst);
        if after > current {
            return Err(StoreError::FutureRevision(after));
        }
        let history = if after < current {
            let p = prefix.to_string();
            self.read(move |conn| history(conn, &p, after)).await?
        } else {
            Vec::new()
        };
        Ok(watch_stream(history, rx, prefix, after))
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.rev.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.write(Op::Compact { revision }).await.map(|_| ())
    }

    async fn compacted_revision(&self) -> Result<Revision, StoreError> {
        Ok(self.shared.compacted.load(Ordering::SeqCst))
    }
}

/// The logged events under `prefix` after `after`, with their previous values where history
/// still has them.
fn history(conn: &mut Connection, prefix: &str, after: Revision) -> Result<Vec<Arc<Event>>, StoreError> {
    let end = prefix_end(prefix).unwrap_or_else(|| "\u{7f}".repeat(8));
    let mut stmt = conn.prepare_cached(
        "SELECT l.rev, l.key, l.kind, l.value, l.create_rev, p.rev, p.value
         FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
         WHERE l.rev > ?1 AND l.key >= ?2 AND l.key < ?3 ORDER BY l.rev",
    )?;
    let rows = stmt.query_map(params![after, prefix, end], |r| {
        let key: Arc<str> = r.get::<_, String>(1)?.into();
        let kind = match r.get::<_, i64>(2)? {
            0 => EventKind::Created,
            1 => EventKind::Updated,
            _ => EventKind::Deleted,
        };
        let create_revision: Revision = r.get(4)?;
        let kv = KeyValue {
            key: key.clone(),
            value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
            create_revision,
            mod_revision: r.get(0)?,
        };
        let prev = match r.get::<_, Option<Revision>>(5)? {
            Some(prev_rev) => Some(KeyValue {
                key,
                value: Bytes::from(r.get::<_, Vec<u8>>(6)?),
                create_revision,
                mod_revision: prev_rev,
            }),
            None => None,
        };
        Ok(Arc::new(Event { kind, kv, prev }))
    })?;
    rows.collect::<Result<Vec<_>, _>>().map_err(StoreError::from)
}

#[cfg(test)]
mod tests;
