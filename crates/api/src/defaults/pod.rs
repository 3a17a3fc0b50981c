//! Pod and PodSpec defaulting: `SetDefaults_Pod`, `SetDefaults_PodSpec`, containers, probes,
//! volumes, the `ServiceAccount` / `DefaultTolerationSeconds` admission defaults and the pod
//! strategy's initial status (phase and QoS class). The `Priority` admission plugin reads the
//! PriorityClasses: [`crate::priority`].

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::quantity::{canonicalize, canonicalize_list, Quantity};
use super::{child_obj, each_obj, existing_obj, is_set, set_empty_str, set_nil, set_zero_int, str_of};

/// Defaults a whole Pod object.
pub(super) fn default_pod(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(spec) = child_obj(map, "spec") {
        // SetDefaults_Pod: requests default to limits (pods only, not templates).
        for key in ["containers", "initContainers"] {
            for c in each_obj(spec, key) {
                requests_from_limits(c);
            }
        }
        set_nil(spec, "enableServiceLinks", true);
        if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
            for key in ["containers", "initContainers"] {
                for c in each_obj(spec, key) {
                    for p in each_obj(c, "ports") {
                        if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                            if let Some(cp) = p.get("containerPort").cloned() {
                                p.insert("hostPort".into(), cp);
                            }
                        }
                    }
                }
            }
        }
        default_pod_spec(spec);
        admission_defaults(spec);
    }
    default_pod_status(obj);
}

/// Defaults a PodTemplateSpec (`spec.template` of workloads): the PodSpec defaults without the
/// Pod-only ones, plus the `creationTimestamp: null` the Go serializer always writes for the
/// template's (non-pointer) ObjectMeta.
pub(super) fn default_pod_template(template: &mut Map<String, Value>) {
    if let Some(meta) = child_obj(template, "metadata") {
        if !meta.contains_key("creationTimestamp") {
            meta.insert("creationTimestamp".into(), Value::Null);
        }
    }
    if let Some(spec) = child_obj(template, "spec") {
        default_pod_spec(spec);
    }
}

/// `SetDefaults_PodSpec` plus everything nested in a PodSpec (containers, volumes, ...).
fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_empty_str(spec, "dnsPolicy", "ClusterFirst");
    set_empty_str(spec, "restartPolicy", "Always");
    set_nil(spec, "securityContext", Map::new());
    set_nil(spec, "terminationGracePeriodSeconds", 30);
    set_empty_str(spec, "schedulerName", "default-scheduler");
    // v1 <-> internal conversion of the deprecated `serviceAccount` field.
    if str_of(spec, "serviceAccountName").is_empty() && !str_of(spec, "serviceAccount").is_empty() {
        let sa = spec["serviceAccount"].clone();
        spec.insert("serviceAccountName".into(), sa);
    }
    if !str_of(spec, "serviceAccountName").is_empty() {
        let sa = spec["serviceAccountName"].clone();
        spec.insert("serviceAccount".into(), sa);
    }
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for c in each_obj(spec, key) {
            default_container(c);
        }
    }
    for v in each_obj(spec, "volumes") {
        default_volume(v);
    }
    canonicalize_list(spec.get_mut("overhead"));
    if let Some(res) = existing_obj(spec, "resources") {
        canonicalize_list(res.get_mut("limits"));
        canonicalize_list(res.get_mut("requests"));
    }
}

/// `SetDefaults_Container` and the declarative defaults of its nested types.
fn default_container(c: &mut Map<String, Value>) {
    if str_of(c, "imagePullPolicy").is_empty() {
        let policy = if image_tag(str_of(c, "image")).as_deref() == Some("latest") { "Always" } else { "IfNotPresent" };
        c.insert("imagePullPolicy".into(), Value::from(policy));
    }
    set_empty_str(c, "terminationMessagePath", "/dev/termination-log");
    set_empty_str(c, "terminationMessagePolicy", "File");
    for p in each_obj(c, "ports") {
        set_empty_str(p, "protocol", "TCP");
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = existing_obj(c, key) {
            set_zero_int(probe, "timeoutSeconds", 1);
            set_zero_int(probe, "periodSeconds", 10);
            set_zero_int(probe, "successThreshold", 1);
            set_zero_int(probe, "failureThreshold", 3);
            default_handler(probe);
            if let Some(grpc) = existing_obj(probe, "grpc") {
                set_nil(grpc, "service", "");
            }
        }
    }
    if let Some(lc) = existing_obj(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(h) = existing_obj(lc, key) {
                default_handler(h);
            }
        }
    }
    for e in each_obj(c, "env") {
        if let Some(from) = existing_obj(e, "valueFrom") {
            default_env_source(from);
        }
    }
    // ResourceRequirements is a non-pointer struct: always serialized, at least as `{}`.
    if let Some(res) = child_obj(c, "resources") {
        canonicalize_list(res.get_mut("limits"));
        canonicalize_list(res.get_mut("requests"));
    }
}

/// HTTPGetAction defaults inside a probe or lifecycle handler.
fn default_handler(h: &mut Map<String, Value>) {
    if let Some(http) = existing_obj(h, "httpGet") {
        set_empty_str(http, "path", "/");
        set_empty_str(http, "scheme", "HTTP");
    }
}

/// `fieldRef.apiVersion` = v1 and `resourceFieldRef.divisor` = "0" (a non-pointer Quantity).
fn default_env_source(src: &mut Map<String, Value>) {
    if let Some(f) = existing_obj(src, "fieldRef") {
        set_empty_str(f, "apiVersion", "v1");
    }
    if let Some(r) = existing_obj(src, "resourceFieldRef") {
        match r.get_mut("divisor") {
            Some(d) if !d.is_null() => canonicalize(d, false),
            _ => {
                r.insert("divisor".into(), Value::from("0"));
            }
        }
    }
}

/// `SetDefaults_Volume` and the volume sources' defaults.
fn default_volume(v: &mut Map<String, Value>) {
    if !v.iter().any(|(k, val)| k != "name" && !val.is_null()) {
        v.insert("emptyDir".into(), json!({}));
    }
    if let Some(s) = existing_obj(v, "secret") {
        set_nil(s, "defaultMode", 420);
    }
    if let Some(s) = existing_obj(v, "configMap") {
        set_nil(s, "defaultMode", 420);
    }
    if let Some(s) = existing_obj(v, "downwardAPI") {
        set_nil(s, "defaultMode", 420);
        for item in each_obj(s, "items") {
            default_env_source(item);
        }
    }
    if let Some(s) = existing_obj(v, "projected") {
        set_nil(s, "defaultMode", 420);
        for src in each_obj(s, "sources") {
            if let Some(t) = existing_obj(src, "serviceAccountToken") {
                set_nil(t, "expirationSeconds", 3600);
            }
            if let Some(d) = existing_obj(src, "downwardAPI") {
                for item in each_obj(d, "items") {
                    default_env_source(item);
                }
            }
        }
    }
    if let Some(s) = existing_obj(v, "hostPath") {
        set_nil(s, "type", "");
    }
    if let Some(s) = existing_obj(v, "emptyDir") {
        if let Some(limit) = s.get_mut("sizeLimit") {
            canonicalize(limit, false);
        }
    }
    if let Some(s) = existing_obj(v, "iscsi") {
        set_nil(s, "iscsiInterface", "default");
    }
    if let Some(s) = existing_obj(v, "rbd") {
        set_nil(s, "pool", "rbd");
        set_nil(s, "user", "admin");
        set_nil(s, "keyring", "/etc/ceph/keyring");
    }
    if let Some(s) = existing_obj(v, "azureDisk") {
        set_nil(s, "cachingMode", "ReadWrite");
        set_nil(s, "fsType", "ext4");
        set_nil(s, "readOnly", false);
        set_nil(s, "kind", "Shared");
    }
    if let Some(s) = existing_obj(v, "scaleIO") {
        set_nil(s, "storageMode", "ThinProvisioned");
        set_nil(s, "fsType", "xfs");
    }
    if let Some(e) = existing_obj(v, "ephemeral") {
        if let Some(t) = existing_obj(e, "volumeClaimTemplate") {
            if let Some(spec) = existing_obj(t, "spec") {
                default_pvc_spec(spec);
            }
        }
    }
}

/// `SetDefaults_PersistentVolumeClaimSpec`.
pub(super) fn default_pvc_spec(spec: &mut Map<String, Value>) {
    set_nil(spec, "volumeMode", "Filesystem");
    if let Some(res) = existing_obj(spec, "resources") {
        canonicalize_list(res.get_mut("limits"));
        canonicalize_list(res.get_mut("requests"));
    }
}

/// SetDefaults_Pod: for each resource in limits missing from requests, request = limit.
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = existing_obj(c, "resources") else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(requests) = child_obj(res, "requests") else {
        return;
    };
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// The `ServiceAccount` admission plugin's default. The other always-on mutating plugins need
/// the store (`Priority`: [`crate::priority`]) or the API server's flags
/// ([`add_default_tolerations`]); the API server runs them.
fn admission_defaults(spec: &mut Map<String, Value>) {
    if str_of(spec, "serviceAccountName").is_empty() {
        spec.insert("serviceAccountName".into(), Value::from("default"));
        spec.insert("serviceAccount".into(), Value::from("default"));
    }
}

/// The `DefaultTolerationSeconds` admission plugin (Pod creates and updates): a Pod that does not
/// tolerate the `node.kubernetes.io/not-ready` or `unreachable` NoExecute taints gets a toleration
/// of each for the given seconds (kube-apiserver's `--default-not-ready-toleration-seconds` and
/// `--default-unreachable-toleration-seconds`, 300 by default).
pub fn add_default_tolerations(pod: &mut Value, not_ready_seconds: i64, unreachable_seconds: i64) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let (mut not_ready, mut unreachable) = (false, false);
    if let Some(tols) = spec.get("tolerations").and_then(Value::as_array) {
        for t in tols.iter().filter_map(Value::as_object) {
            let key = str_of(t, "key");
            let effect = str_of(t, "effect");
            if effect.is_empty() || effect == "NoExecute" {
                not_ready |= key.is_empty() || key == "node.kubernetes.io/not-ready";
                unreachable |= key.is_empty() || key == "node.kubernetes.io/unreachable";
            }
        }
    }
    for (tolerated, key, seconds) in [
        (not_ready, "node.kubernetes.io/not-ready", not_ready_seconds),
        (unreachable, "node.kubernetes.io/unreachable", unreachable_seconds),
    ] {
        if tolerated {
            continue;
        }
        let tol = json!({"effect": "NoExecute", "key": key, "operator": "Exists", "tolerationSeconds": seconds});
        match spec.get_mut("tolerations") {
            Some(Value::Array(a)) => a.push(tol),
            _ => {
                spec.insert("tolerations".into(), Value::Array(vec![tol]));
            }
        }
    }
}

/// The pod strategy's initial status: phase `Pending`, the QoS class, and the
/// `SchedulingGated` condition when scheduling gates are set. Only fills what is missing.
pub(super) fn default_pod_status(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let qos = map.get("spec").map(qos_class).unwrap_or("BestEffort");
    let gated = map.get("spec").and_then(Value::as_object).is_some_and(|s| is_set(s, "schedulingGates"));
    let Some(status) = child_obj(map, "status") else {
        return;
    };
    set_empty_str(status, "phase", "Pending");
    set_empty_str(status, "qosClass", qos);
    if gated && !is_set(status, "conditions") {
        status.insert(
            "conditions".into(),
            json!([{
                "lastProbeTime": null,
                "lastTransitionTime": null,
                "message": "Scheduling is blocked due to non-empty scheduling gates",
                "reason": "SchedulingGated",
                "status": "False",
                "type": "PodScheduled",
            }]),
        );
    }
}

/// `qos.ComputePodQOS` over regular and init containers (cpu and memory only).
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let containers =
        ["containers", "initContainers"].into_iter().filter_map(|k| spec.get(k).and_then(Value::as_array)).flatten();
    for c in containers {
        let res = c.get("resources");
        let list = |k: &str| res.and_then(|r| r.get(k)).and_then(Value::as_object);
        for (name, q) in list("requests").into_iter().flatten() {
            let name = name.as_str();
            if name != "cpu" && name != "memory" {
                continue;
            }
            if let Some(q) = Quantity::from_value(q).filter(Quantity::is_positive) {
                *requests.entry(name).or_insert(0) += q.nanos();
            }
        }
        let mut found = (false, false);
        for (name, q) in list("limits").into_iter().flatten() {
            let name = name.as_str();
            if name != "cpu" && name != "memory" {
                continue;
            }
            if let Some(q) = Quantity::from_value(q).filter(Quantity::is_positive) {
                if name == "cpu" {
                    found.0 = true;
                } else {
                    found.1 = true;
                }
                *limits.entry(name).or_insert(0) += q.nanos();
            }
        }
        if found != (true, true) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.iter().all(|(k, v)| limits.get(k) == Some(v)) && requests.len() == limits.len() {
        return "Guaranteed";
    }
    "Burstable"
}

/// The tag `parsers.ParseImageName` finds: the explicit tag, `latest` when there is neither a
/// tag nor a digest, `None` for a reference that does not parse.
pub(crate) fn image_tag(image: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| {
            let domain_component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
            let domain = format!(r"(?:{domain_component}(?:\.{domain_component})*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)");
            let path = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*";
            // `\w` is ASCII in Go's regexp; spelled out, as a Unicode class it would make the
            // search automaton thousands of times larger.
            let pattern = format!(
                r"^((?:{domain}/)?{path}(?:/{path})*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}}))?$"
            );
            Regex::new(&pattern).ok()
        })
        .as_ref()?;
    let caps = re.captures(image)?;
    if caps.get(1).map_or(0, |m| m.as_str().len()) > 255 {
        return None;
    }
    match (caps.get(2), caps.get(3)) {
        (Some(tag), _) => Some(tag.as_str().to_string()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags_follow_docker_reference_rules() {
        assert_eq!(image_tag("busybox").as_deref(), Some("latest"));
        assert_eq!(image_tag("busybox:latest").as_deref(), Some("latest"));
        assert_eq!(image_tag("busybox:1.36").as_deref(), Some("1.36"));
        assert_eq!(image_tag("localhost:5000/app").as_deref(), Some("latest"));
        assert_eq!(image_tag("localhost:5000/app:v1").as_deref(), Some("v1"));
        assert_eq!(image_tag(&format!("nginx@sha256:{}", "a".repeat(64))).as_deref(), Some(""));
        assert_eq!(image_tag(&format!("nginx:1.2@sha256:{}", "a".repeat(64))).as_deref(), Some("1.2"));
        assert_eq!(image_tag("[::1]:5000/app").as_deref(), Some("latest"));
        assert_eq!(image_tag("[::1]:5000/app:v2").as_deref(), Some("v2"));
        assert_eq!(image_tag(&format!("{}:v1", "a".repeat(256))), None);
        assert_eq!(image_tag("BusyBox"), None);
        assert_eq!(image_tag(""), None);
    }

    #[test]
    fn qos_classes() {
        let be = json!({"containers": [{"name": "a", "resources": {}}]});
        assert_eq!(qos_class(&be), "BestEffort");
        let g = json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                    "requests": {"cpu": "1000m", "memory": "1Gi"}}}]});
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = json!({"containers": [{"resources": {"requests": {"cpu": "100m"}}}]});
        assert_eq!(qos_class(&b), "Burstable");
    }
}
