//! The scheduler, as a new user meets it: hollow nodes of different sizes, Pods placed by
//! their requests, a Pod that fits nowhere waiting with Kubernetes' message until a big
//! enough node appears, nodeSelector, taints, anti-affinity, topology spread, cordon,
//! preemption, and a 2,000-Pod burst against 50 nodes that never over-commits one.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::hollow::Hollow;
use common::{get, kubectls, wait_for, Kubectl, Server};
use serde_json::{json, Value};

fn kubectl_bin() -> PathBuf {
    kubectls().pop().expect("a kubectl")
}

fn node_of(k: &Kubectl<'_>, pod: &str) -> String {
    get(k, &["pod", pod])["spec"]["nodeName"].as_str().unwrap_or("").to_string()
}

fn wait_bound(k: &Kubectl<'_>, pod: &str) -> String {
    let mut node = String::new();
    wait_for(&format!("{pod} to be bound"), Duration::from_secs(30), || {
        node = node_of(k, pod);
        !node.is_empty()
    });
    node
}

fn wait_nodes(k: &Kubectl<'_>, n: usize) {
    wait_for(&format!("{n} nodes"), Duration::from_secs(30), || {
        get(k, &["nodes"])["items"].as_array().map(Vec::len) == Some(n)
    });
}

fn pod(name: &str, cpu: &str, spec_extra: Value) -> String {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}});
    if let Value::Object(extra) = spec_extra {
        for (key, v) in extra {
            if key == "labels" {
                p["metadata"]["labels"] = v;
            } else {
                p["spec"][key] = v;
            }
        }
    }
    p.to_string()
}

/// Waits until the Pod's PodScheduled condition message passes `check`; shows the last one if not.
fn wait_message(k: &Kubectl<'_>, pod: &str, check: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        let cond = pod_scheduled_condition(k, pod);
        let msg = cond["message"].as_str().unwrap_or("").to_string();
        if check(&msg) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{pod}: unexpected PodScheduled message {msg:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pod_scheduled_condition(k: &Kubectl<'_>, pod: &str) -> Value {
    let p = get(k, &["pod", pod]);
    p["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "PodScheduled").cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn pods_land_where_they_fit_and_wait_with_kubernetes_message() {
    let server = Server::start();
    let bin = kubectl_bin();
    let k = server.kubectl(&bin);
    let _small = Hollow::start(&server, "small", 1, &["--cpu", "1", "--memory", "2Gi"]);
    let _medium = Hollow::start(&server, "medium", 1, &["--cpu", "2", "--memory", "4Gi"]);
    let _large = Hollow::start(&server, "large", 1, &["--cpu", "4", "--memory", "8Gi"]);
    wait_nodes(&k, 3);

    k.ok(&["apply", "-f", "-"], Some(&pod("three-cpus", "3", json!({}))));
    assert_eq!(wait_bound(&k, "three-cpus"), "large-0");
    k.ok(&["apply", "-f", "-"], Some(&pod("one-and-a-half", "1500m", json!({}))));
    assert_eq!(wait_bound(&k, "one-and-a-half"), "medium-0");
    wait_for("hollow nodes to run the Pods", Duration::from_secs(20), || {
        get(&k, &["pod", "three-cpus"])["status"]["phase"] == "Running"
    });

    // Fits nowhere: Pending, with the message and condition Kubernetes gives.
    k.ok(&["apply", "-f", "-"], Some(&pod("eight-cpus", "8", json!({}))));
    let mut cond = Value::Null;
    wait_for("PodScheduled=False", Duration::from_secs(20), || {
        cond = pod_scheduled_condition(&k, "eight-cpus");
        cond["status"] == "False"
    });
    assert_eq!(cond["reason"], "Unschedulable");
    let expected = "0/3 nodes are available: 3 Insufficient cpu. \
                    preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    assert_eq!(cond["message"], expected);
    let describe = k.ok(&["describe", "pod", "eight-cpus"], None);
    assert!(describe.contains("FailedScheduling") && describe.contains(expected), "{describe}");
    let table = k.ok(&["get", "pod", "eight-cpus"], None);
    assert!(table.contains("Pending"), "{table}");

    // A big enough node appears: scheduled at once.
    let _huge = Hollow::start(&server, "huge", 1, &["--cpu", "16", "--memory", "32Gi"]);
    assert_eq!(wait_bound(&k, "eight-cpus"), "huge-0");
    let describe = k.ok(&["describe", "pod", "eight-cpus"], None);
    assert!(describe.contains("Successfully assigned default/eight-cpus to huge-0"), "{describe}");
}

#[test]
fn selectors_taints_anti_affinity_spread_and_cordon_behave_as_in_kubernetes() {
    let server = Server::start();
    let bin = kubectl_bin();
    let k = server.kubectl(&bin);
    let _nodes = Hollow::start(&server, "n", 3, &["--zones", "3", "--node-label", "pool=general"]);
    let _gpu = Hollow::start(&server, "gpu", 1, &["--node-label", "accelerator=gpu"]);
    wait_nodes(&k, 4);

    // nodeSelector.
    k.ok(&["apply", "-f", "-"], Some(&pod("wants-gpu", "100m", json!({"nodeSelector": {"accelerator": "gpu"}}))));
    assert_eq!(wait_bound(&k, "wants-gpu"), "gpu-0");

    // A tainted node keeps out Pods that do not tolerate the taint.
    k.ok(&["taint", "nodes", "gpu-0", "dedicated=ml:NoSchedule"], None);
    let to_gpu = json!({"nodeSelector": {"accelerator": "gpu"}});
    k.ok(&["apply", "-f", "-"], Some(&pod("no-toleration", "100m", to_gpu.clone())));
    wait_message(&k, "no-toleration", |m| {
        m.starts_with("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}, 3 node(s) didn't match Pod's node affinity/selector.")
    });
    let mut tolerant = to_gpu;
    tolerant["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]);
    k.ok(&["apply", "-f", "-"], Some(&pod("tolerates", "100m", tolerant)));
    assert_eq!(wait_bound(&k, "tolerates"), "gpu-0");

    // Required anti-affinity: one web Pod per node of the pool, the fourth waits.
    let anti = json!({"labels": {"app": "web"}, "nodeSelector": {"pool": "general"},
        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}});
    for i in 0..4 {
        k.ok(&["apply", "-f", "-"], Some(&pod(&format!("web-{i}"), "100m", anti.clone())));
    }
    let mut nodes: Vec<String> = (0..3).map(|i| wait_bound(&k, &format!("web-{i}"))).collect();
    nodes.sort();
    assert_eq!(nodes, ["n-0", "n-1", "n-2"]);
    // The tainted GPU node fails TaintToleration, which runs before NodeAffinity; the placed
    // Pods' own anti-affinity is checked before the incoming Pod's, as in Kubernetes.
    wait_message(&k, "web-3", |m| {
        m.starts_with("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}, 3 node(s) didn't satisfy existing pods anti-affinity rules.")
    });

    // Topology spread across zones with maxSkew 1: six Pods, two per zone.
    let spread = json!({"labels": {"app": "spread"}, "nodeSelector": {"pool": "general"},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "spread"}}}]});
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for i in 0..6 {
        let name = format!("spread-{i}");
        k.ok(&["apply", "-f", "-"], Some(&pod(&name, "10m", spread.clone())));
        *per_node.entry(wait_bound(&k, &name)).or_default() += 1;
    }
    assert_eq!(per_node.values().copied().collect::<Vec<_>>(), vec![2, 2, 2], "{per_node:?}");

    // Cordon keeps new Pods off a node; uncordon lets them back.
    k.ok(&["cordon", "n-0", "n-1", "n-2"], None);
    let pool = json!({"nodeSelector": {"pool": "general"}});
    k.ok(&["apply", "-f", "-"], Some(&pod("after-cordon", "100m", pool)));
    wait_message(&k, "after-cordon", |m| m.contains("3 node(s) were unschedulable"));
    k.ok(&["uncordon", "n-1"], None);
    assert_eq!(wait_bound(&k, "after-cordon"), "n-1");
}

#[test]
fn a_high_priority_pod_preempts_lower_priority_ones() {
    let server = Server::start();
    let bin = kubectl_bin();
    let k = server.kubectl(&bin);
    let _nodes = Hollow::start(&server, "p", 2, &["--cpu", "2"]);
    wait_nodes(&k, 2);
    k.ok(&["create", "priorityclass", "high", "--value=1000"], None);
    k.ok(&["create", "priorityclass", "low", "--value=10"], None);
    let low = json!({"priorityClassName": "low"});
    for i in 0..4 {
        k.ok(&["apply", "-f", "-"], Some(&pod(&format!("low-{i}"), "1", low.clone())));
        wait_bound(&k, &format!("low-{i}"));
    }
    k.ok(&["apply", "-f", "-"], Some(&pod("high", "1500m", json!({"priorityClassName": "high"}))));
    let node = wait_bound(&k, "high");
    // Both low Pods of that node had to go (1.5 CPUs of 2); the other node's stay.
    wait_for("the victims to be gone", Duration::from_secs(30), || {
        let pods = get(&k, &["pods"]);
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        let on_node = items.iter().filter(|p| p["spec"]["nodeName"] == node.as_str()).count();
        on_node == 1 && items.len() == 3
    });
    let events = k.ok(&["get", "events", "--field-selector", "reason=Preempted"], None);
    assert!(events.contains("Preempted by pod"), "{events}");
}

#[test]
fn two_thousand_pods_on_fifty_nodes_never_over_commit_a_node() {
    let server = Server::start();
    let bin = kubectl_bin();
    let k = server.kubectl(&bin);
    let _nodes = Hollow::start(&server, "s", 50, &["--cpu", "4", "--memory", "8Gi", "--pods", "30"]);
    wait_nodes(&k, 50);
    // 150m each: 26 fit by CPU on a node (3,900m of 4,000m), so 1,300 of the 2,000 run.
    let items: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("burst-{i}")},
                "spec": {"containers": [{"name": "c", "image": "busybox",
                    "resources": {"requests": {"cpu": "150m", "memory": "100Mi"}}}]}})
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    k.ok(&["create", "-f", "-", "-o", "name"], Some(&list));
    let bound = || -> Vec<(String, i64)> {
        let pods = get(&k, &["pods"]);
        pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| {
                let node = p["spec"]["nodeName"].as_str()?;
                Some((node.to_string(), 150))
            })
            .collect()
    };
    let mut placed = Vec::new();
    wait_for("1,300 Pods to be bound", Duration::from_secs(240), || {
        placed = bound();
        placed.len() >= 1300
    });
    std::thread::sleep(Duration::from_secs(2));
    placed = bound();
    assert_eq!(placed.len(), 1300, "exactly what fits is bound");
    let mut per_node: HashMap<String, (i64, usize)> = HashMap::new();
    for (node, milli) in placed {
        let e = per_node.entry(node).or_default();
        e.0 += milli;
        e.1 += 1;
    }
    for (node, (milli, count)) in &per_node {
        assert!(*milli <= 4000 && *count <= 30, "{node} is over-committed: {milli}m in {count} Pods");
    }
    assert_eq!(per_node.len(), 50);
    let pending = get(&k, &["pods", "--field-selector", "spec.nodeName="]);
    let first = &pending["items"][0]["status"]["conditions"][0];
    assert_eq!(first["reason"], "Unschedulable", "{first}");
}
