//! What a Pod worker does next: a pure function of the desired Pod and what runs, in the
//! manner of the kubelet's computePodActions. Init containers one at a time, each to
//! completion (native sidecars — init containers with `restartPolicy: Always` — started in
//! order and kept running), then the app containers; exited containers restarted as the
//! restart policy says, after the CrashLoopBackOff delay.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;

use super::model::{ObservedContainer, ObservedPod, ObservedState};

/// Back-off between restarts of a failing container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_secs(10), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay before restart number `restarts + 1`: the first restart is immediate, then
    /// `initial`, doubling up to `max` (as the kubelet's back-off does).
    pub fn delay(&self, restarts: u32) -> Duration {
        if restarts == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(restarts - 1).unwrap_or(u32::MAX);
        self.initial.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }
}

/// A container to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub name: String,
    pub init: bool,
    pub attempt: u32,
}

/// Why a container is not running, as its status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

/// The next steps for one Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// Stop every container and remove the sandboxes (deleted or finished Pod).
    pub kill_pod: bool,
    /// Create a new sandbox with this attempt number (then plan again).
    pub create_sandbox: Option<u32>,
    /// Containers (ids) to stop: still running in a sandbox that is gone or being replaced.
    pub kill: Vec<String>,
    /// Containers (ids) to remove: created but never started.
    pub remove: Vec<String>,
    pub start: Vec<Start>,
    /// Containers that wait, and why (CrashLoopBackOff, …).
    pub waiting: BTreeMap<String, Waiting>,
    /// When to look again, if something is due later (a back-off expiring).
    pub recheck: Option<Duration>,
}

/// The Pod's restart policy (Always when unset).
pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always")
}

/// Whether an init container is a native sidecar.
pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

pub fn init_containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().and_then(|s| s.init_containers.as_deref()).unwrap_or(&[])
}

pub fn containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[])
}

/// The spec of the Pod's container (init or app) called `name`.
pub fn spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    init_containers(pod).iter().chain(containers(pod)).find(|c| c.name == name)
}

/// Whether the Pod is being deleted or has reached a terminal phase.
pub fn finished(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        || matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

fn next_attempt(observed: &ObservedPod, name: &str) -> u32 {
    observed.latest(name).map(|c| c.attempt + 1).unwrap_or(0)
}

/// Whether an exited container is to run again under `policy`.
fn restarts(policy: &str, exit_code: i32) -> bool {
    policy == "Always" || (policy == "OnFailure" && exit_code != 0)
}

struct Planner<'a> {
    pod_name: String,
    observed: &'a ObservedPod,
    sandbox: &'a str,
    now: Timestamp,
    backoff: Backoff,
    actions: Actions,
}

impl Planner<'_> {
    /// The newest attempt of `name` in the current sandbox.
    fn current(&self, name: &str) -> Option<&ObservedContainer> {
        self.observed
            .containers
            .iter()
            .filter(|c| c.name == name && c.sandbox == self.sandbox)
            .max_by_key(|c| c.attempt)
    }

    fn start(&mut self, name: &str, init: bool) {
        let attempt = next_attempt(self.observed, name);
        self.actions.start.push(Start { name: name.to_string(), init, attempt });
    }

    /// Restarts `c` now, or records CrashLoopBackOff until its back-off ends.
    fn restart_after_backoff(&mut self, c: &ObservedContainer, init: bool) {
        let delay = self.backoff.delay(c.attempt);
        let since = c.finished_at().map(|f| self.now.duration_since(f).unsigned_abs()).unwrap_or(Duration::MAX);
        if since >= delay {
            self.start(&c.name.clone(), init);
            return;
        }
        let left = delay - since;
        self.actions.recheck = Some(self.actions.recheck.map_or(left, |r| r.min(left)));
        self.actions.waiting.insert(
            c.name.clone(),
            Waiting {
                reason: "CrashLoopBackOff".into(),
                message: Some(format!(
                    "back-off {}s restarting failed container={} pod={}",
                    delay.as_secs(),
                    c.name,
                    self.pod_name
                )),
            },
        );
    }
}

/// Plans the next steps for `pod` given what runs (`observed`) at `now`.
pub fn plan(pod: &Pod, observed: &ObservedPod, now: Timestamp, backoff: Backoff) -> Actions {
    if finished(pod) {
        return Actions { kill_pod: true, ..Actions::default() };
    }
    let policy = restart_policy(pod);
    let sandbox = observed.sandbox();
    let Some(sandbox) = sandbox.filter(|s| s.alive) else {
        // No live sandbox: a new one, unless the Pod already ran and nothing would restart.
        let ran = !observed.containers.is_empty();
        let mut actions = Actions {
            kill: observed.containers.iter().filter(|c| c.running()).map(|c| c.id.clone()).collect(),
            ..Actions::default()
        };
        if !(ran && policy == "Never") {
            actions.create_sandbox = Some(sandbox.map(|s| s.attempt + 1).unwrap_or(0));
        }
        return actions;
    };
    let mut p = Planner {
        pod_name: format!(
            "{}_{}({})",
            pod.metadata.name.as_deref().unwrap_or_default(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
            pod.metadata.uid.as_deref().unwrap_or_default()
        ),
        observed,
        sandbox: &sandbox.id,
        now,
        backoff,
        actions: Actions::default(),
    };
    // Containers of older sandboxes must not run beside the new one.
    p.actions.kill =
        observed.containers.iter().filter(|c| c.running() && c.sandbox != sandbox.id).map(|c| c.id.clone()).collect();
    p.actions.remove = observed
        .containers
        .iter()
        .filter(|c| c.state == ObservedState::Created && c.sandbox == sandbox.id)
        .map(|c| c.id.clone())
        .collect();

    for c in init_containers(pod) {
        let sidecar = is_sidecar(c);
        let current = p.current(&c.name).filter(|c| c.state != ObservedState::Created).cloned();
        match current {
            None => {
                p.start(&c.name, true);
                return p.actions;
            }
            Some(cur) if cur.running() => {
                if !sidecar {
                    return p.actions;
                }
            }
            Some(cur) => {
                let code = cur.exit_code().unwrap_or(0);
                if sidecar {
                    p.restart_after_backoff(&cur, true);
                    return p.actions;
                }
                if code != 0 {
                    if policy != "Never" {
                        p.restart_after_backoff(&cur, true);
                    }
                    return p.actions;
                }
            }
        }
    }
    for c in containers(pod) {
        match p.current(&c.name).filter(|c| c.state != ObservedState::Created).cloned() {
            None => p.start(&c.name, false),
            Some(cur) if cur.running() => {}
            Some(cur) => {
                if restarts(policy, cur.exit_code().unwrap_or(0)) {
                    p.restart_after_backoff(&cur, false);
                }
            }
        }
    }
    p.actions
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
