//! The Node object as the kubelet builds it (labels, capacity, allocatable, addresses,
//! nodeInfo, conditions), pure; and the loop that registers it and reports its status.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use crate::host::Machine;

/// What the agent says about its node besides the machine's facts.
#[derive(Debug, Clone, Default)]
pub struct NodeConfig {
    pub name: String,
    /// Extra labels (`node-role.kubernetes.io/control-plane` on servers).
    pub labels: BTreeMap<String, String>,
    pub internal_ip: String,
    pub pod_cidr: Option<String>,
    /// The most Pods this node runs.
    pub max_pods: u32,
    /// The kubelet version reported (the API server's).
    pub version: String,
    /// The port of the agent's HTTPS server (logs, exec, port-forward).
    pub kubelet_port: u16,
}

/// Resource pressure the node is under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
    pub pid: bool,
}

fn quantity(s: impl Into<String>) -> Quantity {
    Quantity(s.into())
}

/// Capacity in the units the kubelet uses (memory in Ki).
pub fn capacity(machine: &Machine, max_pods: u32) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), quantity(machine.cpus.to_string())),
        ("memory".to_string(), quantity(format!("{}Ki", machine.memory_bytes / 1024))),
        ("ephemeral-storage".to_string(), quantity(format!("{}Ki", machine.ephemeral_bytes / 1024))),
        ("pods".to_string(), quantity(max_pods.to_string())),
        ("hugepages-1Gi".to_string(), quantity("0")),
        ("hugepages-2Mi".to_string(), quantity("0")),
    ])
}

/// The four node conditions; a condition keeps its lastTransitionTime from `previous` unless
/// its status changed.
pub fn conditions(pressure: Pressure, previous: &[NodeCondition], now: Timestamp) -> Vec<NodeCondition> {
    let make = |kind: &str, on: bool, on_reason: &str, off_reason: &str, on_msg: &str, off_msg: &str| {
        let status = if on { "True" } else { "False" };
        let transition = previous
            .iter()
            .find(|c| c.type_ == kind && c.status == status)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        NodeCondition {
            type_: kind.into(),
            status: status.into(),
            reason: Some(if on { on_reason } else { off_reason }.into()),
            message: Some(if on { on_msg } else { off_msg }.into()),
            last_heartbeat_time: Some(Time(now)),
            last_transition_time: Some(transition),
        }
    };
    vec![
        make(
            "MemoryPressure",
            pressure.memory,
            "KubeletHasInsufficientMemory",
            "KubeletHasSufficientMemory",
            "kubelet has insufficient memory available",
            "kubelet has sufficient memory available",
        ),
        make(
            "DiskPressure",
            pressure.disk,
            "KubeletHasDiskPressure",
            "KubeletHasNoDiskPressure",
            "kubelet has disk pressure",
            "kubelet has no disk pressure",
        ),
        make(
            "PIDPressure",
            pressure.pid,
            "KubeletHasInsufficientPID",
            "KubeletHasSufficientPID",
            "kubelet has insufficient PID available",
            "kubelet has sufficient PID available",
        ),
        make("Ready", true, "KubeletReady", "KubeletNotReady", "kubelet is posting ready status", ""),
    ]
}

/// The Node's labels: the well-known ones the kubelet sets, then the configured ones.
pub fn labels(config: &NodeConfig, machine: &Machine) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), config.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), machine.architecture.clone()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("beta.kubernetes.io/arch".to_string(), machine.architecture.clone()),
    ]);
    labels.extend(config.labels.clone());
    labels
}

/// The status part of the Node.
pub fn status(config: &NodeConfig, machine: &Machine, conditions: Vec<NodeCondition>) -> NodeStatus {
    let capacity = capacity(machine, config.max_pods);
    NodeStatus {
        allocatable: Some(capacity.clone()),
        capacity: Some(capacity),
        addresses: Some(vec![
            NodeAddress { type_: "InternalIP".into(), address: config.internal_ip.clone() },
            NodeAddress { type_: "Hostname".into(), address: config.name.clone() },
        ]),
        conditions: Some(conditions),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(config.kubelet_port) }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: machine.architecture.clone(),
            boot_id: machine.boot_id.clone(),
            container_runtime_version: format!("skiff://{}", env!("CARGO_PKG_VERSION")),
            kernel_version: machine.kernel_version.clone(),
            kube_proxy_version: String::new(),
            kubelet_version: config.version.clone(),
            machine_id: machine.machine_id.clone(),
            operating_system: "linux".into(),
            os_image: machine.os_image.clone(),
            system_uuid: machine.machine_id.clone(),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

/// The Node to register.
pub fn node(config: &NodeConfig, machine: &Machine, now: Timestamp) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(config.name.clone()),
            labels: Some(labels(config, machine)),
            annotations: Some(BTreeMap::from([("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string())])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: config.pod_cidr.clone(),
            pod_cidrs: config.pod_cidr.clone().map(|c| vec![c]),
            ..NodeSpec::default()
        }),
        status: Some(status(config, machine, conditions(Pressure::default(), &[], now))),
    }
}

/// Whether two statuses differ in more than heartbeat times (a change worth reporting now).
pub fn changed(old: &NodeStatus, new: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_heartbeat_time = None;
        }
        s
    };
    strip(old) != strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            hostname: "box".into(),
            cpus: 2,
            memory_bytes: 8 << 30,
            ephemeral_bytes: 100 << 30,
            architecture: "amd64".into(),
            ..Machine::default()
        }
    }

    #[test]
    fn the_node_says_what_the_kubelet_says() {
        let config = NodeConfig {
            name: "box".into(),
            internal_ip: "10.0.0.5".into(),
            max_pods: 110,
            pod_cidr: Some("10.42.0.0/24".into()),
            version: "v1.33.0".into(),
            ..NodeConfig::default()
        };
        let n = node(&config, &machine(), Timestamp::now());
        let labels = n.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], "box");
        assert_eq!(labels["kubernetes.io/arch"], "amd64");
        let status = n.status.unwrap();
        let cap = status.capacity.unwrap();
        assert_eq!(cap["cpu"].0, "2");
        assert_eq!(cap["memory"].0, "8388608Ki");
        assert_eq!(cap["pods"].0, "110");
        let ready = status.conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("True", Some("KubeletReady")));
        assert_eq!(status.addresses.unwrap()[0].address, "10.0.0.5");
        assert_eq!(n.spec.unwrap().pod_cidrs.unwrap(), ["10.42.0.0/24"]);
    }

    #[test]
    fn transitions_keep_their_time_and_heartbeats_are_not_changes() {
        let t0 = Timestamp::now().checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(60)).unwrap();
        let first = conditions(Pressure::default(), &[], t0);
        let later = conditions(Pressure::default(), &first, Timestamp::now());
        assert_eq!(later[0].last_transition_time, first[0].last_transition_time);
        assert_ne!(later[0].last_heartbeat_time, first[0].last_heartbeat_time);
        let config = NodeConfig { name: "box".into(), ..NodeConfig::default() };
        assert!(!changed(&status(&config, &machine(), first.clone()), &status(&config, &machine(), later)));
        let pressed = conditions(Pressure { memory: true, ..Pressure::default() }, &first, Timestamp::now());
        assert_eq!(pressed[0].status, "True");
        assert_ne!(pressed[0].last_transition_time, first[0].last_transition_time);
        assert!(changed(&status(&config, &machine(), first), &status(&config, &machine(), pressed)));
    }
}
