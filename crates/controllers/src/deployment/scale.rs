//! Scaling without a rollout (`sync`/`scale` in `sync.go`): when paused or when the replica
//! count changed, the one active ReplicaSet takes the new count; during a rollout every
//! active ReplicaSet grows or shrinks in proportion to its size.

use std::collections::HashMap;

use super::sync::Rollout;
use super::util::{by_creation, by_size, is_rolling, is_saturated, max_surge, proportion, replicas, rs_replicas};
use super::DeploymentController;
use crate::ControllerError;

impl DeploymentController {
    /// `sync`: scale, clean up old revisions while paused, then the status.
    pub(crate) async fn scale_and_settle(&self, r: &mut Rollout) -> Result<(), ControllerError> {
        self.sync_revision(r, false).await?;
        self.scale(r).await?;
        if r.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
            self.cleanup(r).await?;
        }
        r.settle_status();
        Ok(())
    }

    async fn scale(&self, r: &mut Rollout) -> Result<(), ControllerError> {
        let want = replicas(&r.d);
        if let Some(i) = self.active_or_latest(r) {
            if rs_replicas(&r.sets[i]) != want {
                self.scale_set(r, i, want).await?;
            }
            return Ok(());
        }
        if is_saturated(&r.d, r.new_rs()) {
            for i in r.old() {
                if rs_replicas(&r.sets[i]) > 0 {
                    self.scale_set(r, i, 0).await?;
                }
            }
            return Ok(());
        }
        if !is_rolling(&r.d) {
            return Ok(());
        }
        let mut active: Vec<usize> = (0..r.sets.len()).filter(|&i| rs_replicas(&r.sets[i]) > 0).collect();
        let current: i32 = active.iter().map(|&i| rs_replicas(&r.sets[i])).sum();
        let allowed = if want > 0 { want + max_surge(&r.d) } else { 0 };
        let to_add = allowed - current;
        // Up: larger then newer first; down: larger then older first.
        active.sort_by(|&a, &b| by_size(&r.sets[a], &r.sets[b], to_add > 0));
        let mut added = 0;
        let mut sizes: HashMap<usize, i32> = HashMap::new();
        for &i in &active {
            let share = if to_add != 0 { proportion(&r.sets[i], &r.d, to_add, added) } else { 0 };
            sizes.insert(i, rs_replicas(&r.sets[i]) + share);
            added += share;
        }
        for (n, &i) in active.iter().enumerate() {
            let mut size = sizes[&i];
            if n == 0 && to_add != 0 {
                // Leftovers go to the largest.
                size = (size + to_add - added).max(0);
            }
            self.scale_set(r, i, size).await?;
        }
        Ok(())
    }

    /// The only active ReplicaSet, or the newest one when none is active (`FindActiveOrLatest`).
    fn active_or_latest(&self, r: &Rollout) -> Option<usize> {
        let mut old = r.old();
        if r.new.is_none() && old.is_empty() {
            return None;
        }
        old.sort_by(|&a, &b| by_creation(&r.sets[b], &r.sets[a]));
        let active: Vec<usize> = old.iter().copied().chain(r.new).filter(|&i| rs_replicas(&r.sets[i]) > 0).collect();
        match active.len() {
            0 => r.new.or_else(|| old.first().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }
}
