//! From informer changes to queued ReplicaSet keys (the controller's event handlers): a Pod
//! with a controller reference wakes its owner and settles its expectations; an orphan wakes
//! every ReplicaSet whose selector matches it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::ReplicaSetController;
use crate::machinery::key_of;
use crate::podutil::{controller_of, is_ready, labels};
use skiff_api::selector::LabelSelector;

impl ReplicaSetController {
    pub(crate) fn on_set(&self, old: Option<&Arc<ReplicaSet>>, new: Option<&Arc<ReplicaSet>>) {
        if let Some(rs) = new.or(old) {
            self.queue.add(key_of(rs.as_ref()));
        }
    }

    /// The ReplicaSet a controller reference points to, if it is one we know.
    fn owner(&self, ns: &str, r: &OwnerReference) -> Option<Arc<ReplicaSet>> {
        self.sets.owner(ns, r, self.kind)
    }

    /// ReplicaSets of the Pod's namespace whose selector matches it.
    fn matching(&self, pod: &Pod) -> Vec<Arc<ReplicaSet>> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let l = labels(&pod.metadata);
        let mut sets = self.sets.list(ns);
        sets.retain(|rs| {
            let sel = LabelSelector::from_meta(rs.spec.as_ref().map(|s| &s.selector));
            !sel.is_empty() && sel.matches(l)
        });
        sets
    }

    fn enqueue_matching(&self, pod: &Pod) {
        for rs in self.matching(pod) {
            self.queue.add(key_of(rs.as_ref()));
        }
    }

    fn pod_gone(&self, pod: &Pod) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let Some(rs) = controller_of(&pod.metadata).and_then(|r| self.owner(ns, r)) else { return };
        let rs_key = key_of(rs.as_ref());
        self.expectations.deletion_observed(&rs_key, &key_of(pod));
        self.queue.add(rs_key);
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        match (old, new) {
            (None, Some(pod)) => self.pod_added(pod),
            (Some(old), Some(new)) => self.pod_updated(old, new),
            (Some(pod), None) => self.pod_gone(pod),
            (None, None) => {}
        }
    }

    fn pod_added(&self, pod: &Pod) {
        if pod.metadata.deletion_timestamp.is_some() {
            return self.pod_gone(pod);
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        match controller_of(&pod.metadata) {
            Some(r) => {
                if let Some(rs) = self.owner(ns, r) {
                    let rs_key = key_of(rs.as_ref());
                    self.expectations.creation_observed(&rs_key);
                    self.queue.add(rs_key);
                }
            }
            None => self.enqueue_matching(pod),
        }
    }

    fn pod_updated(&self, old: &Pod, new: &Pod) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return;
        }
        let label_changed = old.metadata.labels != new.metadata.labels;
        if new.metadata.deletion_timestamp.is_some() {
            // Terminating: its owner may replace it now.
            self.pod_gone(new);
            if label_changed {
                self.pod_gone(old);
            }
            return;
        }
        let ns = new.metadata.namespace.as_deref().unwrap_or("");
        let (old_ref, new_ref) = (controller_of(&old.metadata), controller_of(&new.metadata));
        let ref_changed = old_ref.map(|r| &r.uid) != new_ref.map(|r| &r.uid);
        if ref_changed {
            if let Some(rs) = old_ref.and_then(|r| self.owner(ns, r)) {
                self.queue.add(key_of(rs.as_ref()));
            }
        }
        match new_ref {
            Some(r) => {
                if let Some(rs) = self.owner(ns, r) {
                    let rs_key = key_of(rs.as_ref());
                    self.queue.add(rs_key.clone());
                    // Becoming ready: available only after minReadySeconds, look again then.
                    let min_ready = rs.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
                    if min_ready > 0 && !is_ready(old) && is_ready(new) {
                        self.queue.add_after(rs_key, Duration::from_secs(min_ready as u64 + 1));
                    }
                }
            }
            None if label_changed || ref_changed => self.enqueue_matching(new),
            None => {}
        }
    }
}
