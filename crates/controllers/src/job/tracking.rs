//! Counting finished Pods exactly once (`trackJobStatusAndRemoveFinalizers`): a newly
//! finished Pod's uid goes into `status.uncountedTerminatedPods` (written first), then its
//! tracking finalizer is removed, then it moves into the `succeeded` or `failed` count. A
//! crash between the steps repeats only what is left.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::policy::{failed, matching_rule, succeeded};
use super::{indexes, JobController, TRACKING_FINALIZER};
use crate::machinery::claim::ignore_not_found;
use crate::machinery::writer::{PatchBody, JOBS, PODS};
use crate::ControllerError;

/// What counting found beyond the counts.
#[derive(Default)]
pub(crate) struct Counted {
    /// A `FailJob` rule matched a new failure: (reason message).
    pub fail_job: Option<String>,
    /// The Job's resourceVersion after counting wrote `uncountedTerminatedPods`.
    pub resource_version: Option<String>,
}

/// Pods whose tracking finalizer is being removed, by Job key (the Job controller's
/// `uidTrackingExpectations`): until the removal is seen, a cached copy of such a Pod that
/// still shows the finalizer is not counted a second time.
#[derive(Default)]
pub(crate) struct Removals(Mutex<HashMap<String, HashSet<String>>>);

impl Removals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expect(&self, key: &str, uid: &str) {
        self.lock().entry(key.to_string()).or_default().insert(uid.to_string());
    }

    pub(crate) fn pending(&self, key: &str, uid: &str) -> bool {
        self.lock().get(key).is_some_and(|s| s.contains(uid))
    }

    /// The Pod `uid` was seen without the finalizer, or deleted.
    pub(crate) fn observed(&self, key: &str, uid: &str) {
        let mut m = self.lock();
        if let Some(set) = m.get_mut(key) {
            set.remove(uid);
            if set.is_empty() {
                m.remove(key);
            }
        }
    }

    pub(crate) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

fn has_finalizer(pod: &Pod) -> bool {
    pod.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == TRACKING_FINALIZER))
}

fn set(list: &Option<Vec<String>>) -> BTreeSet<String> {
    list.iter().flatten().cloned().collect()
}

fn list(s: &BTreeSet<String>) -> Option<Vec<String>> {
    (!s.is_empty()).then(|| s.iter().cloned().collect())
}

impl JobController {
    /// Removes the tracking finalizer from `pods` (those that still have it) of the Job `key`.
    pub(crate) async fn release(&self, key: &str, pods: &[&Arc<Pod>]) -> Result<(), ControllerError> {
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}});
        let pods: Vec<&Arc<Pod>> = pods.iter().copied().filter(|p| has_finalizer(p)).collect();
        for p in &pods {
            self.removals.expect(key, p.metadata.uid.as_deref().unwrap_or(""));
        }
        let writes = pods.iter().map(|p| {
            let ns = p.metadata.namespace.as_deref().unwrap_or("");
            let name = p.metadata.name.as_deref().unwrap_or("");
            self.writer.patch(PODS, ns, name, false, PatchBody::Strategic(patch.clone()))
        });
        let mut result = Ok(());
        for (p, r) in pods.iter().zip(join_all(writes).await) {
            if r.is_err() {
                // Not removed (or the Pod is gone already): nothing more to wait for.
                self.removals.observed(key, p.metadata.uid.as_deref().unwrap_or(""));
            }
            if let Err(e) = ignore_not_found(r.map(drop)) {
                result = Err(e);
            }
        }
        result
    }

    /// Brings newly finished Pods into `status`'s counts (and completed indexes).
    pub(crate) async fn count(
        &self,
        key: &str,
        job: &Job,
        pods: &[Arc<Pod>],
        status: &mut JobStatus,
    ) -> Result<Counted, ControllerError> {
        let spec = job.spec.clone().unwrap_or_default();
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let completions = spec.completions.unwrap_or(0);
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let (mut ok, mut bad) = (set(&uncounted.succeeded), set(&uncounted.failed));
        let mut completed = indexes::parse(status.completed_indexes.as_deref().unwrap_or(""));
        let mut out = Counted::default();
        let mut ignored = Vec::new();
        let mut new = false;
        for p in pods.iter().filter(|p| has_finalizer(p)) {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            if ok.contains(&uid) || bad.contains(&uid) || self.removals.pending(key, &uid) {
                continue;
            }
            if succeeded(p) {
                ok.insert(uid);
                if let Some(i) = indexed.then(|| indexes::of(p, completions)).flatten() {
                    completed.insert(i);
                }
                new = true;
            } else if failed(p) {
                let rule = spec.pod_failure_policy.as_ref().and_then(|pfp| matching_rule(pfp, p));
                match rule {
                    Some((action, _)) if action == "Ignore" => ignored.push(p),
                    Some((action, msg)) if action == "FailJob" => {
                        out.fail_job.get_or_insert(msg);
                        bad.insert(uid);
                        new = true;
                    }
                    _ => {
                        bad.insert(uid);
                        new = true;
                    }
                }
            }
        }
        if indexed {
            status.completed_indexes = Some(indexes::format(&completed)).filter(|s| !s.is_empty());
        }
        let ns = job.metadata.namespace.as_deref().unwrap_or("");
        let name = job.metadata.name.as_deref().unwrap_or("");
        if new {
            // First record who is about to be counted, so no Pod is counted twice; only over
            // the status this count started from (a stale cached Job gets a conflict).
            let patch = json!({
                "metadata": {"resourceVersion": job.metadata.resource_version},
                "status": {
                    "uncountedTerminatedPods": {"succeeded": list(&ok), "failed": list(&bad)},
                    "completedIndexes": status.completed_indexes,
                },
            });
            let written = self.writer.patch(JOBS, ns, name, true, PatchBody::Merge(patch)).await?;
            out.resource_version =
                written.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()).map(String::from);
        }
        let releasing: Vec<&Arc<Pod>> = pods
            .iter()
            .filter(|p| p.metadata.uid.as_ref().is_some_and(|u| ok.contains(u) || bad.contains(u)))
            .chain(ignored)
            .collect();
        self.release(key, &releasing).await?;
        status.succeeded = Some(status.succeeded.unwrap_or(0) + ok.len() as i32).filter(|n| *n > 0);
        status.failed = Some(status.failed.unwrap_or(0) + bad.len() as i32).filter(|n| *n > 0);
        status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
        Ok(out)
    }
}
