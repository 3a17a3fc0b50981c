//! One sync of a Deployment (`syncDeployment`): claim its ReplicaSets, find or make the new
//! one and settle revisions, then scale (paused, or a scaling event) or roll out, and write
//! the status — all on a working copy, written once at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Map, Value};

use super::progress::{self, FAILED_RS_CREATE, FOUND_NEW_RS, NEW_RS_CREATED, PAUSED, PROGRESSING, RESUMED};
use super::util::{
    self, by_revision, equal_ignore_hash, find_new, max_revision, max_surge, new_rs_replicas, replicas, rs_replicas,
    set_new_rs_annotations, set_replicas_annotations, template_hash, HASH_LABEL, REVISION,
};
use super::DeploymentController;
use crate::machinery::claim::{ignore_not_found, Claim};
use crate::machinery::split_key;
use crate::machinery::writer::{
    patch_status, replacing, Delete, Event, EventType, PatchBody, WriteError, DEPLOYMENTS, REPLICASETS,
};
use crate::podutil::{controller_of, controller_ref};
use crate::ControllerError;
use skiff_api::selector::LabelSelector;

/// A Deployment being synced: its working copy, its ReplicaSets and which one is new.
pub(crate) struct Rollout {
    pub d: Deployment,
    pub sets: Vec<ReplicaSet>,
    pub new: Option<usize>,
}

impl Rollout {
    pub fn new_rs(&self) -> Option<&ReplicaSet> {
        self.new.map(|i| &self.sets[i])
    }

    /// Indices of the ReplicaSets that are not the new one.
    pub fn old(&self) -> Vec<usize> {
        (0..self.sets.len()).filter(|&i| Some(i) != self.new).collect()
    }

    pub fn all(&self) -> Vec<&ReplicaSet> {
        self.sets.iter().collect()
    }

    /// Records the status the rollout has reached (`syncRolloutStatus`).
    pub fn settle_rollout_status(&mut self) {
        let status = progress::rollout_status(&self.all(), self.new_rs(), &self.d);
        self.d.status = Some(status);
    }

    /// Records the counts alone (`syncDeploymentStatus`).
    pub fn settle_status(&mut self) {
        let status = progress::calculate(&self.all(), self.new_rs(), &self.d);
        self.d.status = Some(status);
    }
}

impl DeploymentController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        let (ns, name) = split_key(key);
        let Some(cached) = self.deployments.get(ns, name) else { return Ok(None) };
        let d = (*cached).clone();
        let selector = LabelSelector::from_meta(d.spec.as_ref().map(|s| &s.selector));
        let mut r = Rollout { sets: Vec::new(), new: None, d };
        if selector.is_empty() {
            // Selecting everything is refused: only the generation is observed.
            r.d.status.get_or_insert_with(Default::default).observed_generation = r.d.metadata.generation;
            return self.finish(&cached, r).await;
        }
        r.sets = self.claim(&r.d, &selector).await?.into_iter().map(|rs| (*rs).clone()).collect();
        let result = self.roll(&mut r).await;
        let again = self.finish(&cached, r).await?;
        result.map(|()| again)
    }

    async fn roll(&self, r: &mut Rollout) -> Result<(), ControllerError> {
        if r.d.metadata.deletion_timestamp.is_some() {
            self.sync_revision(r, false).await?;
            r.settle_status();
            return Ok(());
        }
        check_paused(&mut r.d);
        let paused = r.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused || self.is_scaling_event(r).await? {
            return self.scale_and_settle(r).await;
        }
        if util::is_rolling(&r.d) {
            self.rollout_rolling(r).await
        } else {
            self.rollout_recreate(r).await
        }
    }

    /// The ReplicaSets the Deployment owns after adopting and releasing (`getReplicaSetsForDeployment`).
    async fn claim(&self, d: &Deployment, selector: &LabelSelector) -> Result<Vec<Arc<ReplicaSet>>, ControllerError> {
        let ns = d.metadata.namespace.as_deref().unwrap_or("");
        let claim = Claim {
            writer: self.writer.as_ref(),
            owner_kind: DEPLOYMENTS,
            owner: &d.metadata,
            selector,
            kind: REPLICASETS,
        };
        claim.run(self.sets.list(ns)).await
    }

    /// Some active ReplicaSet was sized for another replica count (`isScalingEvent`).
    async fn is_scaling_event(&self, r: &mut Rollout) -> Result<bool, ControllerError> {
        self.sync_revision(r, false).await?;
        let want = replicas(&r.d);
        Ok(r.sets
            .iter()
            .filter(|rs| rs_replicas(rs) > 0)
            .any(|rs| util::desired_annotation(rs).is_some_and(|n| n != want)))
    }

    /// Finds the new ReplicaSet, bringing its annotations and the Deployment's revision up to
    /// date, or (when `create`) makes it (`getAllReplicaSetsAndSyncRevision`/`getNewReplicaSet`).
    pub(crate) async fn sync_revision(&self, r: &mut Rollout, create: bool) -> Result<(), ControllerError> {
        r.new = find_new(&r.d, &r.sets);
        let old: Vec<ReplicaSet> = r.old().into_iter().map(|i| r.sets[i].clone()).collect();
        let new_revision = max_revision(&old) + 1;
        if let Some(i) = r.new {
            let mut rs = r.sets[i].clone();
            let annotations_changed = set_new_rs_annotations(&r.d, &mut rs, new_revision, true);
            let min_ready = r.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let rs_min_ready = rs.spec.as_ref().and_then(|s| s.min_ready_seconds);
            if annotations_changed || min_ready.unwrap_or(0) != rs_min_ready.unwrap_or(0) {
                rs.spec.get_or_insert_with(Default::default).min_ready_seconds = min_ready;
                let patch = json!({"metadata": {"annotations": rs.metadata.annotations},
                    "spec": {"minReadySeconds": min_ready.unwrap_or(0)}});
                self.update_set(r, i, rs, patch).await?;
                return Ok(());
            }
            let revision = super::util::revision(&r.sets[i]).to_string();
            set_deployment_revision(&mut r.d, &revision);
            let deadline = progress::has_progress_deadline(&r.d);
            let status = r.d.status.get_or_insert_with(Default::default);
            if deadline && progress::get(status, PROGRESSING).is_none() {
                let msg = format!("Found new replica set {:?}", r.sets[i].metadata.name.as_deref().unwrap_or(""));
                progress::set(status, progress::condition(PROGRESSING, "True", FOUND_NEW_RS, msg));
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }
        self.create_new(r, new_revision).await
    }

    async fn create_new(&self, r: &mut Rollout, new_revision: i64) -> Result<(), ControllerError> {
        let d = &r.d;
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let spec = d.spec.clone().unwrap_or_default();
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let mut template = spec.template.clone();
        let hash = template_hash(&template, collisions);
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels.get_or_insert_with(BTreeMap::new).insert(HASH_LABEL.into(), hash.clone());
        let labels = meta.labels.clone();
        let mut selector = spec.selector.clone();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{hash}", d.metadata.name.as_deref().unwrap_or(""));
        let owner: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference =
            serde_json::from_value(controller_ref(DEPLOYMENTS, &d.metadata)).map_err(config_error)?;
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                owner_references: Some(vec![owner]),
                labels,
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let all: Vec<&ReplicaSet> = r.sets.iter().chain(std::iter::once(&rs)).collect();
        let count = new_rs_replicas(d, &all, &rs);
        rs.spec.get_or_insert_with(Default::default).replicas = Some(count);
        set_new_rs_annotations(d, &mut rs, new_revision, false);
        let body = serde_json::to_value(&rs).map_err(config_error)?;
        let created = match self.writer.create(REPLICASETS, &ns, body).await {
            Ok(v) => {
                let created = serde_json::from_value::<ReplicaSet>(v).unwrap_or(rs);
                if count > 0 {
                    let name = created.metadata.name.as_deref().unwrap_or_default();
                    self.event(
                        d,
                        EventType::Normal,
                        "ScalingReplicaSet",
                        format!("Scaled up replica set {name} from 0 to {count}"),
                    );
                }
                created
            }
            Err(e) if e.code == 409 => {
                // Ours already (a sync ahead of our watch), or a hash collision.
                let Some(existing) = self.sets.get(&ns, &name) else { return Err(ControllerError::Write(e)) };
                let ours = controller_of(&existing.metadata).map(|o| o.uid.as_str()) == d.metadata.uid.as_deref();
                let same = equal_ignore_hash(
                    &existing.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default(),
                    &spec.template,
                );
                if !(ours && same) {
                    let status = r.d.status.get_or_insert_with(Default::default);
                    status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
                    return Err(ControllerError::Write(e));
                }
                (*existing).clone()
            }
            Err(e) => {
                if progress::has_progress_deadline(d) {
                    let msg = format!("Failed to create new replica set {name:?}: {}", e.message);
                    self.event(d, EventType::Warning, FAILED_RS_CREATE, msg.clone());
                    let status = r.d.status.get_or_insert_with(Default::default);
                    progress::set(status, progress::condition(PROGRESSING, "False", FAILED_RS_CREATE, msg));
                }
                return Err(ControllerError::Write(e));
            }
        };
        set_deployment_revision(&mut r.d, &new_revision.to_string());
        if progress::has_progress_deadline(&r.d) {
            let msg = format!("Created new replica set {name:?}");
            let status = r.d.status.get_or_insert_with(Default::default);
            progress::set(status, progress::condition(PROGRESSING, "True", NEW_RS_CREATED, msg));
        }
        r.sets.push(created);
        r.new = Some(r.sets.len() - 1);
        Ok(())
    }

    /// Writes a changed ReplicaSet (bound to the version we read) and keeps the copy.
    async fn update_set(
        &self,
        r: &mut Rollout,
        i: usize,
        mut rs: ReplicaSet,
        mut patch: Value,
    ) -> Result<(), ControllerError> {
        let ns = rs.metadata.namespace.clone().unwrap_or_default();
        let name = rs.metadata.name.clone().unwrap_or_default();
        patch["metadata"]["resourceVersion"] = json!(rs.metadata.resource_version);
        let out = self.writer.patch(REPLICASETS, &ns, &name, false, PatchBody::Merge(patch)).await?;
        if let Some(rv) = out.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
            rs.metadata.resource_version = Some(rv.to_string());
        }
        r.sets[i] = rs;
        Ok(())
    }

    /// Records an Event about the Deployment.
    fn event(&self, d: &Deployment, type_: EventType, reason: &'static str, message: String) {
        let event = Event::about("deployment-controller", DEPLOYMENTS, &d.metadata, type_, reason, message);
        self.writer.event(event);
    }

    /// Sizes a ReplicaSet, with the Deployment's replica annotations; true when its size
    /// changed (`scaleReplicaSet`).
    pub(crate) async fn scale_set(&self, r: &mut Rollout, i: usize, size: i32) -> Result<bool, ControllerError> {
        let (desired, max) = (replicas(&r.d), replicas(&r.d) + max_surge(&r.d));
        let rs = &r.sets[i];
        let resize = rs_replicas(rs) != size;
        if !resize && !util::replicas_annotations_need_update(rs, desired, max) {
            return Ok(false);
        }
        let mut rs = rs.clone();
        rs.spec.get_or_insert_with(Default::default).replicas = Some(size);
        set_replicas_annotations(&mut rs, desired, max);
        let a = rs.metadata.annotations.as_ref().expect("set just now");
        let patch = json!({"metadata": {"annotations": {
                util::DESIRED_REPLICAS: a[util::DESIRED_REPLICAS], util::MAX_REPLICAS: a[util::MAX_REPLICAS]}},
            "spec": {"replicas": size}});
        let (from, name) = (rs_replicas(&r.sets[i]), rs.metadata.name.clone().unwrap_or_default());
        tracing::debug!(replicaset = name, from, to = size, "scaling");
        self.update_set(r, i, rs, patch).await?;
        if resize {
            let direction = if from < size { "up" } else { "down" };
            let message = format!("Scaled {direction} replica set {name} from {from} to {size}");
            self.event(&r.d, EventType::Normal, "ScalingReplicaSet", message);
        }
        Ok(resize)
    }

    /// Deletes the oldest ReplicaSets with no Pods beyond revisionHistoryLimit (`cleanupDeployment`).
    pub(crate) async fn cleanup(&self, r: &Rollout) -> Result<(), ControllerError> {
        let Some(limit) = r.d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return Ok(()) };
        let mut old: Vec<&ReplicaSet> =
            r.old().into_iter().map(|i| &r.sets[i]).filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        let extra = old.len() as i64 - i64::from(limit);
        if extra <= 0 {
            return Ok(());
        }
        old.sort_by(|a, b| by_revision(a, b));
        for rs in old.into_iter().take(extra as usize) {
            let status = rs.status.as_ref();
            let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
            if status.map_or(0, |s| s.replicas) != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            let ns = rs.metadata.namespace.as_deref().unwrap_or("");
            let name = rs.metadata.name.as_deref().unwrap_or("");
            let r = self.writer.delete(REPLICASETS, ns, name, Delete::default()).await;
            ignore_not_found(r)?;
        }
        Ok(())
    }

    /// Writes the status and revision annotation when they changed; says when to look again.
    async fn finish(&self, cached: &Deployment, r: Rollout) -> Result<Option<Duration>, ControllerError> {
        let status = r.d.status.clone().unwrap_or_default();
        let again = progress::requeue_stuck(&r.d, &status);
        let revision = annotation(&r.d, REVISION);
        let same_status = cached.status.clone().unwrap_or_default() == status;
        if same_status && revision == annotation(cached, REVISION) {
            return Ok(again);
        }
        let new = replacing(&cached.status.clone().unwrap_or_default(), &status);
        let mut meta = Map::new();
        meta.insert("resourceVersion".into(), json!(cached.metadata.resource_version));
        if let Some(rev) = revision {
            meta.insert("annotations".into(), json!({ REVISION: rev }));
        }
        let patch = json!({"metadata": meta, "status": new});
        patch_status(self.writer.as_ref(), DEPLOYMENTS, &cached.metadata, patch).await?;
        Ok(again)
    }
}

fn annotation<'a>(d: &'a Deployment, key: &str) -> Option<&'a str> {
    d.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

fn set_deployment_revision(d: &mut Deployment, revision: &str) {
    let a = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if a.get(REVISION).map(String::as_str) != Some(revision) {
        a.insert(REVISION.into(), revision.into());
    }
}

/// The Progressing condition says paused or resumed as `spec.paused` changes, unless the
/// rollout already timed out (`checkPausedConditions`).
fn check_paused(d: &mut Deployment) {
    if !progress::has_progress_deadline(d) {
        return;
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let status = d.status.get_or_insert_with(Default::default);
    let reason = progress::get(status, PROGRESSING).and_then(|c| c.reason.clone());
    if reason.as_deref() == Some(progress::TIMED_OUT) {
        return;
    }
    let paused_now = reason.as_deref() == Some(PAUSED);
    if paused && !paused_now {
        progress::set(status, progress::condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into()));
    } else if !paused && paused_now {
        progress::set(status, progress::condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into()));
    }
}

fn config_error(e: serde_json::Error) -> ControllerError {
    ControllerError::Write(WriteError { code: 0, message: e.to_string() })
}
