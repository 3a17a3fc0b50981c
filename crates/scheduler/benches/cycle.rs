//! The cost of one scheduling cycle, in-process (no API server): `cargo bench -p
//! skiff-scheduler`. The shape of `skiff bench scheduler`: 5,000 nodes (4 CPUs, 32 GiB, 110
//! Pods), 1,000 Pods placed, then 10,000 Pods scheduled one after another with the default
//! profile, each assumed on its node as the cycle loop does. `SKIFF_BENCH_EVICT=32` writes 32
//! MiB between cycles, as the other processes of a cluster do to the CPU caches: hot caches
//! hide what a cycle costs in `skiff bench scheduler`, cold ones show it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;
use skiff_scheduler::cache::Cache;
use skiff_scheduler::framework::config::SchedulerConfig;
use skiff_scheduler::framework::{CycleState, PodInfo, Snapshot};
use skiff_scheduler::schedule::{Algorithm, Nominated};

const NODES: usize = 5000;
const PLACED: usize = 1000;
const PODS: usize = 10_000;

fn node(i: usize) -> Arc<Node> {
    let name = format!("hollow-{i}");
    let r = json!({"cpu": "4", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {"capacity": r, "allocatable": r,
                "conditions": [{"type": "Ready", "status": "True"}]}}))
        .expect("node"),
    )
}

fn pod(name: &str, node: Option<&str>) -> Arc<PodInfo> {
    let mut spec = json!({"schedulerName": "default-scheduler", "containers": [{"name": "pause",
        "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": spec, "status": {"phase": "Pending"}}))
    .expect("pod");
    Arc::new(PodInfo::new(Arc::new(pod)))
}

fn main() {
    let mut config = SchedulerConfig::default();
    config.fill_defaults();
    let ctx = skiff_scheduler::run::config_check_context();
    let frameworks = skiff_scheduler::run::frameworks(&config, &ctx).expect("frameworks");
    let fw = frameworks.get("default-scheduler").expect("default profile");
    let mut cache = Cache::new();
    for i in 0..NODES {
        cache.set_node(node(i));
    }
    for i in 0..PLACED {
        cache.set_pod(pod(&format!("placed-{i}"), Some(&format!("hollow-{}", i % NODES))));
    }
    let pods: Vec<Arc<PodInfo>> = (0..PODS).map(|i| pod(&format!("pod-{i}"), None)).collect();
    let (mut snapshot, nominated) = (Snapshot::default(), Nominated::new());
    let mut algorithm = Algorithm::new(config.percentage_of_nodes_to_score);
    let (mut snap, mut sched) = (Duration::ZERO, Duration::ZERO);
    let mut evaluated = 0;
    // Other processes share the caches in a real cluster: `SKIFF_BENCH_EVICT=<MiB>` writes
    // that much memory between cycles, so that each cycle starts with cold caches.
    let evict_mib: usize = std::env::var("SKIFF_BENCH_EVICT").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut evict = vec![0u8; evict_mib << 20];
    for p in pods {
        for (i, b) in evict.iter_mut().enumerate().step_by(64) {
            *b = b.wrapping_add(i as u8);
        }
        std::hint::black_box(&evict);
        let t = Instant::now();
        cache.update_snapshot(&mut snapshot);
        let u = Instant::now();
        let mut state = CycleState::default();
        let result = algorithm.schedule(fw, &mut state, &p, &snapshot, &nominated).expect("a node fits");
        sched += u.elapsed();
        snap += u - t;
        evaluated += result.evaluated;
        cache.assume(p, &result.node);
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / PODS as f64;
    println!("{NODES} nodes, {PLACED} Pods placed, {PODS} Pods scheduled by the default profile");
    println!("snapshot update                          {:>8.2} µs per Pod", per(snap));
    println!("schedule (filter {:>4} nodes, score)      {:>8.2} µs per Pod", evaluated / PODS, per(sched));
    println!("cycles per second on one core            {:>8.0}", PODS as f64 / (snap + sched).as_secs_f64());
}
