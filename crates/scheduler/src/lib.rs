//! skiff-scheduler: kube-scheduler's job inside `skiff server`. It watches Pods without a
//! node and binds each to a node that fits, through the API only.
//!
//! - [`framework`]: the plugin traits per extension point, the cycle state, node and Pod
//!   info, snapshots, the configuration file and the runtime that runs a profile's plugins.
//! - [`plugins`]: the in-tree plugins, one module each, and the default profile.
//! - [`queue`]: the active, back-off and unschedulable queues.
//! - [`cache`]: nodes and the Pods on them, including Pods assumed but not yet bound.
//! - [`schedule`]: one scheduling cycle (filter, score, select host) and its failure message.
//! - [`run`]: the I/O: informers, binding, events and Pod conditions over a kube-rs client.

pub mod cache;
pub mod framework;
pub mod plugins;
pub mod queue;
pub mod run;
pub mod schedule;

/// Errors of the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("API: {0}")]
    Api(#[from] kube::Error),
    #[error(transparent)]
    Config(#[from] framework::config::ConfigError),
    #[error("starting the scheduling thread: {0}")]
    Thread(String),
}
