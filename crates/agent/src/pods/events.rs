//! Events about Pods, as the kubelet records them (`kubectl describe pod` shows them), through
//! skiff-client's recorder (client-go's correlation: repeats counted on the first Event, 25 per
//! Pod and then one per 5 minutes). A container's Events name it by field path. Recording
//! never holds up a Pod worker: a background task sends them in order.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use skiff_client::events::{EventType, Source};

/// Records Events for the Pods of one node.
pub struct Recorder {
    inner: Arc<skiff_client::events::Recorder>,
}

/// The field path of a container of `pod` (`spec.containers{name}`), as Events name it.
pub fn field_path(pod: &Pod, container: &str) -> String {
    let init = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).any(|c| c.name == container);
    let list = if init { "initContainers" } else { "containers" };
    format!("spec.{list}{{{container}}}")
}

/// The `involvedObject` of an Event about `pod` (and one of its containers, if named).
pub fn reference(pod: &Pod, container: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: Some(pod.metadata.namespace.clone().unwrap_or_else(|| "default".into())),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: container.map(|c| field_path(pod, c)),
    }
}

impl Recorder {
    /// A recorder whose Events name the `kubelet` on `node` as their source.
    pub fn new(client: kube::Client, node: String) -> Arc<Recorder> {
        let source = Source { component: "kubelet".into(), host: Some(node) };
        Arc::new(Recorder { inner: skiff_client::events::Recorder::new(client, source, 1) })
    }

    /// Records an Event about `pod` (and one of its containers, if named).
    pub fn emit(&self, pod: &Pod, container: Option<&str>, type_: EventType, reason: &str, message: impl Into<String>) {
        self.inner.event(reference(pod, container), type_, reason, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_the_container() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "prod", "uid": "u1"},
            "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]}
        }))
        .unwrap();
        assert_eq!(field_path(&pod, "setup"), "spec.initContainers{setup}");
        assert_eq!(field_path(&pod, "app"), "spec.containers{app}");
        let r = reference(&pod, Some("app"));
        assert_eq!((r.name.as_deref(), r.namespace.as_deref()), (Some("web"), Some("prod")));
        assert_eq!(r.uid.as_deref(), Some("u1"));
        assert_eq!(r.field_path.as_deref(), Some("spec.containers{app}"));
        assert_eq!(reference(&pod, None).field_path, None);
    }
}
