//! From informer changes to queued StatefulSet keys: a Pod wakes the StatefulSet that
//! controls it.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::StatefulSetController;
use crate::machinery::expectations::observe_pod;
use crate::machinery::key_of;
use crate::machinery::writer::STATEFULSETS;

impl StatefulSetController {
    pub(crate) fn on_set(&self, old: Option<&Arc<StatefulSet>>, new: Option<&Arc<StatefulSet>>) {
        match (old, new) {
            (_, Some(s)) => self.queue.add(key_of(s.as_ref())),
            (Some(s), None) => self.expectations.forget(&key_of(s.as_ref())),
            (None, None) => {}
        }
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        observe_pod(&self.expectations, &self.queue, |p| self.sets.controller_key(&p.metadata, STATEFULSETS), old, new);
    }
}
