use super::*;
use crate::pods::model::ObservedSandbox;
use serde_json::json;

fn pod(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).unwrap()
}

fn web(policy: &str) -> Pod {
    pod(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {
            "restartPolicy": policy,
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "busybox"}, {"name": "side", "image": "busybox"}]
        }
    }))
}

fn now() -> Timestamp {
    "2026-11-21T10:00:00Z".parse().unwrap()
}

fn sandbox() -> ObservedSandbox {
    ObservedSandbox { id: "s0".into(), attempt: 0, alive: true, ip: None }
}

fn container(name: &str, attempt: u32, state: ObservedState) -> ObservedContainer {
    ObservedContainer {
        id: format!("{name}-{attempt}"),
        name: name.into(),
        attempt,
        sandbox: "s0".into(),
        image: "busybox".into(),
        image_id: String::new(),
        state,
    }
}

fn exited(code: i32, secs_ago: i64) -> ObservedState {
    ObservedState::Exited {
        exit_code: code,
        reason: if code == 0 { "Completed".into() } else { "Error".into() },
        message: None,
        started_at: None,
        finished_at: Some(now() - k8s_openapi::jiff::SignedDuration::from_secs(secs_ago)),
    }
}

fn running() -> ObservedState {
    ObservedState::Running { started_at: None }
}

fn names(a: &Actions) -> Vec<(String, u32)> {
    a.start.iter().map(|s| (s.name.clone(), s.attempt)).collect()
}

#[test]
fn backoff_doubles_from_the_second_restart_up_to_the_cap() {
    let b = Backoff::default();
    let secs: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(secs, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(b.delay(100), Duration::from_secs(300));
}

#[test]
fn a_new_pod_gets_a_sandbox_first() {
    let a = plan(&web("Always"), &ObservedPod::default(), now(), Backoff::default());
    assert_eq!(a.create_sandbox, Some(0));
    assert!(a.start.is_empty());
}

#[test]
fn init_containers_run_alone_and_to_completion_first() {
    let mut observed = ObservedPod { sandboxes: vec![sandbox()], containers: vec![] };
    let a = plan(&web("Always"), &observed, now(), Backoff::default());
    assert_eq!(names(&a), vec![("init".to_string(), 0)]);

    observed.containers.push(container("init", 0, running()));
    assert!(plan(&web("Always"), &observed, now(), Backoff::default()).start.is_empty());

    observed.containers[0].state = exited(0, 1);
    let a = plan(&web("Always"), &observed, now(), Backoff::default());
    assert_eq!(names(&a), vec![("app".to_string(), 0), ("side".to_string(), 0)]);
}

#[test]
fn a_failed_init_container_is_retried_unless_the_policy_is_never() {
    let observed = ObservedPod { sandboxes: vec![sandbox()], containers: vec![container("init", 0, exited(1, 1))] };
    assert_eq!(names(&plan(&web("OnFailure"), &observed, now(), Backoff::default())), vec![("init".to_string(), 1)]);
    let never = plan(&web("Never"), &observed, now(), Backoff::default());
    assert!(never.start.is_empty() && never.create_sandbox.is_none());
}

#[test]
fn exited_containers_restart_by_policy_after_backoff() {
    let base = [container("init", 0, exited(0, 100)), container("side", 0, running())];
    let with = |app: ObservedContainer| ObservedPod {
        sandboxes: vec![sandbox()],
        containers: base.iter().cloned().chain([app]).collect(),
    };
    // First failure: restart at once, as the next attempt.
    let a = plan(&web("Always"), &with(container("app", 0, exited(1, 0))), now(), Backoff::default());
    assert_eq!(names(&a), vec![("app".to_string(), 1)]);
    // Second failure 3 s ago: 10 s back-off, 7 s left.
    let a = plan(&web("Always"), &with(container("app", 1, exited(1, 3))), now(), Backoff::default());
    assert!(a.start.is_empty());
    assert_eq!(a.waiting["app"].reason, "CrashLoopBackOff");
    assert_eq!(a.recheck, Some(Duration::from_secs(7)));
    // OnFailure: exit 0 stays down, exit 1 restarts; Never: nothing restarts.
    assert!(plan(&web("OnFailure"), &with(container("app", 0, exited(0, 0))), now(), Backoff::default())
        .start
        .is_empty());
    assert_eq!(
        plan(&web("OnFailure"), &with(container("app", 0, exited(2, 0))), now(), Backoff::default()).start.len(),
        1
    );
    assert!(plan(&web("Never"), &with(container("app", 0, exited(2, 0))), now(), Backoff::default()).start.is_empty());
}

#[test]
fn sidecars_start_in_order_and_keep_running() {
    let p = pod(json!({
        "metadata": {"name": "p", "uid": "u"},
        "spec": {
            "initContainers": [
                {"name": "log", "image": "busybox", "restartPolicy": "Always"},
                {"name": "setup", "image": "busybox"}
            ],
            "containers": [{"name": "app", "image": "busybox"}]
        }
    }));
    let mut observed = ObservedPod { sandboxes: vec![sandbox()], containers: vec![] };
    assert_eq!(names(&plan(&p, &observed, now(), Backoff::default())), vec![("log".to_string(), 0)]);
    observed.containers.push(container("log", 0, running()));
    assert_eq!(names(&plan(&p, &observed, now(), Backoff::default())), vec![("setup".to_string(), 0)]);
    observed.containers.push(container("setup", 0, exited(0, 1)));
    assert_eq!(names(&plan(&p, &observed, now(), Backoff::default())), vec![("app".to_string(), 0)]);
    observed.containers[0].state = exited(137, 0);
    assert_eq!(names(&plan(&p, &observed, now(), Backoff::default())), vec![("log".to_string(), 1)]);
}

#[test]
fn deleted_pods_are_killed_and_dead_sandboxes_replaced() {
    let mut p = web("Always");
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    assert!(plan(&p, &ObservedPod::default(), now(), Backoff::default()).kill_pod);

    let dead = ObservedSandbox { alive: false, ..sandbox() };
    let observed = ObservedPod { sandboxes: vec![dead], containers: vec![container("app", 0, running())] };
    let a = plan(&web("Always"), &observed, now(), Backoff::default());
    assert_eq!(a.create_sandbox, Some(1));
    assert_eq!(a.kill, vec!["app-0".to_string()]);
    assert_eq!(plan(&web("Never"), &observed, now(), Backoff::default()).create_sandbox, None);
}
