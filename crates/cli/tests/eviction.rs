//! Resources and node-pressure eviction (as root): Pods get cgroups in their QoS tier with
//! their containers' summed limits, and when the node's disk runs short of its eviction
//! threshold the agent evicts them one at a time — BestEffort first, then by usage beyond
//! requests — with phase Failed, reason Evicted, and an Evicted event; DiskPressure follows.
//! The shortage is made by a ballast file in the test's own folder, against a threshold set
//! just under the file system's current free space.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{root, Cluster};

const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: besteffort
spec:
  nodeName: node-a
  containers:
  - name: app
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'dd if=/dev/zero of=/scratch/fill bs=1024 count=1024 && sleep 3600']
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes: [{name: scratch, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: burstable
spec:
  nodeName: node-a
  containers:
  - name: app
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sleep', '3600']
    resources:
      requests: {memory: 16Mi, ephemeral-storage: 100Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: guaranteed
spec:
  nodeName: node-a
  containers:
  - name: app
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sleep', '3600']
    resources:
      limits: {cpu: 250m, memory: 64Mi, ephemeral-storage: 200Mi}
"#;

fn available(dir: &Path) -> u64 {
    let s = rustix::fs::statvfs(dir).unwrap();
    s.f_bavail * s.f_frsize
}

fn condition(c: &Cluster, kind: &str) -> String {
    let path = format!("jsonpath={{.status.conditions[?(@.type==\"{kind}\")].status}}");
    String::from_utf8_lossy(&c.k().run(&["get", "node", "node-a", "-o", &path], None).stdout).into_owned()
}

#[test]
fn disk_pressure_evicts_best_effort_pods_first() {
    if !root() {
        return;
    }
    let probe = tempfile::tempdir().unwrap();
    let free = available(probe.path());
    if free < 6 << 30 {
        eprintln!("skipped: needs 6 GiB free for the ballast");
        return;
    }
    // Pressure once 2 GiB of today's free space are gone.
    let threshold = format!("nodefs.available<{}", free - (2 << 30));
    let c = Cluster::start(&[
        "--eviction-hard",
        &threshold,
        "--eviction-interval-seconds",
        "1",
        "--node-lease-seconds",
        "1",
    ]);
    c.k().ok(&["apply", "-f", "-"], Some(PODS));
    for pod in ["besteffort", "burstable", "guaranteed"] {
        c.wait_phase(pod, "Running");
    }
    assert_eq!(condition(&c, "DiskPressure"), "False");

    // Each Pod's cgroup sits in its QoS tier, with the Pod's limits.
    let memory = Path::new("/sys/fs/cgroup/memory/skiff/kubepods");
    let uid = |name: &str| c.pod_field(name, "{.metadata.uid}");
    assert!(memory.join(format!("besteffort/pod{}", uid("besteffort"))).is_dir());
    assert!(memory.join(format!("burstable/pod{}", uid("burstable"))).is_dir());
    let limit =
        std::fs::read_to_string(memory.join(format!("pod{}/memory.limit_in_bytes", uid("guaranteed")))).unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    assert_eq!(c.pod_field("guaranteed", "{.status.qosClass}"), "Guaranteed");

    // The ballast: 4 GiB, allocated at once.
    let ballast = c.dir().join("ballast");
    let out = std::process::Command::new("fallocate").args(["-l", "4G"]).arg(&ballast).output().unwrap();
    assert!(out.status.success(), "fallocate: {}", String::from_utf8_lossy(&out.stderr));
    for pod in ["besteffort", "burstable", "guaranteed"] {
        c.wait_phase(pod, "Failed");
        assert_eq!(c.pod_field(pod, "{.status.reason}"), "Evicted");
        let message = c.pod_field(pod, "{.status.message}");
        assert!(message.starts_with("The node was low on resource: ephemeral-storage."), "{message}");
    }
    c.wait_for("DiskPressure", Duration::from_secs(20), || condition(&c, "DiskPressure") == "True");
    // One Pod per round, in the kubelet's order: the Evicted events, oldest first.
    let events: serde_json::Value =
        serde_json::from_str(&c.k().ok(&["get", "events", "--field-selector", "reason=Evicted", "-o", "json"], None))
            .unwrap();
    let mut evicted: Vec<(u64, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let rv = e["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
            (rv, e["involvedObject"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    evicted.sort();
    let order: Vec<&str> = evicted.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(order, ["besteffort", "burstable", "guaranteed"]);
    // Evicted Pods stay (Failed) with their containers gone; the space comes back.
    c.wait_for("the containers to stop", Duration::from_secs(20), || {
        !c.pod_field("guaranteed", "{.status.containerStatuses[0].state.terminated.exitCode}").is_empty()
    });
    std::fs::remove_file(&ballast).unwrap();
    c.wait_for("DiskPressure to end", Duration::from_secs(20), || condition(&c, "DiskPressure") == "False");
}
