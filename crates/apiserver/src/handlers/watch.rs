//! watch: chunked JSON events (`{"type":…,"object":…}` per line) from the store's watch,
//! filtered by selectors, with synthetic ADDED events for resourceVersion 0/unset, bookmarks,
//! timeouts and 410 Gone for compacted revisions.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use rand::Rng;
use serde_json::{json, Value};
use skiff_api::selector::{FieldSelector, LabelSelector};
use skiff_api::{ApiError, At, ResourceInfo};
use skiff_store::{Event, EventKind};
use tokio::sync::mpsc;

use super::memo::{Memo, Shared};
use super::read::selectors;
use super::{partial, table};
use crate::objects;
use crate::registry::{list_prefix, store_error, ListOptions, Recent};
use crate::request::{Query, ResourceRequest};
use crate::response::Body;
use crate::server::ApiServer;

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(15);

struct Filter {
    res: &'static ResourceInfo,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn everything(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches(obj, self.res)
    }
}

struct Encoder {
    res: &'static ResourceInfo,
    table: Option<table::Include>,
    /// Objects as PartialObjectMetadata.
    meta_only: bool,
    headers_sent: bool,
}

impl Encoder {
    /// The event for `obj` as a Table row (with the column headers in the first one).
    fn table_event(&mut self, kind: &str, obj: &Value, include: table::Include) -> Bytes {
        let rv = obj.at("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
        let object = table::build(
            self.res,
            std::slice::from_ref(obj),
            include,
            !self.headers_sent,
            json!({"resourceVersion": rv}),
        );
        self.headers_sent = true;
        line(&json!({"type": kind, "object": object}))
    }

    /// The event for a stored object, without decoding it when no Table is wanted.
    fn event_kv(&mut self, kind: &str, kv: &skiff_store::KeyValue) -> Option<Bytes> {
        if let Some(include) = self.table {
            return Some(self.table_event(kind, &objects::decode(kv).ok()?, include));
        }
        if self.meta_only {
            return Some(raw_line(kind, &objects::raw_metadata_only(kv).ok()?));
        }
        Some(raw_line(kind, &objects::raw_with_rv(kv).ok()?))
    }

    /// The event for a live store event, from the forms its watchers share.
    fn event_shared(&mut self, kind: &str, ev: &Event, shared: &Shared) -> Option<Bytes> {
        if let Some(include) = self.table {
            return Some(self.table_event(kind, shared.object(ev)?, include));
        }
        if self.meta_only {
            return Some(raw_line(kind, shared.metadata(ev)?));
        }
        Some(raw_line(kind, shared.raw(ev)?))
    }

    fn bookmark(&self, rv: i64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": meta});
        line(&json!({"type": "BOOKMARK", "object": object}))
    }
}

/// `{"type":kind,"object":raw}` and a newline, around an object already encoded.
fn raw_line(kind: &str, raw: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(raw.len() + 40);
    b.extend_from_slice(b"{\"type\":\"");
    b.extend_from_slice(kind.as_bytes());
    b.extend_from_slice(b"\",\"object\":");
    b.extend_from_slice(raw);
    b.extend_from_slice(b"}\n");
    Bytes::from(b)
}

fn line(v: &Value) -> Bytes {
    let mut b = crate::json::to_vec(v);
    b.push(b'\n');
    Bytes::from(b)
}

/// Starts a watch and streams it as the response body.
pub async fn watch(
    server: &Arc<ApiServer>,
    r: &ResourceRequest,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(r, query)?;
    let filter = Filter { res: r.resource, labels, fields };
    let timeout = match query.int("timeoutSeconds")? {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        _ => Duration::from_secs(rand::rng().random_range(1800..3600)),
    };
    let bookmarks = query.bool("allowWatchBookmarks");
    let send_initial = match query.get("sendInitialEvents") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let rv = query.get("resourceVersion");
    let mut enc = Encoder {
        res: r.resource,
        table: table::wanted(accept).then(|| table::Include::parse(query.get("includeObject"))),
        meta_only: partial::wanted(accept),
        headers_sent: false,
    };
    let prefix = list_prefix(r.resource, r.namespace.as_deref());

    // Initial state: synthetic ADDED events for RV unset/0 (or sendInitialEvents=true).
    let mut initial = Vec::new();
    let mut initial_end_bookmark = false;
    let start = match (rv, send_initial) {
        (None | Some("0"), None) | (_, Some(true)) => {
            let opts = ListOptions {
                labels: filter.labels.clone(),
                fields: filter.fields.clone(),
                limit: 0,
                continue_token: None,
            };
            let out = server.registry.list_raw(r.resource, r.namespace.as_deref(), &opts).await?;
            for kv in &out.items {
                initial.extend(enc.event_kv("ADDED", kv));
            }
            initial_end_bookmark = send_initial == Some(true);
            out.resource_version
        }
        (Some(rv), _) => objects::parse_rv(rv)?,
        (None, Some(false)) => server.registry.store().current_revision().await.map_err(store_error)?,
    };
    if initial_end_bookmark {
        initial.push(enc.bookmark(start, true));
    }

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let store = server.registry.store().clone();
    let server = server.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        for chunk in initial {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
        let mut stream = match store.watch(&prefix, start).await {
            Ok(s) => s,
            Err(e) => {
                let status = store_error(e).to_status();
                let _ = tx.send(line(&json!({"type": "ERROR", "object": status}))).await;
                return;
            }
        };
        let mut last_rv = start;
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(enc.bookmark(last_rv, false)).await.is_err() { return; }
                }
                item = stream.next() => {
                    // The events already here (a group commit publishes many at once) go out
                    // as one chunk: one wake-up, one TLS record and one write for all of them.
                    let mut item = item;
                    let mut batch = Batch::default();
                    let ended = loop {
                        let ev = match item {
                            Some(Ok(ev)) => ev,
                            Some(Err(e)) => {
                                tracing::debug!(error = %e, "watch ended by store");
                                break true;
                            }
                            None => break true,
                        };
                        last_rv = ev.revision();
                        if let Some(chunk) = translate(&filter, &mut enc, &ev, &server.watch_memo, server.registry.recent()) {
                            batch.push(chunk);
                        }
                        if batch.full() {
                            break false;
                        }
                        match stream.next().now_or_never() {
                            Some(next) => item = next,
                            None => break false,
                        }
                    };
                    if let Some(chunk) = batch.take() {
                        if tx.send(chunk).await.is_err() { return; }
                    }
                    if ended { return; }
                }
            }
        }
    });

    let body = StreamBody::new(
        tokio_stream::wrappers::ReceiverStream::new(rx).map(|b| Ok::<_, std::io::Error>(Frame::data(b))),
    );
    let mut resp = Response::new(BodyExt::boxed(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

/// Most bytes of events sent as one chunk.
const BATCH_BYTES: usize = 64 * 1024;

/// Encoded events waiting to go out together.
#[derive(Default)]
struct Batch {
    first: Option<Bytes>,
    more: Vec<u8>,
}

impl Batch {
    fn push(&mut self, chunk: Bytes) {
        match &self.first {
            None => self.first = Some(chunk),
            Some(first) => {
                if self.more.is_empty() {
                    self.more.reserve(first.len() + chunk.len());
                    self.more.extend_from_slice(first);
                }
                self.more.extend_from_slice(&chunk);
            }
        }
    }

    fn full(&self) -> bool {
        self.more.len() >= BATCH_BYTES
    }

    /// The events as one chunk (a single event is not copied).
    fn take(&mut self) -> Option<Bytes> {
        let first = self.first.take()?;
        Some(if self.more.is_empty() { first } else { Bytes::from(std::mem::take(&mut self.more)) })
    }
}

/// One store event as the watcher sees it through its selectors: an object moving into the
/// selection is ADDED, one moving out is DELETED.
fn translate(filter: &Filter, enc: &mut Encoder, ev: &Event, memo: &Memo, recent: &Recent) -> Option<Bytes> {
    let shared = memo.get(ev.revision());
    if filter.everything() {
        let kind = match ev.kind {
            EventKind::Created => "ADDED",
            EventKind::Updated => "MODIFIED",
            EventKind::Deleted => "DELETED",
        };
        return enc.event_shared(kind, ev, &shared);
    }
    let now = filter.matches(shared.selectable(ev, recent)?);
    let before = ev.kind != EventKind::Created && shared.prev_selectable(ev, memo).is_some_and(|p| filter.matches(p));
    let kind = match ev.kind {
        EventKind::Created if now => "ADDED",
        EventKind::Updated if now && before => "MODIFIED",
        EventKind::Updated if now => "ADDED",
        EventKind::Updated if before => "DELETED",
        EventKind::Deleted if before || now => "DELETED",
        _ => return None,
    };
    enc.event_shared(kind, ev, &shared)
}

#[cfg(test)]
mod tests {
    use super::{Batch, BATCH_BYTES};
    use bytes::Bytes;

    #[test]
    fn events_ready_together_go_out_as_one_chunk_in_order() {
        let mut b = Batch::default();
        assert!(b.take().is_none());
        let one = Bytes::from_static(b"{\"type\":\"ADDED\"}\n");
        b.push(one.clone());
        let single = b.take().unwrap();
        assert_eq!(single.as_ptr(), one.as_ptr(), "a lone event is sent as it is");
        b.push(Bytes::from_static(b"a\n"));
        b.push(Bytes::from_static(b"b\n"));
        b.push(Bytes::from_static(b"c\n"));
        assert!(!b.full());
        assert_eq!(&b.take().unwrap()[..], b"a\nb\nc\n");
        assert!(b.take().is_none(), "taking empties it");
        b.push(Bytes::from(vec![b'x'; BATCH_BYTES]));
        b.push(Bytes::from_static(b"y\n"));
        assert!(b.full());
    }
}
