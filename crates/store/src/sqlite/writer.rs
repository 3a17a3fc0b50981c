//! The writer thread: group commit of queued writes.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::Shared;
use crate::types::{Event, EventKind, KeyValue, Revision};
use crate::StoreError;

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 1024;

pub(super) enum Op {
    Create { key: Arc<str>, value: Bytes },
    Update { key: Arc<str>, value: Bytes, expected: Revision },
    Delete { key: Arc<str>, expected: Revision },
    Compact { revision: Revision },
}

pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<KeyValue, StoreError>>,
}

type Outcome = Result<(KeyValue, Option<Event>), StoreError>;

/// How long a batch waits for more writes when writes came in while the last one was
/// committing. Such writes come from more writers than the ones a commit answers, so more
/// are on their way: one commit (and one fsync) for all of them costs less CPU than one
/// each. Writes that wait on each other (a lone client's, in turn) never linger.
const LINGER: Duration = Duration::from_micros(500);

/// Runs until every sender is gone.
pub(super) fn run(mut conn: Connection, rx: Receiver<Request>, shared: Arc<Shared>, mut rev: Revision) {
    loop {
        // Writes already queued arrived while the last batch was committing.
        let (first, busy) = match rx.try_recv() {
            Ok(r) => (r, true),
            Err(TryRecvError::Empty) => match rx.recv() {
                Ok(r) => (r, false),
                Err(_) => return,
            },
            Err(TryRecvError::Disconnected) => return,
        };
        if busy {
            // Asleep rather than waiting on the channel: the writes arriving meanwhile do not
            // wake this thread one by one.
            std::thread::sleep(LINGER);
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let start_rev = rev;
        let result = commit_batch(&mut conn, &batch, &mut rev);
        match result {
            Ok(outcomes) => {
                shared.rev.store(rev, Ordering::SeqCst);
                for (req, outcome) in batch.into_iter().zip(outcomes) {
                    let reply = match outcome {
                        Ok((kv, ev)) => {
                            if let Some(ev) = ev {
                                shared.fanout.publish(Arc::new(ev));
                            }
                            if let Op::Compact { revision } = req.op {
                                shared.compacted.fetch_max(revision, Ordering::SeqCst);
                            }
                            Ok(kv)
                        }
                        Err(e) => Err(e),
                    };
                    let _ = req.reply.send(reply);
                }
            }
            Err(e) => {
                rev = start_rev;
                tracing::error!(error = %e, "store commit failed");
                for req in batch {
                    let _ = req.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: &[Request], rev: &mut Revision) -> Result<Vec<Outcome>, StoreError> {
    // BEGIN and COMMIT as cached statements: rusqlite's Transaction parses them every time.
    conn.prepare_cached("BEGIN")?.execute([])?;
    let written = (|| {
        let mut outcomes = Vec::with_capacity(batch.len());
        for req in batch {
            outcomes.push(apply(conn, &req.op, rev));
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(outcomes)
    })();
    if written.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    written
}

fn current(tx: &Connection, key: &str) -> Result<Option<KeyValue>, StoreError> {
    let mut stmt = tx.prepare_cached(super::schema::GET)?;
    stmt.query_row(params![key], |r| {
        Ok(KeyValue {
            key: key.into(),
            value: Bytes::from(r.get::<_, Vec<u8>>(0)?),
            create_revision: r.get(1)?,
            mod_revision: r.get(2)?,
        })
    })
    .optional()
    .map_err(StoreError::from)
}

fn log(tx: &Connection, kind: EventKind, kv: &KeyValue, prev: Option<Revision>) -> Result<(), StoreError> {
    let code = match kind {
        EventKind::Created => 0,
        EventKind::Updated => 1,
        EventKind::Deleted => 2,
    };
    tx.prepare_cached("INSERT INTO log (rev, key, kind, value, create_rev, prev_rev) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![kv.mod_revision, &*kv.key, code, &kv.value[..], kv.create_revision, prev])?;
    Ok(())
}

fn check(key: &str, cur: &Option<KeyValue>, expected: Revision) -> Result<KeyValue, StoreError> {
    let cur = cur.clone().ok_or_else(|| StoreError::NotFound(key.to_string()))?;
    if expected != 0 && cur.mod_revision != expected {
        return Err(StoreError::Conflict { key: key.to_string(), expected, actual: cur.mod_revision });
    }
    Ok(cur)
}

fn apply(tx: &Connection, op: &Op, rev: &mut Revision) -> Outcome {
    match op {
        Op::Create { key, value } => {
            if current(tx, key)?.is_some() {
                return Err(StoreError::AlreadyExists(key.to_string()));
            }
            let next = *rev + 1;
            let kv = KeyValue { key: key.clone(), value: value.clone(), create_revision: next, mod_revision: next };
            tx.prepare_cached("INSERT INTO live (key, create_rev, mod_rev) VALUES (?1, ?2, ?2)")?
                .execute(params![&**key, next])?;
            log(tx, EventKind::Created, &kv, None)?;
            *rev = next;
            Ok((kv.clone(), Some(Event { kind: EventKind::Created, kv, prev: None })))
        }
        Op::Update { key, value, expected } => {
            let prev = check(key, &current(tx, key)?, *expected)?;
            let next = *rev + 1;
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: prev.create_revision,
                mod_revision: next,
            };
            tx.prepare_cached("UPDATE live SET mod_rev = ?2 WHERE key = ?1")?.execute(params![&**key, next])?;
            log(tx, EventKind::Updated, &kv, Some(prev.mod_revision))?;
            *rev = next;
            Ok((kv.clone(), Some(Event { kind: EventKind::Updated, kv, prev: Some(prev) })))
        }
        Op::Delete { key, expected } => {
            let prev = check(key, &current(tx, key)?, *expected)?;
            let next = *rev + 1;
            let kv = KeyValue { mod_revision: next, ..prev.clone() };
            tx.prepare_cached("DELETE FROM live WHERE key = ?1")?.execute(params![&**key])?;
            log(tx, EventKind::Deleted, &kv, Some(prev.mod_revision))?;
            *rev = next;
            Ok((kv.clone(), Some(Event { kind: EventKind::Deleted, kv, prev: Some(prev) })))
        }
        Op::Compact { revision } => {
            if *revision > *rev {
                return Err(StoreError::FutureRevision(*revision));
            }
            tx.prepare_cached(super::schema::COMPACT)?.execute(params![revision])?;
            tx.prepare_cached("UPDATE meta SET value = max(value, ?1) WHERE name = 'compacted'")?
                .execute(params![revision])?;
            Ok((KeyValue { key: "".into(), value: Bytes::new(), create_revision: 0, mod_revision: *rev }, None))
        }
    }
}
