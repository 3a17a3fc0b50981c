//! The ReplicaSet controller against caches and a fake writer.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use super::ReplicaSetController;
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{PatchBody, REPLICASETS};
use crate::testutil::merge;

fn rs(replicas: i32) -> Arc<ReplicaSet> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
        }))
        .unwrap(),
    )
}

fn pod(name: &str, owner: Option<&str>, extra: Value) -> Arc<Pod> {
    let mut v = json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"),
        "labels": {"app": "web"}, "resourceVersion": "1"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    if let Some(uid) = owner {
        v["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": uid, "controller": true}]);
    }
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

fn ready(node: &str) -> Value {
    json!({"spec": {"nodeName": node}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
}

fn setup(set: Arc<ReplicaSet>, pods: Vec<Arc<Pod>>) -> (Arc<ReplicaSetController>, Arc<FakeWriter>) {
    let sets = Cache::default();
    sets.insert(set);
    let cache = Cache::default();
    for p in pods {
        cache.insert(p);
    }
    let writer = Arc::new(FakeWriter::default());
    (ReplicaSetController::new(sets, cache, writer.clone()), writer)
}

fn status_patch(w: &FakeWriter) -> Option<Value> {
    w.calls().into_iter().rev().find_map(|c| match c {
        Call::Patch { status: true, patch: PatchBody::Merge(v), .. } => Some(v["status"].clone()),
        _ => None,
    })
}

#[tokio::test]
async fn missing_pods_are_created_once_until_their_creation_is_seen() {
    let (c, w) = setup(rs(3), vec![]);
    c.sync("ns/web").await.unwrap();
    let created = w.created();
    assert_eq!(created.len(), 3);
    let p = &created[0];
    assert_eq!(p["metadata"]["generateName"], "web-");
    assert_eq!(p["metadata"]["labels"]["app"], "web");
    assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], "rs-uid");
    assert_eq!(p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
    let names: Vec<&str> = created.iter().map(|p| p["metadata"]["name"].as_str().unwrap()).collect();
    let said: Vec<String> = names.iter().map(|n| format!("SuccessfulCreate: Created pod: {n}")).collect();
    let mut events = w.events();
    events.sort();
    assert_eq!(events, said);
    assert_eq!(w.recorded.lock().unwrap()[0].component, "replicaset-controller");
    // The cache has not shown them yet: no second round of creates.
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.created().len(), 3);
    assert!(!c.expectations.satisfied("ns/web"));
    for obj in created {
        let p: Arc<Pod> = Arc::new(serde_json::from_value(obj).unwrap());
        c.pods.insert(p.clone());
        c.on_pod(None, Some(&p));
    }
    assert!(c.expectations.satisfied("ns/web"));
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.created().len(), 3);
    let status = status_patch(&w).unwrap();
    assert_eq!(status["replicas"], 3);
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(status["readyReplicas"], Value::Null, "zero counts are left out");
}

#[tokio::test]
async fn scale_down_deletes_unscheduled_then_not_ready_then_newest() {
    let pods = vec![
        pod("a", Some("rs-uid"), ready("n1")),
        pod("b", Some("rs-uid"), json!({})),
        pod("c", Some("rs-uid"), json!({"spec": {"nodeName": "n2"}, "status": {"phase": "Running"}})),
        pod("d", Some("rs-uid"), ready("n3")),
    ];
    let (c, w) = setup(rs(2), pods);
    c.sync("ns/web").await.unwrap();
    let mut deleted = w.deleted();
    deleted.sort();
    assert_eq!(deleted, ["b", "c"]);
    let mut events = w.events();
    events.sort();
    assert_eq!(events, ["SuccessfulDelete: Deleted pod: b", "SuccessfulDelete: Deleted pod: c"]);
    let status = status_patch(&w).unwrap();
    assert_eq!(status["replicas"], 4);
    assert_eq!(status["readyReplicas"], 2);
    assert_eq!(status["availableReplicas"], 2);
    assert!(!c.expectations.satisfied("ns/web"));
}

#[tokio::test]
async fn orphans_are_adopted_and_pods_that_stop_matching_released() {
    let pods = vec![
        pod("orphan", None, json!({})),
        pod("moved", Some("rs-uid"), json!({"metadata": {"labels": {"app": "other"}}})),
        pod("foreign", Some("someone-else"), json!({})),
        pod("done", None, json!({"status": {"phase": "Succeeded"}})),
    ];
    let (c, w) = setup(rs(1), pods);
    w.put(REPLICASETS, serde_json::to_value(&*rs(1)).unwrap());
    c.sync("ns/web").await.unwrap();
    let patches: Vec<(String, Value)> = w
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { name, status: false, patch: PatchBody::Strategic(v), .. } => Some((name, v)),
            _ => None,
        })
        .collect();
    assert_eq!(patches.len(), 2, "{patches:?}");
    let adopt = &patches.iter().find(|(n, _)| n == "orphan").unwrap().1;
    assert_eq!(adopt["metadata"]["ownerReferences"][0]["uid"], "rs-uid");
    assert_eq!(adopt["metadata"]["uid"], "orphan-uid", "the patch is bound to that Pod");
    let release = &patches.iter().find(|(n, _)| n == "moved").unwrap().1;
    assert_eq!(release["metadata"]["ownerReferences"][0]["$patch"], "delete");
    // The adopted orphan counts: nothing created, nothing deleted.
    assert!(w.created().is_empty() && w.deleted().is_empty());
    assert_eq!(status_patch(&w).unwrap()["replicas"], 1);
}

#[tokio::test]
async fn a_stale_cache_adopts_nothing_for_an_owner_the_api_shows_deleted_or_replaced() {
    for fresh in [
        Some(json!({"metadata": {"name": "web", "namespace": "ns", "uid": "rs-uid",
            "deletionTimestamp": "2026-01-01T00:00:00Z"}})),
        Some(json!({"metadata": {"name": "web", "namespace": "ns", "uid": "new-uid"}})),
        None,
    ] {
        // The cache still holds the live ReplicaSet; the API knows better.
        let (c, w) = setup(rs(1), vec![pod("orphan", None, json!({}))]);
        if let Some(obj) = fresh {
            w.put(REPLICASETS, obj);
        }
        let err = c.sync("ns/web").await.unwrap_err();
        assert!(err.to_string().contains("can't adopt"), "{err}");
        assert!(w.calls().is_empty(), "no adoption, no create: {:?}", w.calls());
    }
}

#[tokio::test]
async fn failing_creates_stop_early_and_show_replica_failure() {
    let (c, w) = setup(rs(10), vec![]);
    *w.fail_creates_after.lock().unwrap() = Some((2, 403));
    let err = c.sync("ns/web").await.unwrap_err();
    assert!(err.to_string().contains("create refused"), "{err}");
    // Batches of 1 and 2: the second batch had a failure, so no batch of 4 followed.
    assert_eq!(w.created().len(), 2);
    assert!(!c.expectations.satisfied("ns/web"), "the two created Pods are still expected");
    let status = status_patch(&w).unwrap();
    assert_eq!(status["conditions"][0]["type"], "ReplicaFailure");
    assert_eq!(status["conditions"][0]["reason"], "FailedCreate");
    let events = w.events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.contains(&"FailedCreate: Error creating: create refused".to_string()), "{events:?}");
}

#[tokio::test]
async fn an_owned_pod_being_deleted_is_replaced_at_once() {
    let (c, w) = setup(rs(1), vec![pod("old", Some("rs-uid"), ready("n1"))]);
    c.sync("ns/web").await.unwrap();
    assert!(w.created().is_empty());
    let gone = pod(
        "old",
        Some("rs-uid"),
        json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
        "resourceVersion": "2"}}),
    );
    let before = c.pods.insert(gone.clone());
    c.on_pod(before.as_ref(), Some(&gone));
    assert_eq!(c.queue.len(), 1);
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.created().len(), 1);
}

#[tokio::test]
async fn status_is_not_written_when_it_already_holds() {
    let mut set = (*rs(0)).clone();
    set.status = serde_json::from_value(json!({"replicas": 0, "observedGeneration": 2})).ok();
    let (c, w) = setup(Arc::new(set), vec![]);
    c.sync("ns/web").await.unwrap();
    assert!(w.calls().is_empty(), "{:?}", w.calls());
    // A deleted ReplicaSet: its expectations go.
    c.expectations.expect_creations("ns/gone", 1);
    c.sync("ns/gone").await.unwrap();
    assert!(c.expectations.satisfied("ns/gone"));
}

#[tokio::test]
async fn replication_controllers_are_kept_as_the_replica_sets_they_equal() {
    let rc: k8s_openapi::api::core::v1::ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "rc-uid", "generation": 1},
        "spec": {"replicas": 2, "selector": {"app": "web"},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap();
    let as_rs = super::as_replica_set(&rc).unwrap();
    assert_eq!(as_rs.spec.as_ref().unwrap().selector.match_labels.as_ref().unwrap()["app"], "web");
    let writer = Arc::new(FakeWriter::default());
    let c = ReplicaSetController::for_replication_controllers(Cache::default(), writer.clone());
    c.sets.insert(Arc::new(as_rs));
    c.sync("ns/web").await.unwrap();
    let created = writer.created();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["metadata"]["ownerReferences"][0]["kind"], "ReplicationController");
    assert_eq!(created[0]["metadata"]["ownerReferences"][0]["apiVersion"], "v1");
    let status_kind = writer.calls().into_iter().find_map(|c| match c {
        Call::Patch { kind, status: true, .. } => Some(kind.kind),
        _ => None,
    });
    assert_eq!(status_kind, Some("ReplicationController"));
}
