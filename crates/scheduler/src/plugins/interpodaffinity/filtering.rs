//! InterPodAffinity's PreFilter and Filter (`filtering.go`).

use super::{
    matches_all, term_matches, InterPodAffinity, TopologyCounts, ERR_AFFINITY, ERR_ANTI_AFFINITY,
    ERR_EXISTING_ANTI_AFFINITY, NAME,
};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, PodInfo, PreFilterExtensions, PreFilterPlugin, PreFilterResult, Snapshot,
    Status,
};

/// Counts for one cycle.
#[derive(Debug, Clone, Default)]
pub(super) struct PreFilterState {
    /// Domains where a placed Pod's required anti-affinity rejects the incoming Pod.
    existing_anti_affinity: TopologyCounts,
    /// Domains with Pods that match all of the incoming Pod's affinity terms.
    affinity: TopologyCounts,
    /// Domains with Pods that the incoming Pod's anti-affinity terms reject.
    anti_affinity: TopologyCounts,
}

impl PreFilterState {
    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, snapshot: &Snapshot, by: i64) {
        for t in &other.required_anti_affinity {
            if term_matches(t, pod, snapshot) {
                self.existing_anti_affinity.add(&t.topology_key, node, by);
            }
        }
        if matches_all(&pod.required_affinity, other, snapshot) {
            for t in &pod.required_affinity {
                self.affinity.add(&t.topology_key, node, by);
            }
        }
        for t in &pod.required_anti_affinity {
            if term_matches(t, other, snapshot) {
                self.anti_affinity.add(&t.topology_key, node, by);
            }
        }
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> (PreFilterResult, Status) {
        let has_own = !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
        let mut s = PreFilterState::default();
        let mut any_existing = false;
        for node in snapshot.nodes_with_required_anti_affinity() {
            for other in &node.pods_with_required_anti_affinity {
                any_existing = true;
                for t in &other.required_anti_affinity {
                    if term_matches(t, pod, snapshot) {
                        s.existing_anti_affinity.add(&t.topology_key, node, 1);
                    }
                }
            }
        }
        if !has_own && !any_existing {
            return (PreFilterResult::all_nodes(), Status::skip());
        }
        if has_own {
            for node in &snapshot.nodes {
                for other in &node.pods {
                    if matches_all(&pod.required_affinity, other, snapshot) {
                        for t in &pod.required_affinity {
                            s.affinity.add(&t.topology_key, node, 1);
                        }
                    }
                    for t in &pod.required_anti_affinity {
                        if term_matches(t, other, snapshot) {
                            s.anti_affinity.add(&t.topology_key, node, 1);
                        }
                    }
                }
            }
        }
        state.write(NAME, s);
        (PreFilterResult::all_nodes(), Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for InterPodAffinity {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) {
        if let Some(s) = state.read_mut::<PreFilterState>(NAME) {
            s.update(pod, added, node, snapshot, 1);
        }
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) {
        if let Some(s) = state.read_mut::<PreFilterState>(NAME) {
            s.update(pod, removed, node, snapshot, -1);
        }
    }
}

fn satisfies_affinity(s: &PreFilterState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> bool {
    let labels = node.labels();
    let mut pods_exist = true;
    for t in &pod.required_affinity {
        let Some(v) = labels.get(&t.topology_key) else { return false };
        if s.affinity.get(&t.topology_key, v) <= 0 {
            pods_exist = false;
        }
    }
    // The first Pod of a group with affinity to itself may go anywhere with the topology keys.
    pods_exist || (s.affinity.is_empty() && matches_all(&pod.required_affinity, pod, snapshot))
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        let Some(s) = state.read::<PreFilterState>(NAME) else {
            return Status::error(format!("reading {NAME:?} from cycle state: not found"));
        };
        let labels = node.labels();
        if !s.existing_anti_affinity.is_empty() && labels.iter().any(|(k, v)| s.existing_anti_affinity.get(k, v) > 0) {
            return Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY);
        }
        if !satisfies_affinity(s, pod, node, snapshot) {
            return Status::unresolvable(ERR_AFFINITY);
        }
        for t in &pod.required_anti_affinity {
            if let Some(v) = labels.get(&t.topology_key) {
                if s.anti_affinity.get(&t.topology_key, v) > 0 {
                    return Status::unschedulable(ERR_ANTI_AFFINITY);
                }
            }
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with, pod, snapshot, with_pods};
    use serde_json::json;

    fn plugin() -> InterPodAffinity {
        InterPodAffinity { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }

    fn web(name: &str, anti: bool) -> PodInfo {
        let mut p = json!({"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"containers": []}});
        if anti {
            p["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}});
        }
        pod(p)
    }

    fn run(p: &InterPodAffinity, pod: &PodInfo, s: &Snapshot) -> Vec<Status> {
        let mut st = CycleState::default();
        let (_, status) = p.pre_filter(&mut st, pod, s);
        if status.is_skip() {
            return s.nodes.iter().map(|_| Status::success()).collect();
        }
        s.nodes.iter().map(|n| p.filter(&st, pod, n, s)).collect()
    }

    #[test]
    fn required_anti_affinity_spreads_both_ways() {
        let s = snapshot(vec![
            with_pods(node_with("a", "1", "1Gi", json!(null)), vec![web("w1", true)]),
            node_with("b", "1", "1Gi", json!(null)),
        ]);
        // The incoming Pod's own anti-affinity.
        let got = run(&plugin(), &web("w2", true), &s);
        assert_eq!(got[0], Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY));
        assert!(got[1].is_success());
        // A Pod without rules is still kept off by the placed Pod's anti-affinity.
        let got = run(&plugin(), &web("w3", false), &s);
        assert_eq!(got[0], Status::unschedulable(ERR_EXISTING_ANTI_AFFINITY));
    }

    #[test]
    fn required_affinity_follows_matching_pods_and_lets_the_first_one_in() {
        let with_db = |name: &str| {
            pod(json!({"metadata": {"name": name, "labels": {"app": "db"}}, "spec": {"containers": [],
                "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}]}}}}))
        };
        let empty = snapshot(vec![
            node_with("a", "1", "1Gi", json!({"zone": "z1"})),
            node_with("b", "1", "1Gi", json!({"zone": "z2"})),
            node_with("c", "1", "1Gi", json!(null)),
        ]);
        let got = run(&plugin(), &with_db("first"), &empty);
        assert!(got[0].is_success() && got[1].is_success());
        assert_eq!(got[2], Status::unresolvable(ERR_AFFINITY), "the node lacks the topology key");
        let placed = snapshot(vec![
            with_pods(node_with("a", "1", "1Gi", json!({"zone": "z1"})), vec![with_db("first")]),
            node_with("b", "1", "1Gi", json!({"zone": "z2"})),
        ]);
        let got = run(&plugin(), &with_db("second"), &placed);
        assert!(got[0].is_success());
        assert_eq!(got[1], Status::unresolvable(ERR_AFFINITY));
    }
}
