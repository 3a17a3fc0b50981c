//! The DaemonSet controller (`pkg/controller/daemon`): one Pod on every node the template
//! fits (nodeSelector, required node affinity, taints against its tolerations plus the ones
//! every daemon Pod gets), pinned to its node by node affinity and bound by the scheduler;
//! Pods on nodes that stop fitting, extra and failed Pods are deleted; RollingUpdate replaces
//! Pods of an older template (`controller-revision-hash`) at most maxUnavailable at a time.
//!
//! [`nodes`] is the pure part: who should run where, and the Pod for a node.

mod handlers;
pub mod nodes;
mod sync;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::machinery::cache::Cache;
use crate::machinery::expectations::Expectations;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::Writer;

pub struct DaemonSetController {
    pub(crate) sets: Cache<DaemonSet>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) revisions: Cache<ControllerRevision>,
    pub(crate) nodes: Cache<Node>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) expectations: Expectations,
    pub(crate) queue: Arc<WorkQueue>,
}

impl DaemonSetController {
    pub fn new(
        sets: Cache<DaemonSet>,
        pods: Cache<Pod>,
        revisions: Cache<ControllerRevision>,
        nodes: Cache<Node>,
        writer: Arc<dyn Writer>,
    ) -> Arc<Self> {
        Arc::new(DaemonSetController {
            sets,
            pods,
            revisions,
            nodes,
            writer,
            expectations: Expectations::default(),
            queue: WorkQueue::new(),
        })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(
        self: &Arc<Self>,
        sets: &mut Informer<DaemonSet>,
        pods: &mut Informer<Pod>,
        nodes: &mut Informer<Node>,
    ) {
        let c = self.clone();
        sets.on_change(move |old, new| c.on_set(old, new));
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
        let c = self.clone();
        nodes.on_change(move |old, new| c.on_node(old, new));
    }
}

crate::machinery::runner::reconcile_by_sync!(DaemonSetController, "daemonset");
