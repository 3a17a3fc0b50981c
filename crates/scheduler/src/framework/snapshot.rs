//! A consistent view of every node for one scheduling cycle (`cache.Snapshot`): plugins read
//! it and never see it change under them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use skiff_api::selector::LabelSelector;

use super::nodeinfo::NodeInfo;

/// Every node with its Pods, in a stable order, plus what plugins look up across nodes.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub nodes: Vec<Arc<NodeInfo>>,
    pub index: HashMap<String, usize>,
    /// Namespace labels, for affinity terms with a namespaceSelector.
    pub namespaces: HashMap<String, BTreeMap<String, String>>,
    /// Image name → how many nodes have it.
    pub image_nodes: HashMap<String, usize>,
    /// Selectors of Services, ReplicaSets, StatefulSets and ReplicationControllers by
    /// namespace: the Pods they select spread by PodTopologySpread's default constraints.
    pub workloads: Vec<(String, LabelSelector)>,
    /// Positions in `nodes` of the nodes holding Pods with any Pod (anti-)affinity, and with
    /// required anti-affinity: InterPodAffinity visits only these for Pods without terms.
    with_affinity: Vec<usize>,
    with_required_anti_affinity: Vec<usize>,
}

impl Snapshot {
    /// A snapshot of `nodes` (tests and preemption's what-ifs).
    pub fn from_nodes(nodes: Vec<NodeInfo>) -> Snapshot {
        let mut s = Snapshot::default();
        for n in nodes {
            s.index.insert(n.name.clone(), s.nodes.len());
            s.nodes.push(Arc::new(n));
        }
        s.count_images();
        s.index_affinity();
        s
    }

    /// Recomputes which nodes hold Pods with affinity terms.
    pub fn index_affinity(&mut self) {
        let positions = |f: fn(&NodeInfo) -> bool| -> Vec<usize> {
            self.nodes.iter().enumerate().filter(|(_, n)| f(n)).map(|(i, _)| i).collect()
        };
        self.with_affinity = positions(|n| !n.pods_with_affinity.is_empty());
        self.with_required_anti_affinity = positions(|n| !n.pods_with_required_anti_affinity.is_empty());
    }

    /// Recounts `image_nodes` from the nodes.
    pub fn count_images(&mut self) {
        self.image_nodes.clear();
        for n in &self.nodes {
            for name in n.images.keys() {
                *self.image_nodes.entry(name.clone()).or_default() += 1;
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn namespace_labels(&self, ns: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(ns)
    }

    /// Nodes holding at least one Pod with Pod (anti-)affinity.
    pub fn nodes_with_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.with_affinity.iter().map(|i| &self.nodes[*i])
    }

    /// Nodes holding at least one Pod with required anti-affinity.
    pub fn nodes_with_required_anti_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.with_required_anti_affinity.iter().map(|i| &self.nodes[*i])
    }
}
