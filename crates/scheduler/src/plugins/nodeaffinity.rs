//! NodeAffinity: `nodeSelector` and required node affinity terms filter nodes; preferred
//! terms add their weights to the score.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{NodeSelector, PreferredSchedulingTerm};
use serde::Deserialize;
use serde_json::Value;

use super::normalize::default_normalize;
use crate::framework::config::ConfigError;
use crate::framework::registry::{self, PluginContext, Registered};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeScore, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, PreScorePlugin,
    ScorePlugin, Snapshot, Status,
};
use skiff_api::scheduling::{node_selector_matches, term_matches};

pub const NAME: &str = "NodeAffinity";
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// `NodeAffinityArgs`: affinity every Pod of the profile must also satisfy.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(default)]
    added_affinity: Option<k8s_openapi::api::core::v1::NodeAffinity>,
}

pub struct NodeAffinity {
    added_required: Option<NodeSelector>,
    added_preferred: Vec<PreferredSchedulingTerm>,
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

fn required(pod: &PodInfo) -> Option<&NodeSelector> {
    pod.pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
}

fn preferred(pod: &PodInfo) -> &[PreferredSchedulingTerm] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

/// Whether the node matches the Pod's nodeSelector and required terms.
pub fn pod_matches_node(pod: &PodInfo, node: &NodeInfo) -> bool {
    let labels = node.labels();
    let selector_ok = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
    selector_ok && required(pod).is_none_or(|r| node_selector_matches(r, labels, &node.name))
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> (PreFilterResult, Status) {
        let has_selector = pod.pod.spec.as_ref().is_some_and(|s| s.node_selector.is_some());
        let Some(req) = required(pod) else {
            if !has_selector && self.added_required.is_none() {
                return (PreFilterResult::all_nodes(), Status::skip());
            }
            return (PreFilterResult::all_nodes(), Status::success());
        };
        let mut names: Option<HashSet<String>> = None;
        for t in &req.node_selector_terms {
            let mut term_names: Option<HashSet<String>> = None;
            for r in t.match_fields.iter().flatten() {
                if r.key == "metadata.name" && r.operator == "In" {
                    let s: HashSet<String> = r.values.iter().flatten().cloned().collect();
                    term_names = Some(match term_names {
                        None => s,
                        Some(prev) => prev.intersection(&s).cloned().collect(),
                    });
                }
            }
            let Some(term_names) = term_names else { return (PreFilterResult::all_nodes(), Status::success()) };
            names.get_or_insert_with(HashSet::new).extend(term_names);
        }
        match names {
            Some(n) if n.is_empty() => (PreFilterResult::all_nodes(), Status::unresolvable(ERR_REASON_CONFLICT)),
            Some(n) => (PreFilterResult { node_names: Some(n) }, Status::success()),
            None => (PreFilterResult::all_nodes(), Status::success()),
        }
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        if let Some(added) = &self.added_required {
            if !node_selector_matches(added, node.labels(), &node.name) {
                return Status::unresolvable(ERR_REASON_ENFORCED);
            }
        }
        if pod_matches_node(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        if preferred(pod).is_empty() && self.added_preferred.is_empty() {
            return Status::skip();
        }
        Status::success()
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        let labels = node.labels();
        let score = self
            .added_preferred
            .iter()
            .chain(preferred(pod))
            .filter(|t| t.weight != 0 && term_matches(&t.preference, labels, &node.name))
            .map(|t| t.weight as i64)
            .sum();
        Ok(score)
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize(scores, false);
        Status::success()
    }
}

pub fn factory(args: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let a: Args = registry::args(NAME, args)?;
    let added = a.added_affinity.unwrap_or_default();
    let p = Arc::new(NodeAffinity {
        added_required: added.required_during_scheduling_ignored_during_execution,
        added_preferred: added.preferred_during_scheduling_ignored_during_execution.unwrap_or_default(),
    });
    Ok(Registered::filter_and_score(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with, pod};
    use serde_json::json;

    fn plugin() -> NodeAffinity {
        NodeAffinity { added_required: None, added_preferred: Vec::new() }
    }

    #[test]
    fn node_selector_and_required_terms_filter() {
        let ssd = node_with("a", "1", "1Gi", json!({"disk": "ssd"}));
        let hdd = node_with("b", "1", "1Gi", json!({"disk": "hdd"}));
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "nodeSelector": {"disk": "ssd"}}}));
        let (st, s) = (CycleState::default(), Snapshot::default());
        assert!(plugin().filter(&st, &p, &ssd, &s).is_success());
        assert_eq!(plugin().filter(&st, &p, &hdd, &s), Status::unresolvable(ERR_REASON_POD));
    }

    #[test]
    fn match_fields_on_names_narrow_the_nodes() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}]}}}}}));
        let (r, status) = plugin().pre_filter(&mut CycleState::default(), &p, &Snapshot::default());
        assert!(status.is_success());
        assert_eq!(r.node_names.unwrap().len(), 2);
    }

    #[test]
    fn preferred_terms_score_by_weight() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}},
                {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]}}}}));
        let both = node_with("a", "1", "1Gi", json!({"zone": "x", "disk": "ssd"}));
        let one = node_with("b", "1", "1Gi", json!({"zone": "x"}));
        let (st, s) = (CycleState::default(), Snapshot::default());
        let mut scores = vec![
            NodeScore { name: "a", score: plugin().score(&st, &p, &both, &s).unwrap() },
            NodeScore { name: "b", score: plugin().score(&st, &p, &one, &s).unwrap() },
        ];
        plugin().normalize(&st, &p, &mut scores);
        assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), vec![100, 25]);
    }
}
