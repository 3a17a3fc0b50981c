//! What controllers ask of Pods and owners (kubernetes' `controller_utils.go` and
//! `podutil`): active, ready, available; controller references; Pods from a template.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use crate::machinery::writer::Kind;

/// Not finished and not being deleted (`FilterActivePods`).
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded") | Some("Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// When the Pod's Ready condition became True; None if it is not ready.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let c = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    (c.status == "True").then(|| c.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` at `now` (`IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => now.as_second() - since.as_second() >= i64::from(min_ready_seconds),
    }
}

/// The owner reference with `controller: true`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_ref()?.iter().find(|r| r.controller == Some(true))
}

/// A controller reference to an owner of `kind` (`NewControllerRef`).
pub fn controller_ref(kind: Kind, owner: &ObjectMeta) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind,
        "name": owner.name.clone().unwrap_or_default(),
        "uid": owner.uid.clone().unwrap_or_default(),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

pub fn labels(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    meta.labels.as_ref().unwrap_or(&NO_LABELS)
}

/// A Pod for `template`, owned by `owner_ref`, named `<prefix>-xxxxx` by the server
/// (`GetPodFromTemplate`).
pub fn pod_from_template(template: &PodTemplateSpec, prefix: &str, owner_ref: Value) -> Value {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut metadata = json!({
        "generateName": format!("{prefix}-"),
        "ownerReferences": [owner_ref],
    });
    if let Some(l) = meta.labels.filter(|l| !l.is_empty()) {
        metadata["labels"] = json!(l);
    }
    if let Some(a) = meta.annotations.filter(|a| !a.is_empty()) {
        metadata["annotations"] = json!(a);
    }
    if let Some(f) = meta.finalizers.filter(|f| !f.is_empty()) {
        metadata["finalizers"] = json!(f);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.spec})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn readiness_and_availability_follow_the_ready_condition() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let ready = pod(json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:30Z"}]}}));
        assert!(is_ready(&ready));
        assert!(is_available(&ready, 0, now));
        assert!(is_available(&ready, 30, now));
        assert!(!is_available(&ready, 31, now));
        let not_ready = pod(json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}));
        assert!(!is_ready(&not_ready) && !is_available(&not_ready, 0, now));
        assert!(is_active(&not_ready));
        assert!(!is_active(&pod(json!({"status": {"phase": "Failed"}}))));
        assert!(!is_active(&pod(json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}))));
    }

    #[test]
    fn pods_from_templates_carry_labels_and_a_controller_reference() {
        let t: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
        .unwrap();
        let owner = ObjectMeta { name: Some("web-1".into()), uid: Some("u1".into()), ..ObjectMeta::default() };
        let p = pod_from_template(&t, "web-1", controller_ref(crate::machinery::writer::REPLICASETS, &owner));
        assert_eq!(p["metadata"]["generateName"], "web-1-");
        assert_eq!(p["metadata"]["labels"]["app"], "web");
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["spec"]["containers"][0]["image"], "busybox");
    }
}
