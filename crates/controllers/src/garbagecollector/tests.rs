//! The garbage collector's decisions against a fake API.

use std::sync::Arc;

use serde_json::{json, Value};

use super::graph::Identity;
use super::{GarbageCollector, Resources};
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{Delete, PatchBody, DEPLOYMENTS, REPLICASETS};

fn setup() -> (Arc<GarbageCollector>, Arc<FakeWriter>) {
    let mut r = Resources::default();
    r.insert(DEPLOYMENTS, true);
    r.insert(REPLICASETS, true);
    let w = Arc::new(FakeWriter::default());
    (GarbageCollector::new(r, w.clone()), w)
}

fn object(kind: &str, name: &str, uid: &str, meta: Value) -> Value {
    let mut m = json!({"name": name, "namespace": "ns", "uid": uid, "resourceVersion": "7"});
    crate::testutil::merge(&mut m, meta);
    json!({"apiVersion": "apps/v1", "kind": kind, "metadata": m})
}

fn owner_ref(uid: &str, name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid, "controller": true,
        "blockOwnerDeletion": true})
}

/// Tells the collector (and the fake API) about `obj`, queueing what the change calls for.
fn observe(gc: &GarbageCollector, w: &FakeWriter, obj: Value) {
    let kind = if obj["kind"] == "Deployment" { DEPLOYMENTS } else { REPLICASETS };
    w.put(kind, obj.clone());
    let m = &obj["metadata"];
    let id = Identity {
        api_version: "apps/v1".into(),
        kind: kind.kind.into(),
        namespace: "ns".into(),
        name: m["name"].as_str().unwrap().into(),
        uid: m["uid"].as_str().unwrap().into(),
    };
    let actions = gc.graph().observe(id, &serde_json::from_value(m.clone()).unwrap());
    gc.dispatch(actions);
}

#[tokio::test]
async fn dependents_of_a_deleted_owner_are_deleted_in_the_background() {
    let (gc, w) = setup();
    observe(&gc, &w, object("Deployment", "d", "d1", json!({})));
    observe(&gc, &w, object("ReplicaSet", "rs", "r1", json!({"ownerReferences": [owner_ref("d1", "d")]})));
    w.objects.lock().unwrap().remove("deployments/ns/d");
    let actions = gc.graph().forget("d1");
    gc.dispatch(actions);
    gc.attempt_to_delete("r1").await.unwrap();
    let want = Delete { uid: Some("r1".into()), propagation: Some("Background"), grace_seconds: None };
    assert_eq!(w.calls(), vec![Call::Delete { kind: REPLICASETS, ns: "ns".into(), name: "rs".into(), opts: want }]);
}

#[tokio::test]
async fn a_live_owner_keeps_its_dependent_and_dangling_references_go() {
    let (gc, w) = setup();
    observe(&gc, &w, object("Deployment", "d", "d1", json!({})));
    let refs = json!({"ownerReferences": [owner_ref("d1", "d"), owner_ref("gone", "old")]});
    observe(&gc, &w, object("ReplicaSet", "rs", "r1", refs));
    gc.attempt_to_delete("r1").await.unwrap();
    let calls = w.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let Call::Patch { patch: PatchBody::Strategic(p), name, .. } = &calls[0] else { panic!("{calls:?}") };
    assert_eq!(name, "rs");
    assert_eq!(p["metadata"]["ownerReferences"], json!([{"$patch": "delete", "uid": "gone"}]));
    assert_eq!(p["metadata"]["uid"], "r1");
}

#[tokio::test]
async fn orphaning_takes_dependents_off_then_drops_the_finalizer() {
    let (gc, w) = setup();
    observe(&gc, &w, object("Deployment", "d", "d1", json!({})));
    observe(&gc, &w, object("ReplicaSet", "rs", "r1", json!({"ownerReferences": [owner_ref("d1", "d")]})));
    let deleting = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["orphan"]});
    observe(&gc, &w, object("Deployment", "d", "d1", deleting));
    assert_eq!(gc.orphans.len(), 1);
    gc.attempt_to_orphan("d1").await.unwrap();
    let calls = w.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let Call::Patch { patch: PatchBody::Strategic(p), name, .. } = &calls[0] else { panic!("{calls:?}") };
    assert_eq!((name.as_str(), &p["metadata"]["ownerReferences"][0]["uid"]), ("rs", &json!("d1")));
    let Call::Patch { patch: PatchBody::Merge(p), name, .. } = &calls[1] else { panic!("{calls:?}") };
    assert_eq!(name, "d");
    assert_eq!(p["metadata"]["finalizers"], Value::Null);
    assert_eq!(p["metadata"]["resourceVersion"], "7");
}

#[tokio::test]
async fn a_foreground_deletion_waits_for_blocking_dependents() {
    let (gc, w) = setup();
    observe(&gc, &w, object("Deployment", "d", "d1", json!({})));
    observe(&gc, &w, object("ReplicaSet", "rs", "r1", json!({"ownerReferences": [owner_ref("d1", "d")]})));
    let deleting = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["foregroundDeletion"]});
    observe(&gc, &w, object("Deployment", "d", "d1", deleting));
    // The owner waits: its dependent is deleted.
    gc.attempt_to_delete("d1").await.unwrap();
    assert!(w.calls().is_empty(), "the owner's finalizer stays while r1 blocks");
    gc.attempt_to_delete("r1").await.unwrap();
    assert!(matches!(&w.calls()[..], [Call::Delete { name, .. }] if name == "rs"));
    // Once the dependent is gone, the owner's finalizer goes.
    w.take();
    w.objects.lock().unwrap().remove("replicasets/ns/rs");
    let actions = gc.graph().forget("r1");
    assert!(actions.contains(&super::graph::Action::Delete("d1".into())));
    gc.attempt_to_delete("d1").await.unwrap();
    let calls = w.calls();
    let [Call::Patch { patch: PatchBody::Merge(p), name, .. }] = &calls[..] else { panic!("{calls:?}") };
    assert_eq!((name.as_str(), &p["metadata"]["finalizers"]), ("d", &Value::Null));
}

#[tokio::test]
async fn a_virtual_owner_that_does_not_exist_releases_its_dependents() {
    let (gc, w) = setup();
    observe(&gc, &w, object("ReplicaSet", "rs", "r1", json!({"ownerReferences": [owner_ref("d9", "never")]})));
    assert!(!gc.graph().get("d9").unwrap().observed);
    gc.attempt_to_delete("d9").await.unwrap();
    assert!(gc.graph().get("d9").is_none());
    gc.attempt_to_delete("r1").await.unwrap();
    assert!(matches!(&w.calls()[..], [Call::Delete { name, .. }] if name == "rs"));
}
