//! From informer changes to queued Job keys: a Pod wakes the Job that controls it and
//! settles that Job's expectations.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::{JobController, TRACKING_FINALIZER};
use crate::machinery::expectations::observe_pod;
use crate::machinery::key_of;
use crate::machinery::writer::JOBS;

impl JobController {
    pub(crate) fn on_job(&self, old: Option<&Arc<Job>>, new: Option<&Arc<Job>>) {
        match (old, new) {
            (_, Some(j)) => self.queue.add(key_of(j.as_ref())),
            (Some(j), None) => {
                let key = key_of(j.as_ref());
                self.expectations.forget(&key);
                self.removals.forget(&key);
            }
            (None, None) => {}
        }
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        // A Pod seen without its tracking finalizer, or gone, ends a pending removal.
        let settled = match (old, new) {
            (_, Some(p)) if !p.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER) => Some(p),
            (Some(p), None) => Some(p),
            _ => None,
        };
        if let Some(p) = settled {
            if let (Some(key), Some(uid)) = (self.jobs.controller_key(&p.metadata, JOBS), &p.metadata.uid) {
                self.removals.observed(&key, uid);
            }
        }
        observe_pod(&self.expectations, &self.queue, |p| self.jobs.controller_key(&p.metadata, JOBS), old, new);
    }
}
