//! The ReplicaSet controller (`pkg/controller/replicaset`): keeps `spec.replicas` active Pods
//! that match the selector, made from the template with a controller reference; adopts
//! matching orphans and releases owned Pods that stop matching; deletes the cheapest Pods first
//! on scale-down ([`rank`]); reports replicas, fullyLabeledReplicas, readyReplicas,
//! availableReplicas, observedGeneration and the ReplicaFailure condition.
//!
//! [`handlers`] turn Pod and ReplicaSet changes into keys and expectations; [`sync`] is the
//! reconcile function, over caches and a [`Writer`].

mod handlers;
pub mod rank;
mod sync;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;

use crate::machinery::cache::Cache;
use crate::machinery::expectations::Expectations;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::Writer;

/// At most this many Pods are created or deleted in one sync (`burstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// The controller's state: what it reads, writes and expects.
pub struct ReplicaSetController {
    pub(crate) sets: Cache<ReplicaSet>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) expectations: Expectations,
    pub(crate) queue: Arc<WorkQueue>,
}

impl ReplicaSetController {
    pub fn new(sets: Cache<ReplicaSet>, pods: Cache<Pod>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(ReplicaSetController {
            sets,
            pods,
            writer,
            expectations: Expectations::default(),
            queue: WorkQueue::new(),
        })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(self: &Arc<Self>, sets: &mut Informer<ReplicaSet>, pods: &mut Informer<Pod>) {
        let c = self.clone();
        sets.on_change(move |old, new| c.on_set(old, new));
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
    }
}

crate::machinery::runner::reconcile_by_sync!(ReplicaSetController, "replicaset");
