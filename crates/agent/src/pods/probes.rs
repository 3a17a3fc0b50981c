//! Probes and lifecycle hooks, the pure part: a probe's timing with the Kubernetes defaults,
//! its handler resolved against the container (named ports, the Pod IP as host), and the
//! threshold logic that turns single results into the state the kubelet acts on (liveness and
//! startup failures restart the container; readiness decides `ready`).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ExecAction, HTTPGetAction, LifecycleHandler, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Which of a container's probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 3] = [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness];

    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }

    pub fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            ProbeKind::Startup => c.startup_probe.as_ref(),
            ProbeKind::Liveness => c.liveness_probe.as_ref(),
            ProbeKind::Readiness => c.readiness_probe.as_ref(),
        }
    }

    /// The result assumed before the first probe: a live container is presumed live, not
    /// ready and not started.
    pub fn initial(self) -> bool {
        self == ProbeKind::Liveness
    }
}

/// What a probe or hook does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Exec(Vec<String>),
    Http {
        scheme: String,
        host: String,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
    },
    Tcp {
        host: String,
        port: u16,
    },
    Sleep(Duration),
    /// A handler skiff cannot run (gRPC probes); it fails with this message.
    Unsupported(String),
}

/// A port number, or the container port with that name.
pub fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => match s.parse::<i32>() {
            Ok(n) => n,
            Err(_) => container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(s.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| format!("couldn't find port: {s} in {}", container.name))?,
        },
    };
    u16::try_from(number).ok().filter(|n| *n > 0).ok_or_else(|| format!("invalid port number: {number}"))
}

fn http(get: &HTTPGetAction, container: &Container, pod_ip: &str) -> Action {
    let port = match resolve_port(&get.port, container) {
        Ok(p) => p,
        Err(e) => return Action::Unsupported(e),
    };
    let mut path = get.path.clone().unwrap_or_default();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    Action::Http {
        scheme: get.scheme.clone().unwrap_or_else(|| "HTTP".into()).to_ascii_lowercase(),
        host: get.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| pod_ip.to_string()),
        port,
        path,
        headers: get.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect(),
    }
}

fn tcp(socket: &TCPSocketAction, container: &Container, pod_ip: &str) -> Action {
    match resolve_port(&socket.port, container) {
        Ok(port) => Action::Tcp {
            host: socket.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| pod_ip.to_string()),
            port,
        },
        Err(e) => Action::Unsupported(e),
    }
}

/// The handlers probes and hooks share.
fn common(
    exec: Option<&ExecAction>,
    get: Option<&HTTPGetAction>,
    socket: Option<&TCPSocketAction>,
    container: &Container,
    pod_ip: &str,
) -> Option<Action> {
    exec.map(|e| Action::Exec(e.command.clone().unwrap_or_default()))
        .or_else(|| get.map(|g| http(g, container, pod_ip)))
        .or_else(|| socket.map(|s| tcp(s, container, pod_ip)))
}

/// A probe's handler, for a container in a Pod with `pod_ip`.
pub fn probe_action(probe: &Probe, container: &Container, pod_ip: &str) -> Action {
    let grpc = probe.grpc.as_ref().map(|_| Action::Unsupported("gRPC probes are not supported by this node".into()));
    common(probe.exec.as_ref(), probe.http_get.as_ref(), probe.tcp_socket.as_ref(), container, pod_ip)
        .or(grpc)
        .unwrap_or_else(|| Action::Unsupported("the probe has no handler".into()))
}

/// A lifecycle hook's handler.
pub fn hook_action(hook: &LifecycleHandler, container: &Container, pod_ip: &str) -> Action {
    let sleep = hook.sleep.as_ref().map(|s| Action::Sleep(Duration::from_secs(s.seconds.max(0) as u64)));
    common(hook.exec.as_ref(), hook.http_get.as_ref(), hook.tcp_socket.as_ref(), container, pod_ip)
        .or(sleep)
        .unwrap_or_else(|| Action::Unsupported("the hook has no handler".into()))
}

/// A probe's timing and thresholds, with Kubernetes' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Timing {
    pub fn of(probe: &Probe) -> Timing {
        let seconds =
            |v: Option<i32>, default: i32, min: i32| Duration::from_secs(v.unwrap_or(default).max(min) as u64);
        let count = |v: Option<i32>, default: i32| v.unwrap_or(default).max(1) as u32;
        Timing {
            initial_delay: seconds(probe.initial_delay_seconds, 0, 0),
            period: seconds(probe.period_seconds, 10, 1),
            timeout: seconds(probe.timeout_seconds, 1, 1),
            success_threshold: count(probe.success_threshold, 1),
            failure_threshold: count(probe.failure_threshold, 3),
        }
    }
}

/// One probe's result over time: it changes only after `success_threshold` successes or
/// `failure_threshold` failures in a row (the kubelet's probe worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    timing: Timing,
    /// The probe passes (a liveness probe is presumed to until it fails).
    pub healthy: bool,
    /// The probe has failed `failure_threshold` times in a row (for liveness and startup
    /// probes: the container is to be restarted).
    pub failing: bool,
    /// The message of the last failure.
    pub message: Option<String>,
    streak: u32,
    last: Option<bool>,
}

impl Tracker {
    pub fn new(kind: ProbeKind, timing: Timing) -> Tracker {
        Tracker { timing, healthy: kind.initial(), failing: false, message: None, streak: 0, last: None }
    }

    /// Records one result; true when `healthy` or `failing` changed.
    pub fn record(&mut self, ok: bool, message: Option<String>) -> bool {
        if self.last == Some(ok) {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.streak = 1;
        }
        if !ok {
            self.message = message;
        }
        let before = (self.healthy, self.failing);
        if ok && self.streak >= self.timing.success_threshold {
            (self.healthy, self.failing) = (true, false);
        }
        if !ok && self.streak >= self.timing.failure_threshold {
            (self.healthy, self.failing) = (false, true);
        }
        (self.healthy, self.failing) != before
    }
}

/// What the worker uses of one running container's probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeView {
    /// Its startup probe has succeeded (or it has none).
    pub started: bool,
    /// Its readiness probe succeeds (or it has none), once started.
    pub ready: bool,
    /// A liveness or startup probe failed: the container is to be restarted, with this message.
    pub unhealthy: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerPort, HTTPHeader};

    fn container() -> Container {
        Container {
            name: "web".into(),
            ports: Some(vec![ContainerPort { name: Some("http".into()), container_port: 8080, ..Default::default() }]),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_kubernetes() {
        let t = Timing::of(&Probe::default());
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
        assert_eq!(t.initial_delay, Duration::ZERO);
        let t = Timing::of(&Probe { period_seconds: Some(0), failure_threshold: Some(0), ..Default::default() });
        assert_eq!((t.period, t.failure_threshold), (Duration::from_secs(1), 1));
    }

    #[test]
    fn named_ports_and_pod_ip() {
        let probe = Probe {
            http_get: Some(HTTPGetAction {
                port: IntOrString::String("http".into()),
                path: Some("healthz".into()),
                http_headers: Some(vec![HTTPHeader { name: "X-A".into(), value: "b".into() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            probe_action(&probe, &container(), "10.42.0.5"),
            Action::Http {
                scheme: "http".into(),
                host: "10.42.0.5".into(),
                port: 8080,
                path: "/healthz".into(),
                headers: vec![("X-A".into(), "b".into())],
            }
        );
        let missing = Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::String("grpc".into()), host: None }),
            ..Default::default()
        };
        assert_eq!(
            probe_action(&missing, &container(), "10.42.0.5"),
            Action::Unsupported("couldn't find port: grpc in web".into())
        );
        let exec = Probe {
            exec: Some(ExecAction { command: Some(vec!["cat".into(), "/tmp/ok".into()]) }),
            ..Default::default()
        };
        assert_eq!(probe_action(&exec, &container(), ""), Action::Exec(vec!["cat".into(), "/tmp/ok".into()]));
    }

    #[test]
    fn thresholds_flip_the_state() {
        let timing =
            Timing::of(&Probe { failure_threshold: Some(2), success_threshold: Some(2), ..Default::default() });
        let mut live = Tracker::new(ProbeKind::Liveness, timing);
        assert!(live.healthy);
        assert!(!live.record(false, Some("one".into())));
        assert!(!live.record(true, None), "a success in between resets the streak");
        assert!(!live.record(false, Some("two".into())));
        assert!(live.record(false, Some("three".into())));
        assert!(!live.healthy && live.failing);
        assert_eq!(live.message.as_deref(), Some("three"));
        let mut ready = Tracker::new(ProbeKind::Readiness, timing);
        assert!(!ready.healthy);
        assert!(!ready.record(true, None));
        assert!(ready.record(true, None));
        assert!(ready.healthy);
        let mut startup = Tracker::new(ProbeKind::Startup, timing);
        assert!(!startup.record(false, Some("no".into())));
        assert!(startup.record(false, Some("no".into())), "a startup probe's failure is final");
        assert!(startup.failing && !startup.healthy);
    }
}
