//! From informer changes to queued Job keys: a Pod wakes the Job that controls it and
//! settles that Job's expectations.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::JobController;
use crate::machinery::expectations::observe_pod;
use crate::machinery::key_of;
use crate::podutil::controller_of;

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

    /// The key of the Job controlling `pod`, if it is one we know.
    fn owner_key(&self, pod: &Pod) -> Option<String> {
        let r = controller_of(&pod.metadata)?;
        if r.kind != "Job" || !r.api_version.starts_with("batch/") {
            return None;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let job = self.jobs.get(ns, &r.name).filter(|j| j.metadata.uid.as_deref() == Some(r.uid.as_str()))?;
        Some(key_of(job.as_ref()))
    }

    pub(crate) fn on_pod(&self, old: Option<&Arc<Pod>>, new: Option<&Arc<Pod>>) {
        observe_pod(&self.expectations, &self.queue, |p| self.owner_key(p), old, new);
    }
}
