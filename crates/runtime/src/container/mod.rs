//! Containers: the request ([`config`]), the process as Kubernetes defines it ([`process`]),
//! the OCI spec ([`spec`]), the steps between fork and exec ([`plan`], performed by [`sys`]),
//! cgroups ([`cgroup`]), CRI logs ([`log`]), on-disk state ([`state`]), the per-container
//! [`monitor`], the [`exec`] helper, and the API that ties them together ([`runtime`]).

pub mod cgroup;
pub mod config;
pub mod console;
pub mod exec;
pub mod log;
pub mod monitor;
pub mod plan;
pub mod process;
pub mod runtime;
pub mod spec;
pub mod state;
pub mod sys;

pub use config::{BindMount, ContainerConfig, LogConfig, Namespace, Namespaces, Resources, Rlimit};
pub use runtime::{describe, Attach, ExecConfig, Info, Output, Runtime, RuntimeError, Started};
pub use state::{ExitState, Status};
