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
use tokio::sync::watch;
use tracing::Instrument;

use super::actions::{self, containers, init_containers, Actions, Backoff, Waiting};
use super::model::{ObservedPod, PodRuntime, RuntimeFailure};
use super::status::{self, Inputs};

/// What every worker shares.
pub struct WorkerContext {
    pub runtime: Arc<dyn PodRuntime>,
    pub client: kube::Client,
    pub node_ip: String,
    pub backoff: Backoff,
    /// How often a worker looks again when nothing else wakes it.
    pub resync: Duration,
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

/// A worker's memory between rounds.
#[derive(Default)]
struct WorkerState {
    reported: Option<PodStatus>,
    /// Image pull failures per container: count and when the last one happened.
    pull_failures: BTreeMap<String, (u32, Instant)>,
    /// The last start failure per container, shown until it starts.
    failures: BTreeMap<String, Waiting>,
    delete_sent: bool,
}

/// The worker of the Pod with `uid`.
pub async fn run(ctx: Arc<WorkerContext>, uid: String, mut desired: watch::Receiver<Option<Pod>>) {
    let mut state = WorkerState::default();
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
        let plan = actions::plan(pod, &observed, Timestamp::now(), ctx.backoff);
        waiting = plan.waiting.clone();
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
        &Inputs { observed: &observed, waiting: &waiting, node_ip: &ctx.node_ip, now: Timestamp::now() },
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
        kill_all(ctx, observed, grace).await;
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
    for start in plan.start {
        let Some(container) = by_name.get(start.name.as_str()).map(|c| (*c).clone()) else { continue };
        if let Some((count, at)) = state.pull_failures.get(&start.name) {
            let delay = ctx.backoff.delay(*count);
            if at.elapsed() < delay {
                let image = container.image.clone().unwrap_or_default();
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
        let (p, c) = (pod.clone(), container.clone());
        if let Err(e) = blocking(ctx, move |r| r.ensure_image(&p, &c)).await {
            tracing::warn!(container = %start.name, error = %e, "image");
            let entry = state.pull_failures.entry(start.name.clone()).or_insert((0, Instant::now()));
            *entry = (entry.0 + 1, Instant::now());
            waiting.insert(start.name.clone(), Waiting { reason: e.reason.clone(), message: Some(e.message.clone()) });
            state.failures.insert(start.name.clone(), Waiting { reason: e.reason, message: Some(e.message) });
            continue;
        }
        state.pull_failures.remove(&start.name);
        let (p, s, attempt) = (pod.clone(), sandbox.clone(), start.attempt);
        match blocking(ctx, move |r| r.start_container(&p, &s, &container, attempt)).await {
            Ok(id) => {
                tracing::info!(container = %start.name, attempt, id = %&id[..12.min(id.len())], "started");
                state.failures.remove(&start.name);
            }
            Err(e) => {
                tracing::warn!(container = %start.name, error = %e, "starting the container failed");
                state.failures.insert(start.name.clone(), Waiting { reason: e.reason, message: Some(e.message) });
            }
        }
        changed = true;
    }
    changed
}

/// The grace period for stopping the Pod's containers.
fn grace_period(pod: &Pod) -> Duration {
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or(pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30);
    Duration::from_secs(seconds.max(0) as u64)
}

/// Stops every running container at once, each with `grace`.
async fn kill_all(ctx: &WorkerContext, observed: &ObservedPod, grace: Duration) {
    let stops: Vec<_> = observed
        .containers
        .iter()
        .filter(|c| c.running())
        .map(|c| {
            let id = c.id.clone();
            blocking(ctx, move |r| r.stop_container(&id, grace))
        })
        .collect();
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
    kill_all(ctx, &observed, Duration::from_secs(2)).await;
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
