//! The Deployment controller (`pkg/controller/deployment`): one ReplicaSet per Pod template
//! (told apart by the `pod-template-hash` label), rolled out with RollingUpdate (maxSurge,
//! maxUnavailable) or Recreate; revisions in annotations (a rollback makes an old
//! ReplicaSet new again, its earlier revisions kept in `revision-history`); proportional
//! scaling in the middle of a rollout; pause; revisionHistoryLimit; the Available and
//! Progressing conditions with progressDeadlineSeconds; status counts and observedGeneration.
//!
//! [`handlers`] turn Deployment, ReplicaSet and Pod changes into keys; [`sync`] is the
//! reconcile function: [`rolling`], [`recreate`] or [`scale`], then [`progress`]'s status;
//! [`util`] holds the pure arithmetic.

mod handlers;
pub mod progress;
mod recreate;
mod rolling;
mod scale;
mod sync;
#[cfg(test)]
mod tests;
pub mod util;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use crate::machinery::cache::Cache;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::Writer;

/// The controller's state: what it reads and writes.
pub struct DeploymentController {
    pub(crate) deployments: Cache<Deployment>,
    pub(crate) sets: Cache<ReplicaSet>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) queue: Arc<WorkQueue>,
}

impl DeploymentController {
    pub fn new(
        deployments: Cache<Deployment>,
        sets: Cache<ReplicaSet>,
        pods: Cache<Pod>,
        writer: Arc<dyn Writer>,
    ) -> Arc<Self> {
        Arc::new(DeploymentController { deployments, sets, pods, writer, queue: WorkQueue::new() })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(
        self: &Arc<Self>,
        deployments: &mut Informer<Deployment>,
        sets: &mut Informer<ReplicaSet>,
        pods: &mut Informer<Pod>,
    ) {
        let c = self.clone();
        deployments.on_change(move |old, new| c.on_deployment(old, new));
        let c = self.clone();
        sets.on_change(move |old, new| c.on_set(old, new));
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
    }
}

crate::machinery::runner::reconcile_by_sync!(DeploymentController, "deployment");
