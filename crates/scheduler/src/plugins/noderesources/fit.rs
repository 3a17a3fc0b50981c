//! NodeResourcesFit: the Pod's requests (cpu, memory, ephemeral-storage, extended resources,
//! one Pod) must fit in what the node's allocatable leaves; nodes are scored by
//! LeastAllocated (spread, the default), MostAllocated (bin-pack) or RequestedToCapacityRatio.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{default_resources, requested_and_allocatable, resolve, ResourceSpec, Weighted};
use crate::framework::config::ConfigError;
use crate::framework::registry::{self, PluginContext, Registered};
use crate::framework::resource::is_scalar;
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, ScorePlugin, Snapshot,
    Status, MAX_NODE_SCORE,
};

pub const NAME: &str = "NodeResourcesFit";

/// How nodes are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum Strategy {
    #[default]
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShapePoint {
    utilization: i64,
    score: i64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestedToCapacityRatio {
    #[serde(default)]
    shape: Vec<ShapePoint>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScoringStrategy {
    #[serde(default, rename = "type")]
    type_: Strategy,
    #[serde(default)]
    resources: Vec<ResourceSpec>,
    #[serde(default)]
    requested_to_capacity_ratio: Option<RequestedToCapacityRatio>,
}

/// `NodeResourcesFitArgs`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(default)]
    ignored_resources: Vec<String>,
    #[serde(default)]
    ignored_resource_groups: Vec<String>,
    #[serde(default)]
    scoring_strategy: Option<ScoringStrategy>,
}

pub struct Fit {
    strategy: Strategy,
    resources: Vec<Weighted>,
    /// (utilization %, score 0..=10) points of RequestedToCapacityRatio.
    shape: Vec<(i64, i64)>,
    ignored: Vec<String>,
    ignored_groups: Vec<String>,
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// One resource the node lacks: its reason, and whether no amount of preemption can help
/// (the Pod asks for more than the node has at all).
struct Insufficient {
    reason: String,
    unresolvable: bool,
}

impl Fit {
    fn ignored(&self, name: &str) -> bool {
        self.ignored.iter().any(|r| r == name)
            || name.split_once('/').is_some_and(|(group, _)| self.ignored_groups.iter().any(|g| g == group))
    }

    fn insufficient(&self, pod: &PodInfo, node: &NodeInfo) -> Vec<Insufficient> {
        let mut out = Vec::new();
        if node.pods.len() as i64 + 1 > node.allocatable.allowed_pod_number {
            out.push(Insufficient { reason: "Too many pods".into(), unresolvable: false });
        }
        let req = &pod.requests;
        let (alloc, used) = (&node.allocatable, &node.requested);
        for (name, want, have, taken) in [
            ("cpu", req.milli_cpu, alloc.milli_cpu, used.milli_cpu),
            ("memory", req.memory, alloc.memory, used.memory),
            ("ephemeral-storage", req.ephemeral_storage, alloc.ephemeral_storage, used.ephemeral_storage),
        ] {
            if want > 0 && want > have - taken {
                out.push(Insufficient { reason: format!("Insufficient {name}"), unresolvable: want > have });
            }
        }
        for (name, want) in &req.scalar {
            if *want == 0 || (is_scalar(name) && name.contains('/') && self.ignored(name)) {
                continue;
            }
            let have = alloc.get(name);
            if *want > have - used.get(name) {
                out.push(Insufficient { reason: format!("Insufficient {name}"), unresolvable: *want > have });
            }
        }
        out
    }

    fn resource_score(&self, requested: i64, allocatable: i64) -> i64 {
        if allocatable == 0 {
            return 0;
        }
        match self.strategy {
            Strategy::LeastAllocated => {
                if requested > allocatable {
                    0
                } else {
                    (allocatable - requested) * MAX_NODE_SCORE / allocatable
                }
            }
            Strategy::MostAllocated => requested.min(allocatable) * MAX_NODE_SCORE / allocatable,
            Strategy::RequestedToCapacityRatio => {
                let utilization = requested.min(allocatable) * 100 / allocatable;
                broken_linear(&self.shape, utilization)
            }
        }
    }
}

/// The piecewise-linear shape of RequestedToCapacityRatio, scores scaled from 0..=10 to 0..=100.
fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    for (i, (u, s)) in shape.iter().enumerate() {
        if p <= *u {
            if i == 0 {
                return s * MAX_NODE_SCORE / 10;
            }
            let (u0, s0) = shape[i - 1];
            let v = s0 * 10 + (s - s0) * 10 * (p - u0) / (u - u0);
            return v * MAX_NODE_SCORE / 100;
        }
    }
    shape.last().map(|(_, s)| s * MAX_NODE_SCORE / 10).unwrap_or(0)
}

impl PreFilterPlugin for Fit {
    fn pre_filter(&self, _: &mut CycleState, _: &PodInfo, _: &Snapshot) -> (PreFilterResult, Status) {
        (PreFilterResult::all_nodes(), Status::success())
    }
}

impl FilterPlugin for Fit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        let lacking = self.insufficient(pod, node);
        if lacking.is_empty() {
            return Status::success();
        }
        let unresolvable = lacking.iter().any(|i| i.unresolvable);
        let reasons = lacking.into_iter().map(|i| i.reason).collect();
        let code = if unresolvable {
            crate::framework::Code::UnschedulableAndUnresolvable
        } else {
            crate::framework::Code::Unschedulable
        };
        Status::with_reasons(code, reasons)
    }
}

impl ScorePlugin for Fit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        let (mut total, mut weights) = (0, 0);
        for r in &self.resources {
            let (requested, allocatable) = requested_and_allocatable(pod, node, &r.name, true);
            if allocatable == 0 {
                continue;
            }
            total += self.resource_score(requested, allocatable) * r.weight;
            weights += r.weight;
        }
        Ok(if weights == 0 { 0 } else { total / weights })
    }
}

pub fn factory(args: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let a: Args = registry::args(NAME, args)?;
    let s = a.scoring_strategy.unwrap_or_default();
    let resources = if s.resources.is_empty() { default_resources() } else { s.resources };
    if let Some(r) = resources.iter().find(|r| !(1..=100).contains(&r.weight)) {
        return Err(ConfigError::Invalid(format!(
            "{NAME} args: scoringStrategy.resources[{}].weight: Invalid value: {}: resource weight of {} not in valid range [1, 100]",
            r.name, r.weight, r.name
        )));
    }
    let shape: Vec<(i64, i64)> = s
        .requested_to_capacity_ratio
        .map(|r| r.shape.into_iter().map(|p| (p.utilization, p.score)).collect())
        .unwrap_or_default();
    if s.type_ == Strategy::RequestedToCapacityRatio && shape.is_empty() {
        return Err(ConfigError::Invalid(format!("{NAME} args: requestedToCapacityRatio.shape: Required value")));
    }
    let p = Arc::new(Fit {
        strategy: s.type_,
        resources: resolve(&resources),
        shape,
        ignored: a.ignored_resources,
        ignored_groups: a.ignored_resource_groups,
    });
    Ok(Registered { pre_filter: Some(p.clone()), filter: Some(p.clone()), score: Some(p), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testing::{node_with, pod, pod_req, with_pods};
    use serde_json::json;

    fn fit(args: Value) -> Arc<dyn ScorePlugin> {
        factory(&args, &PluginContext::default()).unwrap().score.unwrap()
    }

    fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
        let f = factory(&Value::Null, &PluginContext::default()).unwrap().filter.unwrap();
        f.filter(&CycleState::default(), pod, node, &Snapshot::default())
    }

    #[test]
    fn requests_must_fit_in_what_is_left() {
        let n = with_pods(node_with("n", "2", "4Gi", json!(null)), vec![pod_req("a", "1500m", "1Gi")]);
        assert!(filter(&pod_req("p", "500m", "3Gi"), &n).is_success());
        let s = filter(&pod_req("p", "600m", "4Gi"), &n);
        assert_eq!(s.code(), Code::Unschedulable);
        assert_eq!(s.reasons(), ["Insufficient cpu", "Insufficient memory"]);
        // More than the node has at all: preemption cannot help.
        assert_eq!(filter(&pod_req("p", "3", ""), &n).code(), Code::UnschedulableAndUnresolvable);
    }

    #[test]
    fn pod_count_and_extended_resources() {
        let full = node_with("n", "1", "1Gi", json!(null));
        let mut full = full;
        full.allocatable.allowed_pod_number = 1;
        let full = with_pods(full, vec![pod_req("a", "", "")]);
        assert_eq!(filter(&pod_req("p", "", ""), &full).reasons(), ["Too many pods"]);
        let gpu = pod(json!({"metadata": {"name": "g"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"example.com/gpu": "1"}}}]}}));
        assert_eq!(filter(&gpu, &node_with("n", "1", "1Gi", json!(null))).reasons(), ["Insufficient example.com/gpu"]);
    }

    #[test]
    fn least_and_most_allocated_scores() {
        let n = with_pods(node_with("n", "4", "8Gi", json!(null)), vec![pod_req("a", "1", "2Gi")]);
        let p = pod_req("p", "1", "2Gi");
        let (st, s) = (CycleState::default(), Snapshot::default());
        // Half of cpu and memory used with the Pod: 50 either way.
        assert_eq!(fit(Value::Null).score(&st, &p, &n, &s).unwrap(), 50);
        let most = fit(json!({"scoringStrategy": {"type": "MostAllocated"}}));
        let small = pod_req("p", "2", "4Gi");
        assert_eq!(most.score(&st, &small, &n, &s).unwrap(), 75);
        assert_eq!(fit(Value::Null).score(&st, &small, &n, &s).unwrap(), 25);
    }

    #[test]
    fn bad_weights_are_rejected() {
        let bad = json!({"scoringStrategy": {"resources": [{"name": "cpu", "weight": 0}]}});
        assert!(factory(&bad, &PluginContext::default()).is_err());
    }
}
