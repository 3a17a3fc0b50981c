//! Defaulting of the core kinds other than Pod: Namespace, Node, Service, Secret, Endpoints,
//! Event; and of PriorityClass.

use serde_json::{json, Value};

use super::quantity::canonicalize_list;
use super::{child_obj, each_obj, existing_obj, is_set, set_empty_str, set_nil, str_of};

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label), `SetDefaults_NamespaceStatus`
/// (phase `Active`) and the strategy's `kubernetes` finalizer (added when `spec.finalizers` was
/// never set and the namespace is not being deleted).
pub(super) fn default_namespace(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let mut deleting = false;
    if let Some(meta) = child_obj(map, "metadata") {
        deleting = is_set(meta, "deletionTimestamp");
        let name = str_of(meta, "name").to_string();
        if !name.is_empty() {
            if let Some(labels) = child_obj(meta, "labels") {
                labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
            }
        }
    }
    if let Some(spec) = child_obj(map, "spec") {
        let missing = matches!(spec.get("finalizers"), None | Some(Value::Null));
        if missing && !deleting {
            spec.insert("finalizers".into(), json!(["kubernetes"]));
        }
    }
    if let Some(status) = child_obj(map, "status") {
        set_empty_str(status, "phase", "Active");
    }
}

/// Ensures `kubernetes` is among `spec.finalizers` (namespace `PrepareForCreate`).
pub(super) fn ensure_namespace_finalizer(obj: &mut Value) {
    let Some(spec) = obj.as_object_mut().and_then(|m| child_obj(m, "spec")) else {
        return;
    };
    match spec.get_mut("finalizers") {
        Some(Value::Array(a)) => {
            if !a.iter().any(|f| f == "kubernetes") {
                a.push(json!("kubernetes"));
            }
        }
        _ => {
            spec.insert("finalizers".into(), json!(["kubernetes"]));
        }
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity; quantities canonicalized.
pub(super) fn default_node(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    child_obj(map, "spec");
    let Some(status) = existing_obj(map, "status") else {
        return;
    };
    canonicalize_list(status.get_mut("capacity"));
    canonicalize_list(status.get_mut("allocatable"));
    if !status.get("allocatable").is_some_and(Value::is_object) {
        if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
            status.insert("allocatable".into(), cap);
        }
    }
}

/// `SetDefaults_Service` plus the IP-family and cluster-IP normalization the service REST
/// storage does (single-stack IPv4 cluster). Cluster IPs and node ports are allocated elsewhere.
pub(super) fn default_service(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(spec) = child_obj(map, "spec") {
        set_empty_str(spec, "sessionAffinity", "None");
        match str_of(spec, "sessionAffinity") {
            "None" => {
                spec.remove("sessionAffinityConfig");
            }
            "ClientIP" => {
                let has_timeout = spec
                    .get("sessionAffinityConfig")
                    .and_then(|c| c.get("clientIP"))
                    .and_then(|c| c.get("timeoutSeconds"))
                    .is_some_and(|t| !t.is_null());
                if !has_timeout {
                    spec.insert("sessionAffinityConfig".into(), json!({"clientIP": {"timeoutSeconds": 10800}}));
                }
            }
            _ => {}
        }
        set_empty_str(spec, "type", "ClusterIP");
        for p in each_obj(spec, "ports") {
            set_empty_str(p, "protocol", "TCP");
            let unset = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if unset {
                if let Some(port) = p.get("port").cloned() {
                    p.insert("targetPort".into(), port);
                }
            }
        }
        let ty = str_of(spec, "type").to_string();
        let externally_accessible =
            ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && is_set(spec, "externalIPs"));
        if externally_accessible {
            set_empty_str(spec, "externalTrafficPolicy", "Cluster");
        }
        if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
            set_nil(spec, "internalTrafficPolicy", "Cluster");
        }
        if ty == "LoadBalancer" {
            set_nil(spec, "allocateLoadBalancerNodePorts", true);
        }
        if ty != "ExternalName" {
            // normalizeClusterIPs: clusterIP and clusterIPs[0] mirror each other.
            let ip = str_of(spec, "clusterIP").to_string();
            let ips_set = is_set(spec, "clusterIPs");
            if !ip.is_empty() && !ips_set {
                spec.insert("clusterIPs".into(), json!([ip]));
            } else if ip.is_empty() && ips_set {
                if let Some(first) = spec["clusterIPs"].get(0).cloned() {
                    spec.insert("clusterIP".into(), first);
                }
            }
            // initIPFamilyFields for a single-stack IPv4 cluster.
            let headless_selectorless = str_of(spec, "clusterIP") == "None" && !is_set(spec, "selector");
            let families_len = spec.get("ipFamilies").and_then(Value::as_array).map_or(0, Vec::len);
            if families_len == 2 || headless_selectorless {
                set_nil(spec, "ipFamilyPolicy", "RequireDualStack");
            } else {
                set_nil(spec, "ipFamilyPolicy", "SingleStack");
            }
            if families_len == 0 {
                spec.insert("ipFamilies".into(), json!(["IPv4"]));
            }
        }
    }
    // ServiceStatus is a non-pointer struct holding a non-pointer LoadBalancerStatus.
    if let Some(status) = child_obj(map, "status") {
        child_obj(status, "loadBalancer");
    }
}

/// `SetDefaults_Secret`: type `Opaque`.
pub(super) fn default_secret(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        set_empty_str(map, "type", "Opaque");
    }
}

/// `SetDefaults_Endpoints`: port protocol `TCP`.
pub(super) fn default_endpoints(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for subset in each_obj(map, "subsets") {
        for p in each_obj(subset, "ports") {
            set_empty_str(p, "protocol", "TCP");
        }
    }
}

/// core/v1 Event: the zero values Go always serializes (`involvedObject`, `source`, the
/// timestamps as `null`, the reporting fields as `""`).
pub(super) fn default_core_event(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    child_obj(map, "involvedObject");
    child_obj(map, "source");
    for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
        map.entry(key).or_insert(Value::Null);
    }
    for key in ["reportingComponent", "reportingInstance"] {
        set_nil(map, key, "");
    }
}

/// events.k8s.io/v1 Event: the deprecated fields' zero values.
pub(super) fn default_events_event(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    child_obj(map, "deprecatedSource");
    for key in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
        map.entry(key).or_insert(Value::Null);
    }
}

/// `SetDefaults_PriorityClass`: `preemptionPolicy` defaults to `PreemptLowerPriority`.
pub(super) fn default_priority_class(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        set_nil(map, "preemptionPolicy", crate::priority::PREEMPT_LOWER_PRIORITY);
    }
}
