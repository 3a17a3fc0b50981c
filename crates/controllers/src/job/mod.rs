//! The Job controller (`pkg/controller/job`) and the TTL-after-finished controller's share of
//! Jobs: Pods run to completion, `parallelism` at a time, until `completions` succeed (one
//! index each when Indexed) or the Job fails — failures beyond `backoffLimit` (new Pods wait
//! an exponential back-off after failures), `activeDeadlineSeconds`, or a `podFailurePolicy`
//! rule. Finished Pods are counted exactly once: each carries the
//! `batch.kubernetes.io/job-tracking` finalizer until its uid is recorded in
//! `status.uncountedTerminatedPods` ([`tracking`]). `suspend` deletes the active Pods.
//! A finished Job with `ttlSecondsAfterFinished` is deleted that long after it finished.

mod handlers;
pub mod indexes;
mod policy;
mod sync;

pub use sync::{finished, has_condition};
#[cfg(test)]
mod tests;
mod tracking;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::machinery::cache::Cache;
use crate::machinery::expectations::Expectations;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::Writer;

/// The finalizer that keeps a Job's Pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The completion index of a Pod of an Indexed Job (annotation and label).
pub const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";

pub struct JobController {
    pub(crate) jobs: Cache<Job>,
    pub(crate) pods: Cache<Pod>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) expectations: Expectations,
    pub(crate) removals: tracking::Removals,
    pub(crate) queue: Arc<WorkQueue>,
}

impl JobController {
    pub fn new(jobs: Cache<Job>, pods: Cache<Pod>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(JobController {
            jobs,
            pods,
            writer,
            expectations: Expectations::default(),
            removals: tracking::Removals::default(),
            queue: WorkQueue::new(),
        })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(self: &Arc<Self>, jobs: &mut Informer<Job>, pods: &mut Informer<Pod>) {
        let c = self.clone();
        jobs.on_change(move |old, new| c.on_job(old, new));
        let c = self.clone();
        pods.on_change(move |old, new| c.on_pod(old, new));
    }
}

crate::machinery::runner::reconcile_by_sync!(JobController, "job");
