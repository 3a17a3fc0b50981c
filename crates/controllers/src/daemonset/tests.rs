//! The DaemonSet controller against caches and a fake writer.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{json, Value};

use super::nodes::REVISION_LABEL;
use super::DaemonSetController;
use crate::deployment::util::template_hash;
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{PatchBody, PODS};
use crate::testutil::merge;

fn ds(extra: Value) -> Arc<DaemonSet> {
    let mut v = json!({"metadata": {"name": "agent", "namespace": "ns", "uid": "ds-uid", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

fn node(name: &str, labels: Value) -> Arc<Node> {
    Arc::new(serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap())
}

fn pod(name: &str, node: &str, hash: &str) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"),
            "labels": {"app": "agent", REVISION_LABEL: hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "ds-uid",
                "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}))
        .unwrap(),
    )
}

fn setup(d: Arc<DaemonSet>, nodes: Vec<Arc<Node>>, pods: Vec<Arc<Pod>>) -> (Arc<DaemonSetController>, Arc<FakeWriter>) {
    let sets = Cache::default();
    sets.insert(d);
    let (pc, nc) = (Cache::default(), Cache::default());
    for p in pods {
        pc.insert(p);
    }
    for n in nodes {
        nc.insert(n);
    }
    let w = Arc::new(FakeWriter::default());
    (DaemonSetController::new(sets, pc, Cache::default(), nc, w.clone()), w)
}

fn status(w: &FakeWriter) -> Value {
    w.calls()
        .into_iter()
        .rev()
        .find_map(|c| match c {
            Call::Patch { status: true, patch: PatchBody::Merge(p), .. } => Some(p["status"].clone()),
            _ => None,
        })
        .expect("a status write")
}

fn current_hash(d: &DaemonSet) -> String {
    template_hash(&d.spec.as_ref().unwrap().template, Some(0))
}

#[tokio::test]
async fn every_fitting_node_gets_one_pinned_pod() {
    let d = ds(json!({"spec": {"template": {"spec": {"nodeSelector": {"role": "edge"}}}}}));
    let nodes = vec![node("a", json!({"role": "edge"})), node("b", json!({"role": "edge"})), node("c", json!({}))];
    let (c, w) = setup(d, nodes, vec![]);
    c.sync("ns/agent").await.unwrap();
    let mut pinned: Vec<String> = w
        .created_of(PODS)
        .iter()
        .map(|p| {
            let terms = &p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
            terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0].as_str().unwrap().to_string()
        })
        .collect();
    pinned.sort();
    assert_eq!(pinned, ["a", "b"]);
    let s = status(&w);
    assert_eq!((&s["desiredNumberScheduled"], &s["currentNumberScheduled"]), (&json!(2), &json!(0)));
}

#[tokio::test]
async fn pods_on_nodes_that_stop_fitting_and_extras_are_deleted() {
    let d = ds(json!({"spec": {"template": {"spec": {"nodeSelector": {"role": "edge"}}}}}));
    let h = current_hash(&d);
    let nodes = vec![node("a", json!({"role": "edge"})), node("c", json!({}))];
    let pods = vec![pod("p1", "a", &h), pod("p2", "a", &h), pod("p3", "c", &h), pod("p4", "gone", &h)];
    let (c, w) = setup(d, nodes, pods);
    c.sync("ns/agent").await.unwrap();
    let mut deleted = w.deleted();
    deleted.sort();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    assert!(deleted.contains(&"p4".to_string()) && deleted.contains(&"p3".to_string()));
    let s = status(&w);
    assert_eq!(
        (&s["currentNumberScheduled"], &s["numberReady"], &s["updatedNumberScheduled"]),
        (&json!(1), &json!(1), &json!(1))
    );
}

#[tokio::test]
async fn a_rolling_update_replaces_one_old_pod_at_a_time() {
    let d = ds(json!({}));
    let nodes = vec![node("a", json!({})), node("b", json!({})), node("c", json!({}))];
    let pods = vec![pod("p1", "a", "old"), pod("p2", "b", "old"), pod("p3", "c", "old")];
    let (c, w) = setup(d, nodes, pods);
    c.sync("ns/agent").await.unwrap();
    assert_eq!(w.deleted().len(), 1, "maxUnavailable 1");
    assert!(w.created_of(PODS).is_empty());
}

#[tokio::test]
async fn the_template_is_recorded_as_a_controller_revision() {
    let d = ds(json!({}));
    let hash = current_hash(&d);
    let (c, w) = setup(d, vec![node("a", json!({}))], vec![]);
    c.sync("ns/agent").await.unwrap();
    let revisions = w.created_of(crate::machinery::writer::CONTROLLERREVISIONS);
    assert_eq!(revisions.len(), 1);
    let r = &revisions[0];
    assert_eq!(r["metadata"]["name"], format!("agent-{hash}"));
    assert_eq!(r["metadata"]["labels"]["controller-revision-hash"], hash);
    assert_eq!(r["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    assert_eq!(r["revision"], 1);
    assert_eq!(r["data"]["spec"]["template"]["$patch"], "replace");
}
