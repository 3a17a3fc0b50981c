//! The CronJob controller against caches and a fake writer, at chosen times.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use serde_json::{json, Value};

use super::{CronJobController, SCHEDULED_TIMESTAMP};
use crate::machinery::cache::Cache;
use crate::machinery::writer::fake::{Call, FakeWriter};
use crate::machinery::writer::{PatchBody, CRONJOBS, JOBS};
use crate::testutil::merge;

fn ms(s: &str) -> i64 {
    s.parse::<k8s_openapi::jiff::Timestamp>().unwrap().as_millisecond()
}

fn cronjob(spec: Value, status: Value) -> Arc<CronJob> {
    let mut s = json!({"schedule": "*/1 * * * *", "timeZone": "UTC", "concurrencyPolicy": "Allow",
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
        "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox"}]}}}}});
    merge(&mut s, spec);
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": "hello", "namespace": "d", "uid": "cj-uid", "resourceVersion": "5",
                "creationTimestamp": "2026-11-21T10:00:30Z"},
            "spec": s, "status": status}))
        .unwrap(),
    )
}

fn job(name: &str, condition: Option<&str>, start: &str) -> Arc<Job> {
    let conditions = condition.map(|c| json!([{"type": c, "status": "True"}]));
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "d", "uid": format!("{name}-uid"), "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                    "uid": "cj-uid", "controller": true}]},
            "status": {"startTime": start, "completionTime": condition.map(|_| start), "conditions": conditions}}))
        .unwrap(),
    )
}

fn active(names: &[&str]) -> Value {
    json!(names
        .iter()
        .map(
            |n| json!({"apiVersion": "batch/v1", "kind": "Job", "name": n, "namespace": "d", "uid": format!("{n}-uid")})
        )
        .collect::<Vec<_>>())
}

fn setup(cj: Arc<CronJob>, jobs: Vec<Arc<Job>>) -> (Arc<CronJobController>, Arc<FakeWriter>) {
    let cronjobs = Cache::default();
    cronjobs.insert(cj);
    let cache = Cache::default();
    let w = Arc::new(FakeWriter::default());
    for j in jobs {
        w.put(JOBS, serde_json::to_value(j.as_ref()).unwrap());
        cache.insert(j);
    }
    (CronJobController::new(cronjobs, cache, w.clone()), w)
}

fn status_patches(w: &FakeWriter) -> Vec<Value> {
    w.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Patch { kind, status: true, patch: PatchBody::Merge(p), .. } if kind == CRONJOBS => Some(p),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_due_time_starts_one_job_named_for_it() {
    let (c, w) = setup(cronjob(json!({}), json!({})), vec![]);
    let again = c.sync_at("d/hello", ms("2026-11-21T10:01:05Z")).await.unwrap();
    assert_eq!(again, Some(Duration::from_millis(55_100)), "the next minute, a little after");
    let created = w.created();
    assert_eq!(created.len(), 1);
    let minute = ms("2026-11-21T10:01:00Z") / 60_000;
    assert_eq!(created[0]["metadata"]["name"], format!("hello-{minute}"));
    assert_eq!(created[0]["metadata"]["annotations"][SCHEDULED_TIMESTAMP], "2026-11-21T10:01:00Z");
    assert_eq!(created[0]["metadata"]["ownerReferences"][0]["uid"], "cj-uid");
    let patch = status_patches(&w).pop().unwrap();
    assert_eq!(patch["metadata"]["resourceVersion"], "5");
    assert_eq!(patch["status"]["lastScheduleTime"], "2026-11-21T10:01:00Z");
    assert_eq!(patch["status"]["active"][0]["name"], format!("hello-{minute}"));
    assert_eq!(patch["status"]["active"][0]["kind"], "Job");
    assert_eq!(w.events(), [format!("SuccessfulCreate: Created job hello-{minute}")]);

    // Before the next minute nothing more happens.
    let status = json!({"lastScheduleTime": "2026-11-21T10:01:00Z", "active": active(&["x"])});
    let (c, w) = setup(cronjob(json!({}), status), vec![job("x", None, "2026-11-21T10:01:00Z")]);
    c.sync_at("d/hello", ms("2026-11-21T10:01:30Z")).await.unwrap();
    assert!(w.created().is_empty());
}

#[tokio::test]
async fn forbid_waits_for_the_running_job_and_replace_deletes_it() {
    let status = json!({"lastScheduleTime": "2026-11-21T10:01:00Z", "active": active(&["x"])});
    let running = job("x", None, "2026-11-21T10:01:00Z");
    let (c, w) = setup(cronjob(json!({"concurrencyPolicy": "Forbid"}), status.clone()), vec![running.clone()]);
    c.sync_at("d/hello", ms("2026-11-21T10:02:01Z")).await.unwrap();
    assert!(w.created().is_empty());
    let events = w.events();
    assert_eq!(
        events,
        ["JobAlreadyActive: Not starting job because prior execution is running and concurrency policy is Forbid"]
    );

    let (c, w) = setup(cronjob(json!({"concurrencyPolicy": "Replace"}), status), vec![running]);
    c.sync_at("d/hello", ms("2026-11-21T10:02:01Z")).await.unwrap();
    assert_eq!(w.deleted(), ["x"]);
    assert_eq!(w.created().len(), 1);
    let patch = status_patches(&w).pop().unwrap();
    assert_eq!(patch["status"]["active"].as_array().unwrap().len(), 1, "only the new Job is active");
}

#[tokio::test]
async fn finished_jobs_leave_the_active_list_and_old_ones_go_beyond_the_limits() {
    let status = json!({"lastScheduleTime": "2026-11-21T10:05:00Z", "active": active(&["j5"])});
    let jobs = vec![
        job("j1", Some("Complete"), "2026-11-21T10:01:00Z"),
        job("j2", Some("Complete"), "2026-11-21T10:02:00Z"),
        job("j3", Some("Failed"), "2026-11-21T10:03:00Z"),
        job("j4", Some("Complete"), "2026-11-21T10:04:00Z"),
        job("j5", Some("Complete"), "2026-11-21T10:05:00Z"),
        job("j0", Some("Failed"), "2026-11-21T10:00:00Z"),
    ];
    let (c, w) = setup(cronjob(json!({}), status), jobs);
    c.sync_at("d/hello", ms("2026-11-21T10:05:30Z")).await.unwrap();
    let mut deleted = w.deleted();
    deleted.sort();
    assert_eq!(deleted, ["j0", "j1"], "3 successful and 1 failed are kept");
    let patch = status_patches(&w).pop().unwrap();
    assert_eq!(patch["status"]["active"], Value::Null);
    assert_eq!(patch["status"]["lastSuccessfulTime"], "2026-11-21T10:05:00Z");
}

#[tokio::test]
async fn suspended_or_too_late_cronjobs_start_nothing() {
    let (c, w) = setup(cronjob(json!({"suspend": true}), json!({})), vec![]);
    assert_eq!(c.sync_at("d/hello", ms("2026-11-21T10:01:05Z")).await.unwrap(), None);
    assert!(w.created().is_empty());
    let (c, w) = setup(cronjob(json!({"startingDeadlineSeconds": 3}), json!({})), vec![]);
    c.sync_at("d/hello", ms("2026-11-21T10:01:05Z")).await.unwrap();
    assert!(w.created().is_empty(), "10:01 is more than 3 s ago");
}
