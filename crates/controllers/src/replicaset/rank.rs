//! Which Pods a ReplicaSet deletes first when it scales down (`ActivePodsWithRanks`):
//! unscheduled before scheduled, Pending before Unknown before Running, not ready before
//! ready, Pods doubled up on a node before lone ones, recently ready before long ready,
//! more restarts before fewer, newer before older.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::podutil::ready_since;

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn restarts(pod: &Pod) -> i32 {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref());
    statuses.into_iter().flatten().map(|c| c.restart_count).max().unwrap_or(0)
}

fn node(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
}

/// Orders `pods` so that the ones to delete first come first; `related` are all the active
/// Pods of the owner's family (for the per-node co-location rank).
pub fn order_for_deletion(pods: &mut [Arc<Pod>], related: &[Arc<Pod>]) {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in related {
        let n = node(p);
        if !n.is_empty() {
            *per_node.entry(n).or_default() += 1;
        }
    }
    let rank = |p: &Pod| per_node.get(node(p)).copied().unwrap_or(0);
    pods.sort_by(|a, b| {
        let (na, nb) = (node(a).is_empty(), node(b).is_empty());
        if na != nb {
            return if na { Ordering::Less } else { Ordering::Greater };
        }
        let by_phase = phase_rank(a).cmp(&phase_rank(b));
        if by_phase != Ordering::Equal {
            return by_phase;
        }
        let (ra, rb) = (ready_since(a), ready_since(b));
        if ra.is_some() != rb.is_some() {
            return if ra.is_none() { Ordering::Less } else { Ordering::Greater };
        }
        let by_rank = rank(b).cmp(&rank(a));
        if by_rank != Ordering::Equal {
            return by_rank;
        }
        if let (Some(Some(ta)), Some(Some(tb))) = (ra, rb) {
            // Ready more recently goes first.
            if ta != tb {
                return tb.cmp(&ta);
            }
        }
        let by_restarts = restarts(b).cmp(&restarts(a));
        if by_restarts != Ordering::Equal {
            return by_restarts;
        }
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(b).cmp(&created(a))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn pod(name: &str, v: Value) -> Arc<Pod> {
        let mut p: Pod = serde_json::from_value(v).unwrap();
        p.metadata.name = Some(name.into());
        Arc::new(p)
    }

    fn ready(node: &str, since: &str, created: &str) -> Value {
        json!({"metadata": {"creationTimestamp": created}, "spec": {"nodeName": node, "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": since}]}})
    }

    #[test]
    fn unscheduled_pending_not_ready_and_newest_go_first() {
        let mut pods = vec![
            pod("old-ready", ready("n1", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")),
            pod("unscheduled", json!({"spec": {"containers": []}, "status": {"phase": "Pending"}})),
            pod("pending", json!({"spec": {"nodeName": "n2", "containers": []}, "status": {"phase": "Pending"}})),
            pod("not-ready", json!({"spec": {"nodeName": "n3", "containers": []}, "status": {"phase": "Running"}})),
            pod("new-ready", ready("n4", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z")),
        ];
        let related = pods.clone();
        order_for_deletion(&mut pods, &related);
        let names: Vec<_> = pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
        assert_eq!(names, ["unscheduled", "pending", "not-ready", "new-ready", "old-ready"]);
    }

    #[test]
    fn pods_sharing_a_node_go_before_lone_ones() {
        let t = "2026-01-01T00:00:00Z";
        let mut pods = vec![pod("alone", ready("n1", t, t)), pod("shared", ready("n2", t, t))];
        let related = vec![pods[0].clone(), pods[1].clone(), pod("other", ready("n2", t, t))];
        order_for_deletion(&mut pods, &related);
        assert_eq!(pods[0].metadata.name.as_deref(), Some("shared"));
    }
}
