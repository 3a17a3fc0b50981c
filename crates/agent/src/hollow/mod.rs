//! Hollow nodes (the kwok idea): many Nodes served by one process, with Leases and status kept
//! fresh and the Pods bound to them marked Running without starting containers. For scale
//! tests and benchmarks of the control plane; nothing here touches the host.

mod pods;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Resource;
use serde_json::json;

use crate::AgentError;

/// What the hollow nodes look like.
#[derive(Debug, Clone)]
pub struct HollowConfig {
    pub count: usize,
    /// Nodes are `<prefix>-0` … `<prefix>-<count-1>`.
    pub prefix: String,
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    pub labels: BTreeMap<String, String>,
    /// Spread the nodes over this many `topology.kubernetes.io/zone`s (0: no zone label).
    pub zones: usize,
    pub lease_interval: Duration,
    pub status_interval: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Marks every hollow Node: the Pods on them run nowhere.
pub const HOLLOW_ANNOTATION: &str = "skiff.dev/hollow";

/// The name of hollow node `i`.
pub fn node_name(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i}")
}

fn conditions(now: Timestamp) -> Vec<NodeCondition> {
    let cond = |type_: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    vec![
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "hollow node is posting ready status"),
    ]
}

/// The Node object of hollow node `i` (pure).
pub fn node(config: &HollowConfig, i: usize, now: Timestamp) -> Node {
    let name = node_name(&config.prefix, i);
    let mut labels = config.labels.clone();
    labels.insert("kubernetes.io/hostname".into(), name.clone());
    labels.insert("kubernetes.io/os".into(), "linux".into());
    labels.insert("kubernetes.io/arch".into(), "amd64".into());
    labels.insert("type".into(), "hollow".into());
    if config.zones > 0 {
        labels.insert("topology.kubernetes.io/zone".into(), format!("zone-{}", i % config.zones));
    }
    let resources: BTreeMap<String, Quantity> = [
        ("cpu", config.cpu.clone()),
        ("memory", config.memory.clone()),
        ("pods", config.pods.to_string()),
        ("ephemeral-storage", "100Gi".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v)))
    .collect();
    Node {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(HOLLOW_ANNOTATION.to_string(), "true".to_string())])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            capacity: Some(resources.clone()),
            allocatable: Some(resources),
            conditions: Some(conditions(now)),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                operating_system: "linux".into(),
                os_image: "hollow".into(),
                kernel_version: "hollow".into(),
                kubelet_version: format!("v1.33.0-skiff-{}", env!("CARGO_PKG_VERSION")),
                kube_proxy_version: String::new(),
                container_runtime_version: "hollow://0".into(),
                boot_id: String::new(),
                machine_id: String::new(),
                system_uuid: String::new(),
                ..NodeSystemInfo::default()
            }),
            ..NodeStatus::default()
        }),
    }
}

/// Creates (or takes over) hollow node `i` and its Lease.
async fn register(client: &kube::Client, config: &HollowConfig, i: usize) -> Result<(), AgentError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let want = node(config, i, Timestamp::now());
    let name = want.metadata.name.clone().unwrap_or_default();
    let created = match nodes.create(&PostParams::default(), &want).await {
        Ok(n) => n,
        Err(kube::Error::Api(s)) if s.code == 409 => nodes.get(&name).await?,
        Err(e) => return Err(e.into()),
    };
    let status = json!({"status": want.status});
    nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = crate::report::node_lease(&name, created.metadata.uid.as_deref().unwrap_or(""));
    match leases.create(&PostParams::default(), &lease).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Renews every Lease once per interval, spread evenly over it.
async fn lease_loop(client: kube::Client, config: Arc<HollowConfig>) {
    let leases = kube::core::Request::new(Lease::url_path(&(), Some("kube-node-lease")));
    let pause = config.lease_interval / config.count.max(1) as u32;
    loop {
        for i in 0..config.count {
            let patch = json!({"spec": {"renewTime": MicroTime(Timestamp::now())}});
            let name = node_name(&config.prefix, i);
            let req = leases.patch(&name, &PatchParams::default(), &Patch::Merge(&patch));
            if let Err(e) = skiff_client::raw::send(&client, req).await {
                tracing::debug!(node = %name, error = %e, "renewing a hollow node's lease");
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// Refreshes every Node's conditions once per interval, spread evenly over it.
async fn status_loop(client: kube::Client, config: Arc<HollowConfig>) {
    let nodes = kube::core::Request::new(Node::url_path(&(), None));
    let pause = config.status_interval / config.count.max(1) as u32;
    loop {
        tokio::time::sleep(pause).await;
        for i in 0..config.count {
            let patch = json!({"status": {"conditions": conditions(Timestamp::now())}});
            let name = node_name(&config.prefix, i);
            let req = nodes.patch_subresource("status", &name, &PatchParams::default(), &Patch::Strategic(&patch));
            if let Err(e) = skiff_client::raw::send(&client, req).await {
                tracing::debug!(node = %name, error = %e, "reporting a hollow node's status");
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// Registers the nodes, then serves them until the process ends. `ready` is called once
/// every node is registered.
pub async fn run(client: kube::Client, config: HollowConfig, ready: impl FnOnce(usize)) -> Result<(), AgentError> {
    if config.count == 0 {
        return Err(AgentError::Config("--count must be at least 1".into()));
    }
    let config = Arc::new(config);
    let results: Vec<Result<(), AgentError>> = futures::stream::iter(0..config.count)
        .map(|i| {
            let (client, config) = (client.clone(), config.clone());
            async move { register(&client, &config, i).await }
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        return Err(e);
    }
    ready(config.count);
    let names: HashSet<String> = (0..config.count).map(|i| node_name(&config.prefix, i)).collect();
    tokio::spawn(lease_loop(client.clone(), config.clone()));
    tokio::spawn(status_loop(client.clone(), config.clone()));
    pods::run(client, Arc::new(names), config.concurrency).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hollow_nodes_look_ready_and_sized_as_asked() {
        let config = HollowConfig {
            count: 3,
            prefix: "h".into(),
            cpu: "4".into(),
            memory: "8Gi".into(),
            pods: 110,
            labels: BTreeMap::from([("size".to_string(), "big".to_string())]),
            zones: 2,
            lease_interval: Duration::from_secs(10),
            status_interval: Duration::from_secs(60),
            concurrency: 4,
        };
        let n = node(&config, 3, Timestamp::now());
        let labels = n.metadata.labels.as_ref().unwrap();
        assert_eq!(n.metadata.name.as_deref(), Some("h-3"));
        assert_eq!(labels["topology.kubernetes.io/zone"], "zone-1");
        assert_eq!(labels["size"], "big");
        let status = n.status.unwrap();
        assert_eq!(status.allocatable.unwrap()["cpu"], Quantity("4".into()));
        assert!(status.conditions.unwrap().iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    }
}
