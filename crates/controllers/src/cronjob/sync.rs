//! One sync of a CronJob (`sync`, `cleanupFinishedJobs`, `syncCronJob`): settle the active
//! list against the Jobs, delete finished Jobs beyond the history limits, start the Job of
//! the most recent unmet scheduled time if policy allows, write the status, and say when
//! the next time is due.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::schedule::{self, job_from_template, job_name, requeue_after, Missed};
use super::CronJobController;
use crate::job::finished;
use crate::machinery::split_key;
use crate::machinery::writer::{patch_status, replacing, Delete, Event, EventType, CRONJOBS, JOBS};
use crate::podutil::controller_of;
use crate::ControllerError;

fn has_condition(job: &Job, type_: &str) -> bool {
    job.status.as_ref().is_some_and(|s| crate::job::has_condition(s, type_))
}

fn active(cj: &CronJob) -> &[ObjectReference] {
    cj.status.as_ref().and_then(|s| s.active.as_deref()).unwrap_or(&[])
}

fn in_active(cj: &CronJob, uid: Option<&str>) -> bool {
    active(cj).iter().any(|r| r.uid.as_deref() == uid)
}

fn remove_active(cj: &mut CronJob, uid: Option<&str>) {
    let status = cj.status.get_or_insert_with(CronJobStatus::default);
    if let Some(list) = status.active.as_mut() {
        list.retain(|r| r.uid.as_deref() != uid);
        if list.is_empty() {
            status.active = None;
        }
    }
}

fn reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

fn name(job: &Job) -> &str {
    job.metadata.name.as_deref().unwrap_or("")
}

impl CronJobController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        self.sync_at(key, Timestamp::now().as_millisecond()).await
    }

    /// The sync at `now_ms` (Unix milliseconds).
    pub(crate) async fn sync_at(&self, key: &str, now_ms: i64) -> Result<Option<Duration>, ControllerError> {
        let (ns, cj_name) = split_key(key);
        let Some(cached) = self.cronjobs.get(ns, cj_name) else { return Ok(None) };
        // Every Job this CronJob controls, whatever its labels say now.
        let jobs: Vec<Arc<Job>> = self
            .jobs
            .list(ns)
            .into_iter()
            .filter(|j| controller_of(&j.metadata).is_some_and(|r| r.kind == "CronJob" && r.name == cj_name))
            .collect();
        let mut cj = (*cached).clone();
        let mut changed = self.cleanup(&mut cj, &jobs).await;
        let result = self.reconcile(&mut cj, &jobs, now_ms, &mut changed).await;
        if changed {
            let before = cached.status.clone().unwrap_or_default();
            let after = cj.status.clone().unwrap_or_default();
            let patch = json!({
                "metadata": {"resourceVersion": cj.metadata.resource_version},
                "status": replacing(&before, &after),
            });
            patch_status(self.writer.as_ref(), CRONJOBS, &cj.metadata, patch).await?;
        }
        result
    }

    /// Deletes the oldest finished Jobs beyond `successfulJobsHistoryLimit` and
    /// `failedJobsHistoryLimit`; says whether the active list changed.
    async fn cleanup(&self, cj: &mut CronJob, jobs: &[Arc<Job>]) -> bool {
        let spec = cj.spec.clone().unwrap_or_default();
        let mut changed = false;
        for (kind, limit) in
            [("Complete", spec.successful_jobs_history_limit), ("Failed", spec.failed_jobs_history_limit)]
        {
            let Some(limit) = limit else { continue };
            let mut done: Vec<&Arc<Job>> = jobs.iter().filter(|j| has_condition(j, kind)).collect();
            let excess = done.len().saturating_sub(limit.max(0) as usize);
            if excess == 0 {
                continue;
            }
            // Oldest start first; Jobs that never started last; names break ties.
            done.sort_by(|a, b| {
                let start = |j: &Job| j.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0);
                match (start(a), start(b)) {
                    (Some(x), Some(y)) => x.cmp(&y).then_with(|| name(a).cmp(name(b))),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => name(a).cmp(name(b)),
                }
            });
            for job in done.into_iter().take(excess) {
                if self.delete_job(cj, job).await.is_ok() {
                    remove_active(cj, job.metadata.uid.as_deref());
                    changed = true;
                }
            }
        }
        changed
    }

    /// Records an Event about the CronJob.
    fn event(&self, cj: &CronJob, type_: EventType, reason: &'static str, message: impl Into<String>) {
        self.writer.event(Event::about("cronjob-controller", CRONJOBS, &cj.metadata, type_, reason, message));
    }

    async fn delete_job(&self, cj: &CronJob, job: &Job) -> Result<(), ControllerError> {
        let ns = job.metadata.namespace.as_deref().unwrap_or("");
        let opts = Delete { uid: job.metadata.uid.clone(), propagation: Some("Background"), grace_seconds: None };
        match self.writer.delete(JOBS, ns, name(job), opts).await {
            Ok(()) => self.event(cj, EventType::Normal, "SuccessfulDelete", format!("Deleted job {}", name(job))),
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.event(cj, EventType::Warning, "FailedDelete", format!("Deleted job: {}", e.message));
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// `syncCronJob`: `changed` says whether the status must be written.
    async fn reconcile(
        &self,
        cj: &mut CronJob,
        jobs: &[Arc<Job>],
        now_ms: i64,
        changed: &mut bool,
    ) -> Result<Option<Duration>, ControllerError> {
        let now = now_ms.div_euclid(1000);
        let ns = cj.metadata.namespace.clone().unwrap_or_default();
        for j in jobs {
            let uid = j.metadata.uid.as_deref();
            let found = in_active(cj, uid);
            if !found && !finished(j) {
                // Our cached status may be older than the Job: look at the live CronJob.
                let live = self.writer.get(CRONJOBS, &ns, cj.metadata.name.as_deref().unwrap_or("")).await?;
                if let Some(live) = live.and_then(|v| serde_json::from_value::<CronJob>(v).ok()) {
                    if in_active(&live, uid) {
                        *cj = live;
                        continue;
                    }
                }
                tracing::warn!(cronjob = ?cj.metadata.name, job = name(j), "saw a job the controller did not create");
            } else if finished(j) {
                if found {
                    let condition = if has_condition(j, "Complete") { "Complete" } else { "Failed" };
                    let message = format!("Saw completed job: {}, condition: {condition}", name(j));
                    self.event(cj, EventType::Normal, "SawCompletedJob", message);
                    remove_active(cj, uid);
                    *changed = true;
                }
                if has_condition(j, "Complete") {
                    let done = j.status.as_ref().and_then(|s| s.completion_time.clone());
                    let status = cj.status.get_or_insert_with(CronJobStatus::default);
                    if done.is_some() && status.last_successful_time.as_ref().is_none_or(|t| done.as_ref() > Some(t)) {
                        status.last_successful_time = done;
                        *changed = true;
                    }
                }
            }
        }
        // Active Jobs that are gone (asked of the API server, not a possibly slow cache).
        for r in active(cj).to_vec() {
            if jobs.iter().any(|j| j.metadata.uid == r.uid) {
                continue;
            }
            if self.writer.get(JOBS, &ns, r.name.as_deref().unwrap_or("")).await?.is_none() {
                remove_active(cj, r.uid.as_deref());
                *changed = true;
            }
        }
        if cj.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let spec = cj.spec.clone().unwrap_or_default();
        if schedule::zone(cj).is_err() || spec.suspend == Some(true) {
            return Ok(None);
        }
        let Ok(sched) = schedule::schedule(cj) else { return Ok(None) };
        let again = requeue_after(cj, now_ms, &sched);
        let scheduled = match schedule::most_recent(cj, now, &sched, true) {
            Err(e) => {
                tracing::warn!(cronjob = ?cj.metadata.name, error = %e, "invalid schedule");
                return Ok(None);
            }
            Ok((_, None, _)) => return Ok(again),
            Ok((_, Some(t), missed)) => {
                if missed == Missed::Many {
                    tracing::warn!(cronjob = ?cj.metadata.name, "too many missed start times");
                    let message =
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check \
                                   clock skew";
                    self.event(cj, EventType::Warning, "TooManyMissedTimes", message);
                }
                t
            }
        };
        if spec.starting_deadline_seconds.is_some_and(|d| scheduled + d < now) {
            return Ok(again);
        }
        let job_name = job_name(cj, scheduled);
        let last = cj.status.as_ref().and_then(|s| s.last_schedule_time.as_ref()).map(|t| t.0.as_second());
        if active(cj).iter().any(|r| r.name.as_deref() == Some(job_name.as_str())) || last == Some(scheduled) {
            return Ok(again);
        }
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        if policy == "Forbid" && !active(cj).is_empty() {
            let message = "Not starting job because prior execution is running and concurrency policy is Forbid";
            self.event(cj, EventType::Normal, "JobAlreadyActive", message);
            return Ok(again);
        }
        if policy == "Replace" {
            for r in active(cj).to_vec() {
                let job = self.writer.get(JOBS, &ns, r.name.as_deref().unwrap_or("")).await?;
                if let Some(job) = job.and_then(|v| serde_json::from_value::<Job>(v).ok()) {
                    self.delete_job(cj, &job).await?;
                }
                remove_active(cj, r.uid.as_deref());
                *changed = true;
            }
        }
        let job = match self.writer.create(JOBS, &ns, job_from_template(cj, scheduled)).await {
            Ok(v) => v,
            Err(e) if e.code == 409 => {
                // Made before, by us (a status write lost) or by someone else.
                let Some(v) = self.writer.get(JOBS, &ns, &job_name).await? else { return Err(e.into()) };
                let job: Option<Job> = serde_json::from_value(v.clone()).ok();
                let ours = job
                    .as_ref()
                    .and_then(|j| controller_of(&j.metadata))
                    .is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref());
                if !ours || job.as_ref().is_some_and(|j| in_active(cj, j.metadata.uid.as_deref())) {
                    return Ok(None);
                }
                v
            }
            Err(e) => {
                self.event(cj, EventType::Warning, "FailedCreate", format!("Error creating job: {}", e.message));
                return Err(e.into());
            }
        };
        let job: Job = serde_json::from_value(job).map_err(|e| ControllerError::Config(e.to_string()))?;
        tracing::info!(cronjob = ?cj.metadata.name, job = name(&job), "created job");
        self.event(cj, EventType::Normal, "SuccessfulCreate", format!("Created job {}", name(&job)));
        let status = cj.status.get_or_insert_with(CronJobStatus::default);
        status.active.get_or_insert_with(Vec::new).push(reference(&job));
        status.last_schedule_time = Some(Time(Timestamp::from_second(scheduled).unwrap_or_default()));
        *changed = true;
        Ok(requeue_after(cj, now_ms, &sched))
    }
}
