//! The scheduler's cache (`internal/cache`): every node and the Pods on it, including Pods
//! assumed on a node while their binding is in flight, so a node is never over-committed
//! between a bind and its watch event. Snapshots copy only the nodes that changed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use skiff_api::selector::LabelSelector;

use crate::framework::{NodeInfo, PodInfo, Snapshot};

/// Where a Pod sits in the cache.
#[derive(Debug, Clone)]
struct PodState {
    node: String,
    /// Placed by this scheduler and not yet seen bound in a watch event.
    assumed: bool,
}

/// Nodes and Pods, updated by the informers and the scheduling cycle.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: HashMap<String, Arc<NodeInfo>>,
    /// Real nodes (with a Node object) in the order they were added.
    order: Vec<String>,
    pods: HashMap<String, PodState>,
    namespaces: HashMap<String, BTreeMap<String, String>>,
    workloads: HashMap<String, (String, LabelSelector)>,
    dirty: HashSet<String>,
    structure_changed: bool,
    images_changed: bool,
    lookups_changed: bool,
}

impl Cache {
    pub fn new() -> Cache {
        Cache { structure_changed: true, ..Cache::default() }
    }

    fn node_mut(&mut self, name: &str) -> &mut NodeInfo {
        self.dirty.insert(name.to_string());
        let arc = self.nodes.entry(name.to_string()).or_insert_with(|| Arc::new(NodeInfo::placeholder(name)));
        Arc::make_mut(arc)
    }

    /// Adds or updates a Node.
    pub fn set_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let had_object = self.nodes.get(&name).is_some_and(|n| n.node().is_some());
        let info = self.node_mut(&name);
        let images_changed = info.set_node(node);
        info.changed();
        self.images_changed |= images_changed;
        if !had_object {
            self.order.push(name);
            self.structure_changed = true;
        }
    }

    /// Removes a Node; its Pods stay counted (on a placeholder outside snapshots) until they
    /// are deleted, as Kubernetes does.
    pub fn remove_node(&mut self, name: &str) {
        self.order.retain(|n| n != name);
        self.structure_changed = true;
        self.images_changed = true;
        if self.nodes.get(name).is_some_and(|n| !n.pods.is_empty()) {
            self.node_mut(name).clear_node();
        } else {
            self.nodes.remove(name);
        }
    }

    /// Adds or updates a bound Pod (from a watch event); confirms an assumed one.
    pub fn set_pod(&mut self, pod: Arc<PodInfo>) {
        let node = pod.node_name().to_string();
        if let Some(old) = self.pods.remove(&pod.uid) {
            self.node_mut(&old.node).remove_pod(&pod.uid);
        }
        self.node_mut(&node).add_pod(pod.clone());
        self.pods.insert(pod.uid.clone(), PodState { node, assumed: false });
    }

    /// Removes a Pod (deleted, finished, or no longer bound).
    pub fn remove_pod(&mut self, uid: &str) {
        if let Some(old) = self.pods.remove(uid) {
            self.node_mut(&old.node).remove_pod(uid);
            if self.nodes.get(&old.node).is_some_and(|n| n.node().is_none() && n.pods.is_empty()) {
                self.nodes.remove(&old.node);
            }
        }
    }

    /// Counts `pod` on `node` before the binding is confirmed.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.uid);
        self.node_mut(node).add_pod(pod.clone());
        self.pods.insert(pod.uid.clone(), PodState { node: node.to_string(), assumed: true });
    }

    /// Undoes `assume` after a failed binding.
    pub fn forget(&mut self, uid: &str) {
        if self.pods.get(uid).is_some_and(|s| s.assumed) {
            self.remove_pod(uid);
        }
    }

    pub fn is_assumed(&self, uid: &str) -> bool {
        self.pods.get(uid).is_some_and(|s| s.assumed)
    }

    /// The node a Pod is on (bound or assumed).
    pub fn pod_node(&self, uid: &str) -> Option<&str> {
        self.pods.get(uid).map(|s| s.node.as_str())
    }

    /// Uids of every Pod the cache counts (for re-list reconciliation).
    pub fn pod_uids(&self) -> Vec<String> {
        self.pods.iter().filter(|(_, s)| !s.assumed).map(|(u, _)| u.clone()).collect()
    }

    pub fn set_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        self.namespaces.insert(name.to_string(), labels);
        self.lookups_changed = true;
    }

    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
        self.lookups_changed = true;
    }

    /// A Service or workload selector (`key` is kind/namespace/name).
    pub fn set_workload(&mut self, key: &str, namespace: &str, selector: Option<LabelSelector>) {
        match selector {
            Some(s) => self.workloads.insert(key.to_string(), (namespace.to_string(), s)),
            None => self.workloads.remove(key),
        };
        self.lookups_changed = true;
    }

    /// Brings `snapshot` up to date, copying only the nodes that changed.
    pub fn update_snapshot(&mut self, snapshot: &mut Snapshot) {
        let affinity_of =
            |n: &NodeInfo| (n.pods_with_affinity.is_empty(), n.pods_with_required_anti_affinity.is_empty());
        let mut affinity_changed = self.structure_changed;
        if self.structure_changed {
            snapshot.nodes.clear();
            snapshot.index.clear();
            for name in &self.order {
                if let Some(n) = self.nodes.get(name) {
                    snapshot.index.insert(name.clone(), snapshot.nodes.len());
                    snapshot.nodes.push(n.clone());
                }
            }
            self.structure_changed = false;
        } else {
            for name in &self.dirty {
                if let (Some(i), Some(n)) = (snapshot.index.get(name), self.nodes.get(name)) {
                    affinity_changed |= affinity_of(&snapshot.nodes[*i]) != affinity_of(n);
                    snapshot.nodes[*i] = n.clone();
                }
            }
        }
        self.dirty.clear();
        if affinity_changed {
            snapshot.index_affinity();
        }
        if self.images_changed {
            snapshot.count_images();
            self.images_changed = false;
        }
        if self.lookups_changed {
            snapshot.namespaces = self.namespaces.clone();
            snapshot.workloads = self.workloads.values().cloned().collect();
            self.lookups_changed = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{pod, pod_req};
    use serde_json::json;

    fn node(name: &str) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name},
                "status": {"allocatable": {"cpu": "2", "memory": "2Gi", "pods": "110"}}}))
            .unwrap(),
        )
    }

    fn bound(name: &str, node: &str) -> Arc<PodInfo> {
        Arc::new(pod(json!({"metadata": {"name": name}, "spec": {"nodeName": node, "containers": [
            {"name": "c", "resources": {"requests": {"cpu": "1"}}}]}})))
    }

    #[test]
    fn assumed_pods_count_until_confirmed_or_forgotten() {
        let mut c = Cache::new();
        c.set_node(node("n"));
        let mut s = Snapshot::default();
        let p = Arc::new(pod_req("p", "1", ""));
        c.assume(p.clone(), "n");
        c.update_snapshot(&mut s);
        assert_eq!(s.get("n").unwrap().requested.milli_cpu, 1000);
        assert!(c.is_assumed(&p.uid));
        // The watch event confirms it: still counted once.
        c.set_pod(bound("p", "n"));
        c.update_snapshot(&mut s);
        assert_eq!(s.get("n").unwrap().requested.milli_cpu, 1000);
        assert!(!c.is_assumed(&p.uid));
        c.forget(&p.uid);
        assert_eq!(c.pod_node(&p.uid), Some("n"), "a confirmed Pod is not forgotten");
        // A failed binding gives the room back.
        let q = Arc::new(pod_req("q", "1", ""));
        c.assume(q.clone(), "n");
        c.forget(&q.uid);
        c.update_snapshot(&mut s);
        assert_eq!(s.get("n").unwrap().requested.milli_cpu, 1000);
    }

    #[test]
    fn snapshots_list_the_nodes_with_affinity_pods() {
        let mut c = Cache::new();
        c.set_node(node("a"));
        c.set_node(node("b"));
        let mut s = Snapshot::default();
        c.update_snapshot(&mut s);
        assert_eq!(s.nodes_with_affinity().count(), 0);
        let anti = Arc::new(pod(json!({"metadata": {"name": "x", "labels": {"app": "x"}}, "spec": {"nodeName": "b",
            "containers": [], "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}}}})));
        c.set_pod(anti.clone());
        c.set_pod(bound("plain", "a"));
        c.update_snapshot(&mut s);
        let names = |it: &mut dyn Iterator<Item = &Arc<NodeInfo>>| it.map(|n| n.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&mut s.nodes_with_affinity()), ["b"]);
        assert_eq!(names(&mut s.nodes_with_required_anti_affinity()), ["b"]);
        c.remove_pod(&anti.uid);
        c.update_snapshot(&mut s);
        assert_eq!(s.nodes_with_affinity().count(), 0);
        assert_eq!(s.nodes_with_required_anti_affinity().count(), 0);
    }

    #[test]
    fn snapshots_share_unchanged_nodes() {
        let mut c = Cache::new();
        c.set_node(node("a"));
        c.set_node(node("b"));
        let mut s = Snapshot::default();
        c.update_snapshot(&mut s);
        let b_before = s.get("b").unwrap().clone();
        c.set_pod(bound("p", "a"));
        c.update_snapshot(&mut s);
        assert!(Arc::ptr_eq(&b_before, s.get("b").unwrap()));
        assert_eq!(s.get("a").unwrap().pods.len(), 1);
        c.remove_node("a");
        c.update_snapshot(&mut s);
        assert_eq!(s.len(), 1);
        // Pods of an unknown node are kept apart from the snapshot.
        c.set_pod(bound("q", "ghost"));
        c.update_snapshot(&mut s);
        assert_eq!(s.len(), 1);
    }
}
