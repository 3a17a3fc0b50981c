//! Builders for plugin tests: Pods and nodes from JSON, snapshots, one-plugin runs.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{json, Value};

use crate::framework::{NodeInfo, PodInfo, Snapshot};

pub fn pod(v: Value) -> PodInfo {
    let mut v = v;
    if v.pointer("/metadata/namespace").is_none() {
        v["metadata"]["namespace"] = json!("default");
    }
    if v.pointer("/metadata/uid").is_none() {
        let uid = format!("uid-{}", v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("x"));
        v["metadata"]["uid"] = json!(uid);
    }
    if v.get("spec").is_none() {
        v["spec"] = json!({"containers": []});
    }
    let pod: Pod = serde_json::from_value(v).expect("a Pod");
    PodInfo::new(Arc::new(pod))
}

/// A Pod named `name` requesting `cpu` and `memory` (empty for none).
pub fn pod_req(name: &str, cpu: &str, memory: &str) -> PodInfo {
    let mut requests = serde_json::Map::new();
    if !cpu.is_empty() {
        requests.insert("cpu".into(), json!(cpu));
    }
    if !memory.is_empty() {
        requests.insert("memory".into(), json!(memory));
    }
    pod(json!({"metadata": {"name": name}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "resources": {"requests": requests}}]}}))
}

pub fn node(v: Value) -> NodeInfo {
    let node: Node = serde_json::from_value(v).expect("a Node");
    NodeInfo::new(Arc::new(node))
}

/// A node with `cpu`, `memory` and 110 Pods allocatable, and `labels`.
pub fn node_with(name: &str, cpu: &str, memory: &str, labels: Value) -> NodeInfo {
    let mut labels = labels;
    if labels.is_null() {
        labels = json!({});
    }
    labels["kubernetes.io/hostname"] = json!(name);
    node(json!({"metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}}))
}

/// The node with `pods` placed on it.
pub fn with_pods(mut n: NodeInfo, pods: Vec<PodInfo>) -> NodeInfo {
    for p in pods {
        n.add_pod(Arc::new(p));
    }
    n
}

pub fn snapshot(nodes: Vec<NodeInfo>) -> Snapshot {
    Snapshot::from_nodes(nodes)
}
