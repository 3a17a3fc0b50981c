//! apps/v1 and batch/v1 validation: selectors vs template labels, template restart policies,
//! strategies, and the update immutability rules.

use serde_json::{Map, Value};

use super::meta::{go_string_map, invalid_raw, qualified_name, validate_annotations, validate_labels};
use super::pod::validate_pod_spec;
use crate::Cause;

type Obj = Map<String, Value>;

fn nonneg(spec: &Obj, key: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(n) = spec.get(key).and_then(Value::as_i64) {
        if n < 0 {
            out.push(Cause::invalid(format!("{path}.{key}"), &Value::from(n), "must be greater than or equal to 0"));
        }
    }
}

/// Go's `%#v` of a `v1.LabelSelector` (as in `field is immutable` messages).
pub(crate) fn go_label_selector(sel: Option<&Value>) -> String {
    let ml = go_string_map(sel.and_then(|s| s.get("matchLabels")));
    let exprs = match sel.and_then(|s| s.get("matchExpressions")).and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|e| {
                    let get = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let values = match e.get("values").and_then(Value::as_array) {
                        None => "[]string(nil)".to_string(),
                        Some(v) => format!(
                            "[]string{{{}}}",
                            v.iter().map(|x| format!("{:?}", x.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{values}}}",
                        get("key"),
                        get("operator")
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!("v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{exprs}}}")
}

/// Whether a label selector matches a label set (`metav1.LabelSelectorAsSelector` + `Matches`).
fn selector_matches(sel: &Obj, labels: Option<&Obj>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let ml_ok =
        sel.get("matchLabels").and_then(Value::as_object).into_iter().flatten().all(|(k, v)| get(k) == v.as_str());
    let exprs_ok = sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> =
            e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        }
    });
    ml_ok && exprs_ok
}

/// `ValidateLabelSelector`.
fn validate_selector(sel: &Obj, path: &str, out: &mut Vec<Cause>) {
    validate_labels(sel.get("matchLabels"), &format!("{path}.matchLabels"), out);
    for (i, e) in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
        let n_values = e.get("values").and_then(Value::as_array).map_or(0, Vec::len);
        match op {
            "In" | "NotIn" if n_values == 0 => out.push(super::meta::required_detail(
                format!("{p}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if n_values > 0 => out.push(Cause::forbidden(
                format!("{p}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                out.push(Cause::invalid(format!("{p}.operator"), &Value::from(other), "not a valid selector operator"))
            }
        }
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        for msg in qualified_name(key) {
            out.push(Cause::invalid(format!("{p}.key"), &Value::from(key), &msg));
        }
    }
}

/// Which restart policies a workload's pod template may use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TemplateKind {
    /// Deployment, ReplicaSet, StatefulSet, DaemonSet: `Always`.
    Service,
    /// Job (and CronJob's job template): `OnFailure` or `Never`.
    Batch,
}

/// Selector required / non-empty / matching the template, plus the template itself.
pub(crate) fn validate_selector_and_template(
    spec: &Obj,
    path: &str,
    kind_word: &str,
    template_kind: TemplateKind,
    out: &mut Vec<Cause>,
) {
    let sel = spec.get("selector").and_then(Value::as_object);
    match sel {
        None => out.push(Cause::required(format!("{path}.selector"))),
        Some(sel) => {
            validate_selector(sel, &format!("{path}.selector"), out);
            let empty = sel.get("matchLabels").and_then(Value::as_object).is_none_or(Map::is_empty)
                && sel.get("matchExpressions").and_then(Value::as_array).is_none_or(Vec::is_empty);
            if empty {
                out.push(invalid_raw(
                    format!("{path}.selector"),
                    &go_label_selector(Some(&Value::Object(sel.clone()))),
                    &format!("empty selector is invalid for {kind_word}"),
                ));
            }
        }
    }
    validate_template(spec.get("template"), sel, &format!("{path}.template"), template_kind, out);
}

/// `ValidatePodTemplateSpecForReplicaSet` / the Job equivalent.
pub(crate) fn validate_template(
    template: Option<&Value>,
    sel: Option<&Obj>,
    path: &str,
    template_kind: TemplateKind,
    out: &mut Vec<Cause>,
) {
    let Some(t) = template.and_then(Value::as_object) else {
        out.push(Cause::required(path));
        return;
    };
    let labels = t.get("metadata").and_then(|m| m.get("labels"));
    if let Some(sel) = sel {
        let non_empty = sel
            .values()
            .any(|v| v.as_object().is_some_and(|o| !o.is_empty()) || v.as_array().is_some_and(|a| !a.is_empty()));
        if non_empty && !selector_matches(sel, labels.and_then(Value::as_object)) {
            out.push(invalid_raw(
                format!("{path}.metadata.labels"),
                &go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    validate_labels(labels, &format!("{path}.labels"), out);
    validate_annotations(t.get("metadata").and_then(|m| m.get("annotations")), &format!("{path}.annotations"), out);
    let spec = t.get("spec");
    validate_pod_spec(spec, &format!("{path}.spec"), out);
    let restart = spec.and_then(|s| s.get("restartPolicy")).and_then(Value::as_str).unwrap_or("");
    match template_kind {
        TemplateKind::Service => {
            if restart != "Always" {
                out.push(Cause::not_supported(
                    format!("{path}.spec.restartPolicy"),
                    &Value::from(restart),
                    &["Always"],
                ));
            }
            if spec.and_then(|s| s.get("activeDeadlineSeconds")).is_some_and(|v| !v.is_null()) {
                out.push(Cause::forbidden(
                    format!("{path}.spec.activeDeadlineSeconds"),
                    "activeDeadlineSeconds in ReplicaSet is not Supported",
                ));
            }
        }
        TemplateKind::Batch => {
            if restart != "OnFailure" && restart != "Never" {
                out.push(Cause::not_supported(
                    format!("{path}.spec.restartPolicy"),
                    &Value::from(restart),
                    &["OnFailure", "Never"],
                ));
            }
        }
    }
}

/// `ValidateDeploymentSpec`.
pub(crate) fn validate_deployment(spec: &Obj, out: &mut Vec<Cause>) {
    nonneg(spec, "replicas", "spec", out);
    validate_selector_and_template(spec, "spec", "deployment", TemplateKind::Service, out);
    if let Some(strategy) = spec.get("strategy").and_then(Value::as_object) {
        let ty = strategy.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "Recreate" => {
                if strategy.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                    out.push(Cause::forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                }
            }
            "RollingUpdate" => {
                if let Some(ru) = strategy.get("rollingUpdate").and_then(Value::as_object) {
                    validate_rolling_update(ru, "spec.strategy.rollingUpdate", out);
                }
            }
            "" => out.push(Cause::required("spec.strategy.type")),
            other => out.push(Cause::not_supported(
                "spec.strategy.type",
                &Value::from(other),
                &["Recreate", "RollingUpdate"],
            )),
        }
    }
    for k in ["minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"] {
        nonneg(spec, k, "spec", out);
    }
    if let Some(pd) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
        let min_ready = spec.get("minReadySeconds").and_then(Value::as_i64).unwrap_or(0);
        if pd <= min_ready {
            out.push(Cause::invalid(
                "spec.progressDeadlineSeconds",
                &Value::from(pd),
                "must be greater than minReadySeconds",
            ));
        }
    }
}

/// Parses an IntOrString percentage or integer: `Some((value, is_percent))`.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(s) => s.strip_suffix('%').and_then(|p| p.parse().ok()).map(|n| (n, true)),
        _ => None,
    }
}

fn validate_rolling_update(ru: &Obj, path: &str, out: &mut Vec<Cause>) {
    let mut vals = Vec::new();
    for key in ["maxUnavailable", "maxSurge"] {
        let Some(v) = ru.get(key).filter(|v| !v.is_null()) else {
            vals.push(None);
            continue;
        };
        match int_or_percent(v) {
            None => {
                out.push(Cause::invalid(format!("{path}.{key}"), v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
                vals.push(None);
            }
            Some((n, pct)) => {
                if n < 0 {
                    out.push(Cause::invalid(format!("{path}.{key}"), v, "must be greater than or equal to 0"));
                }
                if pct && n > 100 && key == "maxUnavailable" {
                    out.push(Cause::invalid(format!("{path}.{key}"), v, "must not be greater than 100%"));
                }
                vals.push(Some(n));
            }
        }
    }
    if vals == [Some(0), Some(0)] {
        out.push(Cause::invalid(
            format!("{path}.maxUnavailable"),
            ru.get("maxUnavailable").unwrap_or(&Value::Null),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
}

/// `ValidateReplicaSetSpec`.
pub(crate) fn validate_replicaset(spec: &Obj, out: &mut Vec<Cause>) {
    nonneg(spec, "replicas", "spec", out);
    nonneg(spec, "minReadySeconds", "spec", out);
    validate_selector_and_template(spec, "spec", "replicaset", TemplateKind::Service, out);
}

/// `ValidateReplicationControllerSpec`: a non-empty selector (a map of labels) that matches
/// the template's labels.
pub(crate) fn validate_replication_controller(spec: &Obj, out: &mut Vec<Cause>) {
    nonneg(spec, "replicas", "spec", out);
    nonneg(spec, "minReadySeconds", "spec", out);
    let sel = spec.get("selector").and_then(Value::as_object).filter(|m| !m.is_empty());
    if sel.is_none() {
        out.push(Cause::required("spec.selector"));
    }
    validate_labels(spec.get("selector"), "spec.selector", out);
    let as_selector = sel.map(|m| {
        let mut o = Obj::new();
        o.insert("matchLabels".into(), Value::Object(m.clone()));
        o
    });
    validate_template(spec.get("template"), as_selector.as_ref(), "spec.template", TemplateKind::Service, out);
}

/// `ValidateStatefulSetSpec`.
pub(crate) fn validate_statefulset(spec: &Obj, out: &mut Vec<Cause>) {
    match spec.get("podManagementPolicy").and_then(Value::as_str).unwrap_or("") {
        "OrderedReady" | "Parallel" => {}
        "" => out.push(super::meta::required_detail("spec.podManagementPolicy", "")),
        other => out.push(Cause::invalid(
            "spec.podManagementPolicy",
            &Value::from(other),
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    if let Some(us) = spec.get("updateStrategy").and_then(Value::as_object) {
        match us.get("type").and_then(Value::as_str).unwrap_or("") {
            "RollingUpdate" => {
                if let Some(p) = us.get("rollingUpdate").and_then(|r| r.get("partition")).and_then(Value::as_i64) {
                    if p < 0 {
                        out.push(Cause::invalid(
                            "spec.updateStrategy.rollingUpdate.partition",
                            &Value::from(p),
                            "must be greater than or equal to 0",
                        ));
                    }
                }
            }
            "OnDelete" => {
                if us.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                    out.push(Cause::invalid(
                        "spec.updateStrategy.rollingUpdate",
                        &Value::from(""),
                        "only allowed for updateStrategy 'RollingUpdate'",
                    ));
                }
            }
            "" => out.push(super::meta::required_detail("spec.updateStrategy", "")),
            other => out.push(Cause::invalid(
                "spec.updateStrategy",
                &Value::from(other),
                "must be 'RollingUpdate' or 'OnDelete'",
            )),
        }
    }
    nonneg(spec, "replicas", "spec", out);
    nonneg(spec, "minReadySeconds", "spec", out);
    validate_selector_and_template(spec, "spec", "statefulset", TemplateKind::Service, out);
}

/// `ValidateDaemonSetSpec`.
pub(crate) fn validate_daemonset(spec: &Obj, out: &mut Vec<Cause>) {
    validate_selector_and_template(spec, "spec", "daemonset", TemplateKind::Service, out);
    nonneg(spec, "minReadySeconds", "spec", out);
    nonneg(spec, "revisionHistoryLimit", "spec", out);
    if let Some(us) = spec.get("updateStrategy").and_then(Value::as_object) {
        match us.get("type").and_then(Value::as_str).unwrap_or("") {
            "RollingUpdate" => {
                if let Some(ru) = us.get("rollingUpdate").and_then(Value::as_object) {
                    validate_rolling_update(ru, "spec.updateStrategy.rollingUpdate", out);
                }
            }
            "OnDelete" => {}
            other => out.push(Cause::not_supported(
                "spec.updateStrategy.type",
                &Value::from(other),
                &["OnDelete", "RollingUpdate"],
            )),
        }
    }
}

/// `ValidateJobSpec` at `path` (`spec` or `spec.jobTemplate.spec`).
pub(crate) fn validate_job_spec(spec: &Obj, path: &str, generated_selector: bool, out: &mut Vec<Cause>) {
    for k in ["parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"] {
        nonneg(spec, k, path, out);
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64) {
        if ads <= 0 {
            out.push(Cause::invalid(
                format!("{path}.activeDeadlineSeconds"),
                &Value::from(ads),
                "must be greater than 0",
            ));
        }
    }
    match spec.get("completionMode").and_then(Value::as_str) {
        None | Some("NonIndexed") => {}
        Some("Indexed") => {
            if spec.get("completions").is_none_or(Value::is_null) {
                out.push(super::meta::required_detail(
                    format!("{path}.completions"),
                    "when completion mode is Indexed",
                ));
            }
        }
        Some(other) => out.push(Cause::not_supported(
            format!("{path}.completionMode"),
            &Value::from(other),
            &["NonIndexed", "Indexed"],
        )),
    }
    let sel = spec.get("selector").and_then(Value::as_object);
    if generated_selector {
        if sel.is_none() {
            out.push(Cause::required(format!("{path}.selector")));
        }
        validate_template(spec.get("template"), sel, &format!("{path}.template"), TemplateKind::Batch, out);
    } else {
        // Job templates inside CronJobs have no selector yet.
        validate_template(spec.get("template"), None, &format!("{path}.template"), TemplateKind::Batch, out);
    }
}

/// `ValidateCronJobSpec`.
pub(crate) fn validate_cronjob(spec: &Obj, name: &str, out: &mut Vec<Cause>) {
    if name.len() > 52 {
        out.push(Cause::invalid("metadata.name", &Value::from(name), "must be no more than 52 characters"));
    }
    match spec.get("schedule").and_then(Value::as_str).unwrap_or("") {
        "" => out.push(Cause::required("spec.schedule")),
        sched => {
            if let Err(msg) = crate::cron::Schedule::parse(sched, crate::cron::Zone::Local) {
                out.push(Cause::invalid("spec.schedule", &Value::from(sched), &msg));
            }
            if sched.contains("TZ") {
                let msg = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
                out.push(Cause::invalid("spec.schedule", &Value::from(sched), msg));
            }
        }
    }
    if let Some(tz) = spec.get("timeZone").and_then(Value::as_str) {
        let msg = if tz.is_empty() {
            Some("timeZone must be nil or non-empty string".to_string())
        } else if tz.eq_ignore_ascii_case("local") {
            Some("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones".to_string())
        } else {
            crate::cron::Zone::named(tz).err()
        };
        if let Some(msg) = msg {
            out.push(Cause::invalid("spec.timeZone", &Value::from(tz), &msg));
        }
    }
    match spec.get("concurrencyPolicy").and_then(Value::as_str).unwrap_or("") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => out.push(Cause::required("spec.concurrencyPolicy")),
        other => out.push(Cause::not_supported(
            "spec.concurrencyPolicy",
            &Value::from(other),
            &["Allow", "Forbid", "Replace"],
        )),
    }
    for k in ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        nonneg(spec, k, "spec", out);
    }
    match spec.get("jobTemplate").and_then(|j| j.get("spec")).and_then(Value::as_object) {
        Some(js) => validate_job_spec(js, "spec.jobTemplate.spec", false, out),
        None => out.push(Cause::required("spec.jobTemplate.spec.template")),
    }
}

/// Immutability rules of workload updates (apps/v1 selectors, Job template, StatefulSet spec).
pub(crate) fn validate_workload_update(kind: &str, new: &Obj, old: &Obj, out: &mut Vec<Cause>) {
    let (ns, os) = (new.get("spec"), old.get("spec"));
    let get = |v: Option<&Value>, k: &str| v.and_then(|s| s.get(k)).cloned().filter(|v| !v.is_null());
    match kind {
        "Deployment" | "ReplicaSet" | "DaemonSet" => {
            let (a, b) = (get(ns, "selector"), get(os, "selector"));
            if a != b {
                out.push(invalid_raw("spec.selector", &go_label_selector(a.as_ref()), "field is immutable"));
            }
        }
        "StatefulSet" => {
            let mut n = ns.cloned().unwrap_or_default();
            let mut o = os.cloned().unwrap_or_default();
            for key in [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ] {
                if let Some(m) = n.as_object_mut() {
                    m.remove(key);
                }
                if let Some(m) = o.as_object_mut() {
                    m.remove(key);
                }
            }
            if n != o {
                out.push(Cause::forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                ));
            }
        }
        "Job" => {
            let (a, b) = (get(ns, "selector"), get(os, "selector"));
            if a != b {
                out.push(invalid_raw("spec.selector", &go_label_selector(a.as_ref()), "field is immutable"));
            }
            // Scheduling directives of a suspended job may change; anything else is immutable.
            if get(ns, "template") != get(os, "template") {
                out.push(invalid_raw("spec.template", "core.PodTemplateSpec{...}", "field is immutable"));
            }
            if get(ns, "completionMode") != get(os, "completionMode") {
                let v = get(ns, "completionMode").unwrap_or(Value::Null);
                out.push(Cause::invalid("spec.completionMode", &v, "field is immutable"));
            }
            let indexed = get(ns, "completionMode").as_ref().and_then(Value::as_str) == Some("Indexed");
            if !indexed && get(ns, "completions") != get(os, "completions") {
                let v = get(ns, "completions").unwrap_or(Value::Null);
                out.push(Cause::invalid("spec.completions", &v, "field is immutable"));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_rendering_matches_go() {
        let sel = json!({"matchLabels": {"app": "nginx2"}});
        assert_eq!(
            go_label_selector(Some(&sel)),
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"nginx2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
    }
}
