//! TaintToleration: a node's NoSchedule and NoExecute taints keep out Pods that do not
//! tolerate them; PreferNoSchedule taints lower the node's score.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Toleration;
use serde_json::Value;

use super::normalize::default_normalize;
use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, NodeScore, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status,
};
use skiff_api::scheduling::{first_untolerated, tolerates};

pub const NAME: &str = "TaintToleration";

pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
}

fn tolerations(pod: &PodInfo) -> &[Toleration] {
    pod.pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[])
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        match first_untolerated(node.taints(), tolerations(pod), |e| e == "NoSchedule" || e == "NoExecute") {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            )),
        }
    }
}

/// The Pod's tolerations that can tolerate PreferNoSchedule taints.
#[derive(Clone)]
struct PreScoreState(Vec<Toleration>);

impl PreScorePlugin for TaintToleration {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        let prefer: Vec<Toleration> = tolerations(pod)
            .iter()
            .filter(|t| t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
            .cloned()
            .collect();
        state.write(NAME, PreScoreState(prefer));
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        if node.taints().is_empty() {
            return Ok(0);
        }
        let tols = state.read::<PreScoreState>(NAME).map(|s| s.0.as_slice()).unwrap_or(&[]);
        let n = node
            .taints()
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tols.iter().any(|tol| tolerates(tol, t)))
            .count();
        Ok(n as i64)
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        default_normalize(scores, true);
        Status::success()
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let p = Arc::new(TaintToleration);
    Ok(Registered { filter: Some(p.clone()), pre_score: Some(p.clone()), score: Some(p), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use serde_json::json;

    #[test]
    fn untolerated_taints_are_named_as_kubernetes_names_them() {
        let n = node(json!({"metadata": {"name": "n"}, "spec": {"taints": [
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}));
        let (st, s) = (CycleState::default(), Snapshot::default());
        let p = pod(json!({"metadata": {"name": "p"}}));
        assert_eq!(
            TaintToleration.filter(&st, &p, &n, &s),
            Status::unresolvable("node(s) had untolerated taint {dedicated: gpu}")
        );
        let ok = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}}));
        assert!(TaintToleration.filter(&st, &ok, &n, &s).is_success());
    }

    #[test]
    fn prefer_no_schedule_lowers_the_score() {
        let tainted = node(json!({"metadata": {"name": "a"}, "spec": {"taints": [
            {"key": "k", "effect": "PreferNoSchedule"}]}}));
        let clean = node(json!({"metadata": {"name": "b"}}));
        let p = pod(json!({"metadata": {"name": "p"}}));
        let s = Snapshot::default();
        let mut st = CycleState::default();
        TaintToleration.pre_score(&mut st, &p, &[], &s);
        let mut scores: Vec<NodeScore> = [&tainted, &clean]
            .iter()
            .map(|n| NodeScore { name: &n.name, score: TaintToleration.score(&st, &p, n, &s).unwrap() })
            .collect();
        TaintToleration.normalize(&st, &p, &mut scores);
        assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), vec![0, 100]);
    }
}
