//! The Pod's status as the kubelet reports it, computed (purely) from the Pod, what runs and
//! why containers wait: phase (the kubelet's getPhase), conditions, container statuses with
//! state and lastState, restart counts, IPs and start time.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::actions::{containers, init_containers, is_sidecar, restart_policy, Waiting};
use super::model::{ObservedContainer, ObservedPod, ObservedState};
use super::probes::ProbeView;

/// What the status is computed from, besides the Pod.
pub struct Inputs<'a> {
    pub observed: &'a ObservedPod,
    /// Containers that wait, and why (back-off, image errors, start errors).
    pub waiting: &'a BTreeMap<String, Waiting>,
    pub node_ip: &'a str,
    pub now: Timestamp,
    /// What the probes of running containers say, by container id (none: started and ready).
    pub probes: &'a BTreeMap<String, ProbeView>,
}

fn terminated(c: &ObservedContainer) -> Option<ContainerStateTerminated> {
    match &c.state {
        ObservedState::Exited { exit_code, reason, message, started_at, finished_at } => {
            Some(ContainerStateTerminated {
                exit_code: *exit_code,
                reason: Some(reason.clone()),
                message: message.clone(),
                started_at: started_at.map(Time),
                finished_at: finished_at.map(Time),
                container_id: Some(format!("skiff://{}", c.id)),
                ..Default::default()
            })
        }
        _ => None,
    }
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), message }),
        ..Default::default()
    }
}

/// One container's status. `default_wait` is the reason shown before it ever ran.
fn container_status(c: &Container, inputs: &Inputs<'_>, default_wait: &str, will_restart: bool) -> ContainerStatus {
    let latest = inputs.observed.latest(&c.name);
    let previous = inputs.observed.previous(&c.name);
    let running = latest.is_some_and(ObservedContainer::running);
    let view = latest.and_then(|l| inputs.probes.get(&l.id));
    let mut status = ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: latest.map(|l| l.image_id.clone()).unwrap_or_default(),
        container_id: latest.map(|l| format!("skiff://{}", l.id)),
        restart_count: latest.map(|l| l.attempt as i32).unwrap_or(0),
        started: Some(running && view.is_none_or(|v| v.started)),
        ready: running && view.is_none_or(|v| v.ready),
        ..Default::default()
    };
    let wait = inputs.waiting.get(&c.name);
    let last_terminated = |c: Option<&ObservedContainer>| {
        c.and_then(terminated).map(|t| ContainerState { terminated: Some(t), ..Default::default() })
    };
    status.state = Some(match latest.map(|l| &l.state) {
        Some(ObservedState::Running { started_at }) => {
            status.last_state = last_terminated(previous);
            ContainerState {
                running: Some(ContainerStateRunning { started_at: started_at.map(Time) }),
                ..Default::default()
            }
        }
        Some(ObservedState::Exited { .. }) if will_restart || wait.is_some() => {
            status.last_state = last_terminated(latest);
            match wait {
                Some(w) => waiting(&w.reason, w.message.clone()),
                None => waiting("ContainerCreating", None),
            }
        }
        Some(ObservedState::Exited { .. }) => {
            status.last_state = last_terminated(previous);
            ContainerState { terminated: latest.and_then(terminated), ..Default::default() }
        }
        Some(ObservedState::Created) | None => match wait {
            Some(w) => waiting(&w.reason, w.message.clone()),
            None => waiting(default_wait, None),
        },
    });
    status
}

fn condition(kind: &str, ok: bool, previous: Option<&PodStatus>, now: Timestamp, reason: Option<&str>) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let old = previous.and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == kind));
    let since = match old {
        Some(o) if o.status == status => o.last_transition_time.clone(),
        _ => Some(Time(now)),
    };
    PodCondition {
        type_: kind.into(),
        status: status.into(),
        last_transition_time: since,
        reason: if ok { None } else { reason.map(str::to_string) },
        ..Default::default()
    }
}

/// The kubelet's getPhase over the app containers' statuses.
fn phase(policy: &str, statuses: &[ContainerStatus], init_done: bool, init_failed: bool) -> &'static str {
    if init_failed {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in statuses {
        let state = s.state.as_ref();
        if state.and_then(|s| s.running.as_ref()).is_some() {
            running += 1;
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    match () {
        _ if waiting > 0 => "Pending",
        _ if running > 0 => "Running",
        _ if stopped > 0 && policy == "Always" => "Running",
        _ if stopped > 0 && stopped == succeeded => "Succeeded",
        _ if stopped > 0 && policy == "Never" => "Failed",
        _ if stopped > 0 => "Running",
        _ => "Pending",
    }
}

/// The status to report for `pod`.
pub fn compute(pod: &Pod, inputs: &Inputs<'_>) -> PodStatus {
    let previous = pod.status.as_ref();
    let policy = restart_policy(pod);
    let observed = inputs.observed;
    let sandbox_ready = observed.sandbox().is_some_and(|s| s.alive && s.ip.is_some());

    let mut init_done = true;
    let mut init_failed = false;
    let mut init_statuses = vec![];
    for c in init_containers(pod) {
        let latest = observed.latest(&c.name);
        let done = if is_sidecar(c) {
            latest.is_some_and(ObservedContainer::running)
        } else {
            latest.and_then(ObservedContainer::exit_code) == Some(0)
        };
        let failed = !is_sidecar(c) && latest.and_then(ObservedContainer::exit_code).is_some_and(|e| e != 0);
        if failed && policy == "Never" && init_done {
            init_failed = true;
        }
        let will_restart = !super::actions::finished(pod) && (is_sidecar(c) || (failed && policy != "Never"));
        init_statuses.push(container_status(c, inputs, "PodInitializing", will_restart));
        init_done &= done;
    }
    let default_wait = if init_done { "ContainerCreating" } else { "PodInitializing" };
    let statuses: Vec<ContainerStatus> = containers(pod)
        .iter()
        .map(|c| {
            let code = observed.latest(&c.name).and_then(ObservedContainer::exit_code);
            let will_restart = !super::actions::finished(pod)
                && code.is_some_and(|e| policy == "Always" || (policy == "OnFailure" && e != 0));
            container_status(c, inputs, default_wait, will_restart)
        })
        .collect();

    let old_phase = previous.and_then(|s| s.phase.as_deref());
    let phase = match old_phase {
        Some(p @ ("Succeeded" | "Failed")) => p,
        _ => phase(policy, &statuses, init_done, init_failed),
    };
    let all_ready = !statuses.is_empty() && statuses.iter().all(|s| s.ready);
    let sidecars_ready = init_statuses.iter().zip(init_containers(pod)).all(|(s, c)| !is_sidecar(c) || s.ready);
    let ready = all_ready && sidecars_ready && phase == "Running";
    let now = inputs.now;
    let mut conditions = vec![
        condition("PodReadyToStartContainers", sandbox_ready, previous, now, None),
        condition("Initialized", init_done, previous, now, Some("ContainersNotInitialized")),
        condition(
            "Ready",
            ready,
            previous,
            now,
            Some(if phase == "Running" { "ContainersNotReady" } else { "PodCompleted" }),
        ),
        condition(
            "ContainersReady",
            ready,
            previous,
            now,
            Some(if phase == "Running" { "ContainersNotReady" } else { "PodCompleted" }),
        ),
    ];
    let scheduled = previous
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled").cloned())
        .unwrap_or_else(|| condition("PodScheduled", true, None, now, None));
    conditions.push(scheduled);
    let not_ready: Vec<&str> = statuses.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    for c in conditions.iter_mut().filter(|c| c.status == "False" && phase == "Running") {
        if c.type_ == "Ready" || c.type_ == "ContainersReady" {
            c.message = Some(format!("containers with unready status: [{}]", not_ready.join(" ")));
        }
    }
    if !init_done {
        let pending: Vec<&str> = init_statuses
            .iter()
            .filter(|s| s.state.as_ref().and_then(|st| st.terminated.as_ref()).is_none_or(|t| t.exit_code != 0))
            .map(|s| s.name.as_str())
            .collect();
        if let Some(c) = conditions.iter_mut().find(|c| c.type_ == "Initialized") {
            c.message = Some(format!("containers with incomplete status: [{}]", pending.join(" ")));
        }
    }
    let pod_ip = observed.sandbox().filter(|s| s.alive).and_then(|s| s.ip).map(|ip| ip.to_string());
    PodStatus {
        phase: Some(phase.into()),
        conditions: Some(conditions),
        host_ip: Some(inputs.node_ip.to_string()),
        host_ips: Some(vec![HostIP { ip: inputs.node_ip.to_string() }]),
        pod_ip: pod_ip.clone().or_else(|| previous.and_then(|s| s.pod_ip.clone())),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]).or_else(|| previous.and_then(|s| s.pod_ips.clone())),
        start_time: previous.and_then(|s| s.start_time.clone()).or(Some(Time(now))),
        qos_class: previous.and_then(|s| s.qos_class.clone()),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(statuses),
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
