//! PrioritySort: the active queue pops the highest priority first, then the oldest.

use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{Plugin, QueueSortPlugin, QueuedPod};

pub const NAME: &str = "PrioritySort";

pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueuedPod, b: &QueuedPod) -> bool {
        a.info.priority > b.info.priority || (a.info.priority == b.info.priority && a.timestamp < b.timestamp)
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    Ok(Registered { queue_sort: Some(Arc::new(PrioritySort)), ..Registered::default() })
}
