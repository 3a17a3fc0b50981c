use super::*;
use crate::pods::model::ObservedSandbox;
use serde_json::json;

fn pod(policy: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "myapp-pod", "namespace": "default", "uid": "u1"},
        "spec": {
            "restartPolicy": policy,
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "busybox"}]
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    }))
    .unwrap()
}

fn now() -> Timestamp {
    "2026-11-21T10:00:00Z".parse().unwrap()
}

fn c(name: &str, attempt: u32, state: ObservedState) -> ObservedContainer {
    ObservedContainer {
        id: format!("{name}{attempt}"),
        name: name.into(),
        attempt,
        sandbox: "s".into(),
        image: "busybox".into(),
        image_id: "sha256:abc".into(),
        state,
    }
}

fn exited(code: i32) -> ObservedState {
    ObservedState::Exited {
        exit_code: code,
        reason: if code == 0 { "Completed".into() } else { "Error".into() },
        message: None,
        started_at: Some(now()),
        finished_at: Some(now()),
    }
}

fn observed(containers: Vec<ObservedContainer>) -> ObservedPod {
    ObservedPod {
        sandboxes: vec![ObservedSandbox {
            id: "s".into(),
            attempt: 0,
            alive: true,
            ip: Some("10.42.0.7".parse().unwrap()),
        }],
        containers,
    }
}

fn status(pod: &Pod, o: &ObservedPod, waiting: &BTreeMap<String, Waiting>) -> PodStatus {
    compute(pod, &Inputs { observed: o, waiting, node_ip: "192.168.1.5", now: now(), probes: &BTreeMap::new() })
}

fn cond<'a>(s: &'a PodStatus, kind: &str) -> &'a PodCondition {
    s.conditions.as_ref().unwrap().iter().find(|c| c.type_ == kind).unwrap()
}

fn reason(s: &ContainerStatus) -> Option<&str> {
    s.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

#[test]
fn initializing_pods_are_pending_with_pod_initializing() {
    let none = BTreeMap::new();
    let s = status(&pod("Always"), &observed(vec![c("init", 0, ObservedState::Running { started_at: None })]), &none);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(cond(&s, "Initialized").status, "False");
    assert_eq!(cond(&s, "PodReadyToStartContainers").status, "True");
    assert_eq!(reason(&s.container_statuses.as_ref().unwrap()[0]), Some("PodInitializing"));
    assert_eq!(s.pod_ip.as_deref(), Some("10.42.0.7"));
    assert_eq!(s.host_ip.as_deref(), Some("192.168.1.5"));
    assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
}

#[test]
fn running_pods_are_ready() {
    let o = observed(vec![c("init", 0, exited(0)), c("app", 0, ObservedState::Running { started_at: Some(now()) })]);
    let s = status(&pod("Always"), &o, &BTreeMap::new());
    assert_eq!(s.phase.as_deref(), Some("Running"));
    for kind in ["Initialized", "Ready", "ContainersReady", "PodScheduled"] {
        assert_eq!(cond(&s, kind).status, "True", "{kind}");
    }
    let app = &s.container_statuses.as_ref().unwrap()[0];
    assert!(app.ready && app.started == Some(true));
    assert_eq!(app.container_id.as_deref(), Some("skiff://app0"));
    let init = &s.init_container_statuses.as_ref().unwrap()[0];
    assert_eq!(init.state.as_ref().unwrap().terminated.as_ref().unwrap().reason.as_deref(), Some("Completed"));
}

#[test]
fn crash_loops_show_back_off_and_the_last_state() {
    let o = observed(vec![c("init", 0, exited(0)), c("app", 0, exited(1)), c("app", 1, exited(1))]);
    let waiting = BTreeMap::from([(
        "app".to_string(),
        Waiting { reason: "CrashLoopBackOff".into(), message: Some("back-off 10s".into()) },
    )]);
    let s = status(&pod("Always"), &o, &waiting);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    let app = &s.container_statuses.as_ref().unwrap()[0];
    assert_eq!(reason(app), Some("CrashLoopBackOff"));
    assert_eq!(app.restart_count, 1);
    assert_eq!(app.last_state.as_ref().unwrap().terminated.as_ref().unwrap().exit_code, 1);
    assert_eq!(cond(&s, "Ready").status, "False");
}

#[test]
fn finished_pods_succeed_or_fail_by_policy() {
    let ok = observed(vec![c("init", 0, exited(0)), c("app", 0, exited(0))]);
    assert_eq!(status(&pod("OnFailure"), &ok, &BTreeMap::new()).phase.as_deref(), Some("Succeeded"));
    assert_eq!(status(&pod("Never"), &ok, &BTreeMap::new()).phase.as_deref(), Some("Succeeded"));
    assert_eq!(status(&pod("Always"), &ok, &BTreeMap::new()).phase.as_deref(), Some("Running"));
    let failed = observed(vec![c("init", 0, exited(0)), c("app", 0, exited(3))]);
    assert_eq!(status(&pod("Never"), &failed, &BTreeMap::new()).phase.as_deref(), Some("Failed"));
    let init_failed = observed(vec![c("init", 0, exited(1))]);
    assert_eq!(status(&pod("Never"), &init_failed, &BTreeMap::new()).phase.as_deref(), Some("Failed"));
    assert_eq!(status(&pod("OnFailure"), &init_failed, &BTreeMap::new()).phase.as_deref(), Some("Pending"));
}

#[test]
fn transition_times_are_kept_while_a_condition_holds() {
    let o = observed(vec![c("init", 0, exited(0)), c("app", 0, ObservedState::Running { started_at: None })]);
    let mut p = pod("Always");
    let first = status(&p, &o, &BTreeMap::new());
    p.status = Some(first.clone());
    let later: Timestamp = "2026-11-21T11:00:00Z".parse().unwrap();
    let second = compute(
        &p,
        &Inputs { observed: &o, waiting: &BTreeMap::new(), node_ip: "1.2.3.4", now: later, probes: &BTreeMap::new() },
    );
    assert_eq!(cond(&second, "Ready").last_transition_time, cond(&first, "Ready").last_transition_time);
    assert_eq!(second.start_time, first.start_time);
}

#[test]
fn readiness_follows_the_probes() {
    let running = ObservedState::Running { started_at: Some(now()) };
    let o = observed(vec![c("init", 0, exited(0)), c("app", 0, running)]);
    let unready = BTreeMap::from([("app0".to_string(), ProbeView { started: true, ready: false, unhealthy: None })]);
    let s = compute(
        &pod("Always"),
        &Inputs { observed: &o, waiting: &BTreeMap::new(), node_ip: "1.2.3.4", now: now(), probes: &unready },
    );
    assert_eq!(s.phase.as_deref(), Some("Running"));
    let app = &s.container_statuses.as_ref().unwrap()[0];
    assert!(!app.ready && app.started == Some(true));
    assert_eq!(cond(&s, "Ready").status, "False");
    assert_eq!(cond(&s, "Ready").message.as_deref(), Some("containers with unready status: [app]"));
    let not_started = BTreeMap::from([("app0".to_string(), ProbeView::default())]);
    let s = compute(
        &pod("Always"),
        &Inputs { observed: &o, waiting: &BTreeMap::new(), node_ip: "1.2.3.4", now: now(), probes: &not_started },
    );
    assert_eq!(s.container_statuses.as_ref().unwrap()[0].started, Some(false));
    assert_eq!(status(&pod("Always"), &o, &BTreeMap::new()).conditions.as_ref().unwrap()[2].status, "True");
}
