//! `skiff bench controllers`: the controller manager at scale, all through the API server
//! (scheduler in the server, `skiff controller-manager` as its own process so its memory is
//! its own). N hollow nodes; a Deployment at 1 replica is scaled to R (the Scale subresource,
//! as `kubectl scale` does): time until R Pods exist and until they are all bound; then it is
//! scaled to P Pods for the controller manager's memory.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;

use crate::api::rss_kb;
use crate::client::PodEvent;
use crate::cluster::{cpu_seconds, Cluster};
use crate::container::{setup, BenchError};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub nodes: usize,
    pub replicas: usize,
    pub pods: usize,
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment() -> Bytes {
    Bytes::from(
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bench", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bench"}},
                "template": {"metadata": {"labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                        "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]}}}})
        .to_string(),
    )
}

fn scale(replicas: usize) -> Bytes {
    Bytes::from(
        serde_json::json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "bench", "namespace": "default"}, "spec": {"replicas": replicas}})
        .to_string(),
    )
}

/// Names of the Pods seen, and of those bound, filled by a watch.
#[derive(Default)]
struct Seen {
    created: HashSet<String>,
    bound: HashSet<String>,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

async fn wait_until(
    seen: &Shared,
    what: &str,
    timeout: Duration,
    f: impl Fn(&Seen) -> bool,
) -> Result<Instant, BenchError> {
    let start = Instant::now();
    loop {
        if f(&lock(seen)) {
            return Ok(Instant::now());
        }
        if start.elapsed() > timeout {
            return Err(setup(format!("{what} did not happen within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn run(skiff: &Path, o: &Options) -> Result<Vec<String>, BenchError> {
    let cluster = Cluster::start(skiff, &["--disable-controller-manager"]).await?;
    let target = cluster.target.clone();
    let cm = cluster.component("controller-manager", &[])?;
    let (hollow, registration) = cluster.hollow_nodes(o.nodes).await?;
    let (cm_pid, server_pid, hollow_pid) = (cm.pid(), cluster.server.pid(), hollow.pid());

    let seen: Shared = Arc::default();
    let s = seen.clone();
    crate::client::watch(&target, "/api/v1/namespaces/default/pods?watch=true", move |ev: PodEvent| {
        let name = ev.object.metadata.name;
        let mut s = lock(&s);
        if ev.kind == "DELETED" {
            return;
        }
        if !ev.object.spec.node_name.is_empty() {
            s.bound.insert(name.clone());
        }
        s.created.insert(name);
    })
    .await
    .map_err(setup)?;
    let mut conn = target.connect().await.map_err(setup)?;
    conn.call(Method::POST, DEPLOYMENTS, Some(deployment())).await.map_err(setup)?;
    wait_until(&seen, "the first Pod bound", Duration::from_secs(60), |s| s.bound.len() == 1).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cm_idle = rss_kb(cm_pid);

    let scale_path = format!("{DEPLOYMENTS}/bench/scale");
    let cpu_before = [cpu_seconds(server_pid), cpu_seconds(cm_pid), cpu_seconds(hollow_pid)];
    let start = Instant::now();
    conn.call(Method::PUT, &scale_path, Some(scale(o.replicas))).await.map_err(setup)?;
    let r = o.replicas;
    let created = wait_until(&seen, "all Pods created", Duration::from_secs(600), |s| s.created.len() >= r).await?;
    let bound = wait_until(&seen, "all Pods bound", Duration::from_secs(600), |s| s.bound.len() >= r).await?;
    let cpu_after = [cpu_seconds(server_pid), cpu_seconds(cm_pid), cpu_seconds(hollow_pid)];
    let cpu: Vec<f64> = cpu_after.iter().zip(cpu_before).map(|(a, b)| a - b).collect();
    let (to_created, to_bound) = (created - start, bound - start);

    conn.call(Method::PUT, &scale_path, Some(scale(o.pods))).await.map_err(setup)?;
    let p = o.pods;
    let big = Instant::now();
    wait_until(&seen, "all Pods bound", Duration::from_secs(1200), |s| s.bound.len() >= p).await?;
    let big_took = big.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cm_loaded = rss_kb(cm_pid);
    let server_loaded = rss_kb(server_pid);
    Ok(vec![
        format!(
            "{} hollow nodes registered                              {:>8.1} s",
            o.nodes,
            registration.as_secs_f64()
        ),
        format!(
            "scale 1 → {r}: all Pods created                        {:>8.2} s  ({:.0} Pods created/s)",
            to_created.as_secs_f64(),
            (r - 1) as f64 / to_created.as_secs_f64()
        ),
        format!(
            "scale 1 → {r}: all Pods bound                          {:>8.2} s  ({:.0} Pods bound/s)",
            to_bound.as_secs_f64(),
            (r - 1) as f64 / to_bound.as_secs_f64()
        ),
        format!(
            "CPU during it: API server (with scheduler) {:.1} s, controller manager {:.1} s, hollow nodes {:.1} s",
            cpu[0], cpu[1], cpu[2]
        ),
        format!("scale {r} → {p}: all Pods bound                     {:>8.1} s", big_took.as_secs_f64()),
        format!("controller manager RSS with 1 Pod                        {:>8.1} MB", cm_idle as f64 / 1024.0),
        format!("controller manager RSS with {p} Pods                   {:>8.1} MB", cm_loaded as f64 / 1024.0),
        format!("API server RSS at the end                                {:>8.1} MB", server_loaded as f64 / 1024.0),
        "goal (issue 6): ≥ 1,000 Pods created per second through the API".to_string(),
    ])
}
