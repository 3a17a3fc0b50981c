use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::framework::config::{Profile, SchedulerConfig};
use crate::framework::registry::{PluginContext, PodBinder};
use crate::framework::{NodeInfo, PodInfo, Snapshot};
use crate::plugins::testing::{node, node_with, pod, pod_req, with_pods};

struct NoBinder;

#[async_trait::async_trait]
impl PodBinder for NoBinder {
    async fn bind(&self, _: &str, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
}

pub(crate) fn framework(profile_yaml: &str) -> Framework {
    let config = SchedulerConfig::parse(profile_yaml).unwrap();
    let profile: &Profile = &config.profiles[0];
    let ctx = PluginContext { binder: Some(Arc::new(NoBinder)) };
    Framework::new(profile, &crate::plugins::registry(), &ctx).unwrap()
}

fn run(nodes: Vec<NodeInfo>, p: &PodInfo) -> Result<ScheduleResult, ScheduleError> {
    let s = Snapshot::from_nodes(nodes);
    Algorithm::new(0).schedule(&framework("{}"), &mut CycleState::default(), p, &s, &Nominated::new())
}

fn prio(mut p: Value, priority: i32) -> Value {
    p["spec"]["priority"] = json!(priority);
    p
}

fn req_pod(name: &str, cpu: &str, priority: i32) -> PodInfo {
    pod(prio(
        json!({"metadata": {"name": name}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}),
        priority,
    ))
}

#[test]
fn the_default_profile_has_kubernetes_plugins_and_weights() {
    let fw = framework("{}");
    let d: std::collections::HashMap<_, _> = fw.describe().into_iter().collect();
    assert_eq!(d["queueSort"], ["PrioritySort"]);
    assert_eq!(
        d["filter"],
        [
            "NodeUnschedulable",
            "NodeName",
            "TaintToleration",
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "PodTopologySpread",
            "InterPodAffinity"
        ]
    );
    assert_eq!(
        d["score"],
        [
            "TaintToleration:3",
            "NodeAffinity:2",
            "NodeResourcesFit:1",
            "PodTopologySpread:2",
            "InterPodAffinity:2",
            "NodeResourcesBalancedAllocation:1",
            "ImageLocality:1"
        ]
    );
    assert_eq!(d["postFilter"], ["DefaultPreemption"]);
    assert_eq!(d["bind"], ["DefaultBinder"]);
}

#[test]
fn profiles_disable_and_reweight_plugins() {
    let fw = framework(
        "profiles: [{plugins: {score: {disabled: [{name: '*'}], enabled: [{name: NodeResourcesFit, weight: 7}]},
                                filter: {disabled: [{name: TaintToleration}]}}}]",
    );
    let d: std::collections::HashMap<_, _> = fw.describe().into_iter().collect();
    assert_eq!(d["score"], ["NodeResourcesFit:7"]);
    assert!(!d["filter"].contains(&"TaintToleration".to_string()));
    let config = SchedulerConfig::parse("profiles: [{plugins: {filter: {enabled: [{name: Nope}]}}}]").unwrap();
    let err = Framework::new(&config.profiles[0], &crate::plugins::registry(), &PluginContext::default());
    assert!(err.is_err());
}

#[test]
fn pods_go_where_they_fit_and_spread_by_least_allocated() {
    let nodes = vec![node_with("small", "1", "1Gi", json!(null)), node_with("big", "8", "16Gi", json!(null))];
    assert_eq!(run(nodes.clone(), &pod_req("p", "2", "1Gi")).unwrap().node, "big");
    // Both fit; the emptier (relative) node wins.
    let busy_big = with_pods(nodes[1].clone(), vec![pod_req("x", "7", "15Gi")]);
    assert_eq!(run(vec![nodes[0].clone(), busy_big], &pod_req("p", "100m", "100Mi")).unwrap().node, "small");
}

#[test]
fn the_failure_message_has_kubernetes_shape() {
    let tainted = node(json!({"metadata": {"name": "t"}, "spec": {"taints": [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}}}));
    let nodes = vec![
        tainted,
        with_pods(node_with("a", "1", "1Gi", json!(null)), vec![pod_req("x", "900m", "")]),
        with_pods(node_with("b", "1", "1Gi", json!(null)), vec![pod_req("y", "900m", "")]),
    ];
    let err = run(nodes, &pod_req("p", "500m", "")).unwrap_err();
    assert_eq!(
        err.message(),
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
         2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, \
         2 No preemption victims found for incoming pod."
    );
    assert_eq!(run(vec![], &pod_req("p", "1", "")).unwrap_err().message(), "no nodes available to schedule pods");
}

#[test]
fn preemption_evicts_the_fewest_least_important_pods() {
    let n1 =
        with_pods(node_with("n1", "2", "4Gi", json!(null)), vec![req_pod("low-a", "1", 10), req_pod("low-b", "1", 10)]);
    let n2 = with_pods(node_with("n2", "2", "4Gi", json!(null)), vec![req_pod("mid", "2", 100)]);
    let err = run(vec![n1, n2], &req_pod("high", "1", 1000)).unwrap_err();
    let ScheduleError::Fit(fit) = err else { panic!("a fit error") };
    let p = fit.preemption.expect("preemption found a node");
    assert_eq!(p.nominated_node.as_deref(), Some("n1"));
    assert_eq!(p.victims.len(), 1, "one of the two low Pods is enough");
    // A Pod that may not preempt says so.
    let mut never = json!({"metadata": {"name": "n"}, "spec": {"preemptionPolicy": "Never", "containers": [
        {"name": "c", "resources": {"requests": {"cpu": "2"}}}]}});
    never = prio(never, 1000);
    let full = with_pods(node_with("n1", "2", "4Gi", json!(null)), vec![req_pod("low", "2", 1)]);
    let msg = run(vec![full], &pod(never)).unwrap_err().message();
    assert!(msg.ends_with("Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."), "{msg}");
}

#[test]
fn nominated_pods_hold_their_room() {
    let n = node_with("n", "2", "4Gi", json!(null));
    let s = Snapshot::from_nodes(vec![n]);
    let mut nominated = Nominated::new();
    nominated.insert("n".into(), vec![Arc::new(req_pod("waiting", "2", 1000))]);
    let fw = framework("{}");
    let low = req_pod("low", "1", 0);
    assert!(Algorithm::new(0).schedule(&fw, &mut CycleState::default(), &low, &s, &nominated).is_err());
    let higher = req_pod("higher", "1", 2000);
    assert_eq!(Algorithm::new(0).schedule(&fw, &mut CycleState::default(), &higher, &s, &nominated).unwrap().node, "n");
}

#[test]
fn large_clusters_score_a_sample_of_nodes() {
    assert_eq!(num_feasible_nodes_to_find(0, 50), 50);
    assert_eq!(num_feasible_nodes_to_find(0, 1000), 420);
    assert_eq!(num_feasible_nodes_to_find(0, 5000), 500);
    assert_eq!(num_feasible_nodes_to_find(0, 6000), 300);
    assert_eq!(num_feasible_nodes_to_find(10, 500), 100);
}
