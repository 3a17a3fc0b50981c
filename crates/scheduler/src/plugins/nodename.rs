//! NodeName: a Pod that names its node fits only there.

use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Snapshot, Status};

pub const NAME: &str = "NodeName";
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Snapshot) -> Status {
        let wanted = pod.node_name();
        if wanted.is_empty() || wanted == node.name {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    Ok(Registered { filter: Some(Arc::new(NodeName)), ..Registered::default() })
}
