//! DefaultPreemption: when a Pod fits nowhere, find a node where evicting lower-priority Pods
//! would make room, evicting as few and as unimportant Pods as possible, and nominate the Pod
//! to it. The evictions themselves are the scheduler's I/O; this plugin only decides.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::registry::{PluginContext, Registered};
use crate::framework::{
    Code, CycleState, FilterRunner, NodeInfo, NodeStatuses, Plugin, PodInfo, PostFilterPlugin, PostFilterResult,
    Status, Victim,
};

pub const NAME: &str = "DefaultPreemption";
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// `MoreImportantPod`: higher priority, then the one that started first.
fn more_important(a: &PodInfo, b: &PodInfo) -> std::cmp::Ordering {
    b.priority.cmp(&a.priority).then(a.start_time().cmp(&b.start_time()))
}

/// A node where preemption works, and the Pods it would evict (most important first).
struct Candidate {
    node: String,
    victims: Vec<Arc<PodInfo>>,
}

/// `SelectVictimsOnNode`: remove every lower-priority Pod; if the Pod then fits, put back as
/// many as possible, most important first.
fn select_victims(
    ctx: &dyn FilterRunner,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Result<Vec<Arc<PodInfo>>, Status> {
    let mut state = state.clone();
    let mut info = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node.pods.iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    for p in &potential {
        info.remove_pod(&p.uid);
        ctx.remove_pod(&mut state, pod, p, &info);
    }
    let status = ctx.run_filters(&state, pod, &info);
    if !status.is_success() {
        return Err(status);
    }
    potential.sort_by(|a, b| more_important(a, b));
    let mut victims = Vec::new();
    for p in potential {
        info.add_pod(p.clone());
        ctx.add_pod(&mut state, pod, &p, &info);
        if !ctx.run_filters(&state, pod, &info).is_success() {
            info.remove_pod(&p.uid);
            ctx.remove_pod(&mut state, pod, &p, &info);
            victims.push(p);
        }
    }
    Ok(victims)
}

/// `pickOneNodeForPreemption` without PodDisruptionBudgets: the lowest highest-priority victim,
/// then the lowest sum of priorities, then the fewest victims, then the latest start of the
/// most important victims, then the first.
fn pick(candidates: &[Candidate]) -> usize {
    let key = |c: &Candidate| {
        let highest = c.victims.first().map(|v| v.priority as i64).unwrap_or(i64::MIN);
        let sum: i64 = c.victims.iter().map(|v| v.priority as i64 + i32::MAX as i64 + 1).sum();
        let earliest_of_highest =
            c.victims.iter().filter(|v| v.priority as i64 == highest).map(|v| v.start_time()).min().unwrap_or(i64::MAX);
        (highest, sum, c.victims.len(), std::cmp::Reverse(earliest_of_highest))
    };
    (0..candidates.len()).min_by_key(|i| key(&candidates[*i])).unwrap_or(0)
}

/// `FitError.Error()` for the nodes preemption looked at.
fn fit_error(all_nodes: usize, statuses: &[(String, Status)]) -> String {
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for (_, s) in statuses {
        for r in s.reasons() {
            *histogram.entry(r.clone()).or_default() += 1;
        }
    }
    let mut parts: Vec<String> = histogram.iter().map(|(r, n)| format!("{n} {r}")).collect();
    parts.sort();
    format!("0/{all_nodes} nodes are available: {}.", parts.join(", "))
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        ctx: &dyn FilterRunner,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeStatuses,
    ) -> (PostFilterResult, Status) {
        let snapshot = ctx.snapshot();
        let spec = pod.pod.spec.as_ref();
        if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
            return (
                PostFilterResult::default(),
                Status::unschedulable("preemption: not eligible due to preemptionPolicy=Never."),
            );
        }
        let nominated = pod.pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).unwrap_or("");
        if let Some(n) = snapshot.get(nominated) {
            let unresolvable =
                statuses.iter().any(|(name, s)| name == nominated && s.code() == Code::UnschedulableAndUnresolvable);
            let terminating =
                n.pods.iter().any(|p| p.priority < pod.priority && p.pod.metadata.deletion_timestamp.is_some());
            if !unresolvable && terminating {
                return (
                    PostFilterResult::default(),
                    Status::unschedulable("preemption: not eligible due to a terminating pod on the nominated node."),
                );
            }
        }
        let mut outcome: Vec<(String, Status)> = Vec::new();
        let mut candidates = Vec::new();
        let wanted = (snapshot.len() / 10).max(100);
        for node in &snapshot.nodes {
            let status = statuses.iter().find(|(n, _)| *n == node.name).map(|(_, s)| s);
            if status.is_none_or(|s| s.code() == Code::UnschedulableAndUnresolvable) {
                outcome.push((node.name.clone(), Status::unresolvable(NOT_HELPFUL)));
                continue;
            }
            if candidates.len() >= wanted {
                continue;
            }
            match select_victims(ctx, state, pod, node) {
                Ok(victims) if !victims.is_empty() => candidates.push(Candidate { node: node.name.clone(), victims }),
                Ok(_) => outcome.push((
                    node.name.clone(),
                    Status::error(format!("expected at least one victim pod on node {:?}", node.name)),
                )),
                Err(s) => outcome.push((node.name.clone(), s)),
            }
        }
        if candidates.is_empty() {
            let msg = format!("preemption: {}", fit_error(snapshot.len(), &outcome));
            return (PostFilterResult::default(), Status::unschedulable(msg));
        }
        let best = candidates.swap_remove(pick(&candidates));
        let victims = best
            .victims
            .iter()
            .map(|v| Victim { namespace: v.namespace.clone(), name: v.name.clone(), uid: v.uid.clone() })
            .collect();
        let result = PostFilterResult { nominated_node: Some(best.node), victims };
        (result, Status::success())
    }
}

pub fn factory(_: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    Ok(Registered { post_filter: Some(Arc::new(DefaultPreemption)), ..Registered::default() })
}
