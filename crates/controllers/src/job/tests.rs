//! The Job controller against caches and a fake writer.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use super::{JobController, INDEX_KEY, TRACKING_FINALIZER};
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{PatchBody, JOBS, PODS};
use crate::testutil::merge;

fn job(spec: Value, status: Value) -> Arc<Job> {
    let mut s = json!({"parallelism": 2, "completions": 5, "backoffLimit": 1, "completionMode": "NonIndexed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j-uid"}},
        "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j-uid"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}});
    merge(&mut s, spec);
    Arc::new(
        serde_json::from_value(json!({"metadata": {"name": "pi", "namespace": "ns", "uid": "j-uid"},
            "spec": s, "status": status}))
        .unwrap(),
    )
}

fn pod(name: &str, phase: &str, extra: Value) -> Arc<Pod> {
    let mut v = json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"),
        "resourceVersion": "1", "finalizers": [TRACKING_FINALIZER],
        "labels": {"batch.kubernetes.io/controller-uid": "j-uid"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "j-uid", "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": phase}});
    merge(&mut v, extra);
    Arc::new(serde_json::from_value(v).unwrap())
}

fn setup(j: Arc<Job>, pods: Vec<Arc<Pod>>) -> (Arc<JobController>, Arc<FakeWriter>) {
    let jobs = Cache::default();
    jobs.insert(j);
    let cache = Cache::default();
    for p in pods {
        cache.insert(p);
    }
    let w = Arc::new(FakeWriter::default());
    (JobController::new(jobs, cache, w.clone()), w)
}

/// The status patches, in order.
fn status_patches(w: &FakeWriter) -> Vec<Value> {
    w.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { kind, status: true, patch: PatchBody::Merge(p), .. } if kind == JOBS => {
                Some(p["status"].clone())
            }
            _ => None,
        })
        .collect()
}

fn condition(status: &Value, type_: &str) -> Value {
    let list = status["conditions"].as_array().cloned().unwrap_or_default();
    list.into_iter().find(|c| c["type"] == type_).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_new_job_starts_parallelism_pods_that_carry_the_tracking_finalizer() {
    let (c, w) = setup(job(json!({}), json!({})), vec![]);
    c.sync("ns/pi").await.unwrap();
    let created = w.created();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["metadata"]["generateName"], "pi-");
    assert_eq!(created[0]["metadata"]["finalizers"], json!([TRACKING_FINALIZER]));
    assert_eq!(created[0]["metadata"]["ownerReferences"][0]["kind"], "Job");
    let status = status_patches(&w).pop().unwrap();
    assert!(status["startTime"].is_string());
}

#[tokio::test]
async fn finished_pods_are_recorded_then_released_then_counted() {
    let pods = vec![pod("a", "Succeeded", json!({})), pod("b", "Succeeded", json!({})), pod("c", "Running", json!({}))];
    let (c, w) = setup(job(json!({}), json!({"startTime": "2026-01-01T00:00:00Z"})), pods);
    c.sync("ns/pi").await.unwrap();
    let patches = status_patches(&w);
    assert_eq!(patches[0]["uncountedTerminatedPods"]["succeeded"], json!(["a-uid", "b-uid"]));
    let released: Vec<String> = w
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { kind, name, patch: PatchBody::Strategic(p), .. } if kind == PODS => {
                assert_eq!(p["metadata"]["$deleteFromPrimitiveList/finalizers"], json!([TRACKING_FINALIZER]));
                Some(name)
            }
            _ => None,
        })
        .collect();
    assert_eq!(released, ["a", "b"]);
    let last = patches.last().unwrap();
    assert_eq!((&last["succeeded"], &last["active"]), (&json!(2), &json!(1)));
    assert_eq!(last["uncountedTerminatedPods"], json!({"succeeded": null, "failed": null}));
    assert_eq!(w.created().len(), 1, "min(parallelism 2, 5 − 2 succeeded) − 1 active");
}

#[tokio::test]
async fn a_pod_counted_before_a_crash_is_not_counted_twice() {
    // The last sync recorded a-uid as uncounted and removed its finalizer, then stopped.
    let mut a = (*pod("a", "Succeeded", json!({}))).clone();
    a.metadata.finalizers = None;
    let status = json!({"startTime": "2026-01-01T00:00:00Z", "succeeded": 1,
        "uncountedTerminatedPods": {"succeeded": ["a-uid"]}});
    let (c, w) = setup(job(json!({}), status), vec![Arc::new(a)]);
    c.sync("ns/pi").await.unwrap();
    assert_eq!(status_patches(&w).last().unwrap()["succeeded"], 2);
}

#[tokio::test]
async fn a_stale_cached_pod_still_showing_the_finalizer_is_not_counted_again() {
    let pods = vec![pod("a", "Succeeded", json!({})), pod("b", "Running", json!({}))];
    let (c, w) = setup(job(json!({}), json!({"startTime": "2026-01-01T00:00:00Z"})), pods);
    c.sync("ns/pi").await.unwrap();
    assert_eq!(status_patches(&w).last().unwrap()["succeeded"], 1);
    // The Job's status write is seen; the Pod cache still has `a` with its finalizer.
    c.jobs.insert(job(json!({}), json!({"startTime": "2026-01-01T00:00:00Z", "succeeded": 1, "active": 2})));
    let before = status_patches(&w).len();
    c.sync("ns/pi").await.unwrap();
    assert!(status_patches(&w)[before..].iter().all(|p| p["succeeded"] != 2), "a-uid is counted once");
    // Once the Pod is seen without the finalizer, nothing is pending for it.
    let mut released = (*pod("a", "Succeeded", json!({}))).clone();
    released.metadata.finalizers = None;
    c.on_pod(None, Some(&Arc::new(released)));
    assert!(!c.removals.pending("ns/pi", "a-uid"));
}

#[tokio::test]
async fn status_writes_are_conditional_on_the_cached_resource_version() {
    let mut j = (*job(json!({}), json!({"startTime": "2026-01-01T00:00:00Z"}))).clone();
    j.metadata.resource_version = Some("7".into());
    let (c, w) = setup(Arc::new(j), vec![pod("a", "Succeeded", json!({}))]);
    c.sync("ns/pi").await.unwrap();
    let rvs: Vec<Value> = w
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { kind, status: true, patch: PatchBody::Merge(p), .. } if kind == JOBS => {
                Some(p["metadata"]["resourceVersion"].clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(rvs.first(), Some(&json!("7")), "{rvs:?}");
    assert_eq!(rvs.len(), 2);
}

#[tokio::test]
async fn failures_beyond_the_backoff_limit_fail_the_job() {
    let pods = vec![pod("a", "Failed", json!({})), pod("b", "Failed", json!({})), pod("c", "Running", json!({}))];
    let (c, w) = setup(job(json!({}), json!({"startTime": "2026-01-01T00:00:00Z"})), pods);
    c.sync("ns/pi").await.unwrap();
    assert_eq!(w.deleted(), ["c"], "the active Pod goes");
    let last = status_patches(&w).pop().unwrap();
    assert_eq!(last["failed"], 2);
    let failed = condition(&last, "Failed");
    assert_eq!((&failed["status"], &failed["reason"]), (&json!("True"), &json!("BackoffLimitExceeded")));
    assert_eq!(failed["message"], "Job has reached the specified backoff limit");
    assert_eq!(condition(&last, "FailureTarget")["reason"], "BackoffLimitExceeded");
    let events = w.events();
    assert_eq!(
        events,
        ["SuccessfulDelete: Deleted pod: c", "BackoffLimitExceeded: Job has reached the specified backoff limit"]
    );
}

#[tokio::test]
async fn enough_successes_complete_the_job() {
    let pods = vec![pod("a", "Succeeded", json!({})), pod("b", "Succeeded", json!({}))];
    let (c, w) =
        setup(job(json!({"completions": 5}), json!({"succeeded": 3, "startTime": "2026-01-01T00:00:00Z"})), pods);
    c.sync("ns/pi").await.unwrap();
    let last = status_patches(&w).pop().unwrap();
    assert_eq!(last["succeeded"], 5);
    assert_eq!(condition(&last, "Complete")["reason"], "CompletionsReached");
    assert_eq!(condition(&last, "SuccessCriteriaMet")["status"], "True");
    assert!(last["completionTime"].is_string());
    assert!(w.created().is_empty());
    assert_eq!(w.events(), ["Completed: Job completed"]);
}

#[tokio::test]
async fn indexed_pods_get_free_indexes_hostnames_and_the_index_variable() {
    let done = pod("a", "Succeeded", json!({"metadata": {"annotations": {INDEX_KEY: "0"}}}));
    let running = pod("b", "Running", json!({"metadata": {"annotations": {INDEX_KEY: "1"}}}));
    let j = job(json!({"completionMode": "Indexed", "completions": 4, "parallelism": 3}), json!({}));
    let (c, w) = setup(j, vec![done, running]);
    c.sync("ns/pi").await.unwrap();
    let created = w.created();
    let idx: Vec<&str> = created.iter().map(|p| p["metadata"]["annotations"][INDEX_KEY].as_str().unwrap()).collect();
    assert_eq!(idx, ["2", "3"]);
    assert_eq!(created[0]["metadata"]["generateName"], "pi-2-");
    assert_eq!(created[0]["spec"]["hostname"], "pi-2");
    assert_eq!(created[0]["spec"]["containers"][0]["env"][0]["name"], "JOB_COMPLETION_INDEX");
    assert_eq!(status_patches(&w).last().unwrap()["completedIndexes"], "0");
}

#[tokio::test]
async fn a_suspended_job_stops_its_pods() {
    let (c, w) = setup(job(json!({"suspend": true}), json!({})), vec![pod("a", "Running", json!({}))]);
    c.sync("ns/pi").await.unwrap();
    assert_eq!(w.deleted(), ["a"]);
    let last = status_patches(&w).pop().unwrap();
    assert_eq!(condition(&last, "Suspended")["reason"], "JobSuspended");
    assert!(last["startTime"].is_null());
}
