//! Recreate (`recreate.go`): scale every old ReplicaSet to zero, wait until none of their
//! Pods is left running, then create or scale up the new one.

use super::sync::Rollout;
use super::util::{replicas, rs_replicas, sum_actual};
use super::{progress, DeploymentController};
use crate::podutil::controller_of;
use crate::ControllerError;

impl DeploymentController {
    pub(crate) async fn rollout_recreate(&self, r: &mut Rollout) -> Result<(), ControllerError> {
        self.sync_revision(r, false).await?;
        let mut scaled_down = false;
        for i in r.old() {
            if rs_replicas(&r.sets[i]) > 0 {
                scaled_down |= self.scale_set(r, i, 0).await?;
            }
        }
        if scaled_down || self.old_pods_running(r) {
            r.settle_rollout_status();
            return Ok(());
        }
        if r.new.is_none() {
            self.sync_revision(r, true).await?;
        }
        if let Some(i) = r.new {
            let want = replicas(&r.d);
            self.scale_set(r, i, want).await?;
        }
        if progress::complete(&r.d, &r.d.status.clone().unwrap_or_default()) {
            self.cleanup(r).await?;
        }
        r.settle_rollout_status();
        Ok(())
    }

    /// Old ReplicaSets still report Pods, or Pods they control have not finished (`oldPodsRunning`).
    fn old_pods_running(&self, r: &Rollout) -> bool {
        let old = r.old();
        if sum_actual(old.iter().map(|&i| &r.sets[i])) > 0 {
            return true;
        }
        let old_uids: Vec<&str> = old.iter().filter_map(|&i| r.sets[i].metadata.uid.as_deref()).collect();
        let ns = r.d.metadata.namespace.as_deref().unwrap_or("");
        self.pods.list(ns).iter().any(|p| {
            let owned = controller_of(&p.metadata).is_some_and(|o| old_uids.contains(&o.uid.as_str()));
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            owned && !matches!(phase, Some("Succeeded") | Some("Failed"))
        })
    }
}
