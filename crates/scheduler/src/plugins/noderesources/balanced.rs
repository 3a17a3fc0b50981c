//! NodeResourcesBalancedAllocation: prefer nodes whose resources would be used evenly
//! (one minus the standard deviation of the requested fractions).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{default_resources, requested_and_allocatable, resolve, ResourceSpec, Weighted};
use crate::framework::config::ConfigError;
use crate::framework::registry::{self, PluginContext, Registered};
use crate::framework::{
    CycleState, NodeInfo, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status, MAX_NODE_SCORE,
};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(default)]
    resources: Vec<ResourceSpec>,
}

pub struct Balanced {
    resources: Vec<Weighted>,
}

impl Plugin for Balanced {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreScorePlugin for Balanced {
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], _: &Snapshot) -> Status {
        // A Pod that requests none of the resources changes no balance.
        if self.resources.iter().all(|r| pod.requests.amount(&r.name) == 0) {
            return Status::skip();
        }
        Status::success()
    }
}

impl ScorePlugin for Balanced {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        // On the stack for the usual few resources: this runs for every node of every cycle.
        let (mut stack, mut heap) = ([0.0f64; 8], Vec::new());
        let room: &mut [f64] = if self.resources.len() <= stack.len() {
            &mut stack
        } else {
            heap.resize(self.resources.len(), 0.0);
            &mut heap
        };
        let mut n = 0;
        for r in &self.resources {
            let (requested, allocatable) = requested_and_allocatable(pod, node, &r.name, false);
            if allocatable == 0 {
                continue;
            }
            room[n] = (requested as f64 / allocatable as f64).min(1.0);
            n += 1;
        }
        let std = match &room[..n] {
            [] | [_] => 0.0,
            [a, b] => (a - b).abs() / 2.0,
            all => {
                let mean = all.iter().sum::<f64>() / all.len() as f64;
                (all.iter().map(|f| (f - mean) * (f - mean)).sum::<f64>() / all.len() as f64).sqrt()
            }
        };
        Ok(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
    }
}

pub fn factory(args: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let a: Args = registry::args(NAME, args)?;
    let resources = if a.resources.is_empty() { default_resources() } else { a.resources };
    let p = Arc::new(Balanced { resources: resolve(&resources) });
    Ok(Registered { pre_score: Some(p.clone()), score: Some(p), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with, pod_req};
    use serde_json::json;

    #[test]
    fn even_use_scores_highest() {
        let b = Balanced { resources: resolve(&default_resources()) };
        let n = node_with("n", "4", "4Gi", json!(null));
        let (st, s) = (CycleState::default(), Snapshot::default());
        assert_eq!(b.score(&st, &pod_req("p", "2", "2Gi"), &n, &s).unwrap(), 100);
        // cpu 1/4, memory 3/4: std 0.25.
        assert_eq!(b.score(&st, &pod_req("p", "1", "3Gi"), &n, &s).unwrap(), 75);
    }
}
