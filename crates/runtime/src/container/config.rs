//! What a caller asks the runtime for: one container, in the terms of a Pod's container spec.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A namespace of the container: a new one, one joined by path (a Pod's sandbox), or the host's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Namespace {
    #[default]
    New,
    Join(PathBuf),
    Host,
}

/// The namespaces a container gets; mount namespaces are always new.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespaces {
    pub network: Namespace,
    pub ipc: Namespace,
    pub uts: Namespace,
    pub pid: Namespace,
}

/// A bind mount of a host path (a volume, /etc/hosts, …) into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    #[serde(default)]
    pub read_only: bool,
}

/// cgroup limits (Kubernetes units already converted: bytes, shares, microseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resources {
    pub memory_limit: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids_limit: Option<i64>,
}

/// Where and how much the container's output is logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogConfig {
    /// The CRI-format log file [default: `<container dir>/container.log`].
    pub path: Option<PathBuf>,
    /// Rotate when the file would grow beyond this many bytes.
    pub max_size: u64,
    /// Rotated files kept beside the current one.
    pub max_files: u32,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { path: None, max_size: 10 << 20, max_files: 4 }
    }
}

/// One container to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerConfig {
    pub name: Option<String>,
    /// Image reference, as stored in the image index.
    pub image: String,
    /// Replaces the image's ENTRYPOINT (Kubernetes `command`).
    pub command: Vec<String>,
    /// Replaces the image's CMD (Kubernetes `args`).
    pub args: Vec<String>,
    /// Added after the image's environment, overriding same-named variables.
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// `uid`, `uid:gid`, `name` or `name:group`; the image's USER when unset.
    pub user: Option<String>,
    pub supplemental_groups: Vec<u32>,
    pub hostname: Option<String>,
    pub namespaces: Namespaces,
    pub mounts: Vec<BindMount>,
    /// A host directory (a Pod's shared tmpfs) bound at /dev/shm instead of a private tmpfs.
    pub shm: Option<PathBuf>,
    pub resources: Resources,
    /// The parent cgroup (a Pod's), relative to each hierarchy's root.
    pub cgroup_parent: String,
    pub tty: bool,
    pub read_only_rootfs: bool,
    pub no_new_privileges: bool,
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
    /// Clamped so it is never below the runtime's own value.
    pub oom_score_adj: Option<i32>,
    /// Resource limits (`RLIMIT_NOFILE`, …); never raised above the runtime's own hard limits.
    /// Unset limits are inherited.
    pub rlimits: Vec<Rlimit>,
    pub log: LogConfig,
    pub labels: BTreeMap<String, String>,
}

/// One resource limit, named as in the OCI spec (`RLIMIT_NOFILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}
