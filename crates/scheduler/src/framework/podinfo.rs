//! What the scheduler reads of a Pod, worked out once when the Pod enters the queue or the
//! cache (`framework.PodInfo`): its requests, host ports and affinity terms.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use skiff_api::selector::LabelSelector;

use super::resource::{Resource, DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST};

/// A host port a container asks for (`spec.containers[].ports[].hostPort`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub protocol: String,
    /// `0.0.0.0` when the Pod names no host IP.
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports cannot both be bound (same protocol and port, and the same IP or
    /// a wildcard on either side).
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// One Pod (anti-)affinity term, with its selectors parsed.
#[derive(Debug, Clone)]
pub struct AffinityTerm {
    pub selector: LabelSelector,
    /// The namespaces named, or the Pod's own when neither names nor a selector are given.
    pub namespaces: HashSet<String>,
    /// Namespaces chosen by their labels (`nothing` when absent).
    pub namespace_selector: LabelSelector,
    pub topology_key: String,
}

/// A preferred term and its weight.
#[derive(Debug, Clone)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

impl AffinityTerm {
    fn parse(term: &PodAffinityTerm, pod_namespace: &str) -> AffinityTerm {
        let mut namespaces: HashSet<String> = term.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(pod_namespace.to_string());
        }
        AffinityTerm {
            selector: LabelSelector::from_meta(term.label_selector.as_ref()),
            namespaces,
            namespace_selector: LabelSelector::from_meta(term.namespace_selector.as_ref()),
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether `pod` (whose namespace has `ns_labels`) is one of the Pods the term selects.
    pub fn matches(&self, pod: &PodInfo, ns_labels: Option<&BTreeMap<String, String>>) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || (!self.namespace_selector.is_nothing()
                && self.namespace_selector.matches(ns_labels.unwrap_or(&BTreeMap::new())));
        in_namespace && self.selector.matches(pod.labels())
    }
}

/// A Pod and what the scheduler works out from it.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub priority: i32,
    /// Effective requests: containers, sidecars and init containers as the kubelet admits
    /// them, plus overhead.
    pub requests: Resource,
    /// CPU and memory with defaults for containers that request none (for scoring).
    pub non_zero_cpu: i64,
    pub non_zero_memory: i64,
    pub host_ports: Vec<HostPort>,
    pub required_affinity: Vec<AffinityTerm>,
    pub required_anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let (requests, non_zero) = match spec {
            Some(s) => pod_requests(&s.containers, s.init_containers.as_deref().unwrap_or(&[]), s.overhead.as_ref()),
            None => (Resource::default(), Resource::default()),
        };
        let host_ports = spec
            .into_iter()
            .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
            .flat_map(|c| c.ports.iter().flatten())
            .filter(|p| p.host_port.unwrap_or(0) > 0)
            .map(|p| HostPort {
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                ip: p.host_ip.clone().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
                port: p.host_port.unwrap_or(0),
            })
            .collect();
        let affinity = spec.and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms.into_iter().flatten().map(|t| AffinityTerm::parse(t, &namespace)).collect()
        };
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| -> Vec<WeightedAffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| WeightedAffinityTerm {
                    term: AffinityTerm::parse(&t.pod_affinity_term, &namespace),
                    weight: t.weight,
                })
                .collect()
        };
        PodInfo {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            priority: spec.and_then(|s| s.priority).unwrap_or(0),
            requests,
            non_zero_cpu: non_zero.milli_cpu,
            non_zero_memory: non_zero.memory,
            host_ports,
            required_affinity: required(
                pa.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            ),
            required_anti_affinity: required(
                paa.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
            ),
            preferred_affinity: preferred(
                pa.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
            ),
            preferred_anti_affinity: preferred(
                paa.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref()),
            ),
            namespace,
            pod,
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn node_name(&self) -> &str {
        self.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
    }

    pub fn has_affinity(&self) -> bool {
        !self.required_affinity.is_empty()
            || !self.required_anti_affinity.is_empty()
            || !self.preferred_affinity.is_empty()
            || !self.preferred_anti_affinity.is_empty()
    }

    /// When the Pod started (for choosing preemption victims), as seconds since the epoch.
    pub fn start_time(&self) -> i64 {
        let t = self.pod.status.as_ref().and_then(|s| s.start_time.as_ref()).or(self
            .pod
            .metadata
            .creation_timestamp
            .as_ref());
        t.map(|t| t.0.as_second()).unwrap_or(0)
    }
}

fn container_requests(c: &Container) -> Resource {
    Resource::from_list(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

fn non_zero(mut r: Resource) -> Resource {
    if r.milli_cpu == 0 {
        r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
    }
    if r.memory == 0 {
        r.memory = DEFAULT_MEMORY_REQUEST;
    }
    r
}

/// The Pod's effective requests (`resourcehelper.PodRequests`), and the same with the
/// scoring defaults for containers that request no CPU or memory: app containers and
/// sidecars (restartable init containers) add up; each other init container needs its own
/// requests plus the sidecars started before it; the Pod needs the larger; overhead is added.
pub fn pod_requests(
    containers: &[Container],
    init_containers: &[Container],
    overhead: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
) -> (Resource, Resource) {
    let mut out = [Resource::default(), Resource::default()];
    for (i, total) in out.iter_mut().enumerate() {
        let req = |c: &Container| if i == 0 { container_requests(c) } else { non_zero(container_requests(c)) };
        for c in containers {
            total.add(&req(c));
        }
        let mut sidecars = Resource::default();
        let mut init_max = Resource::default();
        for c in init_containers {
            let mut r = req(c);
            if c.restart_policy.as_deref() == Some("Always") {
                total.add(&r);
                sidecars.add(&r);
                r = sidecars.clone();
            } else {
                r.add(&sidecars);
            }
            init_max.max_with(&r);
        }
        total.max_with(&init_max);
        total.add(&Resource::from_list(overhead));
    }
    let [requests, non_zero] = out;
    (requests, non_zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn pod(v: serde_json::Value) -> PodInfo {
        PodInfo::new(Arc::new(serde_json::from_value(v).unwrap()))
    }

    #[test]
    fn init_containers_count_by_their_maximum_and_sidecars_add_up() {
        let p = pod(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [
                {"name": "i1", "resources": {"requests": {"cpu": "1", "memory": "50Mi"}}},
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
                {"name": "i2", "resources": {"requests": {"cpu": "500m"}}}],
            "overhead": {"cpu": "10m"}}}));
        // app 300m + sidecar 50m = 350m; init max(1000m, 500m + 50m) = 1000m; + 10m overhead.
        assert_eq!(p.requests.milli_cpu, 1010);
        assert_eq!(p.requests.memory, 100 << 20);
        // Scoring defaults: b counts 200Mi of memory, i2 counts 200Mi too.
        assert_eq!(p.non_zero_memory, (100 << 20) + (200 << 20) + (200 << 20));
    }

    #[test]
    fn host_ports_default_to_tcp_on_every_address() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}]}}));
        assert_eq!(p.host_ports, vec![HostPort { protocol: "TCP".into(), ip: "0.0.0.0".into(), port: 8080 }]);
        let other = HostPort { protocol: "TCP".into(), ip: "127.0.0.1".into(), port: 8080 };
        assert!(p.host_ports[0].conflicts(&other));
        assert!(!p.host_ports[0].conflicts(&HostPort { protocol: "UDP".into(), ..other }));
    }

    #[test]
    fn affinity_terms_default_to_the_pods_namespace() {
        let p = pod(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}));
        let term = &p.required_anti_affinity[0];
        assert!(term.namespaces.contains("ns"));
        let web = pod(json!({"metadata": {"name": "w", "namespace": "ns", "labels": {"app": "web"}}}));
        let elsewhere = pod(json!({"metadata": {"name": "w", "namespace": "other", "labels": {"app": "web"}}}));
        assert!(term.matches(&web, None));
        assert!(!term.matches(&elsewhere, None));
    }
}
