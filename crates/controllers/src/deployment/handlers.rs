//! From informer changes to queued Deployment keys: a ReplicaSet wakes the Deployment that
//! controls it, an orphan every Deployment that selects it; a deleted Pod wakes a Recreate
//! Deployment, which waits for its old Pods to be gone.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::util::is_rolling;
use super::DeploymentController;
use crate::machinery::key_of;
use crate::machinery::writer::{DEPLOYMENTS, REPLICASETS};
use crate::podutil::{controller_of, labels};
use skiff_api::selector::LabelSelector;

impl DeploymentController {
    pub(crate) fn on_deployment(&self, old: Option<&Arc<Deployment>>, new: Option<&Arc<Deployment>>) {
        if let Some(d) = new.or(old) {
            self.queue.add(key_of(d.as_ref()));
        }
    }

    /// The Deployment a controller reference points to, if it is one we know.
    fn owner(&self, ns: &str, r: &OwnerReference) -> Option<Arc<Deployment>> {
        self.deployments.owner(ns, r, DEPLOYMENTS)
    }

    fn enqueue_owner(&self, rs: &ReplicaSet) {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        if let Some(d) = controller_of(&rs.metadata).and_then(|r| self.owner(ns, r)) {
            self.queue.add(key_of(d.as_ref()));
        }
    }

    /// Deployments of the ReplicaSet's namespace that select it.
    fn enqueue_matching(&self, rs: &ReplicaSet) {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let l = labels(&rs.metadata);
        for d in self.deployments.list(ns) {
            let sel = LabelSelector::from_meta(d.spec.as_ref().map(|s| &s.selector));
            if !sel.is_empty() && sel.matches(l) {
                self.queue.add(key_of(d.as_ref()));
            }
        }
    }

    pub(crate) fn on_set(&self, old: Option<&Arc<ReplicaSet>>, new: Option<&Arc<ReplicaSet>>) {
        match (old, new) {
            (None, Some(rs)) => match controller_of(&rs.metadata) {
                Some(_) => self.enqueue_owner(rs),
                None if rs.metadata.deletion_timestamp.is_none() => self.enqueue_matching(rs),
                None => {}
            },
            (Some(old), Some(new)) => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return;
                }
                let (old_ref, new_ref) = (controller_of(&old.metadata), controller_of(&new.metadata));
                let ref_changed = old_ref.map(|r| &r.uid) != new_ref.map(|r| &r.uid);
                if ref_changed && old_ref.is_some() {
                    self.enqueue_owner(old);
                }
                match new_ref {
                    Some(_) => self.enqueue_owner(new),
                    None if ref_changed || old.metadata.labels != new.metadata.labels => self.enqueue_matching(new),
                    None => {}
                }
            }
            (Some(rs), None) => self.enqueue_owner(rs),
            (None, None) => {}
        }
    }

    /// A Recreate Deployment starts its new Pods once the old ones are gone.
    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        let (Some(pod), None) = (old, new) else { return };
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let Some(rs) = controller_of(&pod.metadata).and_then(|r| self.sets.owner(ns, r, REPLICASETS)) else { return };
        if let Some(d) = controller_of(&rs.metadata).and_then(|r| self.owner(ns, r)) {
            if !is_rolling(&d) {
                self.queue.add(key_of(d.as_ref()));
            }
        }
    }
}
