//! One worker per Pod, level-triggered: each round it looks at what runs, plans
//! ([`super::actions::plan`]), acts, and reports the status that results. The desired Pod
//! arrives on a watch channel (the newest version wins; a deletion is never undone by a later
//! update, since the deletion timestamp stays set); `None` means the Pod is gone from the API,
//! and the worker then removes everything of it and ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use super::actions::{self, containers, init_containers, Actions, Backoff, Waiting};
use super::events::Recorder;
use super::model::{ObservedContainer, ObservedPod, PodRuntime, RuntimeFailure};
use super::prober::{run_action, ProbeContext, Probes};
use super::probes::{self, ProbeView};
use super::pullsecrets;
use super::sources::{self, PodSources};
use super::status::{self, Inputs};
use skiff_client::events::EventType;

/// What every worker shares.
pub struct WorkerContext {
    pub runtime: Arc<dyn PodRuntime>,
    pub client: kube::Client,
    pub node_ip: String,
    pub backoff: Backoff,
    /// How often a worker looks again when nothing else wakes it.
    pub resync: Duration,
    /// HTTP probes and hooks.
    pub http: reqwest::Client,
    pub events: Arc<Recorder>,
}

impl WorkerContext {
    fn probe_context(&self) -> ProbeContext {
        ProbeContext { runtime: self.runtime.clone(), http: self.http.clone() }
    }
}

/// Runs a blocking runtime call off the async threads.
async fn blocking<T: Send + 'static>(
    ctx: &WorkerContext,
    f: impl FnOnce(&dyn PodRuntime) -> Result<T, RuntimeFailure> + Send + 'static,
) -> Result<T, RuntimeFailure> {
    let runtime = ctx.runtime.clone();
    tokio::task::spawn_blocking(move || f(runtime.as_ref()))
        .await
        .unwrap_or_else(|e| Err(RuntimeFailure::new("RuntimeError", e)))
}

/// The longest a postStart hook may take.
const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// A worker's memory between rounds.
struct WorkerState {
    probes: Probes,
    reported: Option<PodStatus>,
    /// Image pull failures per container: count and when the last one happened.
    pull_failures: BTreeMap<String, (u32, Instant)>,
    /// The last start failure per container, shown until it starts.
    failures: BTreeMap<String, Waiting>,
    delete_sent: bool,
    /// Containers (name, attempt) whose back-off has been reported.
    backoff_reported: std::collections::BTreeSet<(String, u32)>,
}

/// The worker of the Pod with `uid`.
pub async fn run(ctx: Arc<WorkerContext>, uid: String, mut desired: watch::Receiver<Option<Pod>>) {
    let wake = Arc::new(Notify::new());
    let mut state = WorkerState {
        probes: Probes::new(ctx.probe_context(), wake.clone()),
        reported: None,
        pull_failures: BTreeMap::new(),
        failures: BTreeMap::new(),
        delete_sent: false,
        backoff_reported: Default::default(),
    };
    loop {
        let pod = desired.borrow_and_update().clone();
        let Some(pod) = pod else {
            let span = tracing::info_span!("pod_cleanup", uid = %uid);
            cleanup(&ctx, &uid).instrument(span).await;
            return;
        };
        let span = tracing::info_span!(
            "pod_sync",
            pod = %format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or_default(), pod.metadata.name.as_deref().unwrap_or_default())
        );
        let wait = sync(&ctx, &pod, &mut state).instrument(span).await;
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { return },
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round for `pod`; returns how long to wait before the next unless something changes.
async fn sync(ctx: &WorkerContext, pod: &Pod, state: &mut WorkerState) -> Duration {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let mut waiting = BTreeMap::new();
    let mut recheck = ctx.resync;
    let mut observed = ObservedPod::default();
    let mut probes = BTreeMap::new();
    // A few plan/act rounds: a new sandbox is planned for first, then its containers.
    for _ in 0..4 {
        observed = match blocking(ctx, {
            let uid = uid.clone();
            move |r| r.observe(&uid)
        })
        .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "observing the Pod failed");
                return ctx.resync;
            }
        };
        let live = if actions::finished(pod) { &ObservedPod::default() } else { &observed };
        probes = state.probes.sync(pod, live);
        if restart_unhealthy(ctx, pod, &observed, &probes).await {
            continue;
        }
        let plan = actions::plan(pod, &observed, Timestamp::now(), ctx.backoff);
        waiting = plan.waiting.clone();
        report_backoffs(ctx, pod, &observed, &waiting, state);
        if let Some(r) = plan.recheck {
            recheck = recheck.min(r + Duration::from_millis(50));
        }
        if !act(ctx, pod, &observed, plan, state, &mut waiting).await {
            break;
        }
    }
    for (name, w) in &state.failures {
        waiting.entry(name.clone()).or_insert_with(|| w.clone());
    }
    let status = status::compute(
        pod,
        &Inputs {
            observed: &observed,
            waiting: &waiting,
            node_ip: &ctx.node_ip,
            now: Timestamp::now(),
            probes: &probes,
        },
    );
    report(ctx, pod, status, state).await;
    if pod.metadata.deletion_timestamp.is_some() && !observed.any_running() && !state.delete_sent {
        // Everything has stopped: the Pod object can go (grace 0, this very Pod only).
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: Some(uid), resource_version: None }),
            ..DeleteParams::default()
        };
        match api.delete(pod.metadata.name.as_deref().unwrap_or_default(), &params).await {
            Ok(_) => state.delete_sent = true,
            Err(e) => tracing::warn!(error = %e, "deleting the terminated Pod failed"),
        }
    }
    if !state.pull_failures.is_empty() {
        recheck = recheck.min(Duration::from_secs(1));
    }
    recheck
}

/// Performs `plan`; true when the world changed so that planning again may do more.
async fn act(
    ctx: &WorkerContext,
    pod: &Pod,
    observed: &ObservedPod,
    plan: Actions,
    state: &mut WorkerState,
    waiting: &mut BTreeMap<String, Waiting>,
) -> bool {
    if plan.kill_pod {
        let grace = grace_period(pod);
        kill_all(ctx, Some(pod), observed, grace).await;
        for s in observed.sandboxes.iter().map(|s| s.id.clone()) {
            if let Err(e) = blocking(ctx, move |r| r.remove_sandbox(&s)).await {
                tracing::warn!(error = %e, "removing a sandbox failed");
            }
        }
        return false;
    }
    let mut changed = false;
    for id in plan.kill {
        let _ = blocking(ctx, move |r| r.stop_container(&id, Duration::from_secs(2))).await;
        changed = true;
    }
    for id in plan.remove {
        let _ = blocking(ctx, move |r| r.remove_container(&id)).await;
        changed = true;
    }
    if let Some(attempt) = plan.create_sandbox {
        let p = pod.clone();
        match blocking(ctx, move |r| r.create_sandbox(&p, attempt)).await {
            Ok(s) => tracing::info!(sandbox = %s.id, ip = ?s.ip, "sandbox created"),
            Err(e) => {
                tracing::warn!(error = %e, "creating the sandbox failed");
                return false;
            }
        }
        return true;
    }
    let Some(sandbox) = observed.sandbox().cloned() else { return changed };
    let specs = init_containers(pod).iter().chain(containers(pod));
    let by_name: BTreeMap<&str, _> = specs.map(|c| (c.name.as_str(), c)).collect();
    let sources = if plan.start.is_empty() { PodSources::default() } else { sources::fetch(&ctx.client, pod).await };
    let keyring = std::sync::Arc::new(pullsecrets::keyring(pod, &sources));
    for start in plan.start {
        let Some(container) = by_name.get(start.name.as_str()).map(|c| (*c).clone()) else { continue };
        let image = container.image.clone().unwrap_or_default();
        if let Some((count, at)) = state.pull_failures.get(&start.name) {
            let delay = ctx.backoff.delay(*count);
            if at.elapsed() < delay {
                let message = format!("Back-off pulling image \"{image}\"");
                ctx.events.emit(pod, Some(&start.name), EventType::Normal, "BackOff", message);
                waiting.insert(
                    start.name.clone(),
                    Waiting {
                        reason: "ImagePullBackOff".into(),
                        message: Some(format!("Back-off pulling image \"{image}\"")),
                    },
                );
                continue;
            }
        }
        let (p, c, ring) = (pod.clone(), container.clone(), keyring.clone());
        let pull_started = Instant::now();
        let pulled = blocking(ctx, move |r| r.ensure_image(&p, &c, &ring)).await;
        let name = Some(start.name.as_str());
        match &pulled {
            Ok(false) => {
                let message = format!("Container image \"{image}\" already present on machine");
                ctx.events.emit(pod, name, EventType::Normal, "Pulled", message);
            }
            Ok(true) => {
                ctx.events.emit(pod, name, EventType::Normal, "Pulling", format!("Pulling image \"{image}\""));
                let took = pull_started.elapsed().as_secs_f64();
                let message = format!("Successfully pulled image \"{image}\" in {took:.3}s");
                ctx.events.emit(pod, name, EventType::Normal, "Pulled", message);
            }
            Err(e) => {
                ctx.events.emit(
                    pod,
                    name,
                    EventType::Warning,
                    "Failed",
                    format!("Failed to pull image \"{image}\": {e}"),
                );
                ctx.events.emit(pod, name, EventType::Warning, "Failed", format!("Error: {}", e.reason));
            }
        }
        if let Err(e) = pulled {
            tracing::warn!(container = %start.name, error = %e, "image");
            let entry = state.pull_failures.entry(start.name.clone()).or_insert((0, Instant::now()));
            *entry = (entry.0 + 1, Instant::now());
            waiting.insert(start.name.clone(), Waiting { reason: e.reason.clone(), message: Some(e.message.clone()) });
            state.failures.insert(start.name.clone(), Waiting { reason: e.reason, message: Some(e.message) });
            continue;
        }
        state.pull_failures.remove(&start.name);
        let (p, s, attempt, from) = (pod.clone(), sandbox.clone(), start.attempt, sources.clone());
        match blocking(ctx, move |r| r.start_container(&p, &s, &container, attempt, &from)).await {
            Ok(id) => {
                tracing::info!(container = %start.name, attempt, id = %&id[..12.min(id.len())], "started");
                let name = Some(start.name.as_str());
                ctx.events.emit(pod, name, EventType::Normal, "Created", format!("Created container {}", start.name));
                ctx.events.emit(pod, name, EventType::Normal, "Started", format!("Started container {}", start.name));
                state.failures.remove(&start.name);
                let spec = by_name.get(start.name.as_str()).copied();
                let hook = spec.and_then(|c| Some((c.lifecycle.as_ref()?.post_start.as_ref()?, c)));
                if let Some((hook, spec)) = hook {
                    let action =
                        probes::hook_action(hook, spec, &sandbox.ip.map(|i| i.to_string()).unwrap_or_default());
                    if let Err(message) = run_action(&ctx.probe_context(), &id, &action, HOOK_TIMEOUT).await {
                        tracing::warn!(container = %start.name, %message, "PostStartHook failed");
                        let text = format!("PostStartHook failed: {message}");
                        ctx.events.emit(pod, Some(&start.name), EventType::Warning, "FailedPostStartHook", text);
                        let grace = grace_period(pod);
                        let _ = blocking(ctx, move |r| r.stop_container(&id, grace)).await;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(container = %start.name, error = %e, "starting the container failed");
                let name = Some(start.name.as_str());
                if e.message.starts_with("MountVolume.") {
                    ctx.events.emit(pod, name, EventType::Warning, "FailedMount", e.message.clone());
                } else {
                    ctx.events.emit(pod, name, EventType::Warning, "Failed", format!("Error: {}", e.message));
                }
                state.failures.insert(start.name.clone(), Waiting { reason: e.reason, message: Some(e.message) });
            }
        }
        changed = true;
    }
    changed
}

/// The grace period for stopping the Pod's containers.
fn grace_period(pod: &Pod) -> Duration {
    // A hard eviction kills at once (the kubelet's grace period override of 0).
    if pod.metadata.deletion_timestamp.is_none()
        && pod.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted")
    {
        return Duration::ZERO;
    }
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or(pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30);
    Duration::from_secs(seconds.max(0) as u64)
}

/// Stops a container within `grace`: its preStop hook first (when the Pod is known), then
/// SIGTERM, SIGKILL when the rest of the grace period (at least 2 s) is over. The Killing
/// event says `why` (by default: "Stopping container NAME").
async fn stop(
    ctx: &WorkerContext,
    pod: Option<&Pod>,
    c: &ObservedContainer,
    grace: Duration,
    why: Option<String>,
) -> Result<(), RuntimeFailure> {
    let mut grace = grace;
    if let Some(pod) = pod {
        let message = why.unwrap_or_else(|| format!("Stopping container {}", c.name));
        ctx.events.emit(pod, Some(&c.name), EventType::Normal, "Killing", message);
    }
    let spec = pod.and_then(|p| actions::spec(p, &c.name));
    if let Some((hook, spec)) = spec.and_then(|s| Some((s.lifecycle.as_ref()?.pre_stop.as_ref()?, s))) {
        let ip = pod.and_then(|p| p.status.as_ref()?.pod_ip.clone()).unwrap_or_default();
        let action = probes::hook_action(hook, spec, &ip);
        let started = Instant::now();
        if let Err(message) = run_action(&ctx.probe_context(), &c.id, &action, grace).await {
            tracing::warn!(container = %c.name, %message, "PreStopHook failed");
            if let Some(pod) = pod {
                let text = format!("PreStopHook failed: {message}");
                ctx.events.emit(pod, Some(&c.name), EventType::Warning, "FailedPreStopHook", text);
            }
        }
        grace = grace.saturating_sub(started.elapsed()).max(Duration::from_secs(2));
    }
    let id = c.id.clone();
    blocking(ctx, move |r| r.stop_container(&id, grace)).await
}

/// A BackOff event for each container newly waiting in CrashLoopBackOff.
fn report_backoffs(
    ctx: &WorkerContext,
    pod: &Pod,
    observed: &ObservedPod,
    waiting: &BTreeMap<String, Waiting>,
    state: &mut WorkerState,
) {
    for name in waiting.iter().filter(|(_, w)| w.reason == "CrashLoopBackOff").map(|(name, _)| name) {
        let attempt = observed.latest(name).map_or(0, |c| c.attempt);
        if state.backoff_reported.insert((name.clone(), attempt)) {
            let message = format!(
                "Back-off restarting failed container {name} in pod {}_{}({})",
                pod.metadata.name.as_deref().unwrap_or_default(),
                pod.metadata.namespace.as_deref().unwrap_or("default"),
                pod.metadata.uid.as_deref().unwrap_or_default()
            );
            ctx.events.emit(pod, Some(name), EventType::Warning, "BackOff", message);
        }
    }
}

/// Stops the containers whose liveness or startup probe failed; true when any was.
async fn restart_unhealthy(
    ctx: &WorkerContext,
    pod: &Pod,
    observed: &ObservedPod,
    probes: &BTreeMap<String, ProbeView>,
) -> bool {
    let mut any = false;
    for c in observed.containers.iter().filter(|c| c.running()) {
        let Some(message) = probes.get(&c.id).and_then(|v| v.unhealthy.as_ref()) else { continue };
        tracing::info!(container = %c.name, %message, "Container {} failed its probe, will be restarted", c.name);
        ctx.events.emit(pod, Some(&c.name), EventType::Warning, "Unhealthy", message.clone());
        let kind = if message.starts_with("Startup") { "startup" } else { "liveness" };
        let why = format!("Container {} failed {kind} probe, will be restarted", c.name);
        let spec = actions::spec(pod, &c.name);
        let probe_grace = spec
            .and_then(|s| s.liveness_probe.as_ref().or(s.startup_probe.as_ref()))
            .and_then(|p| p.termination_grace_period_seconds);
        let grace = probe_grace.map_or_else(|| grace_period(pod), |s| Duration::from_secs(s.max(0) as u64));
        if let Err(e) = stop(ctx, Some(pod), c, grace, Some(why)).await {
            tracing::warn!(error = %e, "stopping an unhealthy container failed");
        }
        any = true;
    }
    any
}

/// Stops every running container at once, each with `grace`.
async fn kill_all(ctx: &WorkerContext, pod: Option<&Pod>, observed: &ObservedPod, grace: Duration) {
    let stops: Vec<_> =
        observed.containers.iter().filter(|c| c.running()).map(|c| stop(ctx, pod, c, grace, None)).collect();
    for result in futures::future::join_all(stops).await {
        if let Err(e) = result {
            tracing::warn!(error = %e, "stopping a container failed");
        }
    }
}

/// The Pod is gone from the API: remove all of it from the node.
async fn cleanup(ctx: &WorkerContext, uid: &str) {
    let observed = {
        let uid = uid.to_string();
        blocking(ctx, move |r| r.observe(&uid)).await.unwrap_or_default()
    };
    kill_all(ctx, None, &observed, Duration::from_secs(2)).await;
    for c in observed.containers.iter().map(|c| c.id.clone()) {
        if let Err(e) = blocking(ctx, move |r| r.remove_container(&c)).await {
            tracing::warn!(error = %e, "removing a container failed");
        }
    }
    for s in observed.sandboxes.iter().map(|s| s.id.clone()) {
        if let Err(e) = blocking(ctx, move |r| r.remove_sandbox(&s)).await {
            tracing::warn!(error = %e, "removing a sandbox failed");
        }
    }
    let uid = uid.to_string();
    if let Err(e) = blocking(ctx, move |r| r.remove_pod_data(&uid)).await {
        tracing::warn!(error = %e, "removing the Pod's files failed");
    }
    tracing::info!("removed");
}

/// Sends the status when it differs from what was last sent.
async fn report(ctx: &WorkerContext, pod: &Pod, status: PodStatus, state: &mut WorkerState) {
    if state.reported.as_ref() == Some(&status) {
        return;
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(pod.metadata.name.as_deref().unwrap_or_default(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => state.reported = Some(status),
        Err(kube::Error::Api(e)) if e.code == 404 => state.reported = Some(status),
        Err(e) => tracing::warn!(error = %e, "reporting the Pod's status failed"),
    }
}
