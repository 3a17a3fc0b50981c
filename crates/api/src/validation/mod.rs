//! Kubernetes validation: decode-time field checks (unknown fields, type errors) and the
//! `ValidateX` / `ValidateXUpdate` functions of `k8s.io/kubernetes/pkg/apis/*/validation`,
//! producing `metav1.Status` causes with Kubernetes' exact field paths and messages.

mod core;
mod fields;
mod meta;
mod pod;
mod pod_extra;
mod scheduling;
mod schema;
mod workloads;

use serde_json::{Map, Value};

use crate::{ApiError, At, Cause, ResourceInfo};

pub use fields::{check_fields, patch_is_clean};

fn spec_of(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("spec").and_then(Value::as_object)
}

/// `ValidateX` for create: ObjectMeta plus the kind's spec rules (422 causes; empty = valid).
pub fn validate_create(resource: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    meta::validate_object_meta(resource, obj.get("metadata"), &mut out);
    let empty = Map::new();
    let spec = spec_of(obj).unwrap_or(&empty);
    match (resource.group, resource.kind) {
        ("", "Pod") => pod::validate_pod_spec(obj.get("spec"), "spec", &mut out),
        ("", "Service") => core::validate_service(spec, &mut out),
        ("", "ConfigMap") => {
            if let Some(o) = obj.as_object() {
                core::validate_configmap(o, &mut out);
            }
        }
        ("", "Secret") => {
            if let Some(o) = obj.as_object() {
                core::validate_secret(o, &mut out);
            }
        }
        ("apps", "Deployment") => workloads::validate_deployment(spec, &mut out),
        ("apps", "ReplicaSet") => workloads::validate_replicaset(spec, &mut out),
        ("", "ReplicationController") => workloads::validate_replication_controller(spec, &mut out),
        ("apps", "ControllerRevision") => {
            if let Some(n) = obj.get("revision").and_then(Value::as_i64).filter(|n| *n < 0) {
                out.push(Cause::invalid("revision", &Value::from(n), "must be greater than or equal to 0"));
            }
        }
        ("apps", "StatefulSet") => workloads::validate_statefulset(spec, &mut out),
        ("apps", "DaemonSet") => workloads::validate_daemonset(spec, &mut out),
        ("batch", "Job") => {
            let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
            let has_uid = obj.at("/metadata/uid").is_some_and(|u| !u.is_null());
            workloads::validate_job_spec(spec, "spec", manual || has_uid || spec.contains_key("selector"), &mut out);
        }
        ("batch", "CronJob") => {
            let name = obj.at("/metadata/name").and_then(Value::as_str).unwrap_or("");
            workloads::validate_cronjob(spec, name, &mut out);
        }
        ("coordination.k8s.io", "Lease") => core::validate_lease(spec_of(obj), &mut out),
        ("scheduling.k8s.io", "PriorityClass") => scheduling::validate_priority_class(obj, &mut out),
        _ => {}
    }
    out
}

/// `ValidateXUpdate`: everything [`validate_create`] checks on the new object, plus the
/// immutability rules against the old one. (PriorityClass updates skip the create rules, as
/// `ValidatePriorityClassUpdate` does: its value and preemption policy cannot change anyway.)
pub fn validate_update(resource: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    meta::validate_object_meta_update(new.get("metadata"), old.get("metadata"), &mut out);
    match (resource.group, resource.kind) {
        ("scheduling.k8s.io", "PriorityClass") => meta::validate_object_meta(resource, new.get("metadata"), &mut out),
        _ => out.extend(validate_create(resource, new)),
    }
    let empty = Map::new();
    let new_obj = new.as_object().unwrap_or(&empty);
    let old_obj = old.as_object().unwrap_or(&empty);
    match (resource.group, resource.kind) {
        ("", "Pod") => pod_extra::validate_pod_spec_update(new.get("spec"), old.get("spec"), &mut out),
        ("", "Service") => {
            core::validate_service_update(spec_of(new).unwrap_or(&empty), spec_of(old).unwrap_or(&empty), &mut out)
        }
        ("", kind @ ("Secret" | "ConfigMap")) => core::validate_data_update(kind, new_obj, old_obj, &mut out),
        ("", "Node") => core::validate_node_update(spec_of(new), spec_of(old), &mut out),
        ("apps", kind) | ("batch", kind) => workloads::validate_workload_update(kind, new_obj, old_obj, &mut out),
        ("scheduling.k8s.io", "PriorityClass") => scheduling::validate_priority_class_update(new, old, &mut out),
        _ => {}
    }
    out
}

/// Validation of an update through the status subresource: ObjectMeta immutability and the
/// status' own rules (counters non-negative, pod phase).
pub fn validate_status_update(resource: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    meta::validate_object_meta_update(new.get("metadata"), old.get("metadata"), &mut out);
    meta::validate_labels(new.at("/metadata/labels"), "metadata.labels", &mut out);
    meta::validate_annotations(new.at("/metadata/annotations"), "metadata.annotations", &mut out);
    let Some(status) = new.get("status").and_then(Value::as_object) else {
        return out;
    };
    match (resource.group, resource.kind) {
        ("apps", _) | ("batch", _) => {
            for (k, v) in status {
                if let Some(n) = v.as_i64().filter(|n| *n < 0) {
                    out.push(Cause::invalid(
                        format!("status.{k}"),
                        &Value::from(n),
                        "must be greater than or equal to 0",
                    ));
                }
            }
        }
        ("", "Pod") => {
            if let Some(phase) = status.get("phase").and_then(Value::as_str) {
                let allowed = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
                if !allowed.contains(&phase) {
                    out.push(Cause::not_supported("status.phase", &Value::from(phase), &allowed));
                }
                let old_phase = old.at("/status/phase").and_then(Value::as_str).unwrap_or("");
                if matches!(old_phase, "Succeeded" | "Failed") && phase != old_phase {
                    out.push(Cause::forbidden(
                        "status.phase",
                        &format!("cannot transition from terminal phase {old_phase} to {phase}"),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// Turns causes into the 422 error for an object of `resource` (`name` from the object).
pub fn invalid_error(resource: &ResourceInfo, obj: &Value, causes: Vec<Cause>) -> ApiError {
    let name = obj.at("/metadata/name").and_then(Value::as_str).unwrap_or("");
    ApiError::invalid(resource.group, resource.kind, name, causes)
}

#[cfg(test)]
mod tests;
