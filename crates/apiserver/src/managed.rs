//! Field managers: every non-apply write records the fields it changed in
//! `metadata.managedFields` under its manager (operation Update), as kube-apiserver does.
//! The registry keeps them as text beside the object's tree ([`Object`]).

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::Value;
use skiff_api::ResourceInfo;
use skiff_patch::{FieldSet, PathElement, Writer};

use crate::object::Object;
use crate::objects;

/// Records `manager`'s Update of `new` (from `old`, None on create; both without their
/// managedFields) and returns the text of the new managedFields list. `sent` is the list the
/// write carried, if any: it replaces the live one.
pub fn track(
    res: &ResourceInfo,
    old: Option<&Object>,
    new: &Value,
    sent: Option<Value>,
    manager: &str,
    subresource: Option<&str>,
) -> Option<Bytes> {
    let meta = skiff_openapi::registry();
    let now = objects::now_rfc3339();
    let writer = Writer { manager, operation: "Update", subresource, reset: reset_fields(res, subresource) };
    let old = old.map(|o| (o.tree(), o.managed().map(|t| &t[..])));
    skiff_patch::track_update_text(old, new, sent, &writer, res.definition, meta, &now).map(Bytes::from)
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

    /// [`track`] over whole objects: `new` as tracked, whole.
    fn tracked(res: &ResourceInfo, old: Option<&Value>, new: &Value, manager: &str, sub: Option<&str>) -> Value {
        let old = old.map(|o| Object::from(o.clone()));
        let mut tree = new.clone();
        let sent = crate::object::take_managed_fields(&mut tree);
        let text = track(res, old.as_ref(), &tree, sent, manager, sub);
        Object::new(tree, text).into_value()
    }

    fn fields_of<'a>(obj: &'a Value, manager: &str) -> &'a Value {
        let entries = obj["metadata"]["managedFields"].as_array().expect("managedFields");
        let e = entries.iter().find(|e| e["manager"] == manager).expect("entry");
        &e["fieldsV1"]
    }

    #[test]
    fn a_create_does_not_own_the_status_its_strategy_sets() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        let pod = tracked(pods(), None, &pod, "kube-controller-manager", None);
        let fields = fields_of(&pod, "kube-controller-manager");
        assert!(fields.get("f:spec").is_some(), "{fields}");
        assert!(fields.get("f:status").is_none(), "{fields}");
    }

    /// Creates are tracked in one walk of the new object; an update from an empty object goes
    /// the general way. Over the real schema, both record the same fields.
    #[test]
    fn creates_record_what_an_update_from_nothing_records() {
        let cases = [
            (
                "",
                "v1",
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default",
                "labels": {"app": "x"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r",
                "uid": "u", "controller": true}]},
                "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "1"],
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "resources": {"requests": {"cpu": "100m"}}, "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
                    "volumes": [{"name": "v", "emptyDir": {}}], "tolerations": [{"key": "k", "operator": "Exists"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms":
                        [{"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}]}}},
                    "securityContext": {}, "imagePullSecrets": []},
                "status": {"phase": "Pending"}}),
            ),
            (
                "",
                "v1",
                "events",
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "default", "uid": "u"},
                "reason": "Scheduled", "message": "m", "source": {"component": "default-scheduler"}, "count": 1,
                "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z", "type": "Normal",
                "eventTime": null, "reportingComponent": "default-scheduler", "reportingInstance": ""}),
            ),
            (
                "",
                "v1",
                "nodes",
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"a": "b"}},
                "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoExecute"}],
                    "podCIDRs": ["10.0.0.0/24"]},
                "status": {"capacity": {"cpu": "4"}, "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}),
            ),
            (
                "apps",
                "v1",
                "deployments",
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d",
                "namespace": "default"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
            ),
            (
                "",
                "v1",
                "services",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
                "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080}, {"port": 80, "protocol": "UDP"}],
                "clusterIPs": ["10.43.0.1"], "ipFamilies": ["IPv4"]}}),
            ),
            (
                "",
                "v1",
                "configmaps",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
                "namespace": "default", "finalizers": ["a"]}, "data": {"k": "v"}, "binaryData": {}}),
            ),
        ];
        for (group, version, plural, obj) in cases {
            let res = skiff_api::resources::lookup(group, version, plural).expect("resource");
            for sub in [None, Some("status")] {
                let mut created = tracked(res, None, &obj, "m", sub);
                let mut updated = tracked(res, Some(&json!({})), &obj, "m", sub);
                for o in [&mut created, &mut updated] {
                    if let Some(e) = o.pointer_mut("/metadata/managedFields/0") {
                        e["time"] = json!("t");
                    }
                }
                assert_eq!(created, updated, "{plural} {sub:?}");
            }
        }
    }

    #[test]
    fn a_status_update_owns_only_the_status() {
        let old = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Pending"}});
        let mut new = old.clone();
        new["status"]["phase"] = json!("Running");
        new["spec"]["containers"][0]["image"] = json!("other");
        new["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u"}]);
        let new = tracked(pods(), Some(&old), &new, "kubelet", Some("status"));
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
        let new = tracked(pods(), Some(&old), &new, "m", None);
        assert_eq!(
            fields_of(&new, "m"),
            &json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {"f:nodeName": {}}})
        );
    }
}
