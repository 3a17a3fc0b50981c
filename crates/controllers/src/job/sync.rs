//! One sync of a Job (`syncJob`): count finished Pods, decide whether the Job failed or
//! completed, otherwise keep `parallelism` Pods running (or none while suspended), and write
//! the status.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::policy::{backoff_remaining, restarts};
use super::{indexes, JobController, INDEX_KEY, TRACKING_FINALIZER};
use crate::machinery::claim::Claim;
use crate::machinery::split_key;
use crate::machinery::writer::{patch_status, replacing, Delete, EventType, JOBS, PODS};
use crate::podcontrol::{create_pods, delete_pods, Owner};
use crate::podutil::{controller_ref, is_active, is_ready, pod_from_template};
use crate::replicaset::{rank::order_for_deletion, BURST_REPLICAS};
use crate::ControllerError;
use skiff_api::selector::LabelSelector;

fn condition(type_: &str, reason: &str, message: &str, now: Timestamp) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Whether the status has condition `type_` with status True.
pub fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status.conditions.iter().flatten().any(|c| c.type_ == type_ && c.status == "True")
}

/// Sets a condition of `type_` (keeping its transition time when only reason or message change).
fn set_condition(status: &mut JobStatus, c: JobCondition) {
    let list = status.conditions.get_or_insert_with(Vec::new);
    match list.iter_mut().find(|x| x.type_ == c.type_) {
        Some(x) if x.status == c.status && x.reason == c.reason => {}
        Some(x) => {
            let keep = x.status == c.status;
            let transition = x.last_transition_time.clone();
            *x = c;
            if keep {
                x.last_transition_time = transition;
            }
        }
        None => list.push(c),
    }
}

/// Complete or Failed.
pub fn finished(job: &Job) -> bool {
    job.status.as_ref().is_some_and(|s| has_condition(s, "Complete") || has_condition(s, "Failed"))
}

impl JobController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        let (ns, name) = split_key(key);
        let Some(job) = self.jobs.get(ns, name) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let pods = self.claim(&job).await?;
        if finished(&job) {
            let all: Vec<&Arc<Pod>> = pods.iter().collect();
            self.release(key, &all).await?;
            return self.expire(&job).await;
        }
        let needs_sync = self.expectations.satisfied(key);
        let spec = job.spec.clone().unwrap_or_default();
        let mut status = job.status.clone().unwrap_or_default();
        let counted = self.count(key, &job, &pods, &mut status).await?;
        let now = Timestamp::now();
        let suspended = spec.suspend.unwrap_or(false);
        let mut active: Vec<Arc<Pod>> = pods.iter().filter(|p| is_active(p)).cloned().collect();
        if status.start_time.is_none() && !suspended {
            status.start_time = Some(Time(now));
        }
        let succeeded = status.succeeded.unwrap_or(0);
        let failed = status.failed.unwrap_or(0);
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let on_failure = spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("OnFailure");
        let past_backoff = failed > backoff_limit || (on_failure && failed + restarts(&active) > backoff_limit);
        let deadline_left = spec
            .active_deadline_seconds
            .zip(status.start_time.as_ref())
            .map(|(secs, start)| start.0.as_second() + secs - now.as_second());
        let failure = if let Some(msg) = counted.fail_job {
            Some(("PodFailurePolicy", msg))
        } else if past_backoff {
            Some(("BackoffLimitExceeded", "Job has reached the specified backoff limit".to_string()))
        } else if deadline_left.is_some_and(|left| left <= 0) && !suspended {
            Some(("DeadlineExceeded", "Job was active longer than specified deadline".to_string()))
        } else {
            None
        };
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let completed = indexes::parse(status.completed_indexes.as_deref().unwrap_or(""));
        let complete = failure.is_none()
            && match spec.completions {
                None => succeeded > 0 && active.is_empty(),
                Some(c) if indexed => completed.len() as i32 >= c,
                Some(c) => succeeded >= c,
            };
        let mut again = None;
        if let Some((reason, msg)) = &failure {
            self.delete_pods(key, &job, &active).await?;
            active.clear();
            set_condition(&mut status, condition("FailureTarget", reason, msg, now));
            set_condition(&mut status, condition("Failed", reason, msg, now));
            owner_of(&job).event(self.writer.as_ref(), EventType::Warning, reason, msg.as_str());
        } else if complete {
            self.delete_pods(key, &job, &active).await?;
            active.clear();
            let msg = "Reached expected number of succeeded pods";
            set_condition(&mut status, condition("SuccessCriteriaMet", "CompletionsReached", msg, now));
            set_condition(&mut status, condition("Complete", "CompletionsReached", msg, now));
            status.completion_time = Some(Time(now));
            owner_of(&job).event(self.writer.as_ref(), EventType::Normal, "Completed", "Job completed");
        } else if suspended {
            self.delete_pods(key, &job, &active).await?;
            active.clear();
            if !has_condition(&status, "Suspended") {
                owner_of(&job).event(self.writer.as_ref(), EventType::Normal, "Suspended", "Job suspended");
            }
            set_condition(&mut status, condition("Suspended", "JobSuspended", "Job suspended", now));
        } else {
            if has_condition(&status, "Suspended") {
                owner_of(&job).event(self.writer.as_ref(), EventType::Normal, "Resumed", "Job resumed");
                let mut c = condition("Suspended", "JobResumed", "Job resumed", now);
                c.status = "False".into();
                set_condition(&mut status, c);
                status.start_time = Some(Time(now));
            }
            if needs_sync {
                let done = Done { succeeded: succeeded.max(0) as usize, indexes: &completed };
                again = self.manage(key, &job, &pods, &mut active, done, now).await?;
            }
            if let Some(left) = deadline_left.filter(|l| *l > 0) {
                let d = Duration::from_secs(left as u64);
                again = Some(again.map_or(d, |a: Duration| a.min(d)));
            }
        }
        status.active = Some(active.len() as i32).filter(|n| *n > 0);
        status.ready = Some(active.iter().filter(|p| is_ready(p)).count() as i32);
        status.terminating = Some(pods.iter().filter(|p| is_terminating(p)).count() as i32);
        let rv = counted.resource_version.or_else(|| job.metadata.resource_version.clone());
        self.write_status(&job, status, rv).await?;
        Ok(again)
    }

    async fn claim(&self, job: &Job) -> Result<Vec<Arc<Pod>>, ControllerError> {
        let ns = job.metadata.namespace.as_deref().unwrap_or("");
        let selector = LabelSelector::from_meta(job.spec.as_ref().and_then(|s| s.selector.as_ref()));
        let claim = Claim {
            writer: self.writer.as_ref(),
            owner_kind: JOBS,
            owner: &job.metadata,
            selector: &selector,
            kind: PODS,
        };
        claim.run(self.pods.list(ns)).await
    }

    /// Creates or deletes Pods toward the wanted number of active ones (`manageJob`); says
    /// when to look again if new Pods must wait out the failure back-off.
    async fn manage(
        &self,
        key: &str,
        job: &Job,
        pods: &[Arc<Pod>],
        active: &mut Vec<Arc<Pod>>,
        done: Done<'_>,
        now: Timestamp,
    ) -> Result<Option<Duration>, ControllerError> {
        let spec = job.spec.clone().unwrap_or_default();
        let parallelism = spec.parallelism.unwrap_or(1).max(0) as usize;
        let (succeeded, completed) = (done.succeeded, done.indexes);
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let completions = spec.completions.map(|c| c.max(0) as usize);
        // Pods being deleted still hold their place unless they may be replaced at once.
        let replace_terminating = spec.pod_replacement_policy.as_deref() != Some("Failed");
        let terminating = if replace_terminating { 0 } else { pods.iter().filter(|p| is_terminating(p)).count() };
        let want = match completions {
            None if succeeded > 0 => active.len(),
            None => parallelism,
            Some(c) if indexed => parallelism.min(c.saturating_sub(completed.len())),
            Some(c) => parallelism.min(c.saturating_sub(succeeded)),
        };
        let have = active.len() + terminating;
        if have > want && !active.is_empty() {
            let n = (have - want).min(active.len());
            let mut victims = active.clone();
            order_for_deletion(&mut victims, active);
            victims.truncate(n);
            self.delete_pods(key, job, &victims).await?;
            active.retain(|p| !victims.iter().any(|v| Arc::ptr_eq(v, p)));
            return Ok(None);
        }
        if have >= want {
            return Ok(None);
        }
        if let Some(wait) = backoff_remaining(pods, now) {
            return Ok(Some(wait));
        }
        let n = (want - have).min(BURST_REPLICAS);
        let ns = job.metadata.namespace.as_deref().unwrap_or("");
        let name = job.metadata.name.as_deref().unwrap_or("");
        let owner = controller_ref(JOBS, &job.metadata);
        let mut base = pod_from_template(&spec.template, name, owner);
        base["metadata"]["finalizers"] = json!([TRACKING_FINALIZER]);
        let bodies: Vec<Value> = if indexed {
            let taken: BTreeSet<i32> =
                active.iter().filter_map(|p| indexes::of(p, completions.unwrap_or(0) as i32)).collect();
            let free = (0..completions.unwrap_or(0) as i32).filter(|i| !completed.contains(i) && !taken.contains(i));
            free.take(n).map(|i| indexed_pod(&base, name, i)).collect()
        } else {
            vec![base; n]
        };
        let n = bodies.len();
        self.expectations.expect_creations(key, n);
        let (created, err) = create_pods(self.writer.as_ref(), owner_of(job), ns, n, |i| bodies[i].clone()).await;
        for _ in created..n {
            self.expectations.creation_observed(key);
        }
        match err {
            Some(e) => Err(ControllerError::Write(e)),
            None => Ok(None),
        }
    }

    async fn delete_pods(&self, key: &str, job: &Job, victims: &[Arc<Pod>]) -> Result<(), ControllerError> {
        Ok(delete_pods(self.writer.as_ref(), &self.expectations, key, owner_of(job), victims).await?)
    }

    /// Writes `status` over the Job at resourceVersion `rv` (a conflict when it changed since).
    async fn write_status(&self, job: &Job, status: JobStatus, rv: Option<String>) -> Result<(), ControllerError> {
        let current = job.status.clone().unwrap_or_default();
        if current == status {
            return Ok(());
        }
        let mut new = replacing(&current, &status);
        // A merge patch leaves lists it does not name: counted uids are removed by name.
        let uncounted = status.uncounted_terminated_pods.unwrap_or_default();
        new["uncountedTerminatedPods"] = json!({"succeeded": uncounted.succeeded, "failed": uncounted.failed});
        let patch = json!({"metadata": {"resourceVersion": rv}, "status": new});
        patch_status(self.writer.as_ref(), JOBS, &job.metadata, patch).await
    }

    /// Deletes a finished Job `ttlSecondsAfterFinished` after it finished (the TTL-after-
    /// finished controller); says when to look again before that.
    async fn expire(&self, job: &Job) -> Result<Option<Duration>, ControllerError> {
        let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else { return Ok(None) };
        let status = job.status.clone().unwrap_or_default();
        let finished_at = status
            .conditions
            .iter()
            .flatten()
            .filter(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0))
            .max()
            .or(status.completion_time.as_ref().map(|t| t.0));
        let Some(at) = finished_at else { return Ok(None) };
        let left = at.as_second() + i64::from(ttl) - Timestamp::now().as_second();
        if left > 0 {
            return Ok(Some(Duration::from_secs(left as u64)));
        }
        let ns = job.metadata.namespace.as_deref().unwrap_or("");
        let name = job.metadata.name.as_deref().unwrap_or("");
        let opts = Delete { uid: job.metadata.uid.clone(), propagation: Some("Background"), grace_seconds: None };
        crate::machinery::claim::ignore_not_found(self.writer.delete(JOBS, ns, name, opts).await)?;
        Ok(None)
    }
}

/// What has succeeded so far.
struct Done<'a> {
    succeeded: usize,
    indexes: &'a BTreeSet<i32>,
}

/// Being deleted and not finished.
fn is_terminating(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_some() && !matches!(phase, Some("Succeeded") | Some("Failed"))
}

/// The Pod for completion index `i`: its index as annotation and label, hostname `<job>-<i>`,
/// and `JOB_COMPLETION_INDEX` in every container's environment.
fn indexed_pod(base: &Value, job: &str, i: i32) -> Value {
    let mut p = base.clone();
    p["metadata"]["generateName"] = json!(format!("{job}-{i}-"));
    p["metadata"]["annotations"][INDEX_KEY] = json!(i.to_string());
    p["metadata"]["labels"][INDEX_KEY] = json!(i.to_string());
    if p["spec"]["hostname"].is_null() {
        p["spec"]["hostname"] = json!(format!("{job}-{i}"));
    }
    let env = json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {"fieldPath":
        format!("metadata.labels['{INDEX_KEY}']")}}});
    for kind in ["initContainers", "containers"] {
        if let Some(cs) = p["spec"][kind].as_array_mut() {
            for c in cs {
                match c["env"].as_array_mut() {
                    Some(list) => list.push(env.clone()),
                    None => c["env"] = json!([env.clone()]),
                }
            }
        }
    }
    p
}

/// The Job as the owner of its Pods, for Events.
fn owner_of(job: &Job) -> Owner<'_> {
    Owner::new("job-controller", JOBS, &job.metadata)
}
