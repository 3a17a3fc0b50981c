//! Pod validation: `ValidatePodSpec`, containers, ports, env, volumes, resources, tolerations,
//! and `ValidatePodUpdate`'s immutability rules.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::meta::{dns1123_label, dns1123_subdomain, port_name, port_num, qualified_name, required_detail};
use crate::defaults::quantity::Quantity;
use crate::Cause;

type Obj = Map<String, Value>;

fn s<'a>(m: &'a Obj, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn arr<'a>(m: &'a Obj, k: &str) -> impl Iterator<Item = (usize, &'a Obj)> {
    m.get(k)
        .and_then(Value::as_array)
        .into_iter()
        .flat_map(|a| a.iter().enumerate().filter_map(|(i, v)| v.as_object().map(|o| (i, o))))
}

fn nonneg(m: &Obj, k: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(n) = m.get(k).and_then(Value::as_i64) {
        if n < 0 {
            out.push(Cause::invalid(format!("{path}.{k}"), &Value::from(n), "must be greater than or equal to 0"));
        }
    }
}

/// `ValidatePodSpec` on `spec` at `path` (`spec` or `spec.template.spec`).
pub(crate) fn validate_pod_spec(spec: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let empty = Obj::new();
    let spec = spec.and_then(Value::as_object).unwrap_or(&empty);
    let volumes = validate_volumes(spec, &format!("{path}.volumes"), out);

    let containers_path = format!("{path}.containers");
    let mut names: HashSet<&str> = HashSet::new();
    if arr(spec, "containers").next().is_none() {
        out.push(Cause::required(&containers_path));
    }
    for (i, c) in arr(spec, "containers") {
        let p = format!("{containers_path}[{i}]");
        validate_container(c, &p, &volumes, out);
        let name = s(c, "name");
        if !name.is_empty() && !names.insert(name) {
            out.push(Cause::duplicate(format!("{p}.name"), &Value::from(name)));
        }
        validate_probes(c, &p, out);
    }
    let mut init_names: HashSet<&str> = HashSet::new();
    for (i, c) in arr(spec, "initContainers") {
        let p = format!("{path}.initContainers[{i}]");
        validate_container(c, &p, &volumes, out);
        let name = s(c, "name");
        if !name.is_empty() && (names.contains(name) || !init_names.insert(name)) {
            out.push(Cause::duplicate(format!("{p}.name"), &Value::from(name)));
        }
        let sidecar = s(c, "restartPolicy") == "Always";
        if !sidecar {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if c.get(probe).is_some_and(|v| !v.is_null()) {
                    out.push(Cause::forbidden(
                        format!("{p}.{probe}"),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
            if c.get("lifecycle").is_some_and(|v| !v.is_null()) {
                out.push(Cause::forbidden(
                    format!("{p}.lifecycle"),
                    "may not be set for init containers without restartPolicy=Always",
                ));
            }
        } else {
            validate_probes(c, &p, out);
        }
        match s(c, "restartPolicy") {
            "" | "Always" => {}
            other => out.push(Cause::not_supported(format!("{p}.restartPolicy"), &Value::from(other), &["Always"])),
        }
    }
    for (i, c) in arr(spec, "ephemeralContainers") {
        let name = s(c, "name");
        if !name.is_empty() && (names.contains(name) || init_names.contains(name)) {
            out.push(Cause::duplicate(format!("{path}.ephemeralContainers[{i}].name"), &Value::from(name)));
        }
    }

    match s(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => out.push(Cause::required(format!("{path}.restartPolicy"))),
        other => out.push(Cause::not_supported(
            format!("{path}.restartPolicy"),
            &Value::from(other),
            &["Always", "OnFailure", "Never"],
        )),
    }
    match s(spec, "dnsPolicy") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => out.push(Cause::required(format!("{path}.dnsPolicy"))),
        other => out.push(Cause::not_supported(
            format!("{path}.dnsPolicy"),
            &Value::from(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    if s(spec, "dnsPolicy") == "None" && spec.get("dnsConfig").is_none_or(Value::is_null) {
        out.push(required_detail(format!("{path}.dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"));
    }
    super::meta::validate_labels(spec.get("nodeSelector"), &format!("{path}.nodeSelector"), out);
    for (key, check) in [
        ("serviceAccountName", dns1123_subdomain as fn(&str) -> Vec<String>),
        ("nodeName", dns1123_subdomain),
        ("hostname", dns1123_label),
        ("subdomain", dns1123_label),
        ("priorityClassName", dns1123_subdomain),
    ] {
        let v = s(spec, key);
        if !v.is_empty() {
            for msg in check(v) {
                out.push(Cause::invalid(format!("{path}.{key}"), &Value::from(v), &msg));
            }
        }
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64) {
        if !(1..=i64::from(i32::MAX)).contains(&ads) {
            out.push(Cause::invalid(
                format!("{path}.activeDeadlineSeconds"),
                &Value::from(ads),
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    if let Some(p) = spec.get("preemptionPolicy").and_then(Value::as_str) {
        if p != "PreemptLowerPriority" && p != "Never" {
            out.push(Cause::not_supported(
                format!("{path}.preemptionPolicy"),
                &Value::from(p),
                &["PreemptLowerPriority", "Never"],
            ));
        }
    }
    super::pod_extra::validate_tolerations(spec.get("tolerations"), &format!("{path}.tolerations"), out);
    for (i, g) in arr(spec, "imagePullSecrets") {
        if s(g, "name").is_empty() {
            out.push(Cause::required(format!("{path}.imagePullSecrets[{i}].name")));
        }
    }
}

/// `ValidateVolumes`: returns the names of the valid volumes.
fn validate_volumes<'a>(spec: &'a Obj, path: &str, out: &mut Vec<Cause>) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    for (i, v) in arr(spec, "volumes") {
        let p = format!("{path}[{i}]");
        let mut errs = Vec::new();
        let sources: Vec<&String> =
            v.iter().filter(|(k, val)| *k != "name" && !val.is_null()).map(|(k, _)| k).collect();
        match sources.as_slice() {
            [] => errs.push(required_detail(&p, "must specify a volume type")),
            [_] => {}
            [_, second, ..] => {
                errs.push(Cause::forbidden(format!("{p}.{second}"), "may not specify more than 1 volume type"))
            }
        }
        validate_volume_source(v, &p, &mut errs);
        let name = s(v, "name");
        if name.is_empty() {
            errs.push(Cause::required(format!("{p}.name")));
        } else {
            for msg in dns1123_label(name) {
                errs.push(Cause::invalid(format!("{p}.name"), &Value::from(name), &msg));
            }
        }
        if names.contains(name) {
            errs.push(Cause::duplicate(format!("{p}.name"), &Value::from(name)));
        }
        if errs.is_empty() {
            names.insert(name);
        } else {
            out.append(&mut errs);
        }
    }
    names
}

fn validate_volume_source(v: &Obj, p: &str, out: &mut Vec<Cause>) {
    const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";
    let mode_check = |src: &Obj, sp: &str, out: &mut Vec<Cause>| {
        if let Some(m) = src.get("defaultMode").and_then(Value::as_i64) {
            if !(0..=0o777).contains(&m) {
                out.push(Cause::invalid(format!("{sp}.defaultMode"), &Value::from(m), FILE_MODE));
            }
        }
    };
    if let Some(src) = v.get("configMap").and_then(Value::as_object) {
        let sp = format!("{p}.configMap");
        if s(src, "name").is_empty() {
            out.push(Cause::required(format!("{sp}.name")));
        }
        mode_check(src, &sp, out);
    }
    if let Some(src) = v.get("secret").and_then(Value::as_object) {
        let sp = format!("{p}.secret");
        if s(src, "secretName").is_empty() {
            out.push(Cause::required(format!("{sp}.secretName")));
        }
        mode_check(src, &sp, out);
    }
    if let Some(src) = v.get("hostPath").and_then(Value::as_object) {
        let sp = format!("{p}.hostPath");
        if s(src, "path").is_empty() {
            out.push(Cause::required(format!("{sp}.path")));
        }
        const TYPES: [&str; 8] =
            ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
        if let Some(t) = src.get("type").and_then(Value::as_str) {
            if !TYPES.contains(&t) {
                out.push(Cause::not_supported(format!("{sp}.type"), &Value::from(t), &TYPES));
            }
        }
    }
    if let Some(src) = v.get("persistentVolumeClaim").and_then(Value::as_object) {
        if s(src, "claimName").is_empty() {
            out.push(Cause::required(format!("{p}.persistentVolumeClaim.claimName")));
        }
    }
    if let Some(src) = v.get("emptyDir").and_then(Value::as_object) {
        if let Some(m) = src.get("medium").and_then(Value::as_str) {
            if !matches!(m, "" | "Memory" | "HugePages") && !m.starts_with("HugePages-") {
                out.push(Cause::not_supported(
                    format!("{p}.emptyDir.medium"),
                    &Value::from(m),
                    &["", "Memory", "HugePages"],
                ));
            }
        }
    }
}

/// `validateContainerCommon` for one container.
fn validate_container(c: &Obj, p: &str, volumes: &HashSet<&str>, out: &mut Vec<Cause>) {
    let name = s(c, "name");
    if name.is_empty() {
        out.push(Cause::required(format!("{p}.name")));
    } else {
        for msg in dns1123_label(name) {
            out.push(Cause::invalid(format!("{p}.name"), &Value::from(name), &msg));
        }
    }
    if s(c, "image").is_empty() {
        out.push(Cause::required(format!("{p}.image")));
    }
    match s(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => out.push(required_detail(
            format!("{p}.terminationMessagePolicy"),
            "must be 'File' or 'FallbackToLogsOnError'",
        )),
        other => out.push(Cause::not_supported(
            format!("{p}.terminationMessagePolicy"),
            &Value::from(other),
            &["File", "FallbackToLogsOnError"],
        )),
    }
    validate_ports(c, &format!("{p}.ports"), out);
    validate_env(c, &format!("{p}.env"), out);
    validate_volume_mounts(c, &format!("{p}.volumeMounts"), volumes, out);
    match s(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => out.push(Cause::required(format!("{p}.imagePullPolicy"))),
        other => out.push(Cause::not_supported(
            format!("{p}.imagePullPolicy"),
            &Value::from(other),
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(res) = c.get("resources").and_then(Value::as_object) {
        validate_resources(res, &format!("{p}.resources"), out);
    }
}

fn validate_ports(c: &Obj, path: &str, out: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, port) in arr(c, "ports") {
        let p = format!("{path}[{i}]");
        let name = s(port, "name");
        if !name.is_empty() {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    out.push(Cause::invalid(format!("{p}.name"), &Value::from(name), &msg));
                }
            } else if !names.insert(name) {
                out.push(Cause::duplicate(format!("{p}.name"), &Value::from(name)));
            }
        }
        match port.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
            0 => out.push(Cause::required(format!("{p}.containerPort"))),
            n => {
                for msg in port_num(n) {
                    out.push(Cause::invalid(format!("{p}.containerPort"), &Value::from(n), &msg));
                }
            }
        }
        let host = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host != 0 {
            for msg in port_num(host) {
                out.push(Cause::invalid(format!("{p}.hostPort"), &Value::from(host), &msg));
            }
        }
        validate_protocol(port, &p, out);
    }
}

/// Port protocol: required, one of SCTP/TCP/UDP.
pub(crate) fn validate_protocol(port: &Obj, p: &str, out: &mut Vec<Cause>) {
    match s(port, "protocol") {
        "TCP" | "UDP" | "SCTP" => {}
        "" => out.push(Cause::required(format!("{p}.protocol"))),
        other => out.push(Cause::not_supported(format!("{p}.protocol"), &Value::from(other), &["SCTP", "TCP", "UDP"])),
    }
}

fn validate_env(c: &Obj, path: &str, out: &mut Vec<Cause>) {
    for (i, e) in arr(c, "env") {
        let p = format!("{path}[{i}]");
        let name = s(e, "name");
        if name.is_empty() {
            out.push(Cause::required(format!("{p}.name")));
        } else if !name.bytes().all(|b| (32..=126).contains(&b) && b != b'=') {
            out.push(Cause::invalid(
                format!("{p}.name"),
                &Value::from(name),
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
        if let Some(from) = e.get("valueFrom").and_then(Value::as_object) {
            let count = from.values().filter(|v| !v.is_null()).count();
            if count == 0 {
                out.push(Cause::invalid(
                    format!("{p}.valueFrom"),
                    &Value::from(""),
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ));
            } else if count > 1 {
                out.push(Cause::invalid(
                    format!("{p}.valueFrom"),
                    &Value::from(""),
                    "may not have more than one field specified at a time",
                ));
            }
            if !s(e, "value").is_empty() {
                out.push(Cause::invalid(
                    format!("{p}.valueFrom"),
                    &Value::from(""),
                    "may not be specified when `value` is not empty",
                ));
            }
        }
    }
}

fn validate_volume_mounts(c: &Obj, path: &str, volumes: &HashSet<&str>, out: &mut Vec<Cause>) {
    let mut mount_points = HashSet::new();
    for (i, m) in arr(c, "volumeMounts") {
        let p = format!("{path}[{i}]");
        let name = s(m, "name");
        if name.is_empty() {
            out.push(Cause::required(format!("{p}.name")));
        }
        if !volumes.contains(name) {
            out.push(Cause::not_found(format!("{p}.name"), &Value::from(name)));
        }
        let mount_path = s(m, "mountPath");
        if mount_path.is_empty() {
            out.push(Cause::required(format!("{p}.mountPath")));
        }
        if !mount_points.insert(mount_path) {
            out.push(Cause::invalid(format!("{p}.mountPath"), &Value::from(mount_path), "must be unique"));
        }
        let sub = s(m, "subPath");
        if sub.starts_with('/') {
            out.push(Cause::invalid(format!("{p}.subPath"), &Value::from(sub), "must be a relative path"));
        } else if sub.split('/').any(|part| part == "..") {
            out.push(Cause::invalid(format!("{p}.subPath"), &Value::from(sub), "must not contain '..'"));
        }
    }
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `ValidateResourceRequirements` for a container.
fn validate_resources(res: &Obj, path: &str, out: &mut Vec<Cause>) {
    let limits = res.get("limits").and_then(Value::as_object);
    let requests = res.get("requests").and_then(Value::as_object);
    let check_name = |name: &str, p: &str, out: &mut Vec<Cause>| {
        let standard = matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-");
        if !name.contains('/') && !standard {
            out.push(Cause::invalid(p, &Value::from(name), "must be a standard resource for containers"));
        } else if name.contains('/') {
            for msg in qualified_name(name) {
                out.push(Cause::invalid(p, &Value::from(name), &msg));
            }
        }
    };
    let check_quantity = |q: &Value, p: &str, out: &mut Vec<Cause>| -> Option<Quantity> {
        let parsed = Quantity::from_value(q)?;
        if parsed.is_negative() {
            out.push(Cause::invalid(p, &Value::from(parsed.canonical()), "must be greater than or equal to 0"));
        }
        Some(parsed)
    };
    for (name, q) in limits.into_iter().flatten() {
        let p = format!("{path}.limits[{name}]");
        check_name(name, &p, out);
        check_quantity(q, &p, out);
    }
    for (name, q) in requests.into_iter().flatten() {
        let p = format!("{path}.requests[{name}]");
        check_name(name, &p, out);
        let Some(req) = check_quantity(q, &p, out) else {
            continue;
        };
        let overcommit = is_native(name) && !name.starts_with("hugepages-");
        match limits.and_then(|l| l.get(name)).and_then(Quantity::from_value) {
            Some(lim) => {
                if req.nanos() != lim.nanos() && !overcommit {
                    out.push(Cause::invalid(
                        format!("{path}.requests"),
                        &Value::from(req.canonical()),
                        &format!("must be equal to {name} limit of {}", lim.canonical()),
                    ));
                } else if req.nanos() > lim.nanos() {
                    out.push(Cause::invalid(
                        format!("{path}.requests"),
                        &Value::from(req.canonical()),
                        &format!("must be less than or equal to {name} limit of {}", lim.canonical()),
                    ));
                }
            }
            None if !overcommit => out
                .push(required_detail(format!("{path}.limits"), "Limit must be set for non overcommitable resources")),
            None => {}
        }
    }
}

fn validate_probes(c: &Obj, p: &str, out: &mut Vec<Cause>) {
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = c.get(key).and_then(Value::as_object) else {
            continue;
        };
        let pp = format!("{p}.{key}");
        validate_handler(probe, &pp, true, out);
        for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
            nonneg(probe, f, &pp, out);
        }
        if key != "readinessProbe" {
            if let Some(st) = probe.get("successThreshold").and_then(Value::as_i64) {
                if st != 1 {
                    out.push(Cause::invalid(format!("{pp}.successThreshold"), &Value::from(st), "must be 1"));
                }
            }
        }
    }
    if let Some(lc) = c.get("lifecycle").and_then(Value::as_object) {
        for key in ["postStart", "preStop"] {
            if let Some(h) = lc.get(key).and_then(Value::as_object) {
                validate_handler(h, &format!("{p}.lifecycle.{key}"), false, out);
            }
        }
    }
}

fn validate_handler(h: &Obj, p: &str, probe: bool, out: &mut Vec<Cause>) {
    let kinds: &[&str] =
        if probe { &["exec", "httpGet", "tcpSocket", "grpc"] } else { &["exec", "httpGet", "tcpSocket", "sleep"] };
    let set: Vec<&&str> = kinds.iter().filter(|k| h.get(**k).is_some_and(|v| !v.is_null())).collect();
    if set.is_empty() {
        out.push(required_detail(p, "must specify a handler type"));
    } else if set.len() > 1 {
        out.push(Cause::forbidden(format!("{p}.{}", set[1]), "may not specify more than 1 handler type"));
    }
    for key in ["httpGet", "tcpSocket"] {
        if let Some(port) = h.get(key).and_then(|a| a.get("port")) {
            validate_port_num_or_name(port, &format!("{p}.{key}.port"), out);
        }
    }
}

/// `ValidatePortNumOrName` for an IntOrString port.
pub(crate) fn validate_port_num_or_name(port: &Value, p: &str, out: &mut Vec<Cause>) {
    match port {
        Value::Number(n) => {
            let n = n.as_i64().unwrap_or(0);
            for msg in port_num(n) {
                out.push(Cause::invalid(p, &Value::from(n), &msg));
            }
        }
        Value::String(name) => {
            for msg in port_name(name) {
                out.push(Cause::invalid(p, port, &msg));
            }
        }
        _ => {}
    }
}
