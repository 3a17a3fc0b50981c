//! Field managers: every non-apply write records the fields it changed in
//! `metadata.managedFields` under its manager (operation Update), as kube-apiserver does.

use std::sync::LazyLock;

use serde_json::Value;
use skiff_api::ResourceInfo;
use skiff_patch::{FieldSet, PathElement, Writer};

use crate::objects;

/// Records `manager`'s Update of `new` (from `old`, None on create) in `new`'s managedFields.
pub fn track(res: &ResourceInfo, old: Option<&Value>, new: &mut Value, manager: &str, subresource: Option<&str>) {
    let meta = skiff_openapi::registry();
    let now = objects::now_rfc3339();
    let writer = Writer { manager, operation: "Update", subresource, reset: reset_fields(res, subresource) };
    skiff_patch::track_update(old, new, &writer, res.definition, meta, &now);
}

/// The fields a write's strategy resets (the registry strategies' `GetResetFields`), which no
/// manager is recorded for: the status on the main resource of kinds with one (so a create
/// does not own the status its strategy sets); on `status`, the spec, and for Pods the
/// deletionTimestamp and ownerReferences, for workloads the labels.
pub fn reset_fields(res: &ResourceInfo, subresource: Option<&str>) -> &'static FieldSet {
    static NONE: LazyLock<FieldSet> = LazyLock::new(FieldSet::new);
    static STATUS: LazyLock<FieldSet> = LazyLock::new(|| set(&[&["status"]]));
    static SPEC: LazyLock<FieldSet> = LazyLock::new(|| set(&[&["spec"]]));
    static POD_STATUS: LazyLock<FieldSet> =
        LazyLock::new(|| set(&[&["spec"], &["metadata", "deletionTimestamp"], &["metadata", "ownerReferences"]]));
    static WORKLOAD_STATUS: LazyLock<FieldSet> = LazyLock::new(|| set(&[&["spec"], &["metadata", "labels"]]));
    match subresource {
        None if res.has_status => &STATUS,
        Some("status") => match (res.group, res.kind) {
            ("", "Pod") => &POD_STATUS,
            ("apps", _) | ("batch", _) => &WORKLOAD_STATUS,
            _ => &SPEC,
        },
        _ => &NONE,
    }
}

fn set(paths: &[&[&str]]) -> FieldSet {
    let mut set = FieldSet::new();
    for path in paths {
        let path: Vec<PathElement> = path.iter().map(|f| PathElement::Field(f.to_string())).collect();
        set.insert(&path);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods() -> &'static ResourceInfo {
        skiff_api::resources::lookup("", "v1", "pods").expect("pods")
    }

    fn fields_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
        let entries = obj["metadata"]["managedFields"].as_array().expect("managedFields");
        let e = entries.iter().find(|e| e["manager"] == manager).expect("entry");
        &e["fieldsV1"]
    }

    #[test]
    fn a_create_does_not_own_the_status_its_strategy_sets() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        track(pods(), None, &mut pod, "kube-controller-manager", None);
        let fields = fields_of(&pod, "kube-controller-manager");
        assert!(fields.get("f:spec").is_some(), "{fields}");
        assert!(fields.get("f:status").is_none(), "{fields}");
    }

    #[test]
    fn a_status_update_owns_only_the_status() {
        let old = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Pending"}});
        let mut new = old.clone();
        new["status"]["phase"] = json!("Running");
        new["spec"]["containers"][0]["image"] = json!("other");
        new["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u"}]);
        track(pods(), Some(&old), &mut new, "kubelet", Some("status"));
        assert_eq!(fields_of(&new, "kubelet"), &json!({"f:status": {"f:phase": {}}}));
    }

    #[test]
    fn older_entries_lose_their_reset_fields_on_the_next_write() {
        let old = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default",
            "managedFields": [{"manager": "m", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:nodeName": {}}, "f:status": {"f:phase": {}}}}]},
            "spec": {"nodeName": "n"}, "status": {"phase": "Pending"}});
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        new["metadata"].as_object_mut().expect("metadata").remove("managedFields");
        track(pods(), Some(&old), &mut new, "m", None);
        assert_eq!(
            fields_of(&new, "m"),
            &json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {"f:nodeName": {}}})
        );
    }
}
