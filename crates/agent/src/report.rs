//! Keeping the control plane informed: registers the Node, renews its Lease in
//! kube-node-lease every `lease_interval`, and reports the Node's status when it changes
//! (checked every `status_interval`) and at least every `status_report_interval`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::eviction::{self, Signal, Thresholds};
use crate::host::Machine;
use crate::node::{self, NodeConfig, Pressure};
use crate::AgentError;

/// How often the reporter acts.
#[derive(Debug, Clone)]
pub struct Intervals {
    pub lease: Duration,
    pub status: Duration,
    pub status_report: Duration,
}

impl Default for Intervals {
    fn default() -> Intervals {
        Intervals {
            lease: Duration::from_secs(10),
            status: Duration::from_secs(10),
            status_report: Duration::from_secs(60),
        }
    }
}

/// The node's pressure conditions: the hard eviction thresholds crossed.
pub fn pressure(data_dir: &std::path::Path, thresholds: &Thresholds) -> Pressure {
    let crossed = eviction::crossed(thresholds, &eviction::observe(data_dir));
    Pressure { memory: crossed.contains(&Signal::Memory), disk: crossed.contains(&Signal::Disk), pid: false }
}

/// Registers the Node: creates it, or (re-registering after a restart) updates its labels and
/// spec fields the agent owns; then reports its status.
pub async fn register(nodes: &Api<Node>, config: &NodeConfig, machine: &Machine) -> Result<Node, AgentError> {
    let wanted = node::node(config, machine, Timestamp::now());
    match nodes.create(&PostParams::default(), &wanted).await {
        Ok(created) => {
            tracing::info!(node = %config.name, "registered the node");
            // The status of a create is dropped by the API server: report it separately.
            let status = wanted.status.clone().unwrap_or_default();
            patch_status(nodes, &config.name, &status).await?;
            Ok(created)
        }
        Err(kube::Error::Api(e)) if e.code == 409 => {
            tracing::info!(node = %config.name, "the node exists; updating it");
            let mut patch = serde_json::json!({"metadata": {"labels": wanted.metadata.labels}});
            // Without a CIDR of its own the Node keeps the one the server's node IPAM gave it.
            if let Some(c) = &config.pod_cidr {
                patch["spec"] = serde_json::json!({"podCIDR": c, "podCIDRs": [c]});
            }
            nodes.patch(&config.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            let existing = nodes.get(&config.name).await?;
            let previous = existing.status.and_then(|s| s.conditions).unwrap_or_default();
            let status =
                node::status(config, machine, node::conditions(Pressure::default(), &previous, Timestamp::now()));
            patch_status(nodes, &config.name, &status).await?;
            Ok(nodes.get(&config.name).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn patch_status(nodes: &Api<Node>, name: &str, status: &NodeStatus) -> Result<(), AgentError> {
    let patch = serde_json::json!({ "status": status });
    nodes.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

/// The Node's Pod CIDR: the configured one, else the one the server's node IPAM assigns
/// (waited for).
pub async fn pod_cidr(nodes: &Api<Node>, config: &NodeConfig) -> Result<String, AgentError> {
    if let Some(c) = &config.pod_cidr {
        return Ok(c.clone());
    }
    let started = Instant::now();
    let mut said = Duration::ZERO;
    loop {
        let node = nodes.get(&config.name).await?;
        if let Some(c) = node.spec.and_then(|s| s.pod_cidr).filter(|c| !c.is_empty()) {
            tracing::info!(node = %config.name, cidr = %c, "the node's Pod CIDR");
            return Ok(c);
        }
        if started.elapsed() >= said {
            tracing::info!(node = %config.name, "waiting for the server to assign the node a Pod CIDR");
            said += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Renews the Lease forever (creating it when missing).
pub async fn lease_loop(client: kube::Client, config: NodeConfig, node_uid: String, every: Duration) {
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    loop {
        if let Err(e) = renew_lease(&leases, &config.name, &node_uid).await {
            tracing::warn!(error = %e, "renewing the node lease");
        }
        tokio::time::sleep(every).await;
    }
}

/// A node's Lease in kube-node-lease, owned by its Node, renewed now.
pub fn node_lease(name: &str, node_uid: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: name.to_string(),
                uid: node_uid.to_string(),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.to_string()),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..LeaseSpec::default()
        }),
    }
}

async fn renew_lease(leases: &Api<Lease>, name: &str, node_uid: &str) -> Result<(), kube::Error> {
    let fresh = node_lease(name, node_uid);
    match leases.get_opt(name).await? {
        Some(mut lease) => {
            lease.spec = fresh.spec;
            leases.replace(name, &PostParams::default(), &lease).await?;
        }
        None => {
            leases.create(&PostParams::default(), &fresh).await?;
        }
    }
    Ok(())
}

/// Reports the Node's status when it changes, and at least every `status_report` interval.
pub async fn status_loop(
    nodes: Api<Node>,
    config: NodeConfig,
    machine: Machine,
    data_dir: PathBuf,
    thresholds: Thresholds,
    intervals: Intervals,
    mut last: NodeStatus,
) {
    let mut reported = Instant::now();
    loop {
        tokio::time::sleep(intervals.status).await;
        let previous = last.conditions.clone().unwrap_or_default();
        let next = node::status(
            &config,
            &machine,
            node::conditions(pressure(&data_dir, &thresholds), &previous, Timestamp::now()),
        );
        if !node::changed(&last, &next) && reported.elapsed() < intervals.status_report {
            continue;
        }
        match patch_status(&nodes, &config.name, &next).await {
            Ok(()) => {
                last = next;
                reported = Instant::now();
            }
            Err(e) => tracing::warn!(error = %e, "reporting the node status"),
        }
    }
}
