//! What the Pod workers see of the node and ask of it: the observed state of one Pod's
//! sandbox and containers, and the [`PodRuntime`] trait the real runtime
//! ([`super::real::SkiffPodRuntime`]) and the unit tests' fake implement. Calls block; workers
//! run them on blocking threads.

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;

use super::pullsecrets::Keyring;
use super::sources::PodSources;

/// A sandbox of the Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSandbox {
    pub id: String,
    pub attempt: u32,
    pub alive: bool,
    pub ip: Option<Ipv4Addr>,
}

/// A container's state as the runtime knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservedState {
    Created,
    Running {
        started_at: Option<Timestamp>,
    },
    Exited {
        exit_code: i32,
        reason: String,
        message: Option<String>,
        started_at: Option<Timestamp>,
        finished_at: Option<Timestamp>,
    },
}

/// One attempt of one of the Pod's containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    pub id: String,
    /// The container's name in the Pod spec.
    pub name: String,
    /// 0 for the first run, then one more per restart.
    pub attempt: u32,
    pub sandbox: String,
    pub image: String,
    pub image_id: String,
    pub state: ObservedState,
}

impl ObservedContainer {
    pub fn running(&self) -> bool {
        matches!(self.state, ObservedState::Running { .. })
    }

    pub fn exit_code(&self) -> Option<i32> {
        match self.state {
            ObservedState::Exited { exit_code, .. } => Some(exit_code),
            _ => None,
        }
    }

    pub fn finished_at(&self) -> Option<Timestamp> {
        match &self.state {
            ObservedState::Exited { finished_at, .. } => *finished_at,
            _ => None,
        }
    }
}

/// Everything of one Pod on this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedPod {
    /// Oldest first.
    pub sandboxes: Vec<ObservedSandbox>,
    /// Oldest attempt first.
    pub containers: Vec<ObservedContainer>,
}

impl ObservedPod {
    /// The newest sandbox.
    pub fn sandbox(&self) -> Option<&ObservedSandbox> {
        self.sandboxes.last()
    }

    /// The newest attempt of the container called `name`.
    pub fn latest(&self, name: &str) -> Option<&ObservedContainer> {
        self.containers.iter().filter(|c| c.name == name).max_by_key(|c| c.attempt)
    }

    /// The attempt before the newest one (`lastState`, `kubectl logs --previous`).
    pub fn previous(&self, name: &str) -> Option<&ObservedContainer> {
        let latest = self.latest(name)?.attempt;
        self.containers.iter().filter(|c| c.name == name && c.attempt < latest).max_by_key(|c| c.attempt)
    }

    pub fn any_running(&self) -> bool {
        self.containers.iter().any(ObservedContainer::running)
    }
}

/// An error of the node's runtime, with the Kubernetes reason it shows as.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RuntimeFailure {
    /// `ErrImagePull`, `ErrImageNeverPull`, `CreateContainerError`, `RunContainerError`, …
    pub reason: String,
    pub message: String,
}

impl RuntimeFailure {
    pub fn new(reason: &str, message: impl std::fmt::Display) -> RuntimeFailure {
        RuntimeFailure { reason: reason.to_string(), message: message.to_string() }
    }
}

/// A container's log, found by the Pod's namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLog {
    pub id: String,
    pub path: std::path::PathBuf,
}

/// A process started in a running container for a client (`kubectl exec`).
pub struct ExecProcess {
    pub child: std::process::Child,
    /// The terminal's master side when one was asked for; otherwise the child's stdin,
    /// stdout and stderr are pipes.
    pub terminal: Option<std::fs::File>,
}

/// The node's side effects for Pods.
pub trait PodRuntime: Send + Sync + 'static {
    /// The sandboxes and containers of the Pod with this uid.
    fn observe(&self, uid: &str) -> Result<ObservedPod, RuntimeFailure>;
    /// The uids of every Pod that has anything on this node.
    fn pods(&self) -> Result<Vec<String>, RuntimeFailure>;
    /// Creates and networks a new sandbox for the Pod.
    fn create_sandbox(&self, pod: &Pod, attempt: u32) -> Result<ObservedSandbox, RuntimeFailure>;
    /// Tears down a sandbox's network and removes it (its containers must be gone).
    fn remove_sandbox(&self, id: &str) -> Result<(), RuntimeFailure>;
    /// Removes the Pod's own files (volumes, logs) once nothing of it runs.
    fn remove_pod_data(&self, uid: &str) -> Result<(), RuntimeFailure>;
    /// The Pod's memory working set (its cgroup's), if it has a sandbox.
    fn memory_usage(&self, pod_uid: &str) -> Option<u64>;
    /// The bytes the Pod's own files (logs, emptyDir volumes) take on the node.
    fn disk_usage(&self, pod_uid: &str) -> Option<u64>;
    /// Makes the container's image present as its pull policy says, trying the credentials
    /// of `keyring` that match its registry first (the Pod's `imagePullSecrets`).
    /// Whether it was pulled (false: it was present).
    fn ensure_image(&self, pod: &Pod, container: &Container, keyring: &Keyring) -> Result<bool, RuntimeFailure>;
    /// Creates and starts one attempt of a container in the sandbox, its volumes and
    /// environment filled from `sources`.
    fn start_container(
        &self,
        pod: &Pod,
        sandbox: &ObservedSandbox,
        container: &Container,
        attempt: u32,
        sources: &PodSources,
    ) -> Result<String, RuntimeFailure>;
    /// The newest attempt of a container (or the one before it, `previous`) and its log.
    fn find_container(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<Option<ContainerLog>, RuntimeFailure>;
    /// Runs `command` in a running container and waits for it (killed after `timeout`): its
    /// exit code and its stdout and stderr.
    fn exec_sync(&self, id: &str, command: &[String], timeout: Duration) -> Result<(i32, String), RuntimeFailure>;
    /// Starts `command` in a running container with piped stdio, or on a new terminal.
    fn exec_stream(&self, id: &str, command: &[String], tty: bool) -> Result<ExecProcess, RuntimeFailure>;
    /// The network namespace of a Pod's live sandbox, found by the Pod's namespace and name.
    fn pod_netns(&self, namespace: &str, pod: &str) -> Result<Option<std::path::PathBuf>, RuntimeFailure>;
    /// Whether a container still runs.
    fn is_running(&self, id: &str) -> bool;
    /// SIGTERM, then SIGKILL after `grace`.
    fn stop_container(&self, id: &str, grace: Duration) -> Result<(), RuntimeFailure>;
    fn remove_container(&self, id: &str) -> Result<(), RuntimeFailure>;
}
