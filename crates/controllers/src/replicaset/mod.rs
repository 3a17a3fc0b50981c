//! The ReplicaSet controller (`pkg/controller/replicaset`): keeps `spec.replicas` active Pods
//! that match the selector, made from the template with a controller reference; adopts
//! matching orphans and releases owned Pods that stop matching; deletes the cheapest Pods first
//! on scale-down ([`rank`]); reports replicas, fullyLabeledReplicas, readyReplicas,
//! availableReplicas, observedGeneration and the ReplicaFailure condition.
//!
//! [`handlers`] turn Pod and ReplicaSet changes into keys and expectations; [`sync`] is the
//! reconcile function, over caches and a [`Writer`].
//!
//! ReplicationControllers are kept by the same controller, as Kubernetes keeps them: each is
//! read as the ReplicaSet it is equivalent to (its selector map as `matchLabels`), and the
//! controller's writes name the ReplicationController kind.

mod handlers;
pub mod rank;
mod sync;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};

use crate::machinery::cache::Cache;
use crate::machinery::expectations::Expectations;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::{Kind, Writer, REPLICASETS, REPLICATIONCONTROLLERS};

/// At most this many Pods are created or deleted in one sync (`burstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// The controller's state: what it reads, writes and expects.
pub struct ReplicaSetController {
    /// ReplicaSets, or ReplicationControllers read as ReplicaSets.
    pub(crate) sets: Cache<ReplicaSet>,
    /// The kind of what it keeps, for owner references and status writes.
    pub(crate) kind: Kind,
    pub(crate) pods: Cache<Pod>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) expectations: Expectations,
    pub(crate) queue: Arc<WorkQueue>,
}

impl ReplicaSetController {
    pub fn new(sets: Cache<ReplicaSet>, pods: Cache<Pod>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Self::of_kind(REPLICASETS, sets, pods, writer)
    }

    /// The ReplicationController controller: [`watch_replication_controllers`] fills its cache.
    ///
    /// [`watch_replication_controllers`]: ReplicaSetController::watch_replication_controllers
    pub fn for_replication_controllers(pods: Cache<Pod>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Self::of_kind(REPLICATIONCONTROLLERS, Cache::default(), pods, writer)
    }

    fn of_kind(kind: Kind, sets: Cache<ReplicaSet>, pods: Cache<Pod>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(ReplicaSetController {
            sets,
            kind,
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

    /// Registers the handlers of the ReplicationController controller: each change is kept in
    /// its cache as the equivalent ReplicaSet.
    pub fn watch_replication_controllers(
        self: &Arc<Self>,
        rcs: &mut Informer<ReplicationController>,
        pods: &mut Informer<Pod>,
    ) {
        let c = self.clone();
        rcs.on_change(move |old, new| {
            let (old, new) = match new.and_then(|rc| as_replica_set(rc)).map(Arc::new) {
                Some(rs) => (c.sets.insert(rs.clone()), Some(rs)),
                None => {
                    let gone = old.and_then(|rc| {
                        let m = &rc.metadata;
                        c.sets.remove(m.namespace.as_deref().unwrap_or(""), m.name.as_deref().unwrap_or(""))
                    });
                    (gone, None)
                }
            };
            c.on_set(old.as_ref(), new.as_ref());
        });
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
    }
}

/// The ReplicaSet a ReplicationController is equivalent to (`Convert_v1_ReplicationController_To_apps_ReplicaSet`).
pub fn as_replica_set(rc: &ReplicationController) -> Option<ReplicaSet> {
    let mut v = serde_json::to_value(rc).ok()?;
    let selector = v.pointer("/spec/selector").cloned().unwrap_or(serde_json::Value::Null);
    if let Some(spec) = v.get_mut("spec").and_then(serde_json::Value::as_object_mut) {
        spec.insert("selector".into(), serde_json::json!({"matchLabels": selector}));
    }
    v["apiVersion"] = "apps/v1".into();
    v["kind"] = "ReplicaSet".into();
    serde_json::from_value(v).ok()
}

impl crate::machinery::runner::Reconcile for ReplicaSetController {
    fn name(&self) -> &'static str {
        if self.kind == REPLICASETS {
            "replicaset"
        } else {
            "replicationcontroller"
        }
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: &str) -> Result<Option<std::time::Duration>, crate::ControllerError> {
        self.sync(key).await
    }
}
