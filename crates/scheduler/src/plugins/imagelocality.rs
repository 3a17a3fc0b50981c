//! ImageLocality: prefer nodes that already have the Pod's images, weighted by image size
//! and by how few nodes have them (so one node does not attract every Pod of an image).

use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{CycleState, NodeInfo, Plugin, PodInfo, ScorePlugin, Snapshot, Status, MAX_NODE_SCORE};

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// An image name with `:latest` when it has neither tag nor digest.
fn normalized(name: &str) -> String {
    if name.rfind(':').unwrap_or(0) <= name.rfind('/').unwrap_or(0) && !name.contains('@') {
        format!("{name}:latest")
    } else {
        name.to_string()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> Result<i64, Status> {
        let Some(spec) = pod.pod.spec.as_ref() else { return Ok(0) };
        // No image on the node: the sum is zero, below the threshold, and so is the score.
        if node.images.is_empty() {
            return Ok(0);
        }
        let total_nodes = snapshot.len().max(1) as f64;
        let containers = || spec.init_containers.iter().flatten().chain(&spec.containers);
        let mut sum = 0i64;
        for c in containers() {
            let name = normalized(c.image.as_deref().unwrap_or(""));
            if let Some(size) = node.images.get(&name) {
                let spread = snapshot.image_nodes.get(&name).copied().unwrap_or(1) as f64 / total_nodes;
                sum += (*size as f64 * spread) as i64;
            }
        }
        let max_threshold = MAX_CONTAINER_THRESHOLD * containers().count().max(1) as i64;
        let clamped = sum.clamp(MIN_THRESHOLD, max_threshold);
        Ok(MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD))
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    Ok(Registered { score: Some(Arc::new(ImageLocality)), ..Registered::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod, snapshot};
    use serde_json::json;

    #[test]
    fn nodes_with_big_images_score_higher() {
        let with = node(json!({"metadata": {"name": "a"}, "status": {"images": [
            {"names": ["example.com/big:latest"], "sizeBytes": 500 * MB}]}}));
        let without = node(json!({"metadata": {"name": "b"}}));
        let s = snapshot(vec![with.clone(), without.clone()]);
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "example.com/big"}]}}),
        );
        let st = CycleState::default();
        // 500 MiB on one node of two counts as 250 MiB: (250 - 23) * 100 / (1000 - 23).
        assert_eq!(ImageLocality.score(&st, &p, &with, &s).unwrap(), 23);
        assert_eq!(ImageLocality.score(&st, &p, &without, &s).unwrap(), 0);
        assert_eq!(normalized("example.com:5000/x"), "example.com:5000/x:latest");
        assert_eq!(normalized("busybox:1.36"), "busybox:1.36");
    }
}
