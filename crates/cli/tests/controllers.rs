//! Controllers as a new user meets them: a ReplicaSet keeps its Pods (on hollow nodes)
//! through deletes, scaling up and down, and adopts a matching orphan.

mod common;

use std::time::Duration;

use common::hollow::Hollow;
use common::{get, kubectls, wait_for, Kubectl, Server};
use serde_json::Value;

/// Names of the Pods with `app=web` that are not being deleted.
fn live_pods(k: &Kubectl<'_>) -> Vec<(String, Value)> {
    let list = get(k, &["pods", "-l", "app=web"]);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| (p["metadata"]["name"].as_str().unwrap_or("").to_string(), p))
        .collect()
}

fn wait_ready(k: &Kubectl<'_>, n: i64) {
    wait_for(&format!("{n} ready replicas"), Duration::from_secs(30), || {
        let rs = get(k, &["rs", "web"]);
        let ready = rs["status"]["readyReplicas"].as_i64().unwrap_or(0);
        ready == n && rs["status"]["replicas"].as_i64() == Some(n) && live_pods(k).len() == n as usize
    });
}

const RS: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox
"#;

#[test]
fn a_replicaset_keeps_its_pods() {
    let server = Server::start();
    let bin = kubectls().pop().expect("a kubectl");
    let k = server.kubectl(&bin);
    let _nodes = Hollow::start(&server, "h", 2, &[]);
    wait_for("2 nodes", Duration::from_secs(30), || get(&k, &["nodes"])["items"].as_array().map(Vec::len) == Some(2));

    k.ok(&["apply", "-f", "-"], Some(RS));
    wait_ready(&k, 3);
    let rs = get(&k, &["rs", "web"]);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 3);
    assert_eq!(rs["status"]["availableReplicas"], 3);
    assert_eq!(rs["status"]["observedGeneration"], 1);
    let table = k.ok(&["get", "rs", "-l", "app=web"], None);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["web", "3", "3", "3"], "{table}");
    let pods = live_pods(&k);
    let uid = rs["metadata"]["uid"].as_str().unwrap();
    for (name, p) in &pods {
        assert!(name.starts_with("web-") && name.len() == "web-".len() + 5, "{name}");
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].as_str(), owner["uid"].as_str(), owner["controller"].as_bool()),
            (Some("ReplicaSet"), Some(uid), Some(true))
        );
    }

    // A deleted Pod is replaced by a new one.
    let victim = pods[0].0.clone();
    k.ok(&["delete", "pod", &victim], None);
    wait_ready(&k, 3);
    assert!(live_pods(&k).iter().all(|(n, _)| *n != victim));

    // Scale up and down through the scale subresource.
    k.ok(&["scale", "rs", "web", "--replicas=5"], None);
    wait_ready(&k, 5);
    k.ok(&["scale", "rs", "web", "--replicas=0"], None);
    wait_for("no Pods", Duration::from_secs(30), || {
        get(&k, &["pods", "-l", "app=web"])["items"].as_array().is_some_and(Vec::is_empty)
            && get(&k, &["rs", "web"])["status"]["replicas"] == 0
    });

    // A matching orphan is adopted by a new ReplicaSet instead of a new Pod being made.
    k.ok(&["delete", "rs", "web"], None);
    k.ok(&["run", "stray", "--image=busybox", "--labels=app=web"], None);
    k.ok(&["apply", "-f", "-"], Some(&RS.replace("replicas: 3", "replicas: 1")));
    wait_ready(&k, 1);
    let uid = get(&k, &["rs", "web"])["metadata"]["uid"].as_str().unwrap().to_string();
    let pods = live_pods(&k);
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].0, "stray");
    assert_eq!(pods[0].1["metadata"]["ownerReferences"][0]["uid"].as_str(), Some(uid.as_str()));
}
