//! apps/v1 and batch/v1 defaulting: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob.

use serde_json::{json, Map, Value};

use super::pod::{default_pod_template, default_pvc_spec};
use super::{child_obj, each_obj, existing_obj, is_set, set_empty_str, set_nil, str_of};
use crate::At;

/// The status a workload starts with (its Go struct's zero value as serialized).
pub(super) fn initial_status(kind: &str) -> Value {
    match kind {
        "ReplicaSet" | "ReplicationController" => json!({"replicas": 0}),
        "StatefulSet" => json!({"availableReplicas": 0, "replicas": 0}),
        "DaemonSet" => json!({
            "currentNumberScheduled": 0,
            "desiredNumberScheduled": 0,
            "numberMisscheduled": 0,
            "numberReady": 0,
        }),
        _ => json!({}),
    }
}

/// Splits a workload into its `spec` map (created if missing), after filling a missing status.
fn spec_of<'a>(obj: &'a mut Value, kind: &str) -> Option<&'a mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    if matches!(map.get("status"), None | Some(Value::Null)) {
        map.insert("status".into(), initial_status(kind));
    }
    child_obj(map, "spec")
}

fn default_template_of(spec: &mut Map<String, Value>) {
    if let Some(t) = child_obj(spec, "template") {
        default_pod_template(t);
    }
}

/// `SetDefaults_Deployment`.
pub(super) fn default_deployment(obj: &mut Value) {
    let Some(spec) = spec_of(obj, "Deployment") else {
        return;
    };
    set_nil(spec, "replicas", 1);
    if let Some(strategy) = child_obj(spec, "strategy") {
        set_empty_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate" {
            if let Some(ru) = child_obj(strategy, "rollingUpdate") {
                set_nil(ru, "maxUnavailable", "25%");
                set_nil(ru, "maxSurge", "25%");
            }
        }
    }
    set_nil(spec, "revisionHistoryLimit", 10);
    set_nil(spec, "progressDeadlineSeconds", 600);
    default_template_of(spec);
}

/// `SetDefaults_ReplicaSet`.
pub(super) fn default_replicaset(obj: &mut Value) {
    let Some(spec) = spec_of(obj, "ReplicaSet") else {
        return;
    };
    set_nil(spec, "replicas", 1);
    default_template_of(spec);
}

/// `SetDefaults_ReplicationController`: the selector and the object's labels default to the
/// template's labels.
pub(super) fn default_replication_controller(obj: &mut Value) {
    let labels = obj.at("/spec/template/metadata/labels").filter(|l| l.is_object()).cloned();
    if let Some(labels) = &labels {
        if obj.at("/metadata/labels").and_then(Value::as_object).is_none_or(Map::is_empty) {
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("labels".into(), labels.clone());
            }
        }
    }
    let Some(spec) = spec_of(obj, "ReplicationController") else {
        return;
    };
    if let Some(labels) = labels {
        if spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty) {
            spec.insert("selector".into(), labels);
        }
    }
    set_nil(spec, "replicas", 1);
    default_template_of(spec);
}

/// `SetDefaults_StatefulSet` and the PVC defaults of its volume claim templates.
pub(super) fn default_statefulset(obj: &mut Value) {
    let Some(spec) = spec_of(obj, "StatefulSet") else {
        return;
    };
    set_empty_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(us) = child_obj(spec, "updateStrategy") {
        if str_of(us, "type").is_empty() {
            us.insert("type".into(), json!("RollingUpdate"));
            set_nil(us, "rollingUpdate", Map::new());
        }
        if str_of(us, "type") == "RollingUpdate" {
            if let Some(ru) = existing_obj(us, "rollingUpdate") {
                set_nil(ru, "partition", 0);
            }
        }
    }
    if let Some(p) = child_obj(spec, "persistentVolumeClaimRetentionPolicy") {
        set_empty_str(p, "whenDeleted", "Retain");
        set_empty_str(p, "whenScaled", "Retain");
    }
    set_nil(spec, "replicas", 1);
    set_nil(spec, "revisionHistoryLimit", 10);
    default_template_of(spec);
    for pvc in each_obj(spec, "volumeClaimTemplates") {
        if let Some(meta) = child_obj(pvc, "metadata") {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
        if let Some(s) = child_obj(pvc, "spec") {
            default_pvc_spec(s);
        }
        if let Some(status) = child_obj(pvc, "status") {
            set_empty_str(status, "phase", "Pending");
        }
    }
}

/// `SetDefaults_DaemonSet`.
pub(super) fn default_daemonset(obj: &mut Value) {
    let Some(spec) = spec_of(obj, "DaemonSet") else {
        return;
    };
    if let Some(us) = child_obj(spec, "updateStrategy") {
        set_empty_str(us, "type", "RollingUpdate");
        if str_of(us, "type") == "RollingUpdate" {
            if let Some(ru) = child_obj(us, "rollingUpdate") {
                set_nil(ru, "maxUnavailable", 1);
                set_nil(ru, "maxSurge", 0);
            }
        }
    }
    set_nil(spec, "revisionHistoryLimit", 10);
    default_template_of(spec);
}

/// `SetDefaults_Job`, plus the job strategy's generated selector and labels
/// (`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name` and their legacy
/// forms) when `metadata.uid` is known and `spec.manualSelector` is not true.
pub(super) fn default_job(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if matches!(map.get("status"), None | Some(Value::Null)) {
        map.insert("status".into(), json!({}));
    }
    let (name, uid) = match map.get("metadata") {
        Some(m) => (
            m.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            m.get("uid").and_then(Value::as_str).unwrap_or("").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let Some(spec) = child_obj(map, "spec") else {
        return;
    };
    default_job_spec(spec);
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    let user_template_labels =
        spec.get("template").and_then(|t| t.get("metadata")).and_then(|m| m.get("labels")).cloned();
    if !uid.is_empty() && !manual {
        generate_selector(spec, &name, &uid);
    }
    // SetDefaults_Job copies the template labels to an unlabelled job; the apiserver runs it on
    // create (user labels) and again when reading back (generated labels).
    let labels = match user_template_labels {
        Some(Value::Object(l)) if !l.is_empty() => Some(Value::Object(l)),
        _ => spec.get("template").and_then(|t| t.get("metadata")).and_then(|m| m.get("labels")).cloned(),
    };
    if let (Some(meta), Some(labels)) = (child_obj(map, "metadata"), labels) {
        if !is_set(meta, "labels") && labels.as_object().is_some_and(|l| !l.is_empty()) {
            meta.insert("labels".into(), labels);
        }
    }
}

fn default_job_spec(spec: &mut Map<String, Value>) {
    let unset = |spec: &Map<String, Value>, k: &str| matches!(spec.get(k), None | Some(Value::Null));
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_nil(spec, "parallelism", 1);
    if unset(spec, "backoffLimit") {
        let limit = if unset(spec, "backoffLimitPerIndex") { 6 } else { i64::from(i32::MAX) };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    set_nil(spec, "completionMode", "NonIndexed");
    set_nil(spec, "suspend", false);
    let has_failure_policy = is_set(spec, "podFailurePolicy");
    if let Some(pfp) = existing_obj(spec, "podFailurePolicy") {
        for rule in each_obj(pfp, "rules") {
            for pattern in each_obj(rule, "onPodConditions") {
                set_empty_str(pattern, "status", "True");
            }
        }
    }
    set_nil(spec, "podReplacementPolicy", if has_failure_policy { "Failed" } else { "TerminatingOrFailed" });
    default_template_of(spec);
}

fn generate_selector(spec: &mut Map<String, Value>, name: &str, uid: &str) {
    if let Some(labels) =
        child_obj(spec, "template").and_then(|t| child_obj(t, "metadata")).and_then(|m| child_obj(m, "labels"))
    {
        for key in ["batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name"]
        {
            if !labels.contains_key(key) {
                let value = if key.ends_with("controller-uid") { uid } else { name };
                labels.insert(key.into(), json!(value));
            }
        }
    }
    if let Some(ml) = child_obj(spec, "selector").and_then(|s| child_obj(s, "matchLabels")) {
        ml.entry("batch.kubernetes.io/controller-uid").or_insert_with(|| json!(uid));
    }
}

/// `SetDefaults_CronJob` and the job template's pod template defaults.
pub(super) fn default_cronjob(obj: &mut Value) {
    let Some(spec) = spec_of(obj, "CronJob") else {
        return;
    };
    set_empty_str(spec, "concurrencyPolicy", "Allow");
    set_nil(spec, "suspend", false);
    set_nil(spec, "successfulJobsHistoryLimit", 3);
    set_nil(spec, "failedJobsHistoryLimit", 1);
    if let Some(jt) = child_obj(spec, "jobTemplate") {
        if let Some(meta) = child_obj(jt, "metadata") {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
        if let Some(js) = child_obj(jt, "spec") {
            default_template_of(js);
        }
    }
}
