//! One sync of a StatefulSet (`updateStatefulSet` of `stateful_set_control.go`): make missing
//! ordinals and replace failed Pods, delete ordinals beyond `replicas` from the highest, roll
//! Pods of an older revision down to the partition; under OrderedReady every step waits for
//! the Pods before it to be Running and Ready. Then the status.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::identity::{ordinal, pod_for, revision};
use super::StatefulSetController;
use crate::deployment::util::template_hash;
use crate::machinery::claim::Claim;
use crate::machinery::history::History;
use crate::machinery::split_key;
use crate::machinery::writer::{patch_status, replacing, PODS, STATEFULSETS};
use crate::podcontrol::{create_pod, delete_pods, Owner};
use crate::podutil::{controller_ref, is_available, is_ready};
use crate::ControllerError;
use skiff_api::selector::LabelSelector;

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

fn failed(pod: &Pod) -> bool {
    matches!(phase(pod), Some("Failed") | Some("Succeeded"))
}

/// Running and Ready, and not being deleted (`isHealthy`).
fn healthy(pod: &Pod) -> bool {
    phase(pod) == Some("Running") && is_ready(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// What the sync decided to do (at most one kind of step under OrderedReady).
#[derive(Default)]
struct Plan {
    create: Vec<i32>,
    delete: Vec<Arc<Pod>>,
}

impl StatefulSetController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        let (ns, name) = split_key(key);
        let Some(set) = self.sets.get(ns, name) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let selector = LabelSelector::from_meta(set.spec.as_ref().map(|s| &s.selector));
        let claim = Claim {
            writer: self.writer.as_ref(),
            owner_kind: STATEFULSETS,
            owner: &set.metadata,
            selector: &selector,
            kind: PODS,
        };
        let pods: Vec<Arc<Pod>> =
            claim.run(self.pods.list(ns)).await?.into_iter().filter(|p| ordinal(name, p).is_some()).collect();
        let spec = set.spec.clone().unwrap_or_default();
        let status = set.status.clone().unwrap_or_default();
        // The revision hash always takes the collision count, 0 until one happens (as
        // `getStatefulSetRevisions`): the first status write must not change the revision.
        let hash = template_hash(&spec.template, Some(status.collision_count.unwrap_or(0)));
        let update_rev = format!("{name}-{hash}");
        let current_rev =
            status.current_revision.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| update_rev.clone());
        if set.metadata.deletion_timestamp.is_none() {
            let history = History {
                writer: self.writer.as_ref(),
                revisions: &self.revisions,
                owner_kind: STATEFULSETS,
                owner: &set.metadata,
                selector: &selector,
            };
            let mut live: HashSet<String> = pods.iter().filter_map(|p| revision(p).map(String::from)).collect();
            live.extend([current_rev.clone(), update_rev.clone()]);
            history.settle(&update_rev, &hash, &spec.template, &live, spec.revision_history_limit).await?;
            if self.expectations.satisfied(key) {
                let plan = plan(&set, &pods, &update_rev);
                self.apply(key, &set, plan, &update_rev).await?;
            }
        }
        let new_status = counts(&set, &pods, &current_rev, &update_rev);
        self.write_status(&set, new_status).await?;
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        Ok((min_ready > 0).then(|| Duration::from_secs(min_ready as u64)))
    }

    async fn apply(&self, key: &str, set: &StatefulSet, plan: Plan, update_rev: &str) -> Result<(), ControllerError> {
        let ns = set.metadata.namespace.as_deref().unwrap_or("");
        self.expectations.expect_creations(key, plan.create.len());
        let reference = controller_ref(STATEFULSETS, &set.metadata);
        let owner = Owner::stateful_set(&set.metadata);
        let mut first_err = None;
        for ord in &plan.create {
            let body = pod_for(set, *ord, update_rev, reference.clone());
            if let Err(e) = create_pod(self.writer.as_ref(), owner, ns, body).await {
                self.expectations.creation_observed(key);
                if e.code != 409 {
                    first_err.get_or_insert(e);
                }
            }
        }
        delete_pods(self.writer.as_ref(), &self.expectations, key, owner, &plan.delete).await?;
        match first_err {
            Some(e) => Err(ControllerError::Write(e)),
            None => Ok(()),
        }
    }

    async fn write_status(&self, set: &StatefulSet, status: StatefulSetStatus) -> Result<(), ControllerError> {
        let current = set.status.clone().unwrap_or_default();
        if current == status {
            return Ok(());
        }
        patch_status(self.writer.as_ref(), STATEFULSETS, &set.metadata, json!({"status": replacing(&current, &status)}))
            .await
    }
}

/// The next steps for the set's Pods.
fn plan(set: &StatefulSet, pods: &[Arc<Pod>], update_rev: &str) -> Plan {
    let name = set.metadata.name.as_deref().unwrap_or("");
    let spec = set.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let start = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0);
    let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
    let mut slots: Vec<Option<Arc<Pod>>> = vec![None; replicas as usize];
    let mut condemned: Vec<(i32, Arc<Pod>)> = Vec::new();
    for p in pods {
        let Some(ord) = ordinal(name, p) else { continue };
        if ord >= start && ord < start + replicas {
            slots[(ord - start) as usize] = Some(p.clone());
        } else {
            condemned.push((ord, p.clone()));
        }
    }
    let mut plan = Plan::default();
    // Create missing ordinals, replace failed ones; in order, each after its predecessors.
    for (i, slot) in slots.iter().enumerate() {
        let ord = start + i as i32;
        match slot {
            None => {
                plan.create.push(ord);
                if ordered {
                    return plan;
                }
            }
            Some(p) if failed(p) && p.metadata.deletion_timestamp.is_none() => {
                plan.delete.push(p.clone());
                if ordered {
                    return plan;
                }
            }
            Some(p) if ordered && !healthy(p) => return plan,
            Some(_) => {}
        }
    }
    // Ordinals beyond replicas go from the highest; ordered: one at a time.
    condemned.sort_by_key(|(ord, _)| std::cmp::Reverse(*ord));
    for (_, p) in &condemned {
        if p.metadata.deletion_timestamp.is_some() {
            if ordered {
                return plan;
            }
            continue;
        }
        plan.delete.push(p.clone());
        if ordered {
            return plan;
        }
    }
    // Rolling update: the highest Pod of an older revision at or above the partition.
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    if strategy.type_.as_deref() == Some("OnDelete") {
        return plan;
    }
    let partition = strategy.rolling_update.and_then(|r| r.partition).unwrap_or(0);
    for (i, slot) in slots.iter().enumerate().rev() {
        let ord = start + i as i32;
        if ord < partition {
            break;
        }
        let Some(p) = slot else { continue };
        if revision(p) != Some(update_rev) {
            if p.metadata.deletion_timestamp.is_none() {
                plan.delete.push(p.clone());
            }
            return plan;
        }
        if !healthy(p) {
            return plan;
        }
    }
    plan
}

/// The status the Pods add up to (`computeReplicaStatus`); the current revision becomes the
/// update revision once every Pod runs it, ready.
fn counts(set: &StatefulSet, pods: &[Arc<Pod>], current_rev: &str, update_rev: &str) -> StatefulSetStatus {
    let spec = set.spec.clone().unwrap_or_default();
    let old = set.status.clone().unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let now = Timestamp::now();
    let live: Vec<&Arc<Pod>> = pods.iter().filter(|p| !failed(p)).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| live.iter().filter(|p| f(p)).count() as i32;
    let nz = |n: i32| (n != 0).then_some(n);
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas: live.len() as i32,
        ready_replicas: nz(count(&|p| is_ready(p))),
        available_replicas: Some(count(&|p| is_available(p, min_ready, now))),
        current_replicas: nz(count(&|p| revision(p) == Some(current_rev))),
        updated_replicas: nz(count(&|p| revision(p) == Some(update_rev))),
        current_revision: Some(current_rev.to_string()),
        update_revision: Some(update_rev.to_string()),
        collision_count: old.collision_count.or(Some(0)),
        conditions: old.conditions,
    };
    let replicas = spec.replicas.unwrap_or(1);
    if status.updated_replicas.unwrap_or(0) == replicas && status.ready_replicas.unwrap_or(0) == replicas {
        status.current_revision = Some(update_rev.to_string());
        status.current_replicas = status.updated_replicas;
    }
    status
}
