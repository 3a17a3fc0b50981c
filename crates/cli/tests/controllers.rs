//! Controllers as a new user meets them: a ReplicaSet keeps its Pods (on hollow nodes)
//! through deletes, scaling up and down, and adopts a matching orphan.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::hollow::{Component, Hollow};
use common::{get, kubectls, wait_for, Kubectl, Server};
use serde_json::{json, Value};

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

/// A server without an agent, two hollow nodes, and the newest kubectl.
fn cluster() -> (Server, PathBuf, Hollow) {
    let server = Server::start();
    let bin = kubectls().pop().expect("a kubectl");
    let nodes = Hollow::start(&server, "h", 2, &[]);
    let k = server.kubectl(&bin);
    wait_for("2 nodes", Duration::from_secs(30), || get(&k, &["nodes"])["items"].as_array().map(Vec::len) == Some(2));
    (server, bin, nodes)
}

#[test]
fn a_replicaset_keeps_its_pods() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);

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

/// Seed 003's Deployment, as written there.
const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: test
  labels:
    app: test
spec:
  replicas: 2
  template:
    metadata:
      name: test
      labels:
        app: test
    spec:
      containers:
        - name: test
          image: nginx
          imagePullPolicy: IfNotPresent
      restartPolicy: Always
  selector:
    matchLabels:
      app: test
"#;

/// The first data row of a `kubectl get` table, split on whitespace.
fn first_row(k: &Kubectl<'_>, args: &[&str]) -> Vec<String> {
    let table = k.ok(args, None);
    table.lines().nth(1).unwrap_or("").split_whitespace().map(String::from).collect()
}

fn live(k: &Kubectl<'_>, selector: &str) -> Vec<String> {
    let list = get(k, &["pods", "-l", selector]);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits until the Deployment reports `n` replicas, all updated and available, and `n` live Pods.
fn wait_deployment(k: &Kubectl<'_>, n: i64) {
    wait_for(&format!("deployment at {n}"), Duration::from_secs(60), || {
        let d = get(k, &["deploy", "test"]);
        let s = &d["status"];
        let count = |f: &str| s[f].as_i64().unwrap_or(0);
        s["observedGeneration"] == d["metadata"]["generation"]
            && count("replicas") == n
            && count("updatedReplicas") == n
            && count("availableReplicas") == n
            && live(k, "app=test").len() == n as usize
    });
}

#[test]
fn a_deployment_rolls_out_scales_and_rolls_back() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);

    k.ok(&["apply", "-f", "-"], Some(DEPLOYMENT));
    wait_deployment(&k, 2);
    let row = first_row(&k, &["get", "deploy", "-l", "app=test"]);
    assert_eq!(&row[..4], ["test", "2/2", "2", "2"], "{row:?}");
    let row = first_row(&k, &["get", "rs", "-l", "app=test"]);
    assert!(row[0].starts_with("test-"), "{row:?}");
    assert_eq!(&row[1..4], ["2", "2", "2"], "{row:?}");
    let d = get(&k, &["deploy", "test"]);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    let conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let reason = |t: &str| conditions.iter().find(|c| c["type"] == t).map(|c| c["reason"].clone());
    assert_eq!(reason("Available"), Some("MinimumReplicasAvailable".into()));
    assert_eq!(reason("Progressing"), Some("NewReplicaSetAvailable".into()));

    // The controllers' Events, as `kubectl describe` shows them.
    let rs_name = first_row(&k, &["get", "rs", "-l", "app=test"])[0].clone();
    let before = live(&k, "app=test");
    wait_for("the controllers' Events", Duration::from_secs(10), || {
        let d = k.ok(&["describe", "deployment", "test"], None);
        let rs = k.ok(&["describe", "rs", &rs_name], None);
        d.contains("ScalingReplicaSet")
            && d.contains(&format!("Scaled up replica set {rs_name} from 0 to 2"))
            && d.contains("deployment-controller")
            && before.iter().all(|p| rs.contains(&format!("Created pod: {p}")))
            && rs.contains("replicaset-controller")
    });

    // A deleted Pod is replaced under another name.
    k.ok(&["delete", "pod", &before[0], "--wait=false"], None);
    wait_for("a replacement", Duration::from_secs(10), || {
        let now = live(&k, "app=test");
        now.len() == 2 && !now.contains(&before[0])
    });

    // A new image rolls out; history and undo.
    k.ok(&["set", "image", "deployment/test", "test=nginx:2"], None);
    k.ok(&["rollout", "status", "deployment/test", "--timeout=60s"], None);
    wait_deployment(&k, 2);
    let images: Vec<Value> = get(&k, &["pods", "-l", "app=test"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["spec"]["containers"][0]["image"].clone())
        .collect();
    assert_eq!(images, vec![Value::from("nginx:2"); 2]);
    assert_eq!(get(&k, &["rs", "-l", "app=test"])["items"].as_array().map(Vec::len), Some(2));
    let history = k.ok(&["rollout", "history", "deployment/test"], None);
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(revisions.contains(&"1") && revisions.contains(&"2"), "{history}");
    k.ok(&["rollout", "undo", "deployment/test"], None);
    k.ok(&["rollout", "status", "deployment/test", "--timeout=60s"], None);
    wait_deployment(&k, 2);
    let d = get(&k, &["deploy", "test"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    let history = k.ok(&["rollout", "history", "deployment/test"], None);
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["2", "3"], "{history}");

    // Scale, restart, scale to zero.
    k.ok(&["scale", "deployment", "test", "--replicas=5"], None);
    wait_deployment(&k, 5);
    k.ok(&["rollout", "restart", "deployment/test"], None);
    k.ok(&["rollout", "status", "deployment/test", "--timeout=60s"], None);
    wait_deployment(&k, 5);
    assert_eq!(get(&k, &["rs", "-l", "app=test"])["items"].as_array().map(Vec::len), Some(3));
    k.ok(&["scale", "deployment", "test", "--replicas=0"], None);
    wait_for("no Pods", Duration::from_secs(30), || live(&k, "app=test").is_empty());
    let row = first_row(&k, &["get", "deploy", "test"]);
    assert_eq!(&row[..4], ["test", "0/0", "0", "0"], "{row:?}");
}

fn count(k: &Kubectl<'_>, what: &str) -> usize {
    get(k, &[what, "-l", "app=test"])["items"].as_array().map_or(0, Vec::len)
}

#[test]
fn deleting_a_deployment_cascades_as_asked() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);

    // Orphan: the ReplicaSet and Pods stay, without their owner.
    k.ok(&["apply", "-f", "-"], Some(DEPLOYMENT));
    wait_deployment(&k, 2);
    k.ok(&["delete", "deployment", "test", "--cascade=orphan"], None);
    wait_for("the owner reference dropped", Duration::from_secs(20), || {
        let sets = get(&k, &["rs", "-l", "app=test"]);
        sets["items"].as_array().is_some_and(|s| s.len() == 1 && s[0]["metadata"]["ownerReferences"].is_null())
    });
    assert!(k.run(&["get", "deployment", "test"], None).status.code() != Some(0));
    assert_eq!(live(&k, "app=test").len(), 2);

    // A new Deployment adopts the orphaned ReplicaSet; background deletion removes everything.
    k.ok(&["apply", "-f", "-"], Some(DEPLOYMENT));
    wait_deployment(&k, 2);
    assert_eq!(count(&k, "rs"), 1, "adopted, not replaced");
    k.ok(&["delete", "deployment", "test"], None);
    wait_for("no ReplicaSets or Pods", Duration::from_secs(30), || count(&k, "rs") == 0 && count(&k, "pods") == 0);

    // Foreground: kubectl returns once the Deployment is gone, after its dependents.
    k.ok(&["apply", "-f", "-"], Some(DEPLOYMENT));
    wait_deployment(&k, 2);
    k.ok(&["delete", "deployment", "test", "--cascade=foreground", "--timeout=60s"], None);
    assert_eq!((count(&k, "rs"), count(&k, "pods")), (0, 0));
}

const DAEMONSET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox
"#;

/// The node of each live `app=agent` Pod.
fn agent_nodes(k: &Kubectl<'_>) -> Vec<String> {
    let list = get(k, &["pods", "-l", "app=agent"]);
    let mut nodes: Vec<String> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running")
        .map(|p| p["spec"]["nodeName"].as_str().unwrap_or("").to_string())
        .collect();
    nodes.sort();
    nodes
}

#[test]
fn a_daemonset_runs_one_pod_on_every_node() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);
    k.ok(&["apply", "-f", "-"], Some(DAEMONSET));
    wait_for("a daemon on each node", Duration::from_secs(30), || agent_nodes(&k) == ["h-0", "h-1"]);
    wait_for("the status", Duration::from_secs(30), || {
        let row = first_row(&k, &["get", "ds", "agent"]);
        row.len() > 6 && row[..6] == ["agent", "2", "2", "2", "2", "2"]
    });

    // A new node gets its daemon.
    let _more = Hollow::start(&server, "x", 1, &[]);
    wait_for("a daemon on the new node", Duration::from_secs(30), || agent_nodes(&k) == ["h-0", "h-1", "x-0"]);

    // A node that stops matching the selector loses its daemon.
    k.ok(&["label", "node", "h-0", "edge=yes"], None);
    k.ok(&["patch", "ds", "agent", "-p", r#"{"spec":{"template":{"spec":{"nodeSelector":{"edge":"yes"}}}}}"#], None);
    wait_for("only h-0 keeps one", Duration::from_secs(30), || agent_nodes(&k) == ["h-0"]);

    // Both templates are in the history; undo brings the first back (every node again).
    let history = k.ok(&["rollout", "history", "daemonset/agent"], None);
    assert!(history.lines().filter_map(|l| l.split_whitespace().next()).collect::<Vec<_>>().ends_with(&["1", "2"]));
    k.ok(&["rollout", "undo", "daemonset/agent"], None);
    wait_for("a daemon on each node again", Duration::from_secs(30), || agent_nodes(&k) == ["h-0", "h-1", "x-0"]);
}

const STATEFULSET: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 3
  selector:
    matchLabels: {app: sts}
  template:
    metadata:
      labels: {app: sts}
    spec:
      containers:
      - name: web
        image: busybox
"#;

#[test]
fn a_statefulset_comes_up_and_goes_down_in_order() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);
    k.ok(&["apply", "-f", "-"], Some(STATEFULSET));
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"], None);
    let pods = get(&k, &["pods", "-l", "app=sts"]);
    let mut items = pods["items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|p| p["metadata"]["creationTimestamp"].as_str().unwrap_or("").to_string());
    let names: Vec<&str> = items.iter().map(|p| p["metadata"]["name"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    // Each started after the one before it was ready.
    for pair in items.windows(2) {
        let ready = pair[0]["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or("")
            .to_string();
        let next = pair[1]["metadata"]["creationTimestamp"].as_str().unwrap_or("");
        assert!(
            ready.as_str() <= next,
            "{} made at {next}, before the previous was ready at {ready}",
            pair[1]["metadata"]["name"]
        );
    }
    for (i, p) in items.iter().enumerate() {
        assert_eq!(p["spec"]["hostname"], format!("web-{i}"));
        assert_eq!(p["spec"]["subdomain"], "nginx");
        assert_eq!(p["metadata"]["labels"]["apps.kubernetes.io/pod-index"], i.to_string());
    }
    let row = first_row(&k, &["get", "sts", "web"]);
    assert_eq!(&row[..2], ["web", "3/3"], "{row:?}");

    // A deleted Pod comes back under the same name; scaling down removes the highest first.
    k.ok(&["delete", "pod", "web-1", "--wait=false"], None);
    wait_for("web-1 back", Duration::from_secs(30), || {
        let p = get(&k, &["pod", "web-1"]);
        p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running"
    });
    k.ok(&["scale", "sts", "web", "--replicas=1"], None);
    wait_for("only web-0", Duration::from_secs(30), || {
        let names: Vec<String> = get(&k, &["pods", "-l", "app=sts"])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect();
        names == ["web-0"]
    });
    k.ok(&["set", "image", "sts/web", "web=busybox:2"], None);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"], None);
    assert_eq!(get(&k, &["pod", "web-0"])["spec"]["containers"][0]["image"], "busybox:2");

    // Each template is a ControllerRevision: the history lists both, and undo goes back.
    let history = k.ok(&["rollout", "history", "statefulset/web"], None);
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(revisions.ends_with(&["1", "2"]), "{history}");
    let table = k.ok(&["get", "controllerrevisions"], None);
    assert!(table.lines().nth(1).is_some_and(|l| l.contains("statefulset.apps/web")), "{table}");
    k.ok(&["rollout", "undo", "statefulset/web"], None);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"], None);
    wait_for("web-0 back on busybox", Duration::from_secs(30), || {
        get(&k, &["pod", "web-0"])["spec"]["containers"][0]["image"] == "busybox"
    });
    let history = k.ok(&["rollout", "history", "statefulset/web"], None);
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(revisions.ends_with(&["2", "3"]), "the first template is now revision 3: {history}");
}

/// A Deployment of two Pods (which tolerate an unreachable node for as long as the server's
/// `--default-unreachable-toleration-seconds` says).
const MOVABLE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mover
spec:
  replicas: 2
  selector:
    matchLabels: {app: mover}
  template:
    metadata:
      labels: {app: mover}
    spec:
      containers:
      - name: c
        image: busybox
"#;

/// (name, node) of the live `app=mover` Pods that run.
fn movers(k: &Kubectl<'_>) -> Vec<(String, String)> {
    let list = get(k, &["pods", "-l", "app=mover"]);
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running")
        .map(|p| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (s(&p["metadata"]["name"]), s(&p["spec"]["nodeName"]))
        })
        .collect()
}

#[test]
fn pods_of_a_node_that_goes_silent_are_made_again_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let flags =
        ["--disable-agent", "--node-monitor-grace-period", "3s", "--default-unreachable-toleration-seconds", "2"];
    let server = Server::start_with(tmp.path(), &flags);
    let bin = kubectls().pop().expect("a kubectl");
    let k = server.kubectl(&bin);
    let fast = ["--lease-interval-seconds", "1"];
    let doomed = Hollow::start(&server, "a", 1, &fast);
    wait_for("node a-0", Duration::from_secs(30), || get(&k, &["nodes"])["items"].as_array().map(Vec::len) == Some(1));
    k.ok(&["apply", "-f", "-"], Some(MOVABLE));
    wait_for("2 Pods on a-0", Duration::from_secs(30), || {
        let m = movers(&k);
        m.len() == 2 && m.iter().all(|(_, n)| n == "a-0")
    });
    let pod = get(&k, &["pod", &movers(&k)[0].0]);
    let tolerations = pod["spec"]["tolerations"].as_array().cloned().unwrap_or_default();
    let seconds = |key: &str| tolerations.iter().find(|t| t["key"] == key).map(|t| t["tolerationSeconds"].clone());
    assert_eq!(
        (seconds("node.kubernetes.io/not-ready"), seconds("node.kubernetes.io/unreachable")),
        (Some(300.into()), Some(2.into())),
        "{tolerations:?}"
    );
    let _survivor = Hollow::start(&server, "b", 1, &fast);
    wait_for("node b-0", Duration::from_secs(30), || get(&k, &["nodes"])["items"].as_array().map(Vec::len) == Some(2));

    drop(doomed);
    wait_for("a-0 Unknown and tainted", Duration::from_secs(30), || {
        let n = get(&k, &["node", "a-0"]);
        let ready = n["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned());
        let taints = n["spec"]["taints"].as_array().cloned().unwrap_or_default();
        ready.is_some_and(|r| r["status"] == "Unknown" && r["reason"] == "NodeStatusUnknown")
            && taints.iter().any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute")
    });
    wait_for("2 Pods again, on b-0", Duration::from_secs(30), || {
        let m = movers(&k);
        m.len() == 2 && m.iter().all(|(_, n)| n == "b-0")
    });
}

#[test]
fn every_namespace_gets_a_default_service_account() {
    let server = Server::start();
    let bin = kubectls().pop().expect("a kubectl");
    let k = server.kubectl(&bin);
    let has_default = |ns: &str| k.run(&["get", "serviceaccount", "default", "-n", ns], None).status.success();
    wait_for("default/default", Duration::from_secs(10), || has_default("default"));
    k.ok(&["create", "namespace", "team"], None);
    wait_for("team/default", Duration::from_secs(10), || has_default("team"));
    let table = k.ok(&["get", "sa", "-n", "team"], None);
    assert!(table.lines().nth(1).is_some_and(|l| l.starts_with("default")), "{table}");
    k.ok(&["delete", "sa", "default", "-n", "team"], None);
    wait_for("team/default again", Duration::from_secs(10), || has_default("team"));
}

#[test]
fn a_replication_controller_keeps_its_pods_like_a_replica_set() {
    let (server, bin, _nodes) = cluster();
    let k = server.kubectl(&bin);
    // The ReplicaSet above as a ReplicationController: its selector is a map of labels.
    let rc = RS
        .replace("apps/v1", "v1")
        .replace("ReplicaSet", "ReplicationController")
        .replace("matchLabels: {app: web}", "app: web")
        .replace("replicas: 3", "replicas: 2");
    k.ok(&["apply", "-f", "-"], Some(&rc));
    let ready = |n: i64| {
        wait_for(&format!("{n} ready"), Duration::from_secs(30), || {
            let rc = get(&k, &["rc", "web"]);
            rc["status"]["readyReplicas"].as_i64().unwrap_or(0) == n && live_pods(&k).len() == n as usize
        })
    };
    ready(2);
    let table = k.ok(&["get", "rc", "-o", "wide"], None);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!((&row[..4], row.last()), (&["web", "2", "2", "2"][..], Some(&"app=web")), "{table}");
    for (_, p) in live_pods(&k) {
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicationController");
    }
    let victim = live_pods(&k)[0].0.clone();
    k.ok(&["delete", "pod", &victim], None);
    ready(2);
    k.ok(&["scale", "rc", "web", "--replicas=3"], None);
    ready(3);
    let scale = k.ok(&["get", "--raw", "/api/v1/namespaces/default/replicationcontrollers/web/scale"], None);
    let scale: Value = serde_json::from_str(&scale).unwrap();
    assert_eq!((&scale["spec"]["replicas"], &scale["status"]["selector"]), (&json!(3), &json!("app=web")));
    k.ok(&["delete", "rc", "web"], None);
    wait_for("its Pods gone", Duration::from_secs(30), || live_pods(&k).is_empty());
}

#[test]
fn one_controller_manager_leads_and_another_takes_over_when_it_dies() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(tmp.path(), &["--disable-agent", "--disable-controller-manager"]);
    let bin = kubectls().pop().expect("a kubectl");
    let k = server.kubectl(&bin);
    let _nodes = Hollow::start(&server, "h", 1, &[]);
    let fast =
        ["--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"];
    let start = |log: &str| {
        let mut args = vec!["controller-manager"];
        args.extend(fast);
        Component::start(&server, log, "admin.token", &args)
    };
    let mut first = Some(start("cm-1"));
    let holder = || -> String {
        let out = k.run(&["get", "lease", "-n", "kube-system", "kube-controller-manager", "-o", "json"], None);
        let lease: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        lease["spec"]["holderIdentity"].as_str().unwrap_or("").to_string()
    };
    wait_for("a leader", Duration::from_secs(20), || !holder().is_empty());
    let leader = holder();
    let _second = start("cm-2");
    k.ok(&["apply", "-f", "-"], Some(&RS.replace("replicas: 3", "replicas: 1")));
    wait_ready(&k, 1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(holder(), leader, "the second one waits while the first renews");

    // The leader dies; the other takes the Lease over and keeps the ReplicaSet.
    drop(first.take());
    wait_for("a new leader", Duration::from_secs(20), || {
        let h = holder();
        !h.is_empty() && h != leader
    });
    k.ok(&["scale", "rs", "web", "--replicas=2"], None);
    wait_ready(&k, 2);
    let lease = get(&k, &["lease", "-n", "kube-system", "kube-controller-manager"]);
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}
