//! A Deployment's status and conditions (`sync.go`'s calculateStatus, `progress.go` and the
//! condition helpers of `deployment_util.go`): counts over its ReplicaSets, Available by
//! minimum availability, Progressing through created/updated/available/timed out.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::util::{max_unavailable, replicas, sum_actual, sum_available, sum_ready, sum_replicas};

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

/// A condition stamped now.
pub fn condition(type_: &str, status: &str, reason: &str, message: String) -> DeploymentCondition {
    let now = Time(Timestamp::now());
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

pub fn get<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

pub fn remove(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
        if c.is_empty() {
            status.conditions = None;
        }
    }
}

/// Sets a condition unless one with the same status and reason is there; a change of reason
/// alone keeps the transition time (`SetDeploymentCondition`).
pub fn set(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = get(status, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove(status, &c.type_);
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

/// progressDeadlineSeconds is set and not "never" (MaxInt32).
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).is_some_and(|s| s != i32::MAX)
}

fn nz(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// The status the ReplicaSets add up to (`calculateStatus`).
pub fn calculate(all: &[&ReplicaSet], new: Option<&ReplicaSet>, d: &Deployment) -> DeploymentStatus {
    let old = d.status.clone().unwrap_or_default();
    let available = sum_available(all.iter().copied());
    let total = sum_replicas(all.iter().copied());
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: nz(sum_actual(all.iter().copied())),
        updated_replicas: nz(sum_actual(new)),
        ready_replicas: nz(sum_ready(all.iter().copied())),
        available_replicas: nz(available),
        unavailable_replicas: nz((total - available).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: None,
    };
    if available >= replicas(d) - max_unavailable(d) {
        set(
            &mut status,
            condition(AVAILABLE, "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
        );
    } else {
        set(
            &mut status,
            condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            ),
        );
    }
    status
}

fn n(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// All replicas updated and available, and the latest spec observed (`DeploymentComplete`).
pub fn complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    n(s.updated_replicas) == replicas(d)
        && n(s.replicas) == replicas(d)
        && n(s.available_replicas) == replicas(d)
        && s.observed_generation >= d.metadata.generation
}

/// The new status shows progress over the Deployment's current one (`DeploymentProgressing`).
pub fn progressing(d: &Deployment, s: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(s.replicas) - n(s.updated_replicas);
    n(s.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(s.ready_replicas) > n(old.ready_replicas)
        || n(s.available_replicas) > n(old.available_replicas)
}

fn deadline(d: &Deployment) -> Duration {
    let secs = d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).unwrap_or(600);
    Duration::from_secs(secs.max(0) as u64)
}

/// Time left before the Progressing condition's last update passes the deadline; None when
/// there is no deadline to watch.
fn time_left(d: &Deployment, s: &DeploymentStatus, now: Timestamp) -> Option<i64> {
    if !has_progress_deadline(d) {
        return None;
    }
    let c = get(s, PROGRESSING)?;
    if matches!(c.reason.as_deref(), Some(NEW_RS_AVAILABLE) | Some(TIMED_OUT)) {
        return None;
    }
    let from = c.last_update_time.as_ref()?.0;
    Some(from.as_second() + deadline(d).as_secs() as i64 - now.as_second())
}

/// Progress has stalled past progressDeadlineSeconds (`DeploymentTimedOut`).
pub fn timed_out(d: &Deployment, s: &DeploymentStatus) -> bool {
    if get(s, PROGRESSING).and_then(|c| c.reason.as_deref()) == Some(TIMED_OUT) {
        return has_progress_deadline(d);
    }
    time_left(d, s, Timestamp::now()).is_some_and(|left| left < 0)
}

/// When to look again so a stalled rollout is reported timed out (`requeueStuckDeployment`).
pub fn requeue_stuck(d: &Deployment, s: &DeploymentStatus) -> Option<Duration> {
    if complete(d, s) {
        return None;
    }
    let left = time_left(d, s, Timestamp::now())?;
    Some(Duration::from_secs(left.max(0) as u64 + 1))
}

/// The Progressing condition after this sync, and the ReplicaFailure of the ReplicaSets
/// (`syncRolloutStatus` before its write).
pub fn rollout_status(all: &[&ReplicaSet], new: Option<&ReplicaSet>, d: &Deployment) -> DeploymentStatus {
    let mut status = calculate(all, new, d);
    if !has_progress_deadline(d) {
        remove(&mut status, PROGRESSING);
    }
    let old = d.status.clone().unwrap_or_default();
    let current = get(&old, PROGRESSING).cloned();
    let finished = status.replicas == status.updated_replicas
        && current.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
    let name = d.metadata.name.as_deref().unwrap_or("");
    let subject = match new {
        Some(rs) => format!("ReplicaSet {:?}", rs.metadata.name.as_deref().unwrap_or("")),
        None => format!("Deployment {name:?}"),
    };
    if has_progress_deadline(d) && !finished {
        if complete(d, &status) {
            let msg = format!("{subject} has successfully progressed.");
            set(&mut status, condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg));
        } else if progressing(d, &status) {
            let mut c = condition(PROGRESSING, "True", RS_UPDATED, format!("{subject} is progressing."));
            if let Some(cur) = &current {
                if cur.status == "True" {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove(&mut status, PROGRESSING);
            }
            set(&mut status, c);
        } else if timed_out(d, &status) {
            let msg = format!("{subject} has timed out progressing.");
            set(&mut status, condition(PROGRESSING, "False", TIMED_OUT, msg));
        }
    }
    let failure = new.into_iter().chain(all.iter().copied()).find_map(|rs| {
        let c = rs.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == REPLICA_FAILURE)?;
        Some(DeploymentCondition {
            type_: REPLICA_FAILURE.into(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_update_time: c.last_transition_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
        })
    });
    match failure {
        Some(c) => set(&mut status, c),
        None => remove(&mut status, REPLICA_FAILURE),
    }
    status
}
