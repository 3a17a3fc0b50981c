//! The scheduler's writes through the API: bindings, Events (`Scheduled`,
//! `FailedScheduling`, `Preempted`), the PodScheduled condition and nominatedNodeName, and
//! preemption's evictions. Events go out from one background task so they never hold up a
//! binding.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::Resource;
use serde_json::json;
use skiff_client::events::{EventType, Recorder, Source};

use crate::framework::registry::PodBinder;
use crate::framework::{PodInfo, Victim};

/// Events longer than this are cut, as the scheduler's recorder does.
const MAX_MESSAGE: usize = 1024;

/// Binds through `pods/binding`.
pub struct ApiBinder {
    pub client: kube::Client,
}

#[async_trait::async_trait]
impl PodBinder for ApiBinder {
    async fn bind(&self, namespace: &str, name: &str, uid: &str, node: &str) -> Result<(), String> {
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                uid: Some(uid.into()),
                ..Default::default()
            },
            target: ObjectReference { kind: Some("Node".into()), name: Some(node.into()), ..Default::default() },
        };
        // The answer is a Status nobody reads: sent without kube's typed round trip.
        let pods = kube::core::Request::new(Pod::url_path(&(), Some(namespace)));
        let req = skiff_client::raw::create_subresource(&pods, "binding", name, &PostParams::default(), &binding);
        skiff_client::raw::send(&self.client, req)
            .await
            .map_err(|e| format!("binding pod {namespace}/{name} to node {node}: {e}"))
    }
}

/// The scheduler's Events and status writes.
#[derive(Clone)]
pub struct Writer {
    client: kube::Client,
    events: Arc<Recorder>,
    scheduler_name: String,
}

fn truncate(msg: &str) -> String {
    if msg.len() <= MAX_MESSAGE {
        return msg.to_string();
    }
    let mut end = MAX_MESSAGE - 3;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &msg[..end])
}

impl Writer {
    /// A writer whose Events four background tasks send.
    pub fn new(client: kube::Client, scheduler_name: &str) -> Writer {
        let source = Source { component: scheduler_name.to_string(), host: None };
        let events = Recorder::new(client.clone(), source, 4);
        Writer { client, events, scheduler_name: scheduler_name.to_string() }
    }

    /// Records an Event about `pod`.
    pub fn event(&self, pod: &PodInfo, type_: EventType, reason: &str, action: &str, message: &str) {
        let object = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            uid: Some(pod.uid.clone()),
            resource_version: pod.pod.metadata.resource_version.clone(),
            field_path: None,
        };
        self.events.event_with_action(object, type_, reason, action, truncate(message));
    }

    /// Sets PodScheduled=False with `reason` and `message` (and nominatedNodeName when
    /// given), unless the Pod already says exactly that.
    pub async fn mark_unschedulable(&self, pod: &PodInfo, reason: &str, message: &str, nominated: Option<&str>) {
        let status = pod.pod.status.as_ref();
        let same = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
            .is_some_and(|c| {
                c.status == "False" && c.reason.as_deref() == Some(reason) && c.message.as_deref() == Some(message)
            });
        let current_nominated = status.and_then(|s| s.nominated_node_name.as_deref()).unwrap_or("");
        let nominated_same = nominated.is_none_or(|n| n == current_nominated);
        if same && nominated_same {
            return;
        }
        let mut patch = json!({"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": reason, "message": truncate(message),
            "lastProbeTime": null, "lastTransitionTime": Time(Timestamp::now())}]}});
        if let Some(n) = nominated {
            patch["status"]["nominatedNodeName"] = if n.is_empty() { json!(null) } else { json!(n) };
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        if let Err(e) = api.patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
            tracing::debug!(pod = %pod.key(), error = %e, "updating the PodScheduled condition failed");
        }
    }

    /// Evicts a preemption victim: the DisruptionTarget condition, an Event, then a delete
    /// with the victim's uid as precondition.
    pub async fn preempt(&self, victim: &Victim, victim_info: Option<&Arc<PodInfo>>, preemptor: &PodInfo, node: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &victim.namespace);
        let condition = json!({"status": {"conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
            "message": format!("{}: preempting to accommodate a higher priority pod", self.scheduler_name),
            "lastTransitionTime": Time(Timestamp::now())}]}});
        let _ = api.patch_status(&victim.name, &PatchParams::default(), &Patch::Strategic(&condition)).await;
        if let Some(info) = victim_info {
            self.event(
                info,
                EventType::Normal,
                "Preempted",
                "Preempting",
                &format!("Preempted by pod {} on node {node}", preemptor.uid),
            );
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions { uid: Some(victim.uid.clone()), resource_version: None }),
            ..DeleteParams::default()
        };
        if let Err(e) = api.delete(&victim.name, &dp).await {
            tracing::warn!(victim = %victim.name, error = %e, "deleting a preemption victim failed");
        }
    }
}
