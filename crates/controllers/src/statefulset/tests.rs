//! The StatefulSet controller against caches and a fake writer.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use super::identity::REVISION_LABEL;
use super::StatefulSetController;
use crate::deployment::util::template_hash;
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::FakeWriter;
use crate::machinery::writer::PODS;
use crate::testutil::merge;

fn set(extra: Value) -> Arc<StatefulSet> {
    let mut v = json!({"metadata": {"name": "web", "namespace": "ns", "uid": "s-uid", "generation": 1},
        "spec": {"replicas": 3, "serviceName": "nginx", "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "web"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

fn rev(s: &StatefulSet) -> String {
    format!("web-{}", template_hash(&s.spec.as_ref().unwrap().template, Some(0)))
}

fn pod(ord: i32, rev: &str, healthy: bool) -> Arc<Pod> {
    let (phase, ready) = if healthy { ("Running", "True") } else { ("Pending", "False") };
    Arc::new(
        serde_json::from_value(json!({"metadata": {"name": format!("web-{ord}"), "namespace": "ns",
            "uid": format!("p{ord}"), "labels": {"app": "web", REVISION_LABEL: rev},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "s-uid",
                "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}}))
        .unwrap(),
    )
}

fn setup(s: Arc<StatefulSet>, pods: Vec<Arc<Pod>>) -> (Arc<StatefulSetController>, Arc<FakeWriter>) {
    let sets = Cache::default();
    sets.insert(s);
    let cache = Cache::default();
    for p in pods {
        cache.insert(p);
    }
    let w = Arc::new(FakeWriter::default());
    (StatefulSetController::new(sets, cache, Cache::default(), w.clone()), w)
}

fn created_names(w: &FakeWriter) -> Vec<String> {
    w.created_of(PODS).iter().map(|p| p["metadata"]["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn ordered_ready_makes_one_pod_after_the_previous_is_ready() {
    let s = set(json!({}));
    let r = rev(&s);
    let (c, w) = setup(s.clone(), vec![]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(created_names(&w), ["web-0"]);
    let (c, w) = setup(s.clone(), vec![pod(0, &r, false)]);
    c.sync("ns/web").await.unwrap();
    assert!(w.created_of(PODS).is_empty(), "web-0 is not ready yet");
    let (c, w) = setup(s, vec![pod(0, &r, true)]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(created_names(&w), ["web-1"]);
    assert_eq!(w.events(), ["SuccessfulCreate: create Pod web-1 in StatefulSet web successful"]);
}

#[tokio::test]
async fn parallel_makes_all_at_once() {
    let (c, w) = setup(set(json!({"spec": {"podManagementPolicy": "Parallel"}})), vec![]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(created_names(&w), ["web-0", "web-1", "web-2"]);
}

#[tokio::test]
async fn scale_down_removes_the_highest_ordinal_first() {
    let s = set(json!({"spec": {"replicas": 1}}));
    let r = rev(&s);
    let (c, w) = setup(s, vec![pod(0, &r, true), pod(1, &r, true), pod(2, &r, true)]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.deleted(), ["web-2"]);
    assert_eq!(w.events(), ["SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
}

#[tokio::test]
async fn a_rolling_update_replaces_from_the_top_down_to_the_partition() {
    let s = set(json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}}));
    let r = rev(&s);
    let (c, w) = setup(s.clone(), vec![pod(0, "old", true), pod(1, "old", true), pod(2, "old", true)]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.deleted(), ["web-2"]);
    let (c, w) = setup(s.clone(), vec![pod(0, "old", true), pod(1, "old", true), pod(2, &r, true)]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.deleted(), ["web-1"]);
    let (c, w) = setup(s, vec![pod(0, "old", true), pod(1, &r, true), pod(2, &r, true)]);
    c.sync("ns/web").await.unwrap();
    assert!(w.deleted().is_empty(), "web-0 is below the partition");
}
