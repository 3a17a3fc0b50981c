//! NodePorts: a Pod's host ports must be free on the node (same protocol and port on the
//! same or a wildcard address is a conflict).

use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{
    CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, Snapshot, Status,
};

pub const NAME: &str = "NodePorts";
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> (PreFilterResult, Status) {
        if pod.host_ports.is_empty() {
            return (PreFilterResult::all_nodes(), Status::skip());
        }
        (PreFilterResult::all_nodes(), Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        let conflict = pod.host_ports.iter().any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if conflict {
            Status::unschedulable(ERR_REASON)
        } else {
            Status::success()
        }
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let p = Arc::new(NodePorts);
    Ok(Registered { pre_filter: Some(p.clone()), filter: Some(p), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node_with, pod, with_pods};
    use serde_json::json;

    fn port_pod(name: &str, port: i32, ip: &str) -> PodInfo {
        pod(json!({"metadata": {"name": name}, "spec": {"containers": [
            {"name": "c", "ports": [{"containerPort": 80, "hostPort": port, "hostIP": ip}]}]}}))
    }

    #[test]
    fn host_ports_conflict_on_the_same_or_wildcard_address() {
        let n = with_pods(node_with("n", "1", "1Gi", json!(null)), vec![port_pod("a", 8080, "127.0.0.1")]);
        let (st, s) = (CycleState::default(), Snapshot::default());
        assert_eq!(NodePorts.filter(&st, &port_pod("b", 8080, ""), &n, &s), Status::unschedulable(ERR_REASON));
        assert!(!NodePorts.filter(&st, &port_pod("c", 8080, "127.0.0.1"), &n, &s).is_success());
        assert!(NodePorts.filter(&st, &port_pod("d", 8080, "10.0.0.1"), &n, &s).is_success());
        assert!(NodePorts.filter(&st, &port_pod("e", 8081, ""), &n, &s).is_success());
    }
}
