//! RollingUpdate (`rolling.go`): grow the new ReplicaSet up to replicas + maxSurge Pods in
//! all, shrink old ones while at least replicas − maxUnavailable Pods stay available —
//! unhealthy old Pods first, then the oldest ReplicaSets.

use super::sync::Rollout;
use super::util::{
    by_creation, max_unavailable, new_rs_replicas, replicas, rs_available, rs_replicas, sum_available, sum_replicas,
};
use super::{progress, DeploymentController};
use crate::ControllerError;

impl DeploymentController {
    pub(crate) async fn rollout_rolling(&self, r: &mut Rollout) -> Result<(), ControllerError> {
        self.sync_revision(r, true).await?;
        if self.reconcile_new(r).await? || self.reconcile_old(r).await? {
            r.settle_rollout_status();
            return Ok(());
        }
        if progress::complete(&r.d, &r.d.status.clone().unwrap_or_default()) {
            self.cleanup(r).await?;
        }
        r.settle_rollout_status();
        Ok(())
    }

    /// Scales the new ReplicaSet toward the Deployment's replicas within the surge
    /// (`reconcileNewReplicaSet`); true when it scaled.
    async fn reconcile_new(&self, r: &mut Rollout) -> Result<bool, ControllerError> {
        let Some(i) = r.new else { return Ok(false) };
        let (want, have) = (replicas(&r.d), rs_replicas(&r.sets[i]));
        if have == want {
            return Ok(false);
        }
        let size = if have > want { want } else { new_rs_replicas(&r.d, &r.all(), &r.sets[i]) };
        self.scale_set(r, i, size).await
    }

    /// Scales old ReplicaSets down as far as availability allows (`reconcileOldReplicaSets`);
    /// true when any shrank.
    async fn reconcile_old(&self, r: &mut Rollout) -> Result<bool, ControllerError> {
        let mut old: Vec<usize> = r.old().into_iter().filter(|&i| rs_replicas(&r.sets[i]) > 0).collect();
        if old.is_empty() {
            return Ok(false);
        }
        let all_pods = sum_replicas(r.sets.iter());
        let min_available = replicas(&r.d) - max_unavailable(&r.d);
        let new_unavailable = r.new_rs().map_or(0, |rs| rs_replicas(rs) - rs_available(rs));
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        old.sort_by(|&a, &b| by_creation(&r.sets[a], &r.sets[b]));
        // Unhealthy replicas first: removing them costs no availability.
        let mut cleaned = 0;
        for &i in &old {
            if cleaned >= max_scaled_down {
                break;
            }
            let (size, available) = (rs_replicas(&r.sets[i]), rs_available(&r.sets[i]));
            if size == 0 || size == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(size - available);
            self.scale_set(r, i, size - down).await?;
            cleaned += down;
        }
        // Then healthy ones, oldest first, down to the minimum availability.
        let available = sum_available(r.sets.iter());
        let mut scaled = 0;
        if available > min_available {
            let budget = available - min_available;
            for &i in &old {
                if scaled >= budget {
                    break;
                }
                let size = rs_replicas(&r.sets[i]);
                if size == 0 {
                    continue;
                }
                let down = size.min(budget - scaled);
                self.scale_set(r, i, size - down).await?;
                scaled += down;
            }
        }
        Ok(cleaned + scaled > 0)
    }
}
