//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only Pods that tolerate the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;
use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Snapshot, Status};
use skiff_api::scheduling::tolerates;

pub const NAME: &str = "NodeUnschedulable";
pub const ERR_REASON: &str = "node(s) were unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        if !node.unschedulable() {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            value: None,
            time_added: None,
        };
        let tolerations = pod.pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]);
        if tolerations.iter().any(|t| tolerates(t, &taint)) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    Ok(Registered { filter: Some(Arc::new(NodeUnschedulable)), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use serde_json::json;

    #[test]
    fn cordoned_nodes_take_only_tolerating_pods() {
        let cordoned = node(json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}}));
        let plain = pod(json!({"metadata": {"name": "p"}}));
        let tolerant = pod(json!({"metadata": {"name": "t"}, "spec": {"containers": [], "tolerations": [
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}}));
        let s = crate::framework::Snapshot::default();
        let st = CycleState::default();
        assert_eq!(NodeUnschedulable.filter(&st, &plain, &cordoned, &s), Status::unresolvable(ERR_REASON));
        assert!(NodeUnschedulable.filter(&st, &tolerant, &cordoned, &s).is_success());
        let open = node(json!({"metadata": {"name": "n"}}));
        assert!(NodeUnschedulable.filter(&st, &plain, &open, &s).is_success());
    }
}
