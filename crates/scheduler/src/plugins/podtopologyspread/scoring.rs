//! PodTopologySpread's PreScore, Score and NormalizeScore: fewer matching Pods in a node's
//! domains (weighted by the log of the number of domains) scores higher.

use std::collections::{HashMap, HashSet};

use super::{has_all_keys, Constraint, PodTopologySpread, HOSTNAME, NAME};
use crate::framework::{
    CycleState, NodeInfo, NodeScore, PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status, MAX_NODE_SCORE,
};

#[derive(Debug, Clone)]
struct PreScoreState {
    constraints: Vec<Constraint>,
    /// Nodes without a required key: scored 0.
    ignored: HashSet<String>,
    /// (constraint, topology value) → matching Pods (hostname constraints are counted per node).
    counts: HashMap<(usize, String), i64>,
    weights: Vec<f64>,
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        let constraints = self.constraints(pod, snapshot, false);
        if constraints.is_empty() {
            return Status::skip();
        }
        let own =
            pod.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_ref()).is_some_and(|c| !c.is_empty());
        let require_all = own || !self.system_defaulted;
        let mut ignored = HashSet::new();
        let mut counts: HashMap<(usize, String), i64> = HashMap::new();
        let mut sizes = vec![0usize; constraints.len()];
        for n in nodes {
            if require_all && !has_all_keys(n, &constraints) {
                ignored.insert(n.name.clone());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME {
                    continue;
                }
                let v = n.labels().get(&c.topology_key).cloned().unwrap_or_default();
                if let std::collections::hash_map::Entry::Vacant(e) = counts.entry((i, v)) {
                    e.insert(0);
                    sizes[i] += 1;
                }
            }
        }
        for node in &snapshot.nodes {
            if require_all && !has_all_keys(node, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME || !c.includes(pod, node) {
                    continue;
                }
                let v = node.labels().get(&c.topology_key).cloned().unwrap_or_default();
                if let Some(n) = counts.get_mut(&(i, v)) {
                    *n += c.count(pod, node);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == HOSTNAME { nodes.len() - ignored.len() } else { sizes[i] };
                ((size + 2) as f64).ln()
            })
            .collect();
        state.write(NAME, PreScoreState { constraints, ignored, counts, weights });
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(NAME) else { return Ok(0) };
        if s.ignored.contains(&node.name) {
            return Ok(0);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            if let Some(v) = node.labels().get(&c.topology_key) {
                let count = if c.topology_key == HOSTNAME {
                    c.count(pod, node)
                } else {
                    s.counts.get(&(i, v.clone())).copied().unwrap_or(0)
                };
                score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
            }
        }
        Ok(score.round() as i64)
    }

    fn normalize(&self, state: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<PreScoreState>(NAME) else { return Status::success() };
        let valid = || scores.iter().filter(|n| !s.ignored.contains(n.name)).map(|n| n.score);
        let (min, max) = (valid().min().unwrap_or(0), valid().max().unwrap_or(0));
        for n in scores.iter_mut() {
            n.score = if s.ignored.contains(n.name) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - n.score) / max
            };
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
    use skiff_api::selector::LabelSelector;

    #[test]
    fn default_constraints_spread_a_workloads_pods_over_nodes() {
        let p = super::super::factory(&Value::Null, &PluginContext::default()).unwrap();
        let (pre, score) = (p.pre_score.unwrap(), p.score.unwrap());
        let rs = |name: &str| pod(json!({"metadata": {"name": name, "labels": {"app": "web"}}}));
        let mut s = snapshot(vec![
            with_pods(node_with("a", "1", "1Gi", json!(null)), vec![rs("r1"), rs("r2")]),
            node_with("b", "1", "1Gi", json!(null)),
        ]);
        s.workloads.push(("default".into(), LabelSelector::parse("app=web").unwrap()));
        let incoming = rs("r3");
        let nodes: Vec<&NodeInfo> = s.nodes.iter().map(|n| n.as_ref()).collect();
        let mut st = CycleState::default();
        assert!(pre.pre_score(&mut st, &incoming, &nodes, &s).is_success());
        let mut scores: Vec<NodeScore> = nodes
            .iter()
            .map(|n| NodeScore { name: &n.name, score: score.score(&st, &incoming, n, &s).unwrap() })
            .collect();
        score.normalize(&st, &incoming, &mut scores);
        assert!(scores[1].score > scores[0].score, "{scores:?}");
        // A Pod no workload selects has no default constraints.
        let lone = pod(json!({"metadata": {"name": "x"}}));
        assert!(pre.pre_score(&mut CycleState::default(), &lone, &nodes, &s).is_skip());
    }
}
