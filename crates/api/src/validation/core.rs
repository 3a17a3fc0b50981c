//! Validation of the core kinds other than Pod: Service, ConfigMap, Secret, Namespace, Lease.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::meta::{config_key, dns1123_label, dns1123_subdomain, invalid_raw, port_num, too_long, validate_labels};
use super::pod::{validate_port_num_or_name, validate_protocol};
use crate::{At, Cause};

type Obj = Map<String, Value>;

/// Secret and ConfigMap total data size limit (1 MiB).
const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn s<'a>(m: &'a Obj, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `ValidateService` (spec part).
pub(crate) fn validate_service(spec: &Obj, out: &mut Vec<Cause>) {
    let ty = s(spec, "type");
    let headless = s(spec, "clusterIP") == "None";
    let ports: Vec<&Obj> =
        spec.get("ports").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object).collect();
    if ports.is_empty() && !headless && ty != "ExternalName" {
        out.push(Cause::required("spec.ports"));
    }
    if ty == "ExternalName" {
        let name = s(spec, "externalName");
        if name.is_empty() {
            out.push(Cause::required("spec.externalName"));
        } else {
            for msg in dns1123_subdomain(name.trim_end_matches('.')) {
                out.push(Cause::invalid("spec.externalName", &Value::from(name), &msg));
            }
        }
    }
    let mut names = HashSet::new();
    let mut seen = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = s(p, "name");
        if ports.len() > 1 && name.is_empty() {
            out.push(Cause::required(format!("{path}.name")));
        } else if !name.is_empty() {
            for msg in dns1123_label(name) {
                out.push(Cause::invalid(format!("{path}.name"), &Value::from(name), &msg));
            }
            if !names.insert(name) {
                out.push(Cause::duplicate(format!("{path}.name"), &Value::from(name)));
            }
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        for msg in port_num(port) {
            out.push(Cause::invalid(format!("{path}.port"), &Value::from(port), &msg));
        }
        validate_protocol(p, &path, out);
        if let Some(tp) = p.get("targetPort") {
            validate_port_num_or_name(tp, &format!("{path}.targetPort"), out);
        }
        let node_port = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 {
            if ty == "ClusterIP" || ty == "ExternalName" {
                out.push(Cause::forbidden(
                    format!("{path}.nodePort"),
                    &format!("may not be used when `type` is '{ty}'"),
                ));
            } else {
                for msg in port_num(node_port) {
                    out.push(Cause::invalid(format!("{path}.nodePort"), &Value::from(node_port), &msg));
                }
            }
        }
        let protocol = s(p, "protocol");
        if !seen.insert((protocol, port)) {
            let rendered = format!(
                "core.ServicePort{{Name:\"\", Protocol:{protocol:?}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}"
            );
            out.push(Cause::new("FieldValueDuplicate", &path, format!("Duplicate value: {rendered}")));
        }
    }
    validate_labels(spec.get("selector"), "spec.selector", out);
    match s(spec, "sessionAffinity") {
        "None" | "ClientIP" => {}
        "" => out.push(Cause::required("spec.sessionAffinity")),
        other => out.push(Cause::not_supported("spec.sessionAffinity", &Value::from(other), &["ClientIP", "None"])),
    }
    if let Some(t) =
        spec.get("sessionAffinityConfig").and_then(|c| c.at("/clientIP/timeoutSeconds")).and_then(Value::as_i64)
    {
        if !(1..=86400).contains(&t) {
            out.push(Cause::invalid(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                &Value::from(t),
                "must be greater than 0 and less than 86400",
            ));
        }
    }
    match ty {
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        "" => out.push(Cause::required("spec.type")),
        other => out.push(Cause::not_supported(
            "spec.type",
            &Value::from(other),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
    if headless && ty != "ClusterIP" && ty != "ExternalName" && !ty.is_empty() {
        out.push(Cause::invalid(
            "spec.clusterIPs[0]",
            &Value::from("None"),
            &format!("may not be set to 'None' for {ty} services"),
        ));
    }
    for (key, allowed) in
        [("externalTrafficPolicy", ["Cluster", "Local"]), ("internalTrafficPolicy", ["Cluster", "Local"])]
    {
        if let Some(v) = spec.get(key).and_then(Value::as_str) {
            if !allowed.contains(&v) {
                out.push(Cause::not_supported(format!("spec.{key}"), &Value::from(v), &allowed));
            }
        }
    }
    if let Some(p) = spec.get("ipFamilyPolicy").and_then(Value::as_str) {
        let allowed = ["SingleStack", "PreferDualStack", "RequireDualStack"];
        if !allowed.contains(&p) {
            out.push(Cause::not_supported("spec.ipFamilyPolicy", &Value::from(p), &allowed));
        }
    }
}

/// `ValidateServiceUpdate`: the cluster IP may not change once set.
pub(crate) fn validate_service_update(new: &Obj, old: &Obj, out: &mut Vec<Cause>) {
    let (n, o) = (s(new, "clusterIP"), s(old, "clusterIP"));
    let to_external = s(new, "type") == "ExternalName";
    if !o.is_empty() && n != o && !to_external {
        out.push(invalid_raw("spec.clusterIPs[0]", &format!("[]string{{{n:?}}}"), "may not change once set"));
    }
}

/// Keys of `data`/`binaryData` and the total size of a ConfigMap.
pub(crate) fn validate_configmap(obj: &Obj, out: &mut Vec<Cause>) {
    let data = obj.get("data").and_then(Value::as_object);
    let binary = obj.get("binaryData").and_then(Value::as_object);
    let mut total = 0usize;
    for (k, v) in data.into_iter().flatten() {
        for msg in config_key(k) {
            out.push(Cause::invalid(format!("data[{k}]"), &Value::from(k.as_str()), &msg));
        }
        if binary.is_some_and(|b| b.contains_key(k)) {
            out.push(Cause::invalid(
                format!("data[{k}]"),
                &Value::from(k.as_str()),
                "duplicate of key present in binaryData",
            ));
        }
        total += v.as_str().map_or(0, str::len);
    }
    for (k, v) in binary.into_iter().flatten() {
        for msg in config_key(k) {
            out.push(Cause::invalid(format!("binaryData[{k}]"), &Value::from(k.as_str()), &msg));
        }
        if data.is_some_and(|d| d.contains_key(k)) {
            out.push(Cause::invalid(
                format!("binaryData[{k}]"),
                &Value::from(k.as_str()),
                "duplicate of key present in data",
            ));
        }
        total += v.as_str().map_or(0, base64_len);
    }
    if total > MAX_SECRET_SIZE {
        out.push(too_long("", MAX_SECRET_SIZE));
    }
}

/// The decoded length of a base64 string.
fn base64_len(s: &str) -> usize {
    let pad = s.bytes().rev().take_while(|b| *b == b'=').count();
    (s.len() / 4 * 3).saturating_sub(pad)
}

/// `ValidateSecret` (keys, size, type-specific required keys).
pub(crate) fn validate_secret(obj: &Obj, out: &mut Vec<Cause>) {
    let data = obj.get("data").and_then(Value::as_object);
    let string_data = obj.get("stringData").and_then(Value::as_object);
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k)) || string_data.is_some_and(|d| d.contains_key(k));
    let mut total = 0usize;
    for (k, v) in data.into_iter().flatten() {
        for msg in config_key(k) {
            out.push(Cause::invalid(format!("data[{k}]"), &Value::from(k.as_str()), &msg));
        }
        total += v.as_str().map_or(0, base64_len);
    }
    for (k, v) in string_data.into_iter().flatten() {
        for msg in config_key(k) {
            out.push(Cause::invalid(format!("stringData[{k}]"), &Value::from(k.as_str()), &msg));
        }
        if !data.is_some_and(|d| d.contains_key(k)) {
            total += v.as_str().map_or(0, str::len);
        }
    }
    if total > MAX_SECRET_SIZE {
        out.push(too_long("data", MAX_SECRET_SIZE));
    }
    let required: &[&str] = match s(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let has_name = obj
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !has_name {
                out.push(Cause::required("metadata.annotations[kubernetes.io/service-account.name]"));
            }
            &[]
        }
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/basic-auth" => {
            if !has("username") && !has("password") {
                out.push(Cause::required("data[username]"));
                out.push(Cause::required("data[password]"));
            }
            &[]
        }
        _ => &[],
    };
    for k in required {
        if !has(k) {
            out.push(Cause::required(format!("data[{k}]")));
        }
    }
}

/// Secret/ConfigMap updates: `type` is immutable, and nothing may change once `immutable` is set.
pub(crate) fn validate_data_update(kind: &str, new: &Obj, old: &Obj, out: &mut Vec<Cause>) {
    if kind == "Secret" && s(new, "type") != s(old, "type") {
        out.push(Cause::invalid("type", &Value::from(s(new, "type")), "field is immutable"));
    }
    if old.get("immutable").and_then(Value::as_bool) == Some(true) {
        if new.get("immutable").and_then(Value::as_bool) != Some(true) {
            out.push(Cause::forbidden("immutable", "field is immutable when `immutable` is set"));
        }
        for key in ["data", "binaryData", "stringData"] {
            if new.get(key).filter(|v| !v.is_null()) != old.get(key).filter(|v| !v.is_null()) && key != "stringData" {
                out.push(Cause::forbidden(key, "field is immutable when `immutable` is set"));
            }
        }
    }
}

/// `ValidateNodeUpdate`: Pod CIDRs and the provider ID, once set, do not change (the node
/// IPAM controller may set them from empty).
pub(crate) fn validate_node_update(new: Option<&Obj>, old: Option<&Obj>, out: &mut Vec<Cause>) {
    let list = |spec: Option<&Obj>| spec.and_then(|s| s.get("podCIDRs")).and_then(Value::as_array).cloned();
    let old_cidrs = list(old).unwrap_or_default();
    if !old_cidrs.is_empty() && list(new).unwrap_or_default() != old_cidrs {
        out.push(Cause::forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid"));
    }
    let id =
        |spec: Option<&Obj>| spec.and_then(|s| s.get("providerID")).and_then(Value::as_str).unwrap_or("").to_string();
    if !id(old).is_empty() && id(new) != id(old) {
        out.push(Cause::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
}

/// `ValidateLease` (spec part).
pub(crate) fn validate_lease(spec: Option<&Obj>, out: &mut Vec<Cause>) {
    let Some(spec) = spec else { return };
    for key in ["leaseDurationSeconds", "leaseTransitions"] {
        if let Some(n) = spec.get(key).and_then(Value::as_i64) {
            let (ok, msg) = if key == "leaseDurationSeconds" {
                (n > 0, "must be greater than 0")
            } else {
                (n >= 0, "must be greater than or equal to 0")
            };
            if !ok {
                out.push(Cause::invalid(format!("spec.{key}"), &Value::from(n), msg));
            }
        }
    }
}
