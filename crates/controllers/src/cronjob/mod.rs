//! The CronJob controller (`pkg/controller/cronjob`, v2): at each time of its schedule (cron
//! syntax, in `timeZone`) a CronJob starts a Job named for that time, within
//! `startingDeadlineSeconds`, as `concurrencyPolicy` allows (Allow, Forbid, Replace), unless
//! suspended; `status.active` lists its running Jobs; finished Jobs beyond the history
//! limits are deleted. The key is queued again for the next scheduled time.

mod schedule;
mod sync;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::machinery::cache::Cache;
use crate::machinery::informer::Informer;
use crate::machinery::key_of;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::{Writer, CRONJOBS};

pub use schedule::SCHEDULED_TIMESTAMP;

pub struct CronJobController {
    pub(crate) cronjobs: Cache<CronJob>,
    pub(crate) jobs: Cache<Job>,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) queue: Arc<WorkQueue>,
}

impl CronJobController {
    pub fn new(cronjobs: Cache<CronJob>, jobs: Cache<Job>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(CronJobController { cronjobs, jobs, writer, queue: WorkQueue::new() })
    }

    /// Registers the controller's handlers on the shared informers.
    pub fn watch(self: &Arc<Self>, cronjobs: &mut Informer<CronJob>, jobs: &mut Informer<Job>) {
        let c = self.clone();
        cronjobs.on_change(move |_, new| {
            if let Some(cj) = new {
                c.queue.add(key_of(cj.as_ref()));
            }
        });
        let c = self.clone();
        jobs.on_change(move |old, new| c.on_job(old, new));
    }

    /// A Job's change wakes the CronJob that controls it (before and after).
    fn on_job(&self, old: Option<&Arc<Job>>, new: Option<&Arc<Job>>) {
        if let (Some(o), Some(n)) = (old, new) {
            if o.metadata.resource_version == n.metadata.resource_version {
                return;
            }
        }
        for j in old.into_iter().chain(new) {
            if let Some(key) = self.cronjobs.controller_key(&j.metadata, CRONJOBS) {
                self.queue.add(key);
            }
        }
    }
}

crate::machinery::runner::reconcile_by_sync!(CronJobController, "cronjob");
