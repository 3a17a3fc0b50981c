//! Pods on the node agent as a user runs them with kubectl (as root): a real sandbox, Pod
//! network, volumes, containers in order, restarts, status.

mod common;

use std::time::Duration;

use common::cluster::Cluster;

fn root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: needs root");
    false
}

const MYAPP: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels:
    app: myapp
spec:
  nodeName: node-a
  containers:
  - name: myapp-container
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo Hello Kubernetes! && sleep 3600']
"#;

#[test]
fn the_first_pod_runs_with_its_own_ip() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    c.k().ok(&["apply", "-f", "-"], Some(MYAPP));
    c.wait_phase("myapp-pod", "Running");
    let ip = c.pod_field("myapp-pod", "{.status.podIP}");
    assert!(ip.starts_with(c.cidr.trim_end_matches("0/24")), "pod IP {ip} in {}", c.cidr);
    let wide = c.k().ok(&["get", "pods", "-o", "wide"], None);
    assert!(
        wide.contains("myapp-pod") && wide.contains("Running") && wide.contains(&ip) && wide.contains("node-a"),
        "{wide}"
    );
    assert_eq!(c.pod_field("myapp-pod", "{.status.conditions[?(@.type==\"Ready\")].status}"), "True");
    assert_eq!(c.pod_field("myapp-pod", "{.status.hostIP}"), "127.0.0.1");
    // The node reaches the Pod's address.
    let ping = std::process::Command::new("ping").args(["-c1", "-W2", &ip]).output();
    if let Ok(p) = ping {
        assert!(p.status.success(), "ping {ip}: {}", String::from_utf8_lossy(&p.stdout));
    }
    c.k().ok(&["delete", "pod", "myapp-pod", "--grace-period=1"], None);
    c.wait_for("the pod to be gone", Duration::from_secs(30), || {
        !c.k().run(&["get", "pod", "myapp-pod"], None).status.success()
    });
}
