//! Where a DaemonSet's Pods belong (`NodeShouldRunDaemonPod`) and the Pod made for a node.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, PodSpec, Taint, Toleration};
use serde_json::{json, Value};
use skiff_api::scheduling::{first_untolerated, fits_node_affinity};

/// The label that tells a daemon Pod's template revision.
pub const REVISION_LABEL: &str = crate::machinery::history::REVISION_HASH_LABEL;

/// Tolerations every daemon Pod gets (`AddOrUpdateDaemonPodTolerations`): it stays through
/// not-ready, unreachable, pressure and unschedulable nodes.
pub fn daemon_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let mut add = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        add.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let mut out = spec.tolerations.clone().unwrap_or_default();
    for (key, effect) in add {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Toleration::default()
        };
        if !out.iter().any(|x| x.key == t.key && x.effect == t.effect) {
            out.push(t);
        }
    }
    out
}

/// (should run, should keep running) for the DaemonSet's Pods on `node`.
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let spec = ds.spec.as_ref().and_then(|s| s.template.spec.clone()).unwrap_or_default();
    let name = node.metadata.name.as_deref().unwrap_or("");
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if !fits_node_affinity(&spec, &labels, name) {
        return (false, false);
    }
    let tolerations = daemon_tolerations(&spec);
    let taints: &[Taint] = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[]);
    let schedule = first_untolerated(taints, &tolerations, |e| e == "NoSchedule" || e == "NoExecute").is_none();
    let keep = first_untolerated(taints, &tolerations, |e| e == "NoExecute").is_none();
    (schedule, keep)
}

/// The Pod for `node`: the template with the daemon tolerations, the revision label, and a
/// required node affinity on the node's name in place of any earlier name requirement.
pub fn pod_for_node(ds: &DaemonSet, hash: &str, node: &str, owner_ref: Value) -> Value {
    let template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let spec = template.spec.clone().unwrap_or_default();
    let prefix = ds.metadata.name.as_deref().unwrap_or("");
    let mut pod = crate::podutil::pod_from_template(&template, prefix, owner_ref);
    let mut labels: BTreeMap<String, String> = template.metadata.and_then(|m| m.labels).unwrap_or_default();
    labels.insert(REVISION_LABEL.into(), hash.into());
    pod["metadata"]["labels"] = json!(labels);
    pod["spec"]["tolerations"] = json!(daemon_tolerations(&spec));
    let name_term = json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]});
    let terms = &mut pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    match terms.as_array_mut() {
        Some(list) if !list.is_empty() => {
            // Keep each term's expressions; its fields become the node's name alone.
            for t in list.iter_mut() {
                t["matchFields"] = name_term["matchFields"].clone();
            }
        }
        _ => *terms = json!([name_term]),
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(spec: Value) -> DaemonSet {
        serde_json::from_value(json!({"metadata": {"name": "agent", "uid": "u"}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec}}}))
        .unwrap()
    }

    fn node(labels: Value, taints: Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": "n1", "labels": labels}, "spec": {"taints": taints}}))
            .unwrap()
    }

    #[test]
    fn selectors_and_taints_decide_where_daemons_run() {
        let plain = ds(json!({"containers": []}));
        assert_eq!(should_run(&plain, &node(json!({}), json!([]))), (true, true));
        let picky = ds(json!({"containers": [], "nodeSelector": {"disk": "ssd"}}));
        assert_eq!(should_run(&picky, &node(json!({}), json!([]))), (false, false));
        assert_eq!(should_run(&picky, &node(json!({"disk": "ssd"}), json!([]))), (true, true));
        let tainted = node(json!({}), json!([{"key": "gpu", "effect": "NoSchedule"}]));
        assert_eq!(should_run(&plain, &tainted), (false, true), "NoSchedule only keeps new Pods off");
        let evicting = node(json!({}), json!([{"key": "gpu", "effect": "NoExecute"}]));
        assert_eq!(should_run(&plain, &evicting), (false, false));
        let unschedulable =
            node(json!({}), json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]));
        assert_eq!(should_run(&plain, &unschedulable), (true, true), "daemons tolerate cordoned nodes");
    }

    #[test]
    fn the_pod_is_pinned_to_its_node() {
        let d = ds(json!({"containers": [{"name": "c", "image": "busybox"}]}));
        let p = pod_for_node(&d, "abc", "n1", json!({"kind": "DaemonSet"}));
        assert_eq!(p["metadata"]["generateName"], "agent-");
        assert_eq!(p["metadata"]["labels"][REVISION_LABEL], "abc");
        let terms = &p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
        assert_eq!(terms[0]["matchFields"][0]["values"], json!(["n1"]));
        assert!(p["spec"]["tolerations"].as_array().unwrap().len() >= 6);
    }
}
