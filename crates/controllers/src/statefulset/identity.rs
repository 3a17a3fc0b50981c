//! A StatefulSet Pod's identity: its ordinal, parsed from `<set>-<ordinal>`, and the Pod made
//! for an ordinal (`newVersionedStatefulSetPod`).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = crate::machinery::history::REVISION_HASH_LABEL;

/// The ordinal of a Pod of `set`, from its name (`getParentNameAndOrdinal`).
pub fn ordinal(set: &str, pod: &Pod) -> Option<i32> {
    let name = pod.metadata.name.as_deref()?;
    let rest = name.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The revision a Pod was made from.
pub fn revision(pod: &Pod) -> Option<&str> {
    pod.metadata.labels.as_ref()?.get(REVISION_LABEL).map(String::as_str)
}

/// The Pod for `ordinal` at `revision`.
pub fn pod_for(set: &StatefulSet, ordinal: i32, revision: &str, owner_ref: Value) -> Value {
    let spec = set.spec.clone().unwrap_or_default();
    let name = format!("{}-{ordinal}", set.metadata.name.as_deref().unwrap_or(""));
    let mut pod = crate::podutil::pod_from_template(&spec.template, "", owner_ref);
    let meta = pod["metadata"].as_object_mut().expect("an object");
    meta.remove("generateName");
    meta.insert("name".into(), json!(name));
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    labels[POD_NAME_LABEL] = json!(name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
    labels[REVISION_LABEL] = json!(revision);
    pod["spec"]["hostname"] = json!(name);
    if !spec.service_name.as_deref().unwrap_or("").is_empty() {
        pod["spec"]["subdomain"] = json!(spec.service_name);
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    }

    #[test]
    fn ordinals_come_from_names_of_the_set() {
        assert_eq!(ordinal("web", &pod("web-0")), Some(0));
        assert_eq!(ordinal("web", &pod("web-12")), Some(12));
        assert_eq!(ordinal("web", &pod("web-a")), None);
        assert_eq!(ordinal("web", &pod("webby-1")), None);
        assert_eq!(ordinal("web", &pod("web-")), None);
    }

    #[test]
    fn pods_get_stable_names_hostnames_and_labels() {
        let set: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {
            "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}))
        .unwrap();
        let p = pod_for(&set, 2, "web-abc", json!({"kind": "StatefulSet"}));
        assert_eq!(p["metadata"]["name"], "web-2");
        assert!(p["metadata"]["generateName"].is_null());
        assert_eq!(p["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(p["metadata"]["labels"]["app"], "web");
        assert_eq!((&p["spec"]["hostname"], &p["spec"]["subdomain"]), (&json!("web-2"), &json!("nginx")));
    }
}
