use super::*;
use serde_json::json;

fn candidate(name: &str, priority: i32, usage: u64, request: u64) -> Candidate {
    Candidate { namespace: "default".into(), name: name.into(), uid: name.into(), priority, usage, request }
}

#[test]
fn thresholds_parse_in_kubelet_syntax() {
    let t = parse("memory.available<100Mi, nodefs.available<10%").unwrap();
    assert_eq!(t, Thresholds::default());
    assert_eq!(parse("memory.available<1Gi").unwrap().nodefs, None);
    assert!(parse("memory.available>1Gi").is_err());
    assert!(parse("imagefs.available<15%").is_err());
    assert!(parse("nodefs.available<150%").is_err());
    assert!(parse("memory.available<lots").is_err());
}

#[test]
fn signals_cross_their_thresholds() {
    let t = Thresholds::default();
    let o = Observation {
        memory_available: 50 << 20,
        memory_capacity: 8 << 30,
        nodefs_available: 20 << 30,
        nodefs_capacity: 100 << 30,
    };
    assert_eq!(crossed(&t, &o), [Signal::Memory]);
    let o = Observation { memory_available: 1 << 30, nodefs_available: 5 << 30, ..o };
    assert_eq!(crossed(&t, &o), [Signal::Disk]);
    assert!(crossed(&Thresholds { memory: None, nodefs: None }, &o).is_empty());
}

#[test]
fn best_effort_and_greedy_pods_go_first() {
    let ranked = rank(vec![
        candidate("guaranteed", 0, 60 << 20, 64 << 20),
        candidate("burstable-within", 0, 10 << 20, 32 << 20),
        candidate("besteffort", 0, 5 << 20, 0),
        candidate("burstable-over", 0, 80 << 20, 16 << 20),
        candidate("important-over", 1000, 500 << 20, 0),
    ]);
    let names: Vec<&str> = ranked.iter().map(|c| c.name.as_str()).collect();
    // Over requests first (by priority, then by how far over), then the rest (closest to
    // their requests first).
    assert_eq!(names, ["burstable-over", "besteffort", "important-over", "guaranteed", "burstable-within"]);
}

#[test]
fn requests_sum_app_containers_and_messages_read_like_the_kubelets() {
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "i", "resources": {"requests": {"memory": "1Gi"}}}],
        "containers": [
            {"name": "a", "resources": {"requests": {"memory": "64Mi", "ephemeral-storage": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"memory": "32Mi"}}}]}}))
    .unwrap();
    assert_eq!(requests(&pod), (1 << 30, 1 << 30));
    let o = Observation { memory_available: 50 << 20, memory_capacity: 8 << 30, ..Observation::default() };
    let text = message(Signal::Memory, &Thresholds::default(), &o, &candidate("web", 0, 80 << 20, 0));
    assert_eq!(
        text,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Pod web was using 80Mi, request is 0. "
    );
    assert_eq!(
        (quantity(1536), quantity(100 << 20), quantity(3 << 30), quantity(12)),
        ("1Ki".into(), "100Mi".into(), "3Gi".into(), "12".into())
    );
}
