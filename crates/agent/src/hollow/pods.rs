//! The Pods bound to hollow nodes: marked Running (every container running and ready) as
//! soon as they are bound, and deleted for good once they are being deleted.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::{Deserialize, Serialize};
use skiff_api::cron::format_rfc3339;

/// What a hollow node reads of a Pod: its metadata, node, containers and phase. The rest of
/// every watched Pod is parsed over, not built (a hollow node serves thousands of Pods).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HollowPod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: HollowSpec,
    #[serde(default)]
    pub status: HollowStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HollowSpec {
    pub node_name: Option<String>,
    pub containers: Vec<HollowContainer>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HollowContainer {
    pub name: String,
    pub image: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HollowStatus {
    pub phase: Option<String>,
}

impl Resource for HollowPod {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Pod::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Pod::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Pod::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Pod::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// What a hollow node does with a Pod.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Report it Running.
    Run,
    /// Finish its deletion.
    Delete,
    Nothing,
}

/// The action for `pod` on a hollow node (pure).
pub fn action(pod: &HollowPod) -> Action {
    if pod.metadata.deletion_timestamp.is_some() {
        return Action::Delete;
    }
    let phase = pod.status.phase.as_deref().unwrap_or("Pending");
    if phase == "Pending" {
        Action::Run
    } else {
        Action::Nothing
    }
}

/// The merge patch that reports a hollow Pod running: serialized from what it borrows, as a
/// hollow node sends thousands of them.
#[derive(Debug, Serialize)]
pub struct RunningPatch<'a> {
    status: RunningStatus<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RunningStatus<'a> {
    phase: &'static str,
    conditions: [Condition<'a>; 5],
    start_time: &'a str,
    container_statuses: Vec<ContainerRunning<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Condition<'a> {
    #[serde(rename = "type")]
    type_: &'static str,
    status: &'static str,
    /// Written as null, as the kubelet writes it.
    last_probe_time: Option<()>,
    last_transition_time: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerRunning<'a> {
    name: &'a str,
    image: Option<&'a str>,
    #[serde(rename = "imageID")]
    image_id: &'static str,
    ready: bool,
    started: bool,
    restart_count: i32,
    #[serde(rename = "containerID")]
    container_id: String,
    state: Started<'a>,
}

#[derive(Debug, Serialize)]
struct Started<'a> {
    running: StartedAt<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedAt<'a> {
    started_at: &'a str,
}

/// The status of a running hollow Pod, every time in it `now` (RFC 3339, as the API writes a
/// `Time`).
pub fn running_status<'a>(pod: &'a HollowPod, now: &'a str) -> RunningPatch<'a> {
    let containers = pod
        .spec
        .containers
        .iter()
        .map(|c| ContainerRunning {
            name: &c.name,
            image: c.image.as_deref(),
            image_id: "",
            ready: true,
            started: true,
            restart_count: 0,
            container_id: format!("hollow://{}", c.name),
            state: Started { running: StartedAt { started_at: now } },
        })
        .collect();
    let cond = |type_| Condition { type_, status: "True", last_probe_time: None, last_transition_time: now };
    RunningPatch {
        status: RunningStatus {
            phase: "Running",
            conditions: [
                cond("PodReadyToStartContainers"),
                cond("Initialized"),
                cond("Ready"),
                cond("ContainersReady"),
                cond("PodScheduled"),
            ],
            start_time: now,
            container_statuses: containers,
        },
    }
}

async fn handle(client: kube::Client, pod: HollowPod) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let result = match action(&pod) {
        Action::Run => {
            let now = format_rfc3339(Timestamp::now().as_second(), None);
            let status = running_status(&pod, &now);
            let pods = kube::core::Request::new(Pod::url_path(&(), Some(&ns)));
            let req = pods.patch_subresource("status", &name, &PatchParams::default(), &Patch::Merge(&status));
            skiff_client::raw::send(&client, req).await
        }
        Action::Delete => {
            let uid = pod.metadata.uid.clone();
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(kube::api::Preconditions { uid, resource_version: None }),
                ..DeleteParams::default()
            };
            Api::<Pod>::namespaced(client, &ns).delete(&name, &dp).await.map(drop)
        }
        Action::Nothing => Ok(()),
    };
    if let Err(e) = result {
        tracing::debug!(pod = %format!("{ns}/{name}"), error = %e, "hollow pod update");
    }
}

/// Watches the Pods bound to any node and serves those on `nodes`.
pub async fn run(client: kube::Client, nodes: Arc<HashSet<String>>, concurrency: usize) {
    let api: Api<HollowPod> = Api::all(client.clone());
    let config = watcher::Config::default().fields("spec.nodeName!=");
    let events = skiff_client::trimmed::watcher(api, &(), config).default_backoff();
    events
        .filter_map(|ev| {
            let nodes = nodes.clone();
            async move {
                let pod = match ev {
                    Ok(Event::Apply(p)) | Ok(Event::InitApply(p)) => p,
                    _ => return None,
                };
                let node = pod.spec.node_name.as_deref().unwrap_or("");
                (nodes.contains(node) && action(&pod) != Action::Nothing).then_some(pod)
            }
        })
        .for_each_concurrent(concurrency.max(1), |pod| handle(client.clone(), pod))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    #[test]
    fn bound_pods_run_and_deleted_pods_go() {
        let mut pod: HollowPod = serde_json::from_value(json!({"metadata": {"name": "p"},
            "spec": {"nodeName": "h-0", "containers": [{"name": "c", "image": "busybox", "ports": []}],
                "restartPolicy": "Always"}, "status": {"conditions": []}}))
        .unwrap();
        assert_eq!(pod.spec.node_name.as_deref(), Some("h-0"));
        assert_eq!(action(&pod), Action::Run);
        let now = format_rfc3339(1_700_000_000, None);
        assert_eq!(serde_json::to_value(Time(Timestamp::from_second(1_700_000_000).unwrap())).unwrap(), now);
        let status = serde_json::to_value(running_status(&pod, &now)).unwrap();
        let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
        assert_eq!(
            status,
            json!({"status": {
                "phase": "Running",
                "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"),
                               cond("ContainersReady"), cond("PodScheduled")],
                "startTime": now,
                "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": true,
                    "started": true, "restartCount": 0, "containerID": "hollow://c",
                    "state": {"running": {"startedAt": now}}}],
            }})
        );
        pod.status = serde_json::from_value(status["status"].clone()).unwrap();
        assert_eq!(action(&pod), Action::Nothing);
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
        assert_eq!(action(&pod), Action::Delete);
    }
}
