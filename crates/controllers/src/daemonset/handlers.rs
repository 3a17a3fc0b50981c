//! From informer changes to queued DaemonSet keys: a Pod wakes the DaemonSet that controls
//! it; a new Node, or one whose labels, taints or readiness changed, wakes every DaemonSet.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::DaemonSetController;
use crate::machinery::expectations::observe_pod;
use crate::machinery::key_of;
use crate::machinery::writer::DAEMONSETS;

fn ready(node: &Node) -> Option<&str> {
    let conditions = node.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status.as_str())
}

impl DaemonSetController {
    pub(crate) fn on_set(&self, old: Option<&Arc<DaemonSet>>, new: Option<&Arc<DaemonSet>>) {
        match (old, new) {
            (_, Some(ds)) => self.queue.add(key_of(ds.as_ref())),
            (Some(ds), None) => self.expectations.forget(&key_of(ds.as_ref())),
            (None, None) => {}
        }
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        observe_pod(&self.expectations, &self.queue, |p| self.sets.controller_key(&p.metadata, DAEMONSETS), old, new);
    }

    pub(crate) fn on_node(&self, old: Option<&Arc<Node>>, new: Option<&Arc<Node>>) {
        let relevant = match (old, new) {
            (Some(o), Some(n)) => {
                o.metadata.labels != n.metadata.labels
                    || o.spec.as_ref().map(|s| &s.taints) != n.spec.as_ref().map(|s| &s.taints)
                    || ready(o) != ready(n)
            }
            _ => true,
        };
        if relevant {
            for ds in self.sets.list_all() {
                self.queue.add(key_of(ds.as_ref()));
            }
        }
    }
}
