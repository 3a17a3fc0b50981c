//! Probes and hooks, the running part: [`run_action`] performs a handler (exec in the
//! container through the [`PodRuntime`], HTTP GET or TCP connect to the Pod IP, sleep), and
//! [`Probes`] keeps one task per probe of each running container, as the kubelet's prober
//! manager does. A task wakes its Pod's worker when its result flips; liveness and readiness
//! start only once the startup probe has succeeded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::actions::{containers, init_containers, is_sidecar};
use super::model::{ObservedPod, ObservedState, PodRuntime};
use super::probes::{probe_action, Action, ProbeKind, ProbeView, Timing, Tracker};

/// The longest probe or hook output kept as a message (the kubelet keeps 10 KiB).
const MAX_OUTPUT: usize = 10 * 1024;

/// What a probe task needs to run handlers.
#[derive(Clone)]
pub struct ProbeContext {
    pub runtime: Arc<dyn PodRuntime>,
    pub http: reqwest::Client,
}

/// The client for HTTP probes and hooks: no proxy, any certificate (as the kubelet), redirects
/// followed only on the same host.
pub fn http_client() -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_host = attempt.previous().first().and_then(|u| u.host_str()) == attempt.url().host_str();
        if attempt.previous().len() >= 10 || !same_host {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .redirect(policy)
        .user_agent("kube-probe/1.33")
        .build()
        .unwrap_or_default()
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Performs `action` for the container `id` within `timeout`; Err carries the failure's message.
pub async fn run_action(ctx: &ProbeContext, id: &str, action: &Action, timeout: Duration) -> Result<(), String> {
    match action {
        Action::Exec(command) => {
            let (runtime, id, command) = (ctx.runtime.clone(), id.to_string(), command.clone());
            let result = tokio::task::spawn_blocking(move || runtime.exec_sync(&id, &command, timeout))
                .await
                .map_err(|e| e.to_string())?;
            match result {
                Ok((0, _)) => Ok(()),
                Ok((code, output)) if output.trim().is_empty() => Err(format!("command exited with code {code}")),
                Ok((_, output)) => Err(truncate(output)),
                Err(e) => Err(e.message),
            }
        }
        Action::Http { scheme, host, port, path, headers } => {
            let host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            let url = format!("{scheme}://{host}:{port}{path}");
            let mut request = ctx.http.get(&url).timeout(timeout);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            match request.send().await {
                Ok(response) if (200..400).contains(&response.status().as_u16()) => Ok(()),
                Ok(response) => Err(format!("HTTP probe failed with statuscode: {}", response.status().as_u16())),
                Err(e) if e.is_timeout() => Err(format!(
                    "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                )),
                Err(e) => Err(format!(
                    "Get \"{url}\": {}",
                    std::error::Error::source(&e).map_or(e.to_string(), |s| s.to_string())
                )),
            }
        }
        Action::Tcp { host, port } => {
            let address = format!("{host}:{port}");
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&address)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("dial tcp {address}: connect: {e}")),
                Err(_) => Err(format!("dial tcp {address}: i/o timeout")),
            }
        }
        Action::Sleep(duration) => {
            tokio::time::sleep(*duration).await;
            Ok(())
        }
        Action::Unsupported(message) => Err(message.clone()),
    }
}

struct Task {
    tracker: Arc<Mutex<Tracker>>,
    handle: JoinHandle<()>,
}

/// The probe tasks of one Pod, keyed by container id and probe kind.
pub struct Probes {
    ctx: ProbeContext,
    wake: Arc<Notify>,
    tasks: BTreeMap<(String, ProbeKind), Task>,
}

impl Drop for Probes {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.handle.abort();
        }
    }
}

impl Probes {
    pub fn new(ctx: ProbeContext, wake: Arc<Notify>) -> Probes {
        Probes { ctx, wake, tasks: BTreeMap::new() }
    }

    /// The state of one probe of a container: (healthy, failing, message).
    fn state(&self, id: &str, kind: ProbeKind) -> Option<(bool, bool, Option<String>)> {
        let task = self.tasks.get(&(id.to_string(), kind))?;
        let t = task.tracker.lock().unwrap_or_else(|e| e.into_inner());
        Some((t.healthy, t.failing, t.message.clone()))
    }

    /// Starts the probes of running containers (liveness and readiness once started), stops
    /// those of containers that no longer run, and returns what they say, by container id.
    pub fn sync(&mut self, pod: &Pod, observed: &ObservedPod) -> BTreeMap<String, ProbeView> {
        let pod_ip = observed.sandbox().and_then(|s| s.ip).map(|ip| ip.to_string()).unwrap_or_default();
        let specs: BTreeMap<&str, &Container> = init_containers(pod)
            .iter()
            .filter(|c| is_sidecar(c))
            .chain(containers(pod))
            .map(|c| (c.name.as_str(), c))
            .collect();
        let running: BTreeMap<&str, (&Container, Option<Timestamp>)> = observed
            .containers
            .iter()
            .filter_map(|c| match c.state {
                ObservedState::Running { started_at } => {
                    specs.get(c.name.as_str()).map(|s| (c.id.as_str(), (*s, started_at)))
                }
                _ => None,
            })
            .collect();
        self.tasks.retain(|(id, _), task| {
            let keep = running.contains_key(id.as_str());
            if !keep {
                task.handle.abort();
            }
            keep
        });
        let mut views = BTreeMap::new();
        for (id, (container, started_at)) in running {
            let has_startup = container.startup_probe.is_some();
            let started = !has_startup || self.state(id, ProbeKind::Startup).is_some_and(|(ok, _, _)| ok);
            for kind in ProbeKind::ALL {
                let Some(probe) = kind.of(container) else { continue };
                if kind != ProbeKind::Startup && !started {
                    continue;
                }
                let key = (id.to_string(), kind);
                if !self.tasks.contains_key(&key) {
                    let timing = Timing::of(probe);
                    let tracker = Arc::new(Mutex::new(Tracker::new(kind, timing)));
                    let action = probe_action(probe, container, &pod_ip);
                    let since_start =
                        started_at.map(|s| Timestamp::now().duration_since(s).unsigned_abs()).unwrap_or_default();
                    let delay = timing.initial_delay.saturating_sub(since_start);
                    let run = ProbeRun {
                        ctx: self.ctx.clone(),
                        wake: self.wake.clone(),
                        id: id.to_string(),
                        kind,
                        action,
                        timing,
                        delay,
                    };
                    let handle = tokio::spawn(run.run(tracker.clone()));
                    self.tasks.insert(key, Task { tracker, handle });
                }
            }
            let mut view = ProbeView { started, ready: started, unhealthy: None };
            for kind in [ProbeKind::Startup, ProbeKind::Liveness] {
                if let Some((_, true, message)) = self.state(id, kind) {
                    view.unhealthy = Some(format!("{} probe failed: {}", kind.name(), message.unwrap_or_default()));
                }
            }
            if container.readiness_probe.is_some() {
                view.ready = started && self.state(id, ProbeKind::Readiness).is_some_and(|(ok, _, _)| ok);
            }
            views.insert(id.to_string(), view);
        }
        views
    }
}

/// One probe of one container, running until stopped (or, for startup and liveness probes,
/// until their verdict is final).
struct ProbeRun {
    ctx: ProbeContext,
    wake: Arc<Notify>,
    id: String,
    kind: ProbeKind,
    action: Action,
    timing: Timing,
    delay: Duration,
}

impl ProbeRun {
    async fn run(self, tracker: Arc<Mutex<Tracker>>) {
        tokio::time::sleep(self.delay).await;
        loop {
            let result = run_action(&self.ctx, &self.id, &self.action, self.timing.timeout).await;
            let (flipped, healthy, failing) = {
                let mut t = tracker.lock().unwrap_or_else(|e| e.into_inner());
                let flipped = t.record(result.is_ok(), result.err());
                (flipped, t.healthy, t.failing)
            };
            if flipped {
                tracing::info!(container = %self.id, probe = self.kind.name(), healthy, "probe result changed");
                self.wake.notify_one();
            }
            let done = match self.kind {
                ProbeKind::Startup => healthy || failing,
                ProbeKind::Liveness => failing,
                ProbeKind::Readiness => false,
            };
            if done {
                return;
            }
            tokio::time::sleep(self.timing.period).await;
        }
    }
}
