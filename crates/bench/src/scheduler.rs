//! `skiff bench scheduler`: the shape of upstream scheduler_perf SchedulingBasic, all through
//! the API server: N hollow nodes, 1,000 Pods placed first, then M Pods created by 16 clients
//! and scheduled. Reports pods/s from the first create to the last bind, per-Pod latency
//! (create sent → binding seen in a watch), the scheduler's memory, and CPU per Pod of each
//! process and of the whole machine. The scheduler runs as its own process (`skiff
//! scheduler`) so its memory and CPU are its own.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;

use crate::api::rss_kb;
use crate::client::{PodEvent, Target};
use crate::cluster::{cpu_seconds, Cluster, MachineCpu};
use crate::container::{setup, BenchError};
use crate::Stats;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub nodes: usize,
    pub placed: usize,
    pub pods: usize,
    pub clients: usize,
}

fn pod(name: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}})
        .to_string(),
    )
}

/// When something was first seen of each Pod (bound, Running), by Pod name, filled by a watch.
type Binds = Arc<Mutex<HashMap<String, Instant>>>;

/// Bind times and the times Pods were seen Running, by Pod name.
async fn watch_binds(target: &Target, binds: Binds, running: Binds) -> Result<(), BenchError> {
    crate::client::watch(target, "/api/v1/namespaces/default/pods?watch=true", move |ev: PodEvent| {
        let name = ev.object.metadata.name;
        if ev.object.status.phase == "Running" {
            running.lock().unwrap_or_else(|e| e.into_inner()).entry(name.clone()).or_insert_with(Instant::now);
        }
        if !ev.object.spec.node_name.is_empty() {
            binds.lock().unwrap_or_else(|e| e.into_inner()).entry(name).or_insert_with(Instant::now);
        }
    })
    .await
    .map_err(setup)
}

/// Creates `names` with `clients` connections; returns when each create was sent.
async fn create_all(
    target: &Target,
    names: Vec<String>,
    clients: usize,
) -> Result<HashMap<String, Instant>, BenchError> {
    let queue = Arc::new(Mutex::new(names));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (target, queue) = (target.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = target.connect().await.map_err(setup)?;
            let mut sent = Vec::new();
            loop {
                let Some(name) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                let at = Instant::now();
                conn.call(Method::POST, "/api/v1/namespaces/default/pods", Some(pod(&name))).await.map_err(setup)?;
                sent.push((name, at));
            }
            Ok::<_, BenchError>(sent)
        }));
    }
    let mut out = HashMap::new();
    for t in tasks {
        out.extend(t.await.map_err(setup)??);
    }
    Ok(out)
}

async fn wait_bound(binds: &Binds, names: &[String], timeout: Duration) -> Result<(), BenchError> {
    let start = Instant::now();
    loop {
        let missing = {
            let b = binds.lock().unwrap_or_else(|e| e.into_inner());
            names.iter().filter(|n| !b.contains_key(*n)).count()
        };
        if missing == 0 {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(setup(format!("{missing} Pods were not bound within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(serde::Deserialize)]
struct Items {
    items: Vec<serde::de::IgnoredAny>,
}

/// The Scheduled Events there are now, and when (from `first`, to a quarter second) there were
/// `pods` of them.
async fn scheduled_events(target: &Target, pods: usize, first: Instant) -> Result<(usize, Duration), BenchError> {
    let mut conn = target.connect().await.map_err(setup)?;
    let path = "/api/v1/namespaces/default/events?fieldSelector=reason%3DScheduled";
    let mut at_start = None;
    let start = Instant::now();
    loop {
        let body = conn.call(Method::GET, path, None).await.map_err(setup)?;
        let events = serde_json::from_slice::<Items>(&body).map_err(setup)?.items.len();
        let at_start = *at_start.get_or_insert(events);
        if events >= pods {
            return Ok((at_start, first.elapsed()));
        }
        if start.elapsed() > Duration::from_secs(300) {
            return Err(setup(format!("{events} of {pods} Scheduled Events after 300 s")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// CPU per scheduled Pod of each process (API server, scheduler, hollow nodes, this harness).
fn per_pod_cpu(cpu: &[f64], pods: usize) -> String {
    let ms = |i: usize| cpu.get(i).copied().unwrap_or(0.0) * 1000.0 / pods.max(1) as f64;
    format!(
        "CPU per Pod: API server {:.2} ms, scheduler {:.2} ms, hollow nodes {:.2} ms, this harness {:.2} ms",
        ms(0),
        ms(1),
        ms(2),
        ms(3)
    )
}

/// The whole machine over the measurement: its CPU per Pod, how busy its cores were, the
/// rate that CPU per Pod allows on them, and the time the host took for others (noise).
fn machine_line(m: MachineCpu, window: Duration, pods: usize) -> String {
    // The CPUs /proc/stat sums over, which this process's affinity or cgroup may not all reach.
    let cores = m.cpus.max(1) as f64;
    let per_pod = m.busy * 1000.0 / pods.max(1) as f64;
    let busy = 100.0 * m.busy / (cores * window.as_secs_f64()).max(f64::EPSILON);
    let ceiling = if per_pod > 0.0 { cores * 1000.0 / per_pod } else { 0.0 };
    format!(
        "whole machine: {per_pod:.2} ms CPU per Pod, {cores} cores {busy:.0}% busy \
         (at that cost at most {ceiling:.0} pods/s); host steal {:.2} s",
        m.steal
    )
}

/// Runs `$SKIFF_BENCH_ON_MEASURE start|end`, if set, as the measurement starts and ends (to
/// have a profiler collect only then, as `callgrind_control -i on`), and waits for it.
fn measurement_hook(when: &str) {
    if let Some(cmd) = std::env::var_os("SKIFF_BENCH_ON_MEASURE") {
        if let Err(e) = std::process::Command::new(cmd).arg(when).status() {
            eprintln!("SKIFF_BENCH_ON_MEASURE {when}: {e}");
        }
    }
}

pub async fn run(skiff: &Path, o: &Options) -> Result<Vec<String>, BenchError> {
    // As scheduler_perf: no controller manager beside the API server and scheduler.
    let cluster = Cluster::start(skiff, &["--disable-scheduler", "--disable-controller-manager"]).await?;
    let target = cluster.target.clone();
    let scheduler = cluster.component("scheduler", &[])?;
    let (hollow, registration) = cluster.hollow_nodes(o.nodes).await?;
    let (server, hollow_pid) = (&cluster.server, hollow.pid());
    // Let the scheduler's informers take in every node.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (sched_pid, server_pid) = (scheduler.0.id(), server.0.id());
    let sched_idle = rss_kb(sched_pid);

    let binds: Binds = Arc::new(Mutex::new(HashMap::new()));
    let running: Binds = Arc::new(Mutex::new(HashMap::new()));
    watch_binds(&target, binds.clone(), running.clone()).await?;
    let placed: Vec<String> = (0..o.placed).map(|i| format!("placed-{i}")).collect();
    create_all(&target, placed.clone(), o.clients).await?;
    wait_bound(&binds, &placed, Duration::from_secs(300)).await?;

    let names: Vec<String> = (0..o.pods).map(|i| format!("pod-{i}")).collect();
    let me = std::process::id();
    let cpu_before = [cpu_seconds(server_pid), cpu_seconds(sched_pid), cpu_seconds(hollow_pid), cpu_seconds(me)];
    let (machine_before, machine_from) = (MachineCpu::now(), Instant::now());
    measurement_hook("start");
    let first = Instant::now();
    let sent = create_all(&target, names.clone(), o.clients).await?;
    let created = first.elapsed();
    wait_bound(&binds, &names, Duration::from_secs(600)).await?;
    let b = binds.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let last = names.iter().filter_map(|n| b.get(n)).max().copied().unwrap_or(first);
    let total = last - first;
    let samples: Vec<Duration> = names.iter().filter_map(|n| Some(*b.get(n)? - *sent.get(n)?)).collect();
    let stats = Stats::new(samples, total);
    let cpu_after = [cpu_seconds(server_pid), cpu_seconds(sched_pid), cpu_seconds(hollow_pid), cpu_seconds(me)];
    let (machine, machine_window) = (MachineCpu::now().since(machine_before), machine_from.elapsed());
    measurement_hook("end");
    let cpu: Vec<f64> = cpu_after.iter().zip(cpu_before).map(|(a, b)| a - b).collect();
    let sched_loaded = rss_kb(sched_pid);
    let server_loaded = rss_kb(server_pid);
    let rate = o.pods as f64 / total.as_secs_f64();
    // What the binds set off and may still be under way: the hollow nodes' Running status and
    // the scheduler's Scheduled Events (counted after the measurement: the lists cost too).
    let running_at_last = running.lock().unwrap_or_else(|e| e.into_inner()).values().filter(|t| **t <= last).count();
    let (events_at_last, events_done) = scheduled_events(&target, o.placed + o.pods, first).await?;
    wait_bound(&running, &names, Duration::from_secs(300)).await?;
    let running_done = running.lock().unwrap_or_else(|e| e.into_inner()).values().max().map(|t| *t - first);
    Ok(vec![
        format!("{} hollow nodes registered (Node, status, Lease)      {:>8.1} s", o.nodes, registration.as_secs_f64()),
        format!(
            "{} Pods created by {} clients                          {:>8.1} s",
            o.pods,
            o.clients,
            created.as_secs_f64()
        ),
        format!(
            "scheduled: first create → last bind                    {:>8.0} pods/s  ({:.2} s for {} Pods)",
            rate,
            total.as_secs_f64(),
            o.pods
        ),
        format!(
            "per-Pod create sent → bind seen (watch)                p50 {:>8.1} ms   p99 {:>8.1} ms",
            stats.quantile_ms(0.50),
            stats.quantile_ms(0.99)
        ),
        format!(
            "scheduler RSS with {} nodes, idle                      {:>8.1} MB",
            o.nodes,
            sched_idle as f64 / 1024.0
        ),
        format!(
            "scheduler RSS with {} nodes and {} Pods                {:>8.1} MB",
            o.nodes,
            o.pods + o.placed,
            sched_loaded as f64 / 1024.0
        ),
        format!(
            "CPU during the measurement: API server {:.1} s, scheduler {:.1} s, hollow nodes {:.1} s",
            cpu[0], cpu[1], cpu[2]
        ),
        per_pod_cpu(&cpu, o.pods),
        machine_line(machine, machine_window, o.pods),
        format!("API server RSS at the end                              {:>8.1} MB", server_loaded as f64 / 1024.0),
        format!(
            "at the last bind: {running_at_last} Pods Running (all {:.2} s after the first create), \
             {events_at_last} Scheduled Events (all by {:.2} s)",
            running_done.unwrap_or_default().as_secs_f64(),
            events_done.as_secs_f64()
        ),
        "upstream kube-scheduler (issue's figures, same shape): ≥ 270 pods/s in CI, ~1,000 pods/s on a workstation"
            .to_string(),
    ])
}
