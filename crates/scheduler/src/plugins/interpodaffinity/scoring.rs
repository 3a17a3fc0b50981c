//! InterPodAffinity's PreScore, Score and NormalizeScore (`scoring.go`).

use std::collections::HashMap;

use super::{term_matches, InterPodAffinity, NAME};
use crate::framework::podinfo::{AffinityTerm, WeightedAffinityTerm};
use crate::framework::{
    CycleState, NodeInfo, NodeScore, PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status, MAX_NODE_SCORE,
};

/// Scores per topology key, then value.
#[derive(Debug, Clone, Default)]
struct PreScoreState(HashMap<String, HashMap<String, i64>>);

impl PreScoreState {
    fn process(&mut self, term: &AffinityTerm, weight: i64, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) {
        if let Some(v) = node.labels().get(&term.topology_key) {
            if term_matches(term, pod, snapshot) {
                *self.0.entry(term.topology_key.clone()).or_default().entry(v.clone()).or_default() += weight;
            }
        }
    }

    fn process_weighted(
        &mut self,
        terms: &[WeightedAffinityTerm],
        sign: i64,
        pod: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) {
        for t in terms {
            self.process(&t.term, sign * t.weight as i64, pod, node, snapshot);
        }
    }
}

impl InterPodAffinity {
    fn process_existing(
        &self,
        s: &mut PreScoreState,
        pod: &PodInfo,
        existing: &PodInfo,
        node: &NodeInfo,
        snap: &Snapshot,
    ) {
        if node.labels().is_empty() {
            return;
        }
        s.process_weighted(&pod.preferred_affinity, 1, existing, node, snap);
        s.process_weighted(&pod.preferred_anti_affinity, -1, existing, node, snap);
        if self.hard_pod_affinity_weight > 0 {
            for t in &existing.required_affinity {
                s.process(t, self.hard_pod_affinity_weight, pod, node, snap);
            }
        }
        s.process_weighted(&existing.preferred_affinity, 1, pod, node, snap);
        s.process_weighted(&existing.preferred_anti_affinity, -1, pod, node, snap);
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        let has_constraints = !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        let mut s = PreScoreState::default();
        if has_constraints {
            for node in &snapshot.nodes {
                for existing in &node.pods {
                    self.process_existing(&mut s, pod, existing, node, snapshot);
                }
            }
        } else {
            for node in snapshot.nodes_with_affinity() {
                for existing in &node.pods_with_affinity {
                    self.process_existing(&mut s, pod, existing, node, snapshot);
                }
            }
        }
        if s.0.is_empty() {
            return Status::skip();
        }
        state.write(NAME, s);
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        let Some(s) = state.read::<PreScoreState>(NAME) else { return Ok(0) };
        let labels = node.labels();
        Ok(s.0.iter().filter_map(|(k, values)| labels.get(k).and_then(|v| values.get(v))).sum())
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let (Some(min), Some(max)) = (scores.iter().map(|s| s.score).min(), scores.iter().map(|s| s.score).max())
        else {
            return Status::success();
        };
        let diff = max - min;
        for s in scores {
            s.score = if diff > 0 { MAX_NODE_SCORE * (s.score - min) / diff } else { 0 };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with, pod, snapshot, with_pods};
    use serde_json::json;

    #[test]
    fn preferred_anti_affinity_scores_away_from_matching_pods() {
        let plugin = InterPodAffinity { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false };
        let cache = pod(json!({"metadata": {"name": "c", "labels": {"app": "cache"}}}));
        let s = snapshot(vec![
            with_pods(node_with("a", "1", "1Gi", json!(null)), vec![cache]),
            node_with("b", "1", "1Gi", json!(null)),
        ]);
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}}]}}}}));
        let mut st = CycleState::default();
        assert!(plugin.pre_score(&mut st, &p, &[], &s).is_success());
        let mut scores: Vec<NodeScore> =
            s.nodes.iter().map(|n| NodeScore { name: &n.name, score: plugin.score(&st, &p, n, &s).unwrap() }).collect();
        plugin.normalize(&st, &p, &mut scores);
        assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), vec![0, 100]);
    }
}
