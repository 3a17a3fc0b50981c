//! A node and the Pods on it, as the scheduler sees them (`framework.NodeInfo`): what they
//! request, which host ports they hold, which images the node has.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Node, Taint};

use super::podinfo::{HostPort, PodInfo};
use super::resource::Resource;

/// A node and what is placed on it. The fields that the default filters and scores read of
/// every node come first, in this order (`repr(C)`), so that they share as few cache lines
/// as they can.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct NodeInfo {
    pub requested: Resource,
    pub allocatable: Resource,
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub pods: Vec<Arc<PodInfo>>,
    /// `spec.unschedulable` and `spec.taints`, kept here so that the filters and scores that
    /// run on every node of every cycle do not have to reach into the Node object.
    taints: Vec<Taint>,
    unschedulable: bool,
    /// Image name → size in bytes (`status.images`).
    pub images: HashMap<String, i64>,
    node: Option<Arc<Node>>,
    pub name: String,
    /// Pods with any Pod (anti-)affinity, for InterPodAffinity.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// Pods with required anti-affinity, which every incoming Pod must respect.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    pub used_ports: Vec<HostPort>,
    /// Bumped on every change, so that snapshots copy only what changed.
    pub generation: u64,
    /// Counts of this node's Pods that match a selector, by the caller's key, kept until the
    /// node changes: spreading counts the same selector on every node in every cycle.
    counts: CountMemo,
}

/// Remembered Pod counts; a copy (a changed node) starts empty.
#[derive(Debug, Default)]
struct CountMemo(Mutex<HashMap<String, i64>>);

impl Clone for CountMemo {
    fn clone(&self) -> Self {
        CountMemo::default()
    }
}

/// Most counts remembered per node (one per selector the node's Pods were counted with).
const MAX_COUNTS: usize = 64;

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl NodeInfo {
    /// Node info for `node` with no Pods yet.
    pub fn new(node: Arc<Node>) -> NodeInfo {
        let mut info = NodeInfo { name: node.metadata.name.clone().unwrap_or_default(), ..NodeInfo::default() };
        info.set_node(node);
        info
    }

    /// Node info for Pods bound to a node the scheduler has not seen (yet).
    pub fn placeholder(name: &str) -> NodeInfo {
        NodeInfo { name: name.to_string(), ..NodeInfo::default() }
    }

    /// Sets the Node object; true if its images changed.
    pub fn set_node(&mut self, node: Arc<Node>) -> bool {
        let status = node.status.as_ref();
        let spec = node.spec.as_ref();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        self.taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        self.allocatable = Resource::from_list(status.and_then(|s| s.allocatable.as_ref()));
        let images: HashMap<String, i64> = status
            .and_then(|s| s.images.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|i| i.names.iter().flatten().map(move |n| (n.clone(), i.size_bytes.unwrap_or(0))))
            .collect();
        let changed = images != self.images;
        self.images = images;
        self.node = Some(node);
        changed
    }

    /// Forgets the Node object (deleted), keeping its Pods.
    pub fn clear_node(&mut self) {
        self.node = None;
        self.unschedulable = false;
        self.taints.clear();
        self.allocatable = Resource::default();
        self.images.clear();
        self.changed();
    }

    /// The count `key` names, computed by `count` unless remembered since the node last changed.
    pub fn memo_count(&self, key: &str, count: impl FnOnce() -> i64) -> i64 {
        let mut memo = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = memo.get(key) {
            return *n;
        }
        let n = count();
        if memo.len() >= MAX_COUNTS {
            memo.clear();
        }
        memo.insert(key.to_string(), n);
        n
    }

    /// Forgets remembered counts (the node or its Pods changed).
    pub(crate) fn changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.counts = CountMemo::default();
    }

    /// Reads what every filter and score reads of each node, all at once. A cycle visits
    /// hundreds of nodes that other work has pushed out of the CPU caches: read one node at a
    /// time, each waits for memory in turn; read together, the waits overlap.
    pub fn warm<'a>(nodes: impl Iterator<Item = &'a NodeInfo>) {
        let mut x = 0u64;
        for n in nodes {
            x = x.wrapping_add(
                u64::from(n.unschedulable)
                    ^ n.taints.len() as u64
                    ^ n.requested.milli_cpu as u64
                    ^ n.allocatable.milli_cpu as u64
                    ^ n.non_zero_cpu as u64
                    ^ n.pods.len() as u64
                    ^ n.images.len() as u64,
            );
        }
        std::hint::black_box(x);
    }

    /// The Node object; `None` for a placeholder.
    pub fn node(&self) -> Option<&Node> {
        self.node.as_deref()
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.node.as_ref().and_then(|n| n.metadata.labels.as_ref()).unwrap_or(&NO_LABELS)
    }

    pub fn taints(&self) -> &[Taint] {
        &self.taints
    }

    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_cpu += pod.non_zero_cpu;
        self.non_zero_memory += pod.non_zero_memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
        self.changed();
    }

    /// Removes the Pod with `uid`; false if it was not here.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else { return false };
        let pod = self.pods.swap_remove(i);
        self.requested.sub(&pod.requests);
        self.non_zero_cpu -= pod.non_zero_cpu;
        self.non_zero_memory -= pod.non_zero_memory;
        for port in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(j);
            }
        }
        self.pods_with_affinity.retain(|p| p.uid != uid);
        self.pods_with_required_anti_affinity.retain(|p| p.uid != uid);
        self.changed();
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::plugins::testing::{node, pod};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn counts_are_remembered_until_the_node_changes() {
        let mut n = node(json!({"metadata": {"name": "n"}}));
        assert_eq!(n.memo_count("k", || 1), 1);
        assert_eq!(n.memo_count("k", || 2), 1, "remembered");
        assert_eq!(n.clone().memo_count("k", || 3), 3, "a copy is a changed node");
        n.add_pod(Arc::new(pod(json!({"metadata": {"name": "p", "uid": "u"}}))));
        assert_eq!(n.memo_count("k", || 4), 4);
        n.remove_pod("u");
        assert_eq!(n.memo_count("k", || 5), 5);
    }
}
