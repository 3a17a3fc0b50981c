//! Jobs as a new user meets them (as root, real containers): a Job of 5 completions, 2 at a
//! time, completes and `kubectl wait --for=condition=complete` returns; a failing Job stops
//! at its backoffLimit.

mod common;

use std::time::Duration;

use common::cluster::{root, Cluster};
use common::{get, kubectls, minor};
use serde_json::{json, Value};

/// A Pod template that runs `script` once in busybox.
fn pod_template(script: &str) -> Value {
    json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [{
        "name": "main", "image": "localhost/busybox:latest", "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script]}]}})
}

fn job(name: &str, completions: u32, parallelism: u32, backoff: u32, script: &str) -> String {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {
        "completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
        "template": pod_template(script)}})
    .to_string()
}

#[test]
fn jobs_complete_or_stop_at_their_backoff_limit() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let k = c.k();

    k.ok(&["apply", "-f", "-"], Some(&job("pi", 5, 2, 6, "echo done")));
    k.ok(&["wait", "--for=condition=complete", "job/pi", "--timeout=120s"], None);
    let j = get(&k, &["job", "pi"]);
    assert_eq!(j["status"]["succeeded"], 5, "{j}");
    assert!(j["status"]["completionTime"].is_string());
    assert_eq!(j["status"]["uncountedTerminatedPods"], serde_json::json!({}));
    let pods = get(&k, &["pods", "-l", "job-name=pi"]);
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for p in items {
        assert_eq!(p["status"]["phase"], "Succeeded");
        assert!(p["metadata"]["finalizers"].is_null(), "counted Pods lose the tracking finalizer");
    }
    let table = k.ok(&["get", "job", "pi"], None);
    let row: Vec<&str> = table.lines().nth(1).unwrap_or("").split_whitespace().collect();
    assert!(row.contains(&"5/5"), "{table}");
    let logs = k.ok(&["logs", "job/pi"], None);
    assert_eq!(logs.trim(), "done");

    // One retry after 10 s of back-off, then Failed.
    k.ok(&["apply", "-f", "-"], Some(&job("fails", 1, 1, 1, "exit 3")));
    k.ok(&["wait", "--for=condition=failed", "job/fails", "--timeout=120s"], None);
    let j = get(&k, &["job", "fails"]);
    assert_eq!(j["status"]["failed"], 2, "{j}");
    let conditions = j["status"]["conditions"].as_array().unwrap();
    let failed = conditions.iter().find(|c| c["type"] == "Failed").unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    c.wait_for("no more Pods", Duration::from_secs(5), || {
        get(&k, &["pods", "-l", "job-name=fails"])["items"].as_array().map(Vec::len) == Some(2)
    });
}

#[test]
fn cronjobs_start_jobs_on_schedule_and_keep_their_history() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let k = c.k();
    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"}, "spec": {
        "schedule": "*/1 * * * *", "timeZone": "Etc/UTC", "successfulJobsHistoryLimit": 2, "suspend": true,
        "jobTemplate": {"metadata": {"labels": {"app": "hello"}},
            "spec": {"template": pod_template("echo hello from cron")}}}});
    k.ok(&["apply", "-f", "-"], Some(&cronjob.to_string()));
    let table = k.ok(&["get", "cronjob", "hello"], None);
    let header: Vec<&str> = table.lines().next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header[..4], ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"], "{table}");
    assert!(table.contains("*/1 * * * *") && table.contains("Etc/UTC"), "{table}");

    // Jobs made by hand and owned by the CronJob count toward its history: of those that
    // completed, only the newest two are kept. The CronJob is suspended meanwhile (a suspended
    // CronJob still trims its history): a scheduled run started between them, should a minute
    // turn, would be older than the last and could be the one trimmed.
    let uid = get(&k, &["cronjob", "hello"])["metadata"]["uid"].as_str().unwrap().to_string();
    for name in ["m1", "m2", "m3"] {
        let owned = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name,
            "labels": {"app": "hello"}, "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                "name": "hello", "uid": uid, "controller": true}]},
            "spec": {"template": pod_template(&format!("echo {name}"))}})
        .to_string();
        k.ok(&["apply", "-f", "-"], Some(&owned));
        k.ok(&["wait", "--for=condition=complete", &format!("job/{name}"), "--timeout=60s"], None);
    }
    c.wait_for("the oldest completed job deleted", Duration::from_secs(10), || {
        let jobs = get(&k, &["jobs", "-l", "app=hello"]);
        let items = jobs["items"].as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = items.iter().map(|j| j["metadata"]["name"].as_str().unwrap_or("")).collect();
        let completed = items
            .iter()
            .filter(|j| {
                j["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Complete" && c["status"] == "True"))
            })
            .count();
        !names.contains(&"m1") && names.contains(&"m3") && completed <= 2
    });

    // Resumed, it starts a Job named for the minute (at once for a minute missed while
    // suspended, as Kubernetes does), which completes.
    k.ok(&["patch", "cronjob", "hello", "-p", r#"{"spec":{"suspend":false}}"#], None);
    c.wait_for("a scheduled run that completed", Duration::from_secs(90), || {
        let cj = get(&k, &["cronjob", "hello"]);
        cj["status"]["lastScheduleTime"].is_string()
            && cj["status"]["lastSuccessfulTime"].is_string()
            && cj["status"]["active"].is_null()
    });
    let cj = get(&k, &["cronjob", "hello"]);
    let jobs = get(&k, &["jobs", "-l", "app=hello"]);
    let scheduled: Vec<&serde_json::Value> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
                == cj["status"]["lastScheduleTime"]
        })
        .collect();
    assert_eq!(scheduled.len(), 1, "{jobs}");
    assert!(scheduled[0]["metadata"]["name"].as_str().unwrap().starts_with("hello-"));
    assert!(jobs["items"].as_array().unwrap().len() <= 2, "the history limit holds: {jobs}");
    let logs = k.ok(&["logs", &format!("job/{}", scheduled[0]["metadata"]["name"].as_str().unwrap())], None);
    assert_eq!(logs.trim(), "hello from cron");

    // `kubectl create job --from=cronjob/…` (kubectl 1.21 and newer know batch/v1 CronJobs).
    if let Some(newer) = kubectls().into_iter().filter(|b| minor(b) >= 21).max_by_key(|b| minor(b)) {
        let k = c.server().kubectl(&newer);
        k.ok(&["create", "job", "manual", "--from=cronjob/hello"], None);
        let manual = get(&k, &["job", "manual"]);
        assert_eq!(manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual");
        assert_eq!(manual["metadata"]["ownerReferences"][0]["uid"], json!(uid));
    }
}
