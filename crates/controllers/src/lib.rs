//! skiff-controllers: the controller manager's reconcilers. Each runs inside `skiff server`
//! on a kube-rs client it is given and reaches the store only through the API.
//!
//! - [`manager`]: runs the controllers below over shared informers;
//! - [`machinery`]: informers, caches, the work queue, expectations, workers, writes;
//! - [`garbagecollector`]: deletes dependents of deleted owners, in the background or the
//!   foreground, or orphans them;
//! - [`job`]: runs a Job's Pods to completion, counting each finished Pod once;
//! - [`nodeipam`]: gives every Node a Pod CIDR cut from the cluster CIDR (kube-controller-
//!   manager's range allocator, `--allocate-node-cidrs`);
//! - [`nodelifecycle`]: silent nodes become Unknown and tainted; their Pods are evicted;
//! - [`replicaset`]: keeps a ReplicaSet's Pods;
//! - [`daemonset`]: one Pod on every node that fits;
//! - [`statefulset`]: Pods with stable names, made and removed in ordinal order;
//! - [`deployment`]: rolls a Deployment's ReplicaSets from one Pod template to the next.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod garbagecollector;
pub mod job;
pub mod leader;
pub mod machinery;
pub mod manager;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod podcontrol;
pub mod podutil;
pub mod replicaset;
pub mod serviceaccount;
pub mod statefulset;
#[cfg(test)]
mod testutil;

/// Errors of the controllers.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("API: {0}")]
    Api(#[from] kube::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("write: {0}")]
    Write(#[from] machinery::writer::WriteError),
    /// The owner as read from the API is not the one the cache holds (gone, replaced or being
    /// deleted), so it may not adopt: the sync is retried once the cache catches up.
    #[error("can't adopt: {0}")]
    CannotAdopt(String),
}
