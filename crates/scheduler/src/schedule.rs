//! One scheduling cycle's algorithm (`schedule_one.go`): PreFilter, then Filter over the
//! nodes (stopping once enough fit, round-robin from where the last cycle stopped), PostFilter
//! when none fit, then PreScore/Score and a random pick among the best. Pure: it reads a
//! snapshot and returns a node or the reason none fits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rand::Rng;

use crate::framework::runtime::Framework;
use crate::framework::{CycleState, NodeInfo, NodeStatuses, PodInfo, PostFilterResult, Snapshot, Status};

/// Below this many nodes every node is checked.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;

/// Pods nominated to nodes by preemption, by node name.
pub type Nominated = HashMap<String, Vec<Arc<PodInfo>>>;

/// The node chosen and how much work it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleResult {
    pub node: String,
    pub evaluated: usize,
    pub feasible: usize,
}

/// Why no node fits (`framework.FitError` and its `Diagnosis`).
#[derive(Debug, Clone, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub statuses: NodeStatuses,
    pub pre_filter_msg: String,
    pub post_filter_msg: String,
    /// Plugins that rejected the Pod on some node (events that could help them retry it).
    pub unschedulable_plugins: HashSet<&'static str>,
    /// What preemption decided, if it found a way.
    pub preemption: Option<PostFilterResult>,
}

impl FitError {
    /// The message users read: `0/3 nodes are available: 1 node(s) had untolerated taint
    /// {…}, 2 Insufficient cpu. preemption: …`.
    pub fn message(&self) -> String {
        let mut msg = format!("0/{} nodes are available:", self.num_all_nodes);
        if !self.pre_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", self.pre_filter_msg));
        } else {
            let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, s) in &self.statuses {
                for r in s.reasons() {
                    *histogram.entry(r).or_default() += 1;
                }
            }
            let mut parts: Vec<String> = histogram.iter().map(|(r, n)| format!("{n} {r}")).collect();
            parts.sort();
            if !parts.is_empty() {
                msg.push_str(&format!(" {}.", parts.join(", ")));
            }
        }
        if !self.post_filter_msg.is_empty() {
            msg.push_str(&format!(" {}", self.post_filter_msg));
        }
        msg
    }
}

/// Why a cycle found no node.
#[derive(Debug, Clone)]
pub enum ScheduleError {
    /// The cluster has no nodes at all.
    NoNodes,
    Fit(Box<FitError>),
    /// A plugin failed (not the Pod's fault).
    Internal(Status),
}

impl ScheduleError {
    pub fn message(&self) -> String {
        match self {
            ScheduleError::NoNodes => "no nodes available to schedule pods".into(),
            ScheduleError::Fit(f) => f.message(),
            ScheduleError::Internal(s) => s.message(),
        }
    }
}

/// Nodes whose hot fields are read together before filtering them (see [`NodeInfo::warm`]).
const WARM_AHEAD: usize = 16;

/// How many feasible nodes to find before scoring (`numFeasibleNodesToFind`).
pub fn num_feasible_nodes_to_find(percentage: i32, num_all: usize) -> usize {
    if num_all < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all;
    }
    let mut pct = percentage as i64;
    if pct == 0 {
        pct = (50 - num_all as i64 / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = (num_all as i64 * pct / 100) as usize;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The state kept between cycles: where the next node search starts.
#[derive(Debug, Default)]
pub struct Algorithm {
    next_start: usize,
    /// The configuration's percentageOfNodesToScore (0: adaptive).
    pub percentage_of_nodes_to_score: i32,
}

impl Algorithm {
    pub fn new(percentage_of_nodes_to_score: i32) -> Algorithm {
        Algorithm { next_start: 0, percentage_of_nodes_to_score }
    }

    /// Filters with the nominated Pods of at least the Pod's priority added to the node first
    /// (`RunFilterPluginsWithNominatedPods`), then without them.
    fn filter_node(
        fw: &Framework,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
        nominated: &Nominated,
    ) -> Status {
        if nominated.is_empty() {
            return fw.run_filters(state, pod, node, snapshot);
        }
        let others: Vec<&Arc<PodInfo>> = nominated
            .get(&node.name)
            .into_iter()
            .flatten()
            .filter(|p| p.priority >= pod.priority && p.uid != pod.uid)
            .collect();
        if others.is_empty() {
            return fw.run_filters(state, pod, node, snapshot);
        }
        let mut with = node.clone();
        let mut with_state = state.clone();
        let runner = fw.runner(snapshot);
        for p in &others {
            with.add_pod((*p).clone());
            crate::framework::FilterRunner::add_pod(&runner, &mut with_state, pod, p, &with);
        }
        let status = fw.run_filters(&with_state, pod, &with, snapshot);
        if !status.is_success() {
            return status;
        }
        fw.run_filters(state, pod, node, snapshot)
    }

    /// Finds the node for `pod`, or why there is none (running PostFilter in that case).
    pub fn schedule(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nominated: &Nominated,
    ) -> Result<ScheduleResult, ScheduleError> {
        if snapshot.is_empty() {
            return Err(ScheduleError::NoNodes);
        }
        let mut fit = FitError { num_all_nodes: snapshot.len(), ..FitError::default() };
        let (pre, status) = fw.run_pre_filter(state, pod, snapshot);
        if status.code() == crate::framework::Code::Error {
            return Err(ScheduleError::Internal(status));
        }
        let mut feasible: Vec<&NodeInfo> = Vec::new();
        if !status.is_success() {
            fit.pre_filter_msg = status.message();
            fit.unschedulable_plugins.insert(status.plugin());
            fit.statuses = snapshot.nodes.iter().map(|n| (n.name.clone(), status.clone())).collect();
        } else {
            // A Pod nominated to a node by an earlier preemption tries that node first.
            let nominated_node = pod.pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref());
            if let Some(n) = nominated_node.and_then(|n| snapshot.get(n)) {
                let allowed = pre.node_names.as_ref().is_none_or(|names| names.contains(&n.name));
                if allowed && Self::filter_node(fw, state, pod, n, snapshot, nominated).is_success() {
                    return Ok(ScheduleResult { node: n.name.clone(), evaluated: 1, feasible: 1 });
                }
            }
            let chosen: Option<Vec<&NodeInfo>> = pre.node_names.as_ref().map(|names| {
                let excluded = Status::unresolvable(format!("node(s) didn't satisfy plugin(s) [{}]", status.plugin()));
                for n in snapshot.nodes.iter().filter(|n| !names.contains(&n.name)) {
                    fit.statuses.push((n.name.clone(), excluded.clone()));
                }
                snapshot.nodes.iter().filter(|n| names.contains(&n.name)).map(|n| &**n).collect()
            });
            let total = chosen.as_ref().map_or(snapshot.nodes.len(), Vec::len);
            let candidate = |i: usize| -> &NodeInfo {
                match &chosen {
                    Some(c) => c[i],
                    None => &snapshot.nodes[i],
                }
            };
            let pct = fw.percentage_of_nodes_to_score.unwrap_or(self.percentage_of_nodes_to_score);
            let wanted = num_feasible_nodes_to_find(pct, total);
            let mut processed = 0;
            for i in 0..total {
                if i % WARM_AHEAD == 0 {
                    let end = (i + WARM_AHEAD).min(total);
                    NodeInfo::warm((i..end).map(|j| candidate((self.next_start + j) % total)));
                }
                let node = candidate((self.next_start + i) % total);
                processed += 1;
                let status = Self::filter_node(fw, state, pod, node, snapshot, nominated);
                if status.is_success() {
                    feasible.push(node);
                    if feasible.len() >= wanted {
                        break;
                    }
                } else if status.is_rejected() {
                    fit.unschedulable_plugins.insert(status.plugin());
                    fit.statuses.push((node.name.clone(), status));
                } else {
                    return Err(ScheduleError::Internal(status));
                }
            }
            if total > 0 {
                self.next_start = (self.next_start + processed) % total;
            }
        }
        if feasible.is_empty() {
            if fw.has_post_filter() {
                let (result, status) = fw.run_post_filter(state, pod, &fit.statuses, snapshot);
                if status.code() == crate::framework::Code::Error {
                    return Err(ScheduleError::Internal(status));
                }
                fit.post_filter_msg = status.message();
                if result.nominated_node.is_some() {
                    fit.preemption = Some(result);
                }
            }
            return Err(ScheduleError::Fit(Box::new(fit)));
        }
        let evaluated = fit.statuses.len() + feasible.len();
        if feasible.len() == 1 {
            return Ok(ScheduleResult { node: feasible[0].name.clone(), evaluated, feasible: 1 });
        }
        let totals = fw.run_score(state, pod, &feasible, snapshot).map_err(ScheduleError::Internal)?;
        Ok(ScheduleResult { node: select_host(&feasible, &totals), evaluated, feasible: feasible.len() })
    }
}

/// The node with the highest score; ties are broken at random (reservoir sampling).
fn select_host(nodes: &[&NodeInfo], totals: &[i64]) -> String {
    let mut rng = rand::rng();
    let (mut best, mut best_score, mut seen) = (0, i64::MIN, 0u32);
    for (i, s) in totals.iter().enumerate() {
        if *s > best_score {
            (best, best_score, seen) = (i, *s, 1);
        } else if *s == best_score {
            seen += 1;
            if rng.random_range(0..seen) == 0 {
                best = i;
            }
        }
    }
    nodes[best].name.clone()
}

#[cfg(test)]
mod tests;
