//! PodTopologySpread's PreFilter and Filter: `matching Pods in the node's domain + 1 (if the
//! Pod matches itself) - the smallest count of any domain` must not exceed maxSkew.

use std::collections::HashMap;

use super::{has_all_keys, Constraint, PodTopologySpread, ERR_CONSTRAINTS_NOT_MATCH, ERR_NODE_LABEL_NOT_MATCH, NAME};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, PodInfo, PreFilterExtensions, PreFilterPlugin, PreFilterResult, Snapshot,
    Status,
};

#[derive(Debug, Clone)]
pub(super) struct PreFilterState {
    constraints: Vec<Constraint>,
    /// Per constraint: topology value → matching Pods.
    counts: Vec<HashMap<String, i64>>,
}

impl PreFilterState {
    fn min_match(&self, i: usize) -> i64 {
        let c = &self.constraints[i];
        let counts = &self.counts[i];
        if (counts.len() as i64) < c.min_domains {
            return 0;
        }
        counts.values().copied().min().unwrap_or(0)
    }

    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
        if other.namespace != pod.namespace || !has_all_keys(node, &self.constraints) {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.includes(pod, node) || !c.selects(other) {
                continue;
            }
            if let Some(v) = node.labels().get(&c.topology_key) {
                *self.counts[i].entry(v.clone()).or_default() += by;
            }
        }
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> (PreFilterResult, Status) {
        let constraints = self.constraints(pod, snapshot, true);
        if constraints.is_empty() {
            return (PreFilterResult::all_nodes(), Status::skip());
        }
        let mut counts = vec![HashMap::new(); constraints.len()];
        for node in &snapshot.nodes {
            if !has_all_keys(node, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !c.includes(pod, node) {
                    continue;
                }
                let v = node.labels().get(&c.topology_key).cloned().unwrap_or_default();
                *counts[i].entry(v).or_default() += c.count(pod, node);
            }
        }
        state.write(NAME, PreFilterState { constraints, counts });
        (PreFilterResult::all_nodes(), Status::success())
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for PodTopologySpread {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo, _: &Snapshot) {
        if let Some(s) = state.read_mut::<PreFilterState>(NAME) {
            s.update(pod, added, node, 1);
        }
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &PodInfo, node: &NodeInfo, _: &Snapshot) {
        if let Some(s) = state.read_mut::<PreFilterState>(NAME) {
            s.update(pod, removed, node, -1);
        }
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        let Some(s) = state.read::<PreFilterState>(NAME) else {
            return Status::error(format!("reading {NAME:?} from cycle state: not found"));
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(v) = node.labels().get(&c.topology_key) else {
                return Status::unresolvable(ERR_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selects(pod));
            let matching = s.counts[i].get(v).copied().unwrap_or(0);
            if matching + self_match - s.min_match(i) > c.max_skew {
                return Status::unschedulable(ERR_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::registry::PluginContext;
    use crate::plugins::testing::{node_with, pod, snapshot, with_pods};
    use serde_json::{json, Value};

    fn web(name: &str) -> PodInfo {
        pod(json!({"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"containers": [],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "web"}}}]}}))
    }

    #[test]
    fn max_skew_keeps_zones_even() {
        let p = super::super::factory(&Value::Null, &PluginContext::default()).unwrap();
        let (pre, filter) = (p.pre_filter.unwrap(), p.filter.unwrap());
        let s = snapshot(vec![
            with_pods(node_with("a", "1", "1Gi", json!({"zone": "z1"})), vec![web("w1")]),
            node_with("b", "1", "1Gi", json!({"zone": "z2"})),
            node_with("c", "1", "1Gi", json!(null)),
        ]);
        let mut st = CycleState::default();
        let incoming = web("w2");
        assert!(pre.pre_filter(&mut st, &incoming, &s).1.is_success());
        let got: Vec<Status> = s.nodes.iter().map(|n| filter.filter(&st, &incoming, n, &s)).collect();
        assert_eq!(got[0], Status::unschedulable(ERR_CONSTRAINTS_NOT_MATCH));
        assert!(got[1].is_success());
        assert_eq!(got[2], Status::unresolvable(ERR_NODE_LABEL_NOT_MATCH));
    }
}
