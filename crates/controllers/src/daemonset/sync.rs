//! One sync of a DaemonSet (`syncDaemonSet`): per node, create the missing daemon Pod or
//! delete the ones that must go (node no longer fits, extras, failed ones, old revisions
//! under RollingUpdate), then write the status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::nodes::{pod_for_node, should_run, REVISION_LABEL};
use super::DaemonSetController;
use crate::deployment::util::{scaled_value, template_hash};
use crate::machinery::claim::Claim;
use crate::machinery::history::History;
use crate::machinery::split_key;
use crate::machinery::writer::{patch_status, replacing, DAEMONSETS, PODS};
use crate::podcontrol::{create_pods, delete_pods, Owner};
use crate::podutil::{controller_ref, is_available, is_ready, labels};
use crate::ControllerError;
use skiff_api::selector::LabelSelector;

/// The node a daemon Pod is on, or is pinned to before it is bound (`GetTargetNodeName`).
fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    let required = spec.affinity.as_ref()?.node_affinity.as_ref()?;
    let terms = &required.required_during_scheduling_ignored_during_execution.as_ref()?.node_selector_terms;
    terms.iter().flat_map(|t| t.match_fields.iter().flatten()).find_map(|f| {
        (f.key == "metadata.name" && f.operator == "In").then(|| f.values.as_ref()?.first().cloned()).flatten()
    })
}

fn failed(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
}

fn current(pod: &Pod, hash: &str) -> bool {
    labels(&pod.metadata).get(REVISION_LABEL).map(String::as_str) == Some(hash)
}

impl DaemonSetController {
    pub(crate) async fn sync(&self, key: &str) -> Result<Option<Duration>, ControllerError> {
        let (ns, name) = split_key(key);
        let Some(ds) = self.sets.get(ns, name) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let selector = LabelSelector::from_meta(ds.spec.as_ref().map(|s| &s.selector));
        let claim = Claim {
            writer: self.writer.as_ref(),
            owner_kind: DAEMONSETS,
            owner: &ds.metadata,
            selector: &selector,
            kind: PODS,
        };
        let pods = claim.run(self.pods.list(ns)).await?;
        let spec = ds.spec.clone().unwrap_or_default();
        let collisions = ds.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
        let hash = template_hash(&spec.template, Some(collisions));
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let now = Timestamp::now();

        let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for p in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            if let Some(n) = target_node(p) {
                by_node.entry(n).or_default().push(p.clone());
            }
        }
        let mut create_on = Vec::new();
        let mut delete: Vec<Arc<Pod>> = Vec::new();
        let mut old_on_desired: Vec<Arc<Pod>> = Vec::new();
        let mut status = DaemonSetStatus { observed_generation: ds.metadata.generation, ..Default::default() };
        for node in self.nodes.list_all() {
            let node_name = node.metadata.name.clone().unwrap_or_default();
            let (run, keep) = should_run(&ds, &node);
            let mut here = by_node.remove(&node_name).unwrap_or_default();
            if run {
                status.desired_number_scheduled += 1;
            }
            if !keep {
                delete.append(&mut here);
                continue;
            }
            let (bad, mut good): (Vec<_>, Vec<_>) = here.into_iter().partition(|p| failed(p));
            delete.extend(bad);
            if good.is_empty() {
                if run {
                    create_on.push(node_name);
                }
                continue;
            }
            // One daemon per node: the oldest stays.
            good.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            delete.extend(good.drain(1..));
            let pod = &good[0];
            if !run {
                status.number_misscheduled += 1;
                continue;
            }
            status.current_number_scheduled += 1;
            if is_ready(pod) {
                status.number_ready += 1;
            }
            if is_available(pod, min_ready, now) {
                *status.number_available.get_or_insert(0) += 1;
            }
            if current(pod, &hash) {
                *status.updated_number_scheduled.get_or_insert(0) += 1;
            } else {
                old_on_desired.push(pod.clone());
            }
        }
        // Pods on nodes that no longer exist.
        delete.extend(by_node.into_values().flatten());
        let available = status.number_available.unwrap_or(0);
        let unavailable = status.desired_number_scheduled - available;
        status.number_unavailable = Some(unavailable).filter(|n| *n > 0);

        let rolling = spec.update_strategy.as_ref().and_then(|s| s.type_.as_deref()) != Some("OnDelete");
        if rolling {
            // Old Pods that are unavailable anyway go at once; available ones within the budget.
            let ru = spec.update_strategy.as_ref().and_then(|s| s.rolling_update.as_ref());
            let max =
                scaled_value(ru.and_then(|r| r.max_unavailable.as_ref()), status.desired_number_scheduled, true, "1");
            let mut budget = (max.max(1) - unavailable).max(0);
            for p in old_on_desired {
                if !is_available(&p, min_ready, now) {
                    delete.push(p);
                } else if budget > 0 {
                    budget -= 1;
                    delete.push(p);
                }
            }
        }

        if ds.metadata.deletion_timestamp.is_none() {
            self.history(&ds, &selector, &hash, &pods).await?;
            if self.expectations.satisfied(key) {
                self.manage(key, &ds, &hash, &create_on, &delete).await?;
            }
        }
        let ready = status.number_ready;
        self.write_status(&ds, status).await?;
        Ok((min_ready > 0 && available < ready).then(|| Duration::from_secs(min_ready as u64)))
    }

    /// Records the template as the newest ControllerRevision `<ds>-<hash>` and deletes old
    /// ones that no Pod runs beyond `revisionHistoryLimit`.
    async fn history(
        &self,
        ds: &DaemonSet,
        selector: &LabelSelector,
        hash: &str,
        pods: &[Arc<Pod>],
    ) -> Result<(), ControllerError> {
        let name = ds.metadata.name.as_deref().unwrap_or("");
        let Some(spec) = ds.spec.as_ref() else { return Ok(()) };
        let history = History {
            writer: self.writer.as_ref(),
            revisions: &self.revisions,
            owner_kind: DAEMONSETS,
            owner: &ds.metadata,
            selector,
        };
        let revision = format!("{name}-{hash}");
        let mut live: HashSet<String> = pods
            .iter()
            .filter_map(|p| labels(&p.metadata).get(REVISION_LABEL))
            .map(|h| format!("{name}-{h}"))
            .collect();
        live.insert(revision.clone());
        history.settle(&revision, hash, &spec.template, &live, spec.revision_history_limit).await
    }

    async fn manage(
        &self,
        key: &str,
        ds: &DaemonSet,
        hash: &str,
        create_on: &[String],
        delete: &[Arc<Pod>],
    ) -> Result<(), ControllerError> {
        let ns = ds.metadata.namespace.as_deref().unwrap_or("");
        let n = create_on.len().min(crate::replicaset::BURST_REPLICAS);
        self.expectations.expect_creations(key, n);
        let reference = controller_ref(DAEMONSETS, &ds.metadata);
        let owner = Owner::new("daemonset-controller", DAEMONSETS, &ds.metadata);
        let (created, err) = create_pods(self.writer.as_ref(), owner, ns, n, |i| {
            pod_for_node(ds, hash, &create_on[i], reference.clone())
        })
        .await;
        for _ in created..n {
            self.expectations.creation_observed(key);
        }
        delete_pods(self.writer.as_ref(), &self.expectations, key, owner, delete).await?;
        match err {
            Some(e) => Err(ControllerError::Write(e)),
            None => Ok(()),
        }
    }

    async fn write_status(&self, ds: &DaemonSet, status: DaemonSetStatus) -> Result<(), ControllerError> {
        let mut status = status;
        let current = ds.status.clone().unwrap_or_default();
        status.collision_count = current.collision_count;
        status.conditions = current.conditions.clone();
        if current == status {
            return Ok(());
        }
        patch_status(self.writer.as_ref(), DAEMONSETS, &ds.metadata, json!({"status": replacing(&current, &status)}))
            .await
    }
}
