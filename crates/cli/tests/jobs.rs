//! Jobs as a new user meets them (as root, real containers): a Job of 5 completions, 2 at a
//! time, completes and `kubectl wait --for=condition=complete` returns; a failing Job stops
//! at its backoffLimit.

mod common;

use std::time::Duration;

use common::cluster::{root, Cluster};
use common::get;

fn job(name: &str, completions: u32, parallelism: u32, backoff: u32, script: &str) -> String {
    format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  completions: {completions}
  parallelism: {parallelism}
  backoffLimit: {backoff}
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: localhost/busybox:latest
        imagePullPolicy: IfNotPresent
        command: ['sh', '-c', '{script}']
"#
    )
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
