//! Events about Pods, as the kubelet records them (`kubectl describe pod` shows them): one
//! core/v1 Event per occurrence, and a repeat of the same reason and message for the same
//! container counted on the first one (count, lastTimestamp) as the kubelet's correlator does.
//! Sending never holds up a Pod worker: one background task sends them in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::mpsc;

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Warning,
}

/// What makes two Events the same: Pod uid, field path, reason, message.
type EventKey = (String, String, String, String);

/// An Event to send: a new one, or a new count for one sent before.
enum Send {
    Create(Box<Event>),
    Count { namespace: String, name: String, count: i32, at: Timestamp },
}

/// Records Events for the Pods of one node.
pub struct Recorder {
    node: String,
    /// Event names and counts by (Pod uid, field path, reason, message).
    seen: Mutex<HashMap<EventKey, (String, i32)>>,
    /// To the sender task.
    queue: mpsc::UnboundedSender<Send>,
}

/// The field path of a container of `pod` (`spec.containers{name}`), as Events name it.
pub fn field_path(pod: &Pod, container: &str) -> String {
    let init = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).any(|c| c.name == container);
    let list = if init { "initContainers" } else { "containers" };
    format!("spec.{list}{{{container}}}")
}

/// The Event for a first occurrence.
pub fn event(
    pod: &Pod,
    node: &str,
    field_path: &str,
    kind: Kind,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Event {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let nanos = now.as_nanosecond();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", nanos as u64 ^ fnv(field_path, reason))),
            namespace: Some(namespace.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name),
            namespace: Some(namespace),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path: (!field_path.is_empty()).then(|| field_path.to_string()),
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(if kind == Kind::Warning { "Warning" } else { "Normal" }.into()),
        source: Some(EventSource { component: Some("kubelet".into()), host: Some(node.into()) }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(node.into()),
        ..Default::default()
    }
}

fn fnv(a: &str, b: &str) -> u64 {
    a.bytes().chain(b.bytes()).fold(0xcbf29ce484222325u64, |h, x| (h ^ x as u64).wrapping_mul(0x100000001b3)) & 0xffff
}

impl Recorder {
    /// A recorder whose Events one background task sends, one at a time and in order (so
    /// that they never crowd out the Pods' status updates).
    pub fn new(client: kube::Client, node: String) -> Arc<Recorder> {
        let (queue, mut pending) = mpsc::unbounded_channel::<Send>();
        tokio::spawn(async move {
            while let Some(send) = pending.recv().await {
                let result = match send {
                    Send::Create(e) => {
                        let namespace = e.metadata.namespace.clone().unwrap_or_default();
                        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
                        api.create(&PostParams::default(), &e).await.map(drop)
                    }
                    Send::Count { namespace, name, count, at } => {
                        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
                        let patch = serde_json::json!({"count": count, "lastTimestamp": Time(at)});
                        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map(drop)
                    }
                };
                if let Err(err) = result {
                    tracing::debug!(error = %err, "recording an event failed");
                }
            }
        });
        Arc::new(Recorder { node, seen: Mutex::new(HashMap::new()), queue })
    }

    /// Records an Event about `pod` (and one of its containers, if named).
    pub fn emit(&self, pod: &Pod, container: Option<&str>, kind: Kind, reason: &str, message: impl Into<String>) {
        let message = message.into();
        let path = container.map(|c| field_path(pod, c)).unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let key = (uid, path.clone(), reason.to_string(), message.clone());
        let now = Timestamp::now();
        let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let send = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() > 4096 {
                seen.clear();
            }
            match seen.get_mut(&key) {
                Some((name, count)) => {
                    *count += 1;
                    Send::Count { namespace, name: name.clone(), count: *count, at: now }
                }
                None => {
                    let e = event(pod, &self.node, &path, kind, reason, &message, now);
                    seen.insert(key, (e.metadata.name.clone().unwrap_or_default(), 1));
                    Send::Create(Box::new(e))
                }
            }
        };
        let _ = self.queue.send(send);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_the_container_and_the_node() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "prod", "uid": "u1"},
            "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]}
        }))
        .unwrap();
        assert_eq!(field_path(&pod, "setup"), "spec.initContainers{setup}");
        assert_eq!(field_path(&pod, "app"), "spec.containers{app}");
        let now: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
        let e = event(&pod, "node-a", "spec.containers{app}", Kind::Warning, "BackOff", "Back-off", now);
        assert!(e.metadata.name.as_deref().unwrap().starts_with("web."));
        assert_eq!(e.involved_object.uid.as_deref(), Some("u1"));
        assert_eq!(e.involved_object.field_path.as_deref(), Some("spec.containers{app}"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.source.unwrap().host.as_deref(), Some("node-a"));
        assert_eq!(e.count, Some(1));
    }
}
