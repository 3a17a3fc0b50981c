//! Printers for core/v1 objects (plus leases, priority classes and events.k8s.io events):
//! `printNode`, `printNamespace`, `printEvent`, `printConfigMap`, `printSecret`, `printService`,
//! `printEndpoints`, `printServiceAccount`, `printLease`, `printPriorityClass`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::format::{
    age, arr_at, at, first_non_empty, format_labels, int_at, is_set, join_host_port, map_at, map_len, name, str_at,
    time_at, translate_timestamp_since,
};

/// Name, Status, Roles, Age, Version, Internal-IP, External-IP, OS-Image, Kernel-Version,
/// Container-Runtime.
pub(super) fn node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // conditionMap: the last condition of a type wins.
    let ready = arr_at(obj, &["status", "conditions"]).iter().rev().find(|c| str_at(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = Vec::with_capacity(2);
    match ready {
        Some(c) if str_at(c, &["status"]) == "True" => status.push("Ready"),
        Some(_) => status.push("NotReady"),
        None => status.push("Unknown"),
    }
    if at(obj, &["spec", "unschedulable"]).and_then(Value::as_bool).unwrap_or(false) {
        status.push("SchedulingDisabled");
    }

    let mut roles: BTreeSet<&str> = BTreeSet::new();
    for (k, v) in map_at(obj, &["metadata", "labels"]).into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role);
            }
        } else if k == "kubernetes.io/role" {
            if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                roles.insert(v);
            }
        }
    }
    let roles = if roles.is_empty() { "<none>".to_string() } else { roles.into_iter().collect::<Vec<_>>().join(",") };

    let address = |type_: &str| {
        arr_at(obj, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == type_)
            .map_or("<none>", |a| str_at(a, &["address"]))
    };
    let info = |field: &str| {
        let v = str_at(obj, &["status", "nodeInfo", field]);
        if v.is_empty() {
            "<unknown>"
        } else {
            v
        }
    };
    vec![
        json!(name(obj)),
        json!(status.join(",")),
        json!(roles),
        json!(age(obj, now)),
        json!(str_at(obj, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// Name, Status, Age.
pub(super) fn namespace(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(name(obj)), json!(str_at(obj, &["status", "phase"])), json!(age(obj, now))]
}

/// Where an event's fields live: core/v1 `Event` or events.k8s.io/v1 `Event` (the apiserver
/// prints both with the core printer after conversion).
pub(super) struct EventFields {
    involved: &'static str,
    message: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
    source: &'static str,
    reporting_controller: &'static str,
}

/// core/v1 field names.
pub(super) const CORE_EVENT: EventFields = EventFields {
    involved: "involvedObject",
    message: "message",
    first: "firstTimestamp",
    last: "lastTimestamp",
    count: "count",
    source: "source",
    reporting_controller: "reportingComponent",
};

/// events.k8s.io/v1 field names.
pub(super) const EVENTS_V1_EVENT: EventFields = EventFields {
    involved: "regarding",
    message: "note",
    first: "deprecatedFirstTimestamp",
    last: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    source: "deprecatedSource",
    reporting_controller: "reportingController",
};

/// Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name.
pub(super) fn event(obj: &Value, now: DateTime<Utc>, f: &EventFields) -> Vec<Value> {
    let first_ts = time_at(obj, &[f.first]);
    let first = match first_ts {
        Some(t) => translate_timestamp_since(Some(t), now),
        None => translate_timestamp_since(time_at(obj, &["eventTime"]), now),
    };
    let mut last = match time_at(obj, &[f.last]) {
        Some(t) => translate_timestamp_since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(obj, &[f.count]);
    if is_set(obj, &["series"]) {
        last = translate_timestamp_since(time_at(obj, &["series", "lastObservedTime"]), now);
        count = int_at(obj, &["series", "count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }
    let kind = str_at(obj, &[f.involved, "kind"]).to_lowercase();
    let involved_name = str_at(obj, &[f.involved, "name"]);
    let target = if involved_name.is_empty() { kind } else { format!("{kind}/{involved_name}") };
    let component = first_non_empty(str_at(obj, &[f.source, "component"]), str_at(obj, &[f.reporting_controller]));
    let instance = first_non_empty(str_at(obj, &[f.source, "host"]), str_at(obj, &["reportingInstance"]));
    let source = if instance.is_empty() { component.to_string() } else { format!("{component}, {instance}") };
    vec![
        json!(last),
        json!(str_at(obj, &["type"])),
        json!(str_at(obj, &["reason"])),
        json!(target),
        json!(str_at(obj, &[f.involved, "fieldPath"])),
        json!(source),
        json!(str_at(obj, &[f.message]).trim()),
        json!(first),
        json!(count),
        json!(name(obj)),
    ]
}

/// Name, Data (`len(data) + len(binaryData)`), Age.
pub(super) fn config_map(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let n = map_len(obj, &["data"]) + map_len(obj, &["binaryData"]);
    vec![json!(name(obj)), json!(n), json!(age(obj, now))]
}

/// Name, Type, Data, Age. `stringData` keys count as data (they are merged on conversion).
pub(super) fn secret(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let data = map_at(obj, &["data"]);
    let extra = map_at(obj, &["stringData"])
        .into_iter()
        .flatten()
        .filter(|(k, _)| !data.is_some_and(|d| d.contains_key(k.as_str())))
        .count();
    let n = data.map_or(0, |d| d.len()) + extra;
    vec![json!(name(obj)), json!(str_at(obj, &["type"])), json!(n), json!(age(obj, now))]
}

/// `getServiceExternalIP` (wide: load-balancer addresses are not clipped).
fn service_external_ip(obj: &Value) -> String {
    let external_ips: Vec<&str> = arr_at(obj, &["spec", "externalIPs"]).iter().filter_map(Value::as_str).collect();
    match str_at(obj, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let lb: BTreeSet<&str> = arr_at(obj, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| first_non_empty(str_at(i, &["ip"]), str_at(i, &["hostname"])))
                .filter(|s| !s.is_empty())
                .collect();
            let mut results: Vec<&str> = lb.into_iter().collect();
            if !external_ips.is_empty() {
                results.extend(external_ips);
                return results.join(",");
            }
            if results.is_empty() {
                "<pending>".to_string()
            } else {
                results.join(",")
            }
        }
        "ExternalName" => str_at(obj, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `makePortString`: `80/TCP`, `80:30080/TCP`, comma-joined.
fn port_string(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = str_at(p, &["protocol"]);
            let node_port = int_at(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    pieces.join(",")
}

/// Name, Type, Cluster-IP, External-IP, Port(s), Age, Selector.
pub(super) fn service(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cluster_ip = arr_at(obj, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| Some(str_at(obj, &["spec", "clusterIP"])).filter(|s| !s.is_empty()))
        .unwrap_or("<none>");
    let mut ports = port_string(arr_at(obj, &["spec", "ports"]));
    if ports.is_empty() {
        ports = "<none>".to_string();
    }
    vec![
        json!(name(obj)),
        json!(str_at(obj, &["spec", "type"])),
        json!(cluster_ip),
        json!(service_external_ip(obj)),
        json!(ports),
        json!(age(obj, now)),
        json!(format_labels(map_at(obj, &["spec", "selector"]))),
    ]
}

/// `formatEndpoints(endpoints, nil)`: up to three `ip:port`, then `+ N more...`.
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr_at(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        if ports.is_empty() {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, &["ip"]).to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count.saturating_sub(MAX))
    } else {
        ret
    }
}

/// Name, Endpoints, Age.
pub(super) fn endpoints(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(name(obj)), json!(format_endpoints(obj)), json!(age(obj, now))]
}

/// Name, Secrets, Age.
pub(super) fn service_account(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(name(obj)), json!(arr_at(obj, &["secrets"]).len()), json!(age(obj, now))]
}

/// Name, Holder, Age.
pub(super) fn lease(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![json!(name(obj)), json!(str_at(obj, &["spec", "holderIdentity"])), json!(age(obj, now))]
}

/// Name, Value, Global-Default, Age, PreemptionPolicy (`""` when unset).
pub(super) fn priority_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        json!(int_at(obj, &["value"])),
        json!(at(obj, &["globalDefault"]).and_then(Value::as_bool).unwrap_or(false)),
        json!(age(obj, now)),
        json!(str_at(obj, &["preemptionPolicy"])),
    ]
}
