//! Node lifecycle (`pkg/controller/nodelifecycle`, the taint-eviction controller and pod GC's
//! orphan sweep): a Node whose Lease and status are older than the grace period (flag
//! `--node-monitor-grace-period`, 40 s) gets its conditions set to Unknown and the
//! `node.kubernetes.io/unreachable` taints (`not-ready` for Ready=False); Pods on a node with
//! NoExecute taints they do not tolerate are deleted, at once or after their
//! `tolerationSeconds` (their controllers then make new ones elsewhere); Pods bound to a Node
//! that no longer exists are deleted.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use crate::machinery::cache::Cache;
use crate::machinery::claim::ignore_not_found;
use crate::machinery::writer::{Delete, Event, EventType, Kind, PatchBody, Writer, PODS};
use crate::ControllerError;
use skiff_api::scheduling::tolerates;

const NODES: Kind = Kind { group: "", version: "v1", kind: "Node", plural: "nodes" };
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";

/// The conditions a silent node's kubelet no longer vouches for.
const WATCHED: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

pub struct NodeLifecycle {
    pub nodes: Cache<Node>,
    pub leases: Cache<Lease>,
    pub pods: Cache<Pod>,
    pub writer: Arc<dyn Writer>,
    /// How long a node may stay silent before it is Unknown.
    pub grace: Duration,
    /// Pods seen bound to a missing Node, and since when (pod GC's quarantine).
    pub orphans: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// How long a Pod's Node must stay missing before the Pod is deleted (`quarantineTime`).
const ORPHAN_QUARANTINE: Duration = Duration::from_secs(40);

fn ready_status(node: &Node) -> Option<&str> {
    let c = node.status.as_ref()?.conditions.as_ref()?;
    c.iter().find(|c| c.type_ == "Ready").map(|c| c.status.as_str())
}

/// The newest sign of life: the Lease's renewal or the Ready condition's heartbeat, else the
/// Node's creation.
pub fn last_heard(node: &Node, lease: Option<&Lease>) -> Option<Timestamp> {
    let renewed = lease.and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    let beat = conditions
        .into_iter()
        .flatten()
        .filter(|c| c.type_ == "Ready")
        .find_map(|c| c.last_heartbeat_time.as_ref().map(|t| t.0));
    renewed.max(beat).or_else(|| node.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The node's taints with the condition taints matching its Ready status (`TaintNodesByCondition`
/// and the NoExecute taints of `doNoExecuteTaintingPass`); None when nothing changes.
pub fn condition_taints(node: &Node, now: Timestamp) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let want_key = match ready_status(node) {
        Some("Unknown") => Some(UNREACHABLE),
        Some("False") => Some(NOT_READY),
        _ => None,
    };
    let mut next: Vec<Taint> = current.iter().filter(|t| t.key != UNREACHABLE && t.key != NOT_READY).cloned().collect();
    if let Some(key) = want_key {
        for effect in ["NoSchedule", "NoExecute"] {
            let kept = current.iter().find(|t| t.key == key && t.effect == effect).cloned();
            next.push(kept.unwrap_or_else(|| Taint {
                key: key.into(),
                value: None,
                effect: effect.into(),
                time_added: (effect == "NoExecute").then_some(Time(now)),
            }));
        }
    }
    (next != current).then_some(next)
}

/// When a Pod on a node with these taints must go: None if never, else the moment
/// (`getMinTolerationTime` over the NoExecute taints it tolerates; now if one is untolerated).
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let mut due: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // Tolerated for the shortest time any matching toleration gives; forever if one has none.
        let Some(secs) = matching.iter().map(|t| t.toleration_seconds).try_fold(i64::MAX, |m, s| s.map(|s| m.min(s)))
        else {
            continue;
        };
        let since = taint.time_added.as_ref().map_or(now, |t| t.0);
        let at = Timestamp::from_second(since.as_second() + secs.max(0)).unwrap_or(now);
        due = Some(due.map_or(at, |d| d.min(at)));
    }
    due
}

impl NodeLifecycle {
    /// Checks every node, its taints and its Pods, once per `period`, until the process ends.
    pub async fn run(self) {
        let period = (self.grace / 4).clamp(Duration::from_millis(500), Duration::from_secs(5));
        loop {
            if let Err(e) = self.pass().await {
                tracing::debug!(error = %e, "node lifecycle pass");
            }
            tokio::time::sleep(period).await;
        }
    }

    /// One pass (`monitorNodeHealth`, then the evictions).
    pub async fn pass(&self) -> Result<(), ControllerError> {
        let now = Timestamp::now();
        let mut first_err = None;
        for node in self.nodes.list_all() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let lease = self.leases.get("kube-node-lease", &name);
            let silent = last_heard(&node, lease.as_deref())
                .is_some_and(|t| now.as_millisecond() - t.as_millisecond() > self.grace.as_millis() as i64);
            let mut node = (*node).clone();
            if silent && ready_status(&node) != Some("Unknown") {
                if let Err(e) = self.mark_unknown(&mut node, now).await {
                    first_err.get_or_insert(e);
                    continue;
                }
            }
            if let Some(taints) = condition_taints(&node, now) {
                let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version},
                    "spec": {"taints": taints}});
                let r = self.writer.patch(NODES, "", &name, false, PatchBody::Merge(patch)).await;
                if let Err(e) = ignore_not_found(r.map(drop)) {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.evict(now).await {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Sets the watched conditions to Unknown (`tryUpdateNodeHealth`).
    async fn mark_unknown(&self, node: &mut Node, now: Timestamp) -> Result<(), ControllerError> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let existing = node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        let mut changed = Vec::new();
        for t in WATCHED {
            let (reason, message) = match existing.iter().find(|c| c.type_ == t) {
                Some(c) if c.status == "Unknown" => continue,
                Some(_) => ("NodeStatusUnknown", "Kubelet stopped posting node status."),
                None => ("NodeStatusNeverUpdated", "Kubelet never posted node status."),
            };
            changed.push(json!({"type": t, "status": "Unknown", "reason": reason, "message": message,
                "lastTransitionTime": Time(now)}));
        }
        tracing::info!(node = %name, "node stopped posting status: Unknown");
        let patch = json!({"status": {"conditions": changed}});
        let out = self.writer.patch(NODES, "", &name, true, PatchBody::Strategic(patch)).await?;
        let message = format!("Node {name} status is now: NodeNotReady");
        self.writer.event(Event::about(
            "node-controller",
            NODES,
            &node.metadata,
            EventType::Normal,
            "NodeNotReady",
            message,
        ));
        if let Ok(updated) = serde_json::from_value::<Node>(out) {
            if updated.metadata.name.is_some() {
                *node = updated;
                return Ok(());
            }
        }
        // Without the answer, the copy says Unknown so the taints follow in this pass.
        if let Some(c) = node.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c.iter_mut().filter(|c| c.type_ == "Ready").for_each(|c| c.status = "Unknown".into());
        }
        Ok(())
    }

    fn orphans(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, std::time::Instant>> {
        self.orphans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deletes Pods whose tolerations of their node's NoExecute taints ran out, and Pods bound
    /// to Nodes that are gone.
    async fn evict(&self, now: Timestamp) -> Result<(), ControllerError> {
        let pods = self.pods.list_all();
        {
            // Forget quarantined Pods that are gone or whose Node came (back).
            let live: std::collections::HashSet<&str> = pods
                .iter()
                .filter(|p| {
                    let node = p.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("");
                    !node.is_empty() && self.nodes.get("", node).is_none()
                })
                .filter_map(|p| p.metadata.uid.as_deref())
                .collect();
            self.orphans().retain(|uid, _| live.contains(uid.as_str()));
        }
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()) else {
                continue;
            };
            let ns = pod.metadata.namespace.as_deref().unwrap_or("");
            let name = pod.metadata.name.as_deref().unwrap_or("");
            let orphan = match self.nodes.get("", &node_name) {
                // Pod GC: bound to a Node gone for a while (checked live: the cache may lag).
                None => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    let since = *self.orphans().entry(uid).or_insert_with(std::time::Instant::now);
                    if since.elapsed() < ORPHAN_QUARANTINE || self.writer.get(NODES, "", &node_name).await?.is_some() {
                        continue;
                    }
                    true
                }
                Some(node) => {
                    let taints = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
                    if eviction_time(&pod, &taints, now).is_none_or(|at| at > now) {
                        continue;
                    }
                    false
                }
            };
            tracing::info!(pod = %name, node = %node_name, orphan, "evicting");
            if !orphan {
                let message = format!("Marking for deletion Pod {ns}/{name}");
                let event = Event::about(
                    "taint-eviction-controller",
                    PODS,
                    &pod.metadata,
                    EventType::Normal,
                    "TaintManagerEviction",
                    message,
                );
                self.writer.event(event);
            }
            let opts = Delete { uid: pod.metadata.uid.clone(), propagation: None, grace_seconds: orphan.then_some(0) };
            let r = self.writer.delete(PODS, ns, name, opts).await;
            ignore_not_found(r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": "n"}, "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}))
        .unwrap()
    }

    #[test]
    fn unknown_nodes_get_unreachable_taints_and_lose_them_when_back() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let taints = condition_taints(&node("Unknown", json!([{"key": "x", "effect": "NoSchedule"}])), now).unwrap();
        let keys: Vec<(&str, &str)> = taints.iter().map(|t| (t.key.as_str(), t.effect.as_str())).collect();
        assert_eq!(keys, [("x", "NoSchedule"), (UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]);
        assert!(taints[2].time_added.is_some());
        let tainted = serde_json::to_value(&taints).unwrap();
        assert!(condition_taints(&node("Unknown", tainted.clone()), now).is_none(), "nothing new");
        let healed = condition_taints(&node("True", tainted), now).unwrap();
        assert_eq!(healed.len(), 1);
        assert_eq!(condition_taints(&node("False", json!([])), now).unwrap()[0].key, NOT_READY);
    }

    #[test]
    fn pods_go_when_their_toleration_runs_out() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let taint = vec![Taint {
            key: UNREACHABLE.into(),
            value: None,
            effect: "NoExecute".into(),
            time_added: Some(Time("2026-01-01T00:00:00Z".parse().unwrap())),
        }];
        let pod = |tols: serde_json::Value| -> Pod {
            serde_json::from_value(json!({"spec": {"containers": [], "tolerations": tols}})).unwrap()
        };
        assert_eq!(eviction_time(&pod(json!([])), &taint, now), Some(now), "untolerated: now");
        let five_min =
            pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]));
        assert_eq!(eviction_time(&five_min, &taint, now).unwrap().to_string(), "2026-01-01T00:05:00Z");
        let forever = pod(json!([{"operator": "Exists"}]));
        assert_eq!(eviction_time(&forever, &taint, now), None);
    }
}
