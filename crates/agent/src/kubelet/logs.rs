//! `GET /containerLogs/{namespace}/{pod}/{container}`: a container's CRI log as `kubectl logs`
//! shows it — `follow` (until the container ends), `previous`, `tailLines`, `sinceSeconds`,
//! `sinceTime`, `timestamps`, `limitBytes`. Decoding and filtering are pure ([`LogOptions`],
//! [`render`]); the handler streams the file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::error;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use k8s_openapi::jiff::Timestamp;
use skiff_runtime::container::log::parse_line;
use tokio::io::AsyncReadExt;

use crate::pods::model::PodRuntime;

/// The query of a log request (the kubelet's names).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogOptions {
    #[serde(default)]
    pub follow: bool,
    #[serde(default)]
    pub previous: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<String>,
    #[serde(default)]
    pub timestamps: bool,
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// The earliest record time to show, if limited.
    fn since(&self, now: Timestamp) -> Option<Timestamp> {
        let from_seconds = self.since_seconds.map(|s| now - k8s_openapi::jiff::SignedDuration::from_secs(s));
        let from_time = self.since_time.as_deref().and_then(|t| t.parse().ok());
        from_seconds.or(from_time)
    }
}

/// Renders complete CRI log lines (each without its newline) as the user sees them.
pub fn render<'a>(lines: impl Iterator<Item = &'a [u8]>, options: &LogOptions, since: Option<Timestamp>) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let Some(record) = parse_line(line) else { continue };
        if let Some(since) = since {
            if record.time.parse::<Timestamp>().is_ok_and(|t| t < since) {
                continue;
            }
        }
        if options.timestamps {
            out.extend_from_slice(record.time.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(record.content);
        if !record.partial {
            out.push(b'\n');
        }
    }
    out
}

/// The last `n` lines of `data` (complete lines only).
fn tail(data: &[u8], n: Option<i64>) -> Vec<&[u8]> {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    match n {
        Some(n) if n >= 0 => lines[lines.len().saturating_sub(n as usize)..].to_vec(),
        _ => lines,
    }
}

/// The handler.
pub async fn container_logs(
    State(runtime): State<Arc<dyn PodRuntime>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(options): Query<LogOptions>,
) -> Response {
    let lookup = {
        let (runtime, namespace, pod, container) = (runtime.clone(), namespace.clone(), pod.clone(), container.clone());
        tokio::task::spawn_blocking(move || runtime.find_container(&namespace, &pod, &container, options.previous))
            .await
    };
    let found = match lookup {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.message),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.to_string()),
    };
    let Some(found) = found else {
        let message = if options.previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating")
        };
        return error(StatusCode::BAD_REQUEST, "BadRequest", message);
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let follow = options.follow && !options.previous;
    tokio::spawn(stream(runtime, found.id, found.path, options, follow, tx));
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([("content-type", "text/plain")], body).into_response()
}

/// Sends the log of container `id` at `path` as `options` say (following it while the
/// container runs when `follow`).
pub async fn stream(
    runtime: Arc<dyn PodRuntime>,
    id: String,
    path: PathBuf,
    options: LogOptions,
    follow: bool,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let since = options.since(Timestamp::now());
    let mut left = options.limit_bytes.filter(|l| *l > 0).map(|l| l as usize);
    let send = |mut data: Vec<u8>, left: &mut Option<usize>| {
        if let Some(l) = left.as_mut() {
            data.truncate(*l);
            *l -= data.len();
        }
        data
    };
    let Ok(mut file) = tokio::fs::File::open(&path).await else { return };
    let mut buf = Vec::new();
    if file.read_to_end(&mut buf).await.is_err() {
        return;
    }
    // Everything up to the last newline now; a trailing partial line waits for its end.
    let cut = buf.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let rest = buf.split_off(cut);
    let first = send(render(tail(&buf, options.tail_lines).into_iter(), &options, since), &mut left);
    if !first.is_empty() && tx.send(Ok(Bytes::from(first))).await.is_err() {
        return;
    }
    if !follow {
        return;
    }
    let mut pending = rest;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        if left == Some(0) {
            return;
        }
        let n = match file.read(&mut chunk).await {
            Ok(n) => n,
            Err(_) => return,
        };
        if n == 0 {
            let (runtime, id) = (runtime.clone(), id.clone());
            let running = tokio::task::spawn_blocking(move || runtime.is_running(&id)).await.unwrap_or(false);
            if !running {
                // One last read: the monitor may have written the end after our read.
                let mut tail_bytes = Vec::new();
                let _ = file.read_to_end(&mut tail_bytes).await;
                pending.extend_from_slice(&tail_bytes);
                let out =
                    send(render(pending.split(|b| *b == b'\n').filter(|l| !l.is_empty()), &options, since), &mut left);
                let _ = tx.send(Ok(Bytes::from(out))).await;
                return;
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        pending.extend_from_slice(&chunk[..n]);
        let cut = pending.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        let complete: Vec<u8> = pending.drain(..cut).collect();
        let out = send(render(complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()), &options, since), &mut left);
        if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-11-21T10:00:00.000000001Z stdout F Hello Kubernetes!\n\
2026-11-21T10:00:01.000000000Z stderr P par\n\
2026-11-21T10:00:01.500000000Z stderr F tial\n\
2026-11-21T10:00:02.000000000Z stdout F last\n";

    fn show(options: &LogOptions, since: Option<Timestamp>) -> String {
        String::from_utf8(render(tail(LOG, options.tail_lines).into_iter(), options, since)).unwrap()
    }

    #[test]
    fn logs_render_as_kubectl_shows_them() {
        assert_eq!(show(&LogOptions::default(), None), "Hello Kubernetes!\npartial\nlast\n");
        let stamped = show(&LogOptions { timestamps: true, tail_lines: Some(1), ..Default::default() }, None);
        assert_eq!(stamped, "2026-11-21T10:00:02.000000000Z last\n");
        let since: Timestamp = "2026-11-21T10:00:01.2Z".parse().unwrap();
        assert_eq!(show(&LogOptions::default(), Some(since)), "tial\nlast\n");
        assert_eq!(show(&LogOptions { tail_lines: Some(0), ..Default::default() }, None), "");
    }
}
