//! Durable write cost of the SQLite backend for Pod-shaped objects (~4 KB of JSON, created and
//! then updated twice, as a Pod is bound and reported Running), 16 writers at once:
//! `cargo bench -p skiff-store`. Prints writes/s and the process's CPU time per write.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use skiff_store::{SqliteOptions, SqliteStore, Store};

/// A Pod as the API server stores it (labels, a container, managedFields, a status).
fn pod(i: usize, phase: &str) -> Bytes {
    let containers: Vec<String> = (0..2)
        .map(|c| {
            format!(
                r#"{{"name":"c{c}","image":"registry.k8s.io/pause:3.10","resources":{{"requests":{{"cpu":"100m","memory":"500Mi"}}}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}}"#
            )
        })
        .collect();
    let s = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"pod-{i}","namespace":"default","uid":"4f1b3c1e-1c5e-4c59-9a3e-{i:012}","creationTimestamp":"2026-11-21T10:00:00Z","labels":{{"app":"bench","pod-template-hash":"5d8f9b7c6"}},"managedFields":[{{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-11-21T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:labels":{{".":{{}},"f:app":{{}},"f:pod-template-hash":{{}}}}}},"f:spec":{{"f:containers":{{"k:{{\"name\":\"c0\"}}":{{".":{{}},"f:image":{{}},"f:name":{{}},"f:resources":{{".":{{}},"f:requests":{{".":{{}},"f:cpu":{{}},"f:memory":{{}}}}}}}}}}}}}}}}]}},"spec":{{"containers":[{}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","schedulerName":"default-scheduler","priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","tolerations":[{{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}},{{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}}]}},"status":{{"phase":"{phase}","qosClass":"Burstable","conditions":[{conditions}],"containerStatuses":[{statuses}]}}}}"#,
        containers.join(","),
        conditions = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
            .map(|t| format!(r#"{{"type":"{t}","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:01Z"}}"#))
            .join(","),
        statuses = (0..2)
            .map(|c| format!(r#"{{"name":"c{c}","image":"registry.k8s.io/pause:3.10","imageID":"","ready":true,"started":true,"restartCount":0,"containerID":"hollow://c{c}","state":{{"running":{{"startedAt":"2026-11-21T10:00:02Z"}}}}}}"#))
            .collect::<Vec<_>>()
            .join(","),
    );
    Bytes::from(s)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Arc::new(SqliteStore::open(SqliteOptions { path: dir.path().join("state.db"), durable: true }).expect("open"));
    let (writers, per_writer) = (16usize, 1000usize);
    println!("value size: {} bytes", pod(0, "Pending").len());
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let n = w * per_writer + i;
                let key = format!("/registry/pods/default/pod-{n}");
                let kv = store.create(&key, pod(n, "Pending")).await.expect("create");
                let kv = store.update(&key, pod(n, "Pending"), kv.mod_revision).await.expect("update");
                store.update(&key, pod(n, "Running"), kv.mod_revision).await.expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let writes = (writers * per_writer * 3) as f64;
    let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let size = std::fs::metadata(dir.path().join("state.db")).map(|m| m.len()).unwrap_or(0);
    println!(
        "{:.0} writes/s, {:.1} µs CPU per write, database {:.1} MB",
        writes / wall,
        cpu * 1e6 / writes,
        size as f64 / 1e6
    );
}
