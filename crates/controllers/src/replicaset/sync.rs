//! One sync of a ReplicaSet (`syncReplicaSet`): claim Pods, create or delete the difference
//! (when earlier actions were all observed), then write the status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::rank::order_for_deletion;
use super::{ReplicaSetController, BURST_REPLICAS};
use crate::machinery::claim::Claim;
use crate::machinery::split_key;
use crate::machinery::writer::{patch_status, WriteError, PODS, REPLICASETS};
use crate::podcontrol::{create_pods, delete_pods, Owner};
use crate::podutil::{controller_ref, is_active, is_available, is_ready, labels, pod_from_template};
use crate::ControllerError;
use skiff_api::selector::LabelSelector;

/// What `manage` did wrong, for the ReplicaFailure condition.
struct ManageError {
    reason: &'static str,
    error: WriteError,
}

impl ReplicaSetController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        let (ns, name) = split_key(key);
        let Some(rs) = self.sets.get(ns, name) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let needs_sync = self.expectations.satisfied(key);
        let pods = self.claim(&rs).await?;
        let manage_err = if needs_sync && rs.metadata.deletion_timestamp.is_none() {
            self.manage(key, &rs, &pods).await.err()
        } else {
            None
        };
        let status = self.status(&rs, &pods, manage_err.as_ref());
        self.write_status(&rs, status.clone()).await?;
        if let Some(e) = manage_err {
            return Err(ControllerError::Write(e.error));
        }
        let spec = rs.spec.as_ref();
        let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
        let (ready, available) = (count(&status, "readyReplicas"), count(&status, "availableReplicas"));
        if min_ready > 0 && ready == i64::from(replicas) && available != ready {
            return Ok(Some(Duration::from_secs(min_ready as u64)));
        }
        Ok(None)
    }

    /// The active Pods the ReplicaSet owns after adopting matching orphans and releasing
    /// owned Pods that no longer match (`ClaimPods`).
    async fn claim(&self, rs: &ReplicaSet) -> Result<Vec<Arc<Pod>>, ControllerError> {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let selector = LabelSelector::from_meta(rs.spec.as_ref().map(|s| &s.selector));
        let claim = Claim {
            writer: self.writer.as_ref(),
            owner_kind: self.kind,
            owner: &rs.metadata,
            selector: &selector,
            kind: PODS,
        };
        claim.run(self.pods.list(ns).into_iter().filter(|p| is_active(p)).collect()).await
    }

    /// Creates or deletes Pods to reach `spec.replicas` (`manageReplicas`).
    async fn manage(&self, key: &str, rs: &ReplicaSet, pods: &[Arc<Pod>]) -> Result<(), ManageError> {
        let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as usize;
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let component = if self.kind == REPLICASETS { "replicaset-controller" } else { "replication-controller" };
        let owner = Owner::new(component, self.kind, &rs.metadata);
        if pods.len() < want {
            let n = (want - pods.len()).min(BURST_REPLICAS);
            self.expectations.expect_creations(key, n);
            let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
            let prefix = rs.metadata.name.as_deref().unwrap_or("");
            let pod = pod_from_template(&template, prefix, controller_ref(self.kind, &rs.metadata));
            let (created, err) = create_pods(self.writer.as_ref(), owner, ns, n, |_| pod.clone()).await;
            for _ in created..n {
                self.expectations.creation_observed(key);
            }
            return err.map_or(Ok(()), |error| Err(ManageError { reason: "FailedCreate", error }));
        }
        if pods.len() > want {
            let n = (pods.len() - want).min(BURST_REPLICAS);
            let mut victims = pods.to_vec();
            order_for_deletion(&mut victims, pods);
            victims.truncate(n);
            let errors = delete_pods(self.writer.as_ref(), &self.expectations, key, owner, &victims).await.err();
            return errors.map_or(Ok(()), |error| Err(ManageError { reason: "FailedDelete", error }));
        }
        Ok(())
    }

    /// The status the ReplicaSet should report (`calculateStatus`).
    fn status(&self, rs: &ReplicaSet, pods: &[Arc<Pod>], err: Option<&ManageError>) -> Value {
        let spec = rs.spec.as_ref();
        let template_labels = spec
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let now = Timestamp::now();
        let fully = pods.iter().filter(|p| template_labels.iter().all(|(k, v)| labels(&p.metadata).get(k) == Some(v)));
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let available = pods.iter().filter(|p| is_available(p, min_ready, now)).count();
        let old = rs.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        let mut conditions: Vec<ReplicaSetCondition> =
            old.iter().filter(|c| c.type_ != "ReplicaFailure").cloned().collect();
        match (err, old.iter().find(|c| c.type_ == "ReplicaFailure")) {
            (Some(e), None) => conditions.push(ReplicaSetCondition {
                type_: "ReplicaFailure".into(),
                status: "True".into(),
                reason: Some(e.reason.into()),
                message: Some(e.error.message.clone()),
                last_transition_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
            }),
            (Some(_), Some(existing)) => conditions.push(existing.clone()),
            (None, _) => {}
        }
        // Zero counts are left out, as the API's omitempty leaves them out.
        let opt = |n: usize| if n == 0 { Value::Null } else { json!(n) };
        json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": opt(fully.count()),
            "readyReplicas": opt(ready),
            "availableReplicas": opt(available),
            "observedGeneration": rs.metadata.generation,
            "conditions": if conditions.is_empty() { Value::Null } else { json!(conditions) },
        })
    }

    /// Writes `status` unless the ReplicaSet already reports it.
    async fn write_status(&self, rs: &ReplicaSet, status: Value) -> Result<(), ControllerError> {
        let current = rs.status.as_ref().map(|s| serde_json::to_value(s).unwrap_or_default()).unwrap_or_default();
        let same =
            status.as_object().is_some_and(|m| m.iter().all(|(k, v)| current.get(k).unwrap_or(&Value::Null) == v));
        if same {
            return Ok(());
        }
        patch_status(self.writer.as_ref(), self.kind, &rs.metadata, json!({"status": status})).await
    }
}

fn count(status: &Value, field: &str) -> i64 {
    status.get(field).and_then(Value::as_i64).unwrap_or(0)
}
