//! Node-pressure eviction, as the kubelet's eviction manager does it with hard thresholds:
//! every interval the node's signals (`memory.available`, `nodefs.available`) are compared
//! with the thresholds (`--eviction-hard`, kubelet syntax, default
//! `memory.available<100Mi,nodefs.available<10%`); while one is crossed, one Pod per interval
//! is evicted — the first of the node's Pods ranked as the kubelet ranks them (usage above
//! requests first, then lower priority, then the larger usage over requests; BestEffort Pods
//! request nothing, so they go first). Evicting sets the Pod's phase Failed with reason
//! `Evicted` and the kubelet's message, and records an `Evicted` event; the Pod's worker then
//! kills its containers at once. Critical Pods (priority ≥ 2000000000) are never evicted.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use skiff_api::quantity::Amount;

use crate::pods::convert;
use crate::pods::events::Recorder;
use crate::pods::model::PodRuntime;
use skiff_client::events::EventType;

/// A threshold: an amount of bytes, or a share of the capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Bytes(u64),
    Percent(f64),
}

impl Threshold {
    fn bytes(&self, capacity: u64) -> u64 {
        match self {
            Threshold::Bytes(b) => *b,
            Threshold::Percent(p) => (capacity as f64 * p / 100.0) as u64,
        }
    }

    fn text(&self, capacity: u64) -> String {
        quantity(self.bytes(capacity))
    }
}

/// The hard eviction thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub memory: Option<Threshold>,
    pub nodefs: Option<Threshold>,
}

impl Default for Thresholds {
    /// The kubelet's defaults.
    fn default() -> Thresholds {
        Thresholds { memory: Some(Threshold::Bytes(100 << 20)), nodefs: Some(Threshold::Percent(10.0)) }
    }
}

/// Parses `memory.available<100Mi,nodefs.available<10%` (only `<` and these two signals).
pub fn parse(text: &str) -> Result<Thresholds, String> {
    let mut t = Thresholds { memory: None, nodefs: None };
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (signal, value) =
            item.split_once('<').ok_or_else(|| format!("{item:?}: expected SIGNAL<QUANTITY (or a percentage)"))?;
        let threshold = match value.strip_suffix('%') {
            Some(p) => Threshold::Percent(
                p.parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("{item:?}: bad percentage"))?,
            ),
            None => {
                Threshold::Bytes(Amount::parse(value).map_err(|e| format!("{item:?}: {}", e.0))?.value().max(0) as u64)
            }
        };
        match signal {
            "memory.available" => t.memory = Some(threshold),
            "nodefs.available" => t.nodefs = Some(threshold),
            other => {
                return Err(format!("{other:?}: unsupported eviction signal (memory.available, nodefs.available)"))
            }
        }
    }
    Ok(t)
}

/// What the node has: available and total memory and disk (the data dir's file system).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation {
    pub memory_available: u64,
    pub memory_capacity: u64,
    pub nodefs_available: u64,
    pub nodefs_capacity: u64,
}

/// Reads /proc/meminfo and the data dir's file system.
pub fn observe(data_dir: &std::path::Path) -> Observation {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let fs = rustix::fs::statvfs(data_dir).ok();
    Observation {
        memory_available: crate::host::mem_available(&meminfo).unwrap_or(u64::MAX),
        memory_capacity: crate::host::mem_total(&meminfo).unwrap_or(0),
        nodefs_available: fs.as_ref().map(|s| s.f_bavail * s.f_frsize).unwrap_or(u64::MAX),
        nodefs_capacity: fs.map(|s| s.f_blocks * s.f_frsize).unwrap_or(0),
    }
}

/// A resource the node is short of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Memory,
    Disk,
}

/// The signals whose thresholds are crossed.
pub fn crossed(t: &Thresholds, o: &Observation) -> Vec<Signal> {
    let mut out = vec![];
    if t.memory.is_some_and(|m| o.memory_available < m.bytes(o.memory_capacity)) {
        out.push(Signal::Memory);
    }
    if t.nodefs.is_some_and(|d| o.nodefs_available < d.bytes(o.nodefs_capacity)) {
        out.push(Signal::Disk);
    }
    out
}

/// A candidate for eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub priority: i32,
    /// What it uses of the resource in short supply, and what it requests of it.
    pub usage: u64,
    pub request: u64,
}

/// The kubelet's order: usage above requests first, then lower priority, then the larger
/// usage beyond requests.
pub fn rank(mut pods: Vec<Candidate>) -> Vec<Candidate> {
    pods.sort_by(|a, b| {
        let over = |c: &Candidate| c.usage > c.request;
        let beyond = |c: &Candidate| c.usage as i128 - c.request as i128;
        over(b).cmp(&over(a)).then(a.priority.cmp(&b.priority)).then(beyond(b).cmp(&beyond(a)))
    });
    pods
}

/// Binary-suffixed quantity text, as the kubelet prints it (`100Mi`, `52436Ki`).
pub fn quantity(bytes: u64) -> String {
    for (shift, suffix) in [(30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if bytes > 0 && bytes.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    if bytes >= 1 << 10 {
        return format!("{}Ki", bytes >> 10);
    }
    bytes.to_string()
}

/// The message on the evicted Pod (the kubelet's `nodeLowMessageFmt`).
pub fn message(signal: Signal, t: &Thresholds, o: &Observation, victim: &Candidate) -> String {
    let (resource, threshold, available, capacity) = match signal {
        Signal::Memory => ("memory", t.memory, o.memory_available, o.memory_capacity),
        Signal::Disk => ("ephemeral-storage", t.nodefs, o.nodefs_available, o.nodefs_capacity),
    };
    let threshold = threshold.map(|t| t.text(capacity)).unwrap_or_default();
    format!(
        "The node was low on resource: {resource}. Threshold quantity: {threshold}, available: {}. \
         Pod {} was using {}, request is {}. ",
        quantity(available),
        victim.name,
        quantity(victim.usage),
        quantity(victim.request)
    )
}

/// Sums of the Pod's requests of memory and ephemeral storage (app containers, or the largest
/// init container when larger).
pub fn requests(pod: &Pod) -> (u64, u64) {
    let Some(spec) = &pod.spec else { return (0, 0) };
    let get = |c: &k8s_openapi::api::core::v1::Container, what: &str| {
        convert::quantity(c, false, what).ok().flatten().map(|a| a.value().max(0) as u64).unwrap_or(0)
    };
    let sum = |what: &str| spec.containers.iter().map(|c| get(c, what)).sum::<u64>();
    let init = |what: &str| spec.init_containers.iter().flatten().map(|c| get(c, what)).max().unwrap_or(0);
    (sum("memory").max(init("memory")), sum("ephemeral-storage").max(init("ephemeral-storage")))
}

/// Whether the kubelet may evict the Pod (not being deleted, not finished, not critical).
fn evictable(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let priority = pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
    pod.metadata.deletion_timestamp.is_none()
        && !matches!(phase, Some("Succeeded" | "Failed"))
        && priority < 2_000_000_000
}

/// The eviction manager's loop.
pub async fn run(
    client: kube::Client,
    runtime: std::sync::Arc<dyn PodRuntime>,
    events: std::sync::Arc<Recorder>,
    node: String,
    data_dir: std::path::PathBuf,
    thresholds: Thresholds,
    every: Duration,
) {
    let pods: Api<Pod> = Api::all(client.clone());
    loop {
        tokio::time::sleep(every).await;
        let o = observe(&data_dir);
        let Some(signal) = crossed(&thresholds, &o).first().copied() else { continue };
        let list = match pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await {
            Ok(l) => l.items,
            Err(e) => {
                tracing::warn!(error = %e, "eviction: listing the node's Pods");
                continue;
            }
        };
        let live: Vec<Pod> = list.into_iter().filter(evictable).collect();
        let rt = runtime.clone();
        let uids: Vec<String> = live.iter().map(|p| p.metadata.uid.clone().unwrap_or_default()).collect();
        let usage: Vec<Option<u64>> = tokio::task::spawn_blocking(move || {
            uids.iter().map(|u| if signal == Signal::Memory { rt.memory_usage(u) } else { rt.disk_usage(u) }).collect()
        })
        .await
        .unwrap_or_default();
        let candidates = live
            .iter()
            .zip(usage.iter().chain(std::iter::repeat(&None)))
            .map(|(p, u)| {
                let (memory, disk) = requests(p);
                Candidate {
                    namespace: p.metadata.namespace.clone().unwrap_or_default(),
                    name: p.metadata.name.clone().unwrap_or_default(),
                    uid: p.metadata.uid.clone().unwrap_or_default(),
                    priority: p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
                    usage: u.unwrap_or(0),
                    request: if signal == Signal::Memory { memory } else { disk },
                }
            })
            .collect();
        let Some(victim) = rank(candidates).into_iter().next() else {
            tracing::warn!(?signal, "eviction: the node is under pressure and has no Pod to evict");
            continue;
        };
        let text = message(signal, &thresholds, &o, &victim);
        tracing::warn!(pod = %format!("{}/{}", victim.namespace, victim.name), %text, "evicting");
        let api: Api<Pod> = Api::namespaced(client.clone(), &victim.namespace);
        let patch = serde_json::json!({"status": {"phase": "Failed", "reason": "Evicted", "message": text}});
        match api.patch_status(&victim.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(pod) => events.emit(&pod, None, EventType::Warning, "Evicted", text),
            Err(e) => tracing::warn!(error = %e, "eviction: failing the Pod"),
        }
    }
}

#[cfg(test)]
#[path = "eviction_tests.rs"]
mod tests;
