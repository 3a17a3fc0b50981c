//! The StatefulSet controller (`pkg/controller/statefulset`): Pods with stable identities
//! `<set>-<ordinal>` (hostname, `subdomain` = serviceName, `pod-name` and `pod-index`
//! labels), created in ordinal order and deleted in reverse, each waiting for its
//! predecessors to be Running and Ready under OrderedReady, all at once under Parallel;
//! RollingUpdate replaces Pods of an older revision from the highest ordinal down to the
//! partition, one at a time; OnDelete waits for the user.
//!
//! [`identity`] is the pure part: ordinals and the Pod for an ordinal.

mod handlers;
pub mod identity;
mod sync;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;

use crate::machinery::cache::Cache;
use crate::machinery::expectations::Expectations;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::Writer;

pub struct StatefulSetController {
    pub(crate) sets: Cache<StatefulSet>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) revisions: Cache<ControllerRevision>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) expectations: Expectations,
    pub(crate) queue: Arc<WorkQueue>,
}

impl StatefulSetController {
    pub fn new(
        sets: Cache<StatefulSet>,
        pods: Cache<Pod>,
        revisions: Cache<ControllerRevision>,
        writer: Arc<dyn Writer>,
    ) -> Arc<Self> {
        Arc::new(StatefulSetController {
            sets,
            pods,
            revisions,
            writer,
            expectations: Expectations::default(),
            queue: WorkQueue::new(),
        })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(self: &Arc<Self>, sets: &mut Informer<StatefulSet>, pods: &mut Informer<Pod>) {
        let c = self.clone();
        sets.on_change(move |old, new| c.on_set(old, new));
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
    }
}

crate::machinery::runner::reconcile_by_sync!(StatefulSetController, "statefulset");
