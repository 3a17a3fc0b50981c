//! The Deployment controller against caches and a fake writer.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::{json, Value};

use super::util::{template_hash, HASH_LABEL};
use super::DeploymentController;
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{PatchBody, DEPLOYMENTS, REPLICASETS};
use crate::testutil::merge;

fn deployment(replicas: i32, image: &str, extra: Value) -> Deployment {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "d-uid", "generation": 1, "resourceVersion": "5"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}}},
    });
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

/// A ReplicaSet the Deployment made for `image` at `revision`, `size` replicas, `available` of them available.
fn set(d: &Deployment, image: &str, revision: i64, size: i32, available: i32, age: u32) -> ReplicaSet {
    let mut t = d.spec.as_ref().unwrap().template.clone();
    t.spec.as_mut().unwrap().containers[0].image = Some(image.into());
    let hash = template_hash(&t, None);
    t.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert(HASH_LABEL.into(), hash.clone());
    serde_json::from_value(json!({
        "metadata": {"name": format!("web-{hash}"), "namespace": "ns", "uid": format!("rs-{revision}"),
            "resourceVersion": "3", "generation": 1,
            "creationTimestamp": format!("2026-01-01T00:00:{age:02}Z"),
            "labels": t.metadata.as_ref().unwrap().labels,
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": super::util::replicas(d).to_string(),
                "deployment.kubernetes.io/max-replicas": (super::util::replicas(d) + 1).to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-uid",
                "controller": true}]},
        "spec": {"replicas": size, "selector": {"matchLabels": {"app": "web", HASH_LABEL: hash}}, "template": t},
        "status": {"replicas": size, "availableReplicas": available, "readyReplicas": available, "observedGeneration": 1},
    }))
    .unwrap()
}

fn setup(d: Deployment, sets: Vec<ReplicaSet>) -> (Arc<DeploymentController>, Arc<FakeWriter>) {
    let deployments = Cache::default();
    deployments.insert(Arc::new(d));
    let cache = Cache::default();
    for rs in sets {
        cache.insert(Arc::new(rs));
    }
    let writer = Arc::new(FakeWriter::default());
    (DeploymentController::new(deployments, cache, Cache::default(), writer.clone()), writer)
}

/// (name, replicas) of every ReplicaSet scale in the writes.
fn scales(w: &FakeWriter) -> Vec<(String, i64)> {
    w.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { kind, name, patch: PatchBody::Merge(p), status: false, .. } if kind == REPLICASETS => {
                p.pointer("/spec/replicas").and_then(Value::as_i64).map(|n| (name, n))
            }
            _ => None,
        })
        .collect()
}

fn status_patch(w: &FakeWriter) -> Value {
    w.calls()
        .into_iter()
        .rev()
        .find_map(|c| match c {
            Call::Patch { kind, status: true, patch: PatchBody::Merge(p), .. } if kind == DEPLOYMENTS => Some(p),
            _ => None,
        })
        .expect("a status write")
}

fn condition(patch: &Value, type_: &str) -> Value {
    let conditions = patch["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.into_iter().find(|c| c["type"] == type_).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_new_deployment_gets_a_hashed_replicaset_at_revision_1() {
    let d = deployment(2, "busybox", json!({}));
    let (c, w) = setup(d.clone(), vec![]);
    c.sync("ns/web").await.unwrap();
    let created = w.created();
    assert_eq!(created.len(), 1);
    let rs = &created[0];
    let hash = template_hash(&d.spec.as_ref().unwrap().template, None);
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(w.events(), [format!("ScalingReplicaSet: Scaled up replica set web-{hash} from 0 to 2")]);
    assert_eq!(rs["metadata"]["labels"][HASH_LABEL], hash);
    assert_eq!(rs["spec"]["selector"]["matchLabels"][HASH_LABEL], hash);
    assert_eq!(rs["spec"]["template"]["metadata"]["labels"][HASH_LABEL], hash);
    assert_eq!(rs["spec"]["replicas"], 2);
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    let a = &rs["metadata"]["annotations"];
    assert_eq!(
        (&a["deployment.kubernetes.io/revision"], &a["deployment.kubernetes.io/desired-replicas"]),
        (&json!("1"), &json!("2"))
    );
    assert_eq!(a["deployment.kubernetes.io/max-replicas"], "3");
    let p = status_patch(&w);
    assert_eq!(p["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    assert_eq!(p["metadata"]["resourceVersion"], "5");
    assert_eq!(condition(&p, "Progressing")["reason"], "NewReplicaSetCreated");
    assert_eq!(condition(&p, "Available")["status"], "False");
    assert_eq!(p["status"]["observedGeneration"], 1);
}

#[tokio::test]
async fn a_template_change_rolls_within_surge_and_unavailability() {
    // 4 replicas: maxSurge 1, maxUnavailable 1.
    let d = deployment(4, "busybox:2", json!({"metadata": {"generation": 2}}));
    let old = set(&d, "busybox:1", 1, 4, 4, 0);
    let (c, w) = setup(d.clone(), vec![old.clone()]);
    c.sync("ns/web").await.unwrap();
    let created = w.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["spec"]["replicas"], 1, "4 + 1 surge − 4 running");
    assert_eq!(created[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");

    // The new set has 1 unavailable Pod: the old one may lose one (5 − 3 − 1).
    let new = set(&d, "busybox:2", 2, 1, 0, 10);
    let (c, w) = setup(d.clone(), vec![old.clone(), new.clone()]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(scales(&w), vec![(old.metadata.name.clone().unwrap(), 3)]);

    // Old at 3, new at 2, all available: the old one may lose two (5 available − 3).
    let old3 = set(&d, "busybox:1", 1, 3, 3, 0);
    let new2 = set(&d, "busybox:2", 2, 2, 2, 10);
    let (c, w) = setup(d.clone(), vec![old3, new2]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(scales(&w), vec![(old.metadata.name.clone().unwrap(), 1)]);
    let p = status_patch(&w);
    assert_eq!(p["status"]["updatedReplicas"], 2);
    assert_eq!(p["status"]["replicas"], 5);
}

#[tokio::test]
async fn a_finished_rollout_reports_available_and_prunes_history() {
    let d = deployment(
        2,
        "busybox:4",
        json!({"spec": {"revisionHistoryLimit": 1}, "status": {"replicas": 2,
        "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2, "observedGeneration": 1}}),
    );
    let sets = vec![
        set(&d, "busybox:1", 1, 0, 0, 0),
        set(&d, "busybox:2", 2, 0, 0, 1),
        set(&d, "busybox:3", 3, 0, 0, 2),
        set(&d, "busybox:4", 4, 2, 2, 3),
    ];
    let (c, w) = setup(d, sets.clone());
    c.sync("ns/web").await.unwrap();
    let mut deleted = w.deleted();
    deleted.sort();
    let mut want = vec![sets[0].metadata.name.clone().unwrap(), sets[1].metadata.name.clone().unwrap()];
    want.sort();
    assert_eq!(deleted, want, "the two oldest revisions beyond the limit");
    let p = status_patch(&w);
    assert_eq!(condition(&p, "Available")["reason"], "MinimumReplicasAvailable");
    let progressing = condition(&p, "Progressing");
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert!(progressing["message"].as_str().unwrap().ends_with("has successfully progressed."));
}

#[tokio::test]
async fn undoing_makes_the_old_replicaset_the_newest_revision() {
    let d = deployment(2, "busybox:1", json!({}));
    let first = set(&d, "busybox:1", 1, 0, 0, 0);
    let second = set(&d, "busybox:2", 2, 2, 2, 1);
    let (c, w) = setup(d, vec![first.clone(), second]);
    c.sync("ns/web").await.unwrap();
    let patch = w
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::Patch { name, patch: PatchBody::Merge(p), .. } if Some(&name) == first.metadata.name.as_ref() => {
                Some(p)
            }
            _ => None,
        })
        .expect("the old set's annotations are updated");
    let a = &patch["metadata"]["annotations"];
    assert_eq!(a["deployment.kubernetes.io/revision"], "3");
    assert_eq!(a["deployment.kubernetes.io/revision-history"], "1");
}

#[tokio::test]
async fn scaling_a_deployment_scales_its_only_replicaset() {
    let d = deployment(5, "busybox", json!({}));
    let rs = set(&deployment(2, "busybox", json!({})), "busybox", 1, 2, 2, 0);
    let (c, w) = setup(d, vec![rs.clone()]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(scales(&w), vec![(rs.metadata.name.clone().unwrap(), 5)]);
    let scale = w.calls().into_iter().find_map(|c| match c {
        Call::Patch { patch: PatchBody::Merge(p), status: false, .. } => Some(p),
        _ => None,
    });
    let scale = scale.unwrap();
    assert_eq!(scale["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"], "5");
    assert_eq!(scale["metadata"]["resourceVersion"], "3", "bound to the version read");
    let name = rs.metadata.name.clone().unwrap();
    assert_eq!(w.events(), [format!("ScalingReplicaSet: Scaled up replica set {name} from 2 to 5")]);
}

#[tokio::test]
async fn scaling_in_the_middle_of_a_rollout_is_proportional() {
    // Rollout of 10 (surge 3) was at old 8 + new 5 = 13; scaled to 20 (surge 5): 12 more.
    let d10 = deployment(10, "busybox:2", json!({}));
    let mut old = set(&d10, "busybox:1", 1, 8, 8, 0);
    let mut new = set(&d10, "busybox:2", 2, 5, 0, 1);
    for rs in [&mut old, &mut new] {
        let a = rs.metadata.annotations.as_mut().unwrap();
        a.insert("deployment.kubernetes.io/desired-replicas".into(), "10".into());
        a.insert("deployment.kubernetes.io/max-replicas".into(), "13".into());
    }
    let d20 = deployment(20, "busybox:2", json!({}));
    let (c, w) = setup(d20, vec![old.clone(), new.clone()]);
    c.sync("ns/web").await.unwrap();
    let mut got = scales(&w);
    got.sort();
    let mut want = vec![(old.metadata.name.clone().unwrap(), 15), (new.metadata.name.clone().unwrap(), 10)];
    want.sort();
    assert_eq!(got, want, "8·25/13 ≈ 15 and 5·25/13 ≈ 10: the 12 new replicas split 7 and 5");
}

#[tokio::test]
async fn recreate_scales_old_sets_to_zero_before_making_the_new_one() {
    let d = deployment(2, "busybox:2", json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}}));
    let old = set(&d, "busybox:1", 1, 2, 2, 0);
    let (c, w) = setup(d.clone(), vec![old.clone()]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(scales(&w), vec![(old.metadata.name.clone().unwrap(), 0)]);
    assert!(w.created().is_empty(), "no new set while old Pods run");

    let gone = set(&d, "busybox:1", 1, 0, 0, 0);
    let (c, w) = setup(d, vec![gone]);
    c.sync("ns/web").await.unwrap();
    assert_eq!(w.created().len(), 1);
    assert_eq!(w.created()[0]["spec"]["replicas"], 2);
}

#[tokio::test]
async fn a_paused_deployment_says_so_and_makes_no_new_replicaset() {
    let d = deployment(2, "busybox:2", json!({"spec": {"paused": true}}));
    let old = set(&d, "busybox:1", 1, 2, 2, 0);
    let (c, w) = setup(d, vec![old]);
    c.sync("ns/web").await.unwrap();
    assert!(w.created().is_empty());
    let p = status_patch(&w);
    let progressing = condition(&p, "Progressing");
    assert_eq!((&progressing["status"], &progressing["reason"]), (&json!("Unknown"), &json!("DeploymentPaused")));
}
