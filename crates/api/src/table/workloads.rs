//! Printers for apps/v1 and batch/v1 workloads: `printDeployment`, `printReplicaSet`,
//! `printStatefulSet`, `printDaemonSet`, `printJob`, `printCronJob`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::format::{
    age, arr_at, at, format_label_selector, format_labels, int_at, is_set, layout_container_cells, map_at, name,
    opt_int_at, selector_string, str_at, time_at, translate_timestamp_since,
};
use super::human_duration;

fn template_containers<'a>(obj: &'a Value, template: &[&str]) -> &'a [Value] {
    let mut path: Vec<&str> = template.to_vec();
    path.extend_from_slice(&["spec", "containers"]);
    arr_at(obj, &path)
}

/// Name, Ready (`ready/desired`), Up-to-date, Available, Age, Containers, Images, Selector.
pub(super) fn deployment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = layout_container_cells(template_containers(obj, &["spec", "template"]));
    vec![
        json!(name(obj)),
        json!(format!("{}/{}", int_at(obj, &["status", "readyReplicas"]), int_at(obj, &["spec", "replicas"]))),
        json!(int_at(obj, &["status", "updatedReplicas"])),
        json!(int_at(obj, &["status", "availableReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector_string(at(obj, &["spec", "selector"]))),
    ]
}

/// Name, Desired, Current, Ready, Age, Containers, Images, Selector.
pub(super) fn replica_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = layout_container_cells(template_containers(obj, &["spec", "template"]));
    vec![
        json!(name(obj)),
        json!(int_at(obj, &["spec", "replicas"])),
        json!(int_at(obj, &["status", "replicas"])),
        json!(int_at(obj, &["status", "readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(obj, &["spec", "selector"]))),
    ]
}

/// As a ReplicaSet, with the selector a map of labels.
pub(super) fn replication_controller(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut row = replica_set(obj, now);
    if let Some(last) = row.last_mut() {
        *last = json!(format_labels(map_at(obj, &["spec", "selector"])));
    }
    row
}

/// Name, Controller (`statefulset.apps/web`), Revision, Age.
pub(super) fn controller_revision(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let owners = arr_at(obj, &["metadata", "ownerReferences"]);
    let controller = owners.iter().find(|o| o.get("controller").and_then(Value::as_bool) == Some(true));
    let name_of = |o: &Value| {
        let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("").to_lowercase();
        let kind = if group.is_empty() { kind } else { format!("{kind}.{group}") };
        format!("{kind}/{}", o.get("name").and_then(Value::as_str).unwrap_or(""))
    };
    vec![
        json!(name(obj)),
        json!(controller.map_or_else(|| "<none>".to_string(), name_of)),
        json!(int_at(obj, &["revision"])),
        json!(age(obj, now)),
    ]
}

/// Name, Ready (`ready/desired`), Age, Containers, Images.
pub(super) fn stateful_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = layout_container_cells(template_containers(obj, &["spec", "template"]));
    vec![
        json!(name(obj)),
        json!(format!("{}/{}", int_at(obj, &["status", "readyReplicas"]), int_at(obj, &["spec", "replicas"]))),
        json!(age(obj, now)),
        json!(names),
        json!(images),
    ]
}

/// Name, Desired, Current, Ready, Up-to-date, Available, Node Selector, Age, Containers, Images,
/// Selector.
pub(super) fn daemon_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = layout_container_cells(template_containers(obj, &["spec", "template"]));
    vec![
        json!(name(obj)),
        json!(int_at(obj, &["status", "desiredNumberScheduled"])),
        json!(int_at(obj, &["status", "currentNumberScheduled"])),
        json!(int_at(obj, &["status", "numberReady"])),
        json!(int_at(obj, &["status", "updatedNumberScheduled"])),
        json!(int_at(obj, &["status", "numberAvailable"])),
        json!(format_labels(map_at(obj, &["spec", "template", "spec", "nodeSelector"]))),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(obj, &["spec", "selector"]))),
    ]
}

/// `hasJobCondition`: the first condition of the type decides.
fn has_job_condition(conditions: &[Value], type_: &str) -> bool {
    conditions.iter().find(|c| str_at(c, &["type"]) == type_).is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// Name, Status, Completions, Duration, Age, Containers, Images, Selector.
pub(super) fn job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int_at(obj, &["status", "succeeded"]);
    let completions = match opt_int_at(obj, &["spec", "completions"]) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = opt_int_at(obj, &["spec", "parallelism"]).unwrap_or(0);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let duration = match (time_at(obj, &["status", "startTime"]), time_at(obj, &["status", "completionTime"])) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.signed_duration_since(start)),
        (Some(start), Some(end)) => human_duration(end.signed_duration_since(start)),
    };
    let conditions = arr_at(obj, &["status", "conditions"]);
    let status = if has_job_condition(conditions, "Complete") {
        "Complete"
    } else if has_job_condition(conditions, "Failed") {
        "Failed"
    } else if is_set(obj, &["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else if has_job_condition(conditions, "Suspended") {
        "Suspended"
    } else if has_job_condition(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = layout_container_cells(template_containers(obj, &["spec", "template"]));
    vec![
        json!(name(obj)),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(obj, &["spec", "selector"]))),
    ]
}

/// Name, Schedule, Timezone, Suspend, Active, Last Schedule, Age, Containers, Images, Selector.
pub(super) fn cron_job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last_schedule = if is_set(obj, &["status", "lastScheduleTime"]) {
        translate_timestamp_since(time_at(obj, &["status", "lastScheduleTime"]), now)
    } else {
        "<none>".to_string()
    };
    let time_zone = at(obj, &["spec", "timeZone"]).and_then(Value::as_str).unwrap_or("<none>");
    let suspend = match at(obj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) =
        layout_container_cells(template_containers(obj, &["spec", "jobTemplate", "spec", "template"]));
    vec![
        json!(name(obj)),
        json!(str_at(obj, &["spec", "schedule"])),
        json!(time_zone),
        json!(suspend),
        json!(arr_at(obj, &["status", "active"]).len()),
        json!(last_schedule),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(obj, &["spec", "jobTemplate", "spec", "selector"]))),
    ]
}
