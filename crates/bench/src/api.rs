//! `skiff bench api`: a real `skiff server` process on loopback, driven over HTTPS.
//! Measures start → /readyz, idle RSS, create/get/list throughput and latency with 1 and 16
//! clients, create latency at a fixed 1,000/s, and watch delivery latency.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use tokio::sync::Mutex;

use crate::client::{ClientError, Conn, Target};
use crate::Stats;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The skiff binary to start as the server.
    pub skiff: PathBuf,
    /// How long each closed-loop scenario runs.
    pub duration: Duration,
}

struct ServerProc {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pod(ns: &str, name: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}
        })
        .to_string(),
    )
}

async fn ensure_ns(conn: &mut Conn, ns: &str) -> Result<(), ClientError> {
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    match conn.call(Method::POST, "/api/v1/namespaces", Some(Bytes::from(body.to_string()))).await {
        Ok(_) | Err(ClientError::Status(409, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs `clients` workers for `duration`, each calling `op(conn, worker, i)` in a loop.
async fn closed_loop<F, Fut>(target: &Target, clients: usize, duration: Duration, op: F) -> Result<Stats, ClientError>
where
    F: Fn(Conn, usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (Conn, Result<(), ClientError>)> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..clients {
        let mut conn = Some(target.connect().await?);
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while start.elapsed() < duration {
                let t = Instant::now();
                let (c, r) = op(conn.take().expect("connection"), w, i).await;
                conn = Some(c);
                r?;
                lat.push(t.elapsed());
                i += 1;
            }
            Ok::<_, ClientError>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| ClientError::Kubeconfig(e.to_string()))??);
    }
    Ok(Stats::new(all, start.elapsed()))
}

/// Creates at a fixed rate over a pool of connections; when the server falls behind, requests
/// wait for a free connection (their latency counts from when they were due).
async fn open_loop_creates(target: &Target, rate: u32, total: usize, ns: &str) -> Result<Stats, ClientError> {
    let conns = 32;
    let (free_tx, free_rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..conns {
        let _ = free_tx.send(target.connect().await?);
    }
    let free_rx = Arc::new(Mutex::new(free_rx));
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (free_tx, free_rx) = (free_tx.clone(), free_rx.clone());
        let body = pod(ns, &format!("r-{i}"));
        let path = format!("/api/v1/namespaces/{ns}/pods");
        tasks.push(tokio::spawn(async move {
            let conn = free_rx.lock().await.recv().await;
            let mut conn = conn.ok_or_else(|| ClientError::Kubeconfig("connection pool closed".into()))?;
            let r = conn.call(Method::POST, &path, Some(body)).await;
            let d = due.elapsed();
            let _ = free_tx.send(conn);
            r.map(|_| d)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.push(t.await.map_err(|e| ClientError::Kubeconfig(e.to_string()))??);
    }
    Ok(Stats::new(lat, start.elapsed()))
}

/// Time from sending a create to receiving its watch event.
async fn watch_delivery(target: &Target, n: usize, ns: &str) -> Result<Stats, ClientError> {
    let mut wconn = target.connect().await?;
    let mut body = wconn.stream(&format!("/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion=0")).await?;
    let sent: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let s2 = sent.clone();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Some(data) = frame.data_ref() else {
                continue;
            };
            buf.extend_from_slice(data);
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let now = Instant::now();
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) {
                    if let Some(name) = v["object"]["metadata"]["name"].as_str() {
                        if let Some(t) = s2.lock().unwrap_or_else(|p| p.into_inner()).remove(name) {
                            let _ = tx.send(now - t);
                        }
                    }
                }
            }
        }
    });
    let mut conn = target.connect().await?;
    let start = Instant::now();
    let mut lat = Vec::new();
    for i in 0..n {
        let name = format!("w-{i}");
        sent.lock().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), Instant::now());
        conn.call(Method::POST, &format!("/api/v1/namespaces/{ns}/pods"), Some(pod(ns, &name))).await?;
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            lat.push(d);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    reader.abort();
    Ok(Stats::new(lat, start.elapsed()))
}

/// Runs every API scenario and returns the report lines.
pub async fn run(opts: &Options) -> Result<Vec<String>, ClientError> {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("admin.kubeconfig");
    let t0 = Instant::now();
    let child = Command::new(&opts.skiff)
        .args(["server", "--bind-address", "127.0.0.1", "--https-listen-port", "0", "--disable-agent"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let server = ServerProc { child, _dir: dir };
    while !kubeconfig.exists() {
        if t0.elapsed() > Duration::from_secs(20) {
            return Err(ClientError::Kubeconfig("server did not start".into()));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let target = Target::from_kubeconfig(&std::fs::read_to_string(&kubeconfig)?)?;
    let ready = loop {
        if let Ok(mut c) = target.connect().await {
            if c.call(Method::GET, "/readyz", None).await.is_ok() {
                break t0.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let mut out =
        vec![format!("{:<44} {:>9.1} ms", "start → /readyz (process spawn to 200)", ready.as_secs_f64() * 1000.0)];
    tokio::time::sleep(Duration::from_secs(1)).await;
    out.push(format!("{:<44} {:>9.1} MB", "idle RSS after start", rss_kb(pid) as f64 / 1024.0));

    let mut setup = target.connect().await?;
    for ns in ["b1", "b16", "rate", "watch", "list"] {
        ensure_ns(&mut setup, ns).await?;
    }
    let d = opts.duration;
    for (clients, ns) in [(1usize, "b1"), (16, "b16")] {
        let s = closed_loop(&target, clients, d, move |mut c, w, i| async move {
            let r = c
                .call(Method::POST, &format!("/api/v1/namespaces/{ns}/pods"), Some(pod(ns, &format!("p-{w}-{i}"))))
                .await;
            (c, r.map(|_| ()))
        })
        .await?;
        out.push(s.line(&format!("create pod, {clients} client(s)")));
    }
    for clients in [1usize, 16] {
        let s = closed_loop(&target, clients, d, |mut c, _w, i| async move {
            let r = c.call(Method::GET, &format!("/api/v1/namespaces/b1/pods/p-0-{}", i % 50), None).await;
            (c, r.map(|_| ()))
        })
        .await?;
        out.push(s.line(&format!("get pod, {clients} client(s)")));
    }
    for i in 0..100 {
        setup.call(Method::POST, "/api/v1/namespaces/list/pods", Some(pod("list", &format!("l-{i}")))).await?;
    }
    for clients in [1usize, 16] {
        let s = closed_loop(&target, clients, d, |mut c, _w, _i| async move {
            let r = c.call(Method::GET, "/api/v1/namespaces/list/pods", None).await;
            (c, r.map(|_| ()))
        })
        .await?;
        out.push(s.line(&format!("list 100 pods, {clients} client(s)")));
    }
    let s = open_loop_creates(&target, 1000, 3000, "rate").await?;
    out.push(s.line("create pod at a fixed 1,000/s (open loop)"));
    let s = watch_delivery(&target, 500, "watch").await?;
    out.push(s.line("watch delivery (create sent → event read)"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    out.push(format!("{:<44} {:>9.1} MB", "RSS after the runs (objects in memory)", rss_kb(pid) as f64 / 1024.0));
    drop(server);
    Ok(out)
}
