//! Kubernetes defaulting: the `SetDefaults_*` functions of `k8s.io/kubernetes/pkg/apis/*/v1`,
//! the mutating admission plugins that always run and need nothing but the object
//! (`ServiceAccount`; `DefaultTolerationSeconds` is [`add_default_tolerations`], which the API
//! server calls with its flags, and `Priority` is [`crate::priority`]) and the
//! field-setting parts of the registry strategies' `PrepareForCreate`.
//!
//! Everything works on `serde_json::Value` in place and never panics: a field of the wrong JSON
//! type is left alone (the decode-time check in [`crate::validation::check_fields`] rejects it).

mod core;
mod pod;
pub(crate) mod quantity;
mod workloads;

pub use pod::{add_default_tolerations, qos_class};

use serde_json::{Map, Value};

use crate::{At, ResourceInfo};

/// Apply Kubernetes' defaulting (`SetDefaults_*` functions, the always-on mutating admission
/// defaults and the registry strategies' `PrepareForCreate` parts that fill fields) to an
/// object of the given resource, in place.
///
/// Idempotent: applying it to an already defaulted object changes nothing, so it is safe on
/// updates too. It only fills what is missing; resetting a user-supplied status on create is
/// [`prepare_for_create`]'s job.
pub fn apply_defaults(resource: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    drop_empty_metadata(obj);
    match (resource.group, resource.kind) {
        ("", "Pod") => pod::default_pod(obj),
        ("", "Namespace") => core::default_namespace(obj),
        ("", "Node") => core::default_node(obj),
        ("", "Service") => core::default_service(obj),
        ("", "Secret") => core::default_secret(obj),
        ("", "ConfigMap") => {}
        ("", "Endpoints") => core::default_endpoints(obj),
        ("", "Event") => core::default_core_event(obj),
        ("events.k8s.io", "Event") => core::default_events_event(obj),
        ("apps", "Deployment") => workloads::default_deployment(obj),
        ("apps", "ReplicaSet") => workloads::default_replicaset(obj),
        ("", "ReplicationController") => workloads::default_replication_controller(obj),
        ("apps", "StatefulSet") => workloads::default_statefulset(obj),
        ("apps", "DaemonSet") => workloads::default_daemonset(obj),
        ("batch", "Job") => workloads::default_job(obj),
        ("batch", "CronJob") => workloads::default_cronjob(obj),
        ("scheduling.k8s.io", "PriorityClass") => core::default_priority_class(obj),
        _ => {}
    }
}

/// Defaulting for writes that keep the stored spec: as [`apply_defaults`], except that a
/// Pod's spec is left alone. A status write's spec is put back as stored (defaulted when it
/// was written) by [`prepare_for_status_update`] whatever the request's was, and the API
/// server's own writes (a binding's `nodeName`) set nothing defaulting reads. Defaulting the
/// spec is most of a Pod's defaulting, and these writes come for every Pod.
pub fn apply_defaults_keeping_spec(resource: &ResourceInfo, obj: &mut Value) {
    if !obj.is_object() || (resource.group, resource.kind) != ("", "Pod") {
        return apply_defaults(resource, obj);
    }
    drop_empty_metadata(obj);
    pod::default_pod_status(obj);
}

/// ObjectMeta's lists and maps are `omitempty`: once decoded and encoded by the API server,
/// empty (or null) ones are gone, as when a patch removes the last owner reference.
fn drop_empty_metadata(obj: &mut Value) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["labels", "annotations", "ownerReferences", "finalizers"] {
        let empty = match meta.get(key) {
            Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(m)) => m.is_empty(),
            _ => false,
        };
        if empty {
            meta.remove(key);
        }
    }
}

/// The registry strategies' `PrepareForCreate`: drops any status the client sent and sets the
/// status a new object starts with (Pod: `Pending` + QoS class, Namespace: `Active`, workloads:
/// zero counters), and `metadata.generation = 1` for kinds that track generations (and for
/// PriorityClasses, whose strategy sets it on create only).
///
/// Call it after [`apply_defaults`] on create only.
pub fn prepare_for_create(resource: &ResourceInfo, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if tracks_generation(resource) || (resource.group, resource.kind) == ("scheduling.k8s.io", "PriorityClass") {
        if let Some(meta) = child_obj(map, "metadata") {
            meta.insert("generation".into(), Value::from(1));
        }
    }
    match (resource.group, resource.kind) {
        ("", "Pod") => {
            map.remove("status");
            pod::default_pod_status(obj);
        }
        ("", "Namespace") => {
            map.insert("status".into(), serde_json::json!({"phase": "Active"}));
            core::ensure_namespace_finalizer(obj);
        }
        ("", "Service") => {
            map.insert("status".into(), serde_json::json!({"loadBalancer": {}}));
        }
        ("apps", _) | ("batch", _) if resource.has_status => {
            map.insert("status".into(), workloads::initial_status(resource.kind));
        }
        _ => {}
    }
}

/// The registry strategies' `PrepareForUpdate` for the main resource: the status is kept from
/// the old object (only the status subresource changes it) and `metadata.generation` is the old
/// one, incremented when the spec changed (for kinds that track generations).
pub fn prepare_for_update(resource: &ResourceInfo, new: &mut Value, old: &Value) {
    let Some(new_map) = new.as_object_mut() else {
        return;
    };
    if resource.has_status {
        match old.get("status") {
            Some(s) => {
                new_map.insert("status".into(), s.clone());
            }
            None => {
                new_map.remove("status");
            }
        }
    }
    if tracks_generation(resource) {
        let old_gen = old.at("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        let changed = new_map.get("spec") != old.get("spec");
        if let Some(meta) = child_obj(new_map, "metadata") {
            meta.insert("generation".into(), Value::from(if changed { old_gen + 1 } else { old_gen }));
        }
    }
}

/// The status strategies' `PrepareForUpdate`: a status update may only change the status, so the
/// spec (and, for workloads, the labels) are taken from the old object.
pub fn prepare_for_status_update(resource: &ResourceInfo, new: &mut Value, old: &Value) {
    let Some(new_map) = new.as_object_mut() else {
        return;
    };
    // Status updates rarely touch the spec: it is copied back only when it differs.
    match old.get("spec") {
        Some(s) if new_map.get("spec") != Some(s) => {
            new_map.insert("spec".into(), s.clone());
        }
        Some(_) => {}
        None => {
            new_map.remove("spec");
        }
    }
    if matches!(resource.group, "apps" | "batch") {
        let labels = old.at("/metadata/labels");
        if let Some(meta) = child_obj(new_map, "metadata") {
            match labels {
                Some(l) if meta.get("labels") != Some(l) => {
                    meta.insert("labels".into(), l.clone());
                }
                Some(_) => {}
                None => {
                    meta.remove("labels");
                }
            };
        }
    }
}

/// Kinds whose strategy sets `metadata.generation` (1 on create, +1 on spec changes).
fn tracks_generation(resource: &ResourceInfo) -> bool {
    matches!(
        (resource.group, resource.kind),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job" | "CronJob")
            | ("", "ReplicationController")
    )
}

// ---- small JSON helpers shared by the submodules ----

/// The object under `key`, created (as `{}`) when missing or null; `None` when the field holds
/// something other than an object.
pub(crate) fn child_obj<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let slot = map.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The object under `key` if present and an object (never creates it).
pub(crate) fn existing_obj<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// The objects of the array under `key` (non-objects skipped).
pub(crate) fn each_obj<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut().filter_map(Value::as_object_mut))
}

/// Go's `if x == nil`: sets `key` when missing or null.
pub(crate) fn set_nil(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), value.into());
        }
        _ => {}
    }
}

/// Go's `if s == ""`: sets `key` when missing, null or the empty string.
pub(crate) fn set_empty_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), Value::from(value));
        }
        Some(Value::String(s)) if s.is_empty() => {
            map.insert(key.to_string(), Value::from(value));
        }
        _ => {}
    }
}

/// Go's `if n == 0` for a non-pointer integer: sets `key` when missing, null or zero.
pub(crate) fn set_zero_int(map: &mut Map<String, Value>, key: &str, value: i64) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), Value::from(value));
        }
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => {
            map.insert(key.to_string(), Value::from(value));
        }
        _ => {}
    }
}

/// The string under `key`, or `""`.
pub(crate) fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Whether `key` holds something other than null / empty object / empty array / `""`.
pub(crate) fn is_set(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
