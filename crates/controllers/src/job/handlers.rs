//! From informer changes to queued Job keys: a Pod wakes the Job that controls it and
//! settles that Job's expectations.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::JobController;
use crate::machinery::expectations::observe_pod;
use crate::machinery::key_of;
use crate::machinery::writer::JOBS;

impl JobController {
    pub(crate) fn on_job(&self, old: Option<&Arc<Job>>, new: Option<&Arc<Job>>) {
        match (old, new) {
            (_, Some(j)) => self.queue.add(key_of(j.as_ref())),
            (Some(j), None) => {
                self.expectations.forget(&key_of(j.as_ref()));
            }
            (None, None) => {}
        }
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        observe_pod(&self.expectations, &self.queue, |p| self.jobs.controller_key(&p.metadata, JOBS), old, new);
    }
}
