//! A profile's plugins wired per extension point (`frameworkruntime.frameworkImpl`), and the
//! runs of each point with Kubernetes' rules: the first rejecting Filter decides, Skip
//! leaves a plugin out of the cycle, scores are normalized then weighted.

use std::collections::HashSet;
use std::sync::Arc;

use super::config::{ConfigError, PluginSet, Profile};
use super::registry::{PluginContext, Registered, Registry};
use super::{
    BindPlugin, Code, CycleState, FilterPlugin, FilterRunner, NodeInfo, NodeScore, NodeStatuses, PermitPlugin, PodInfo,
    PostFilterPlugin, PostFilterResult, PreFilterPlugin, PreFilterResult, PreScorePlugin, QueueSortPlugin,
    ReservePlugin, ScorePlugin, Snapshot, Status,
};

/// One profile's plugins, ready to run.
pub struct Framework {
    pub scheduler_name: String,
    pub percentage_of_nodes_to_score: Option<i32>,
    queue_sort: Arc<dyn QueueSortPlugin>,
    pre_filter: Vec<Arc<dyn PreFilterPlugin>>,
    filter: Vec<Arc<dyn FilterPlugin>>,
    post_filter: Vec<Arc<dyn PostFilterPlugin>>,
    pre_score: Vec<Arc<dyn PreScorePlugin>>,
    score: Vec<(Arc<dyn ScorePlugin>, i64)>,
    reserve: Vec<Arc<dyn ReservePlugin>>,
    permit: Vec<Arc<dyn PermitPlugin>>,
    bind: Vec<Arc<dyn BindPlugin>>,
}

/// Which plugins run at one extension point: the multi-point set that serves it, less what
/// the point disables (`*` for all), plus what it enables, in order.
fn point_plugins(multi: &[(String, i32)], set: &PluginSet, serves: impl Fn(&str) -> bool) -> Vec<(String, i32)> {
    let all_off = set.disabled.iter().any(|p| p.name == "*");
    let mut out: Vec<(String, i32)> = multi
        .iter()
        .filter(|(n, _)| serves(n) && !all_off && !set.disabled.iter().any(|d| &d.name == n))
        .cloned()
        .collect();
    for e in &set.enabled {
        let weight = e.weight.filter(|w| *w > 0).unwrap_or(1);
        match out.iter_mut().find(|(n, _)| *n == e.name) {
            Some(p) => p.1 = e.weight.filter(|w| *w > 0).unwrap_or(p.1),
            None => out.push((e.name.clone(), weight)),
        }
    }
    out
}

impl Framework {
    /// Builds a profile's framework from the registry.
    pub fn new(profile: &Profile, registry: &Registry, ctx: &PluginContext) -> Result<Framework, ConfigError> {
        let mp = &profile.plugins.multi_point;
        let mut multi: Vec<(String, i32)> = Vec::new();
        if !mp.disabled.iter().any(|p| p.name == "*") {
            for (n, w) in registry.defaults() {
                if !mp.disabled.iter().any(|d| d.name == *n) {
                    multi.push((n.to_string(), *w));
                }
            }
        }
        for e in &mp.enabled {
            if let Some(w) = e.weight.filter(|w| *w < 0) {
                return Err(ConfigError::Invalid(format!("plugin {:?}: weight {w} must not be negative", e.name)));
            }
            match multi.iter_mut().find(|(n, _)| *n == e.name) {
                Some(p) => p.1 = e.weight.unwrap_or(p.1),
                None => multi.push((e.name.clone(), e.weight.unwrap_or(1))),
            }
        }
        let p = &profile.plugins;
        let mut names: Vec<String> = multi.iter().map(|(n, _)| n.clone()).collect();
        for set in [
            &p.queue_sort,
            &p.pre_filter,
            &p.filter,
            &p.post_filter,
            &p.pre_score,
            &p.score,
            &p.reserve,
            &p.permit,
            &p.bind,
        ] {
            for e in &set.enabled {
                if !names.contains(&e.name) {
                    names.push(e.name.clone());
                }
            }
        }
        let mut built: Vec<(String, Registered)> = Vec::new();
        for name in &names {
            let factory = registry
                .factory(name)
                .ok_or_else(|| ConfigError::Invalid(format!("plugin {name:?} does not exist")))?;
            built.push((name.clone(), factory(&profile.args(name), ctx)?));
        }
        let get = |n: &str| built.iter().find(|(b, _)| b == n).map(|(_, r)| r).expect("every named plugin is built");
        macro_rules! point {
            ($field:ident, $set:expr, $what:expr) => {{
                let mut v = Vec::new();
                for (n, w) in point_plugins(&multi, &$set, |n| get(n).$field.is_some()) {
                    match get(&n).$field.clone() {
                        Some(pl) => v.push((pl, w as i64)),
                        None => {
                            return Err(ConfigError::Invalid(format!("plugin {n:?} does not extend {} plugin", $what)))
                        }
                    }
                }
                v
            }};
        }
        let mut queue_sort = strip(point!(queue_sort, p.queue_sort, "queueSort"));
        if queue_sort.len() != 1 {
            return Err(ConfigError::Invalid(format!(
                "profile {:?}: exactly one queue sort plugin must be enabled, got {}",
                profile.scheduler_name,
                queue_sort.len()
            )));
        }
        let bind = strip(point!(bind, p.bind, "bind"));
        if bind.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "profile {:?}: at least one bind plugin is needed",
                profile.scheduler_name
            )));
        }
        Ok(Framework {
            scheduler_name: profile.scheduler_name.clone(),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            queue_sort: queue_sort.remove(0),
            pre_filter: strip(point!(pre_filter, p.pre_filter, "preFilter")),
            filter: strip(point!(filter, p.filter, "filter")),
            post_filter: strip(point!(post_filter, p.post_filter, "postFilter")),
            pre_score: strip(point!(pre_score, p.pre_score, "preScore")),
            score: point!(score, p.score, "score"),
            reserve: strip(point!(reserve, p.reserve, "reserve")),
            permit: strip(point!(permit, p.permit, "permit")),
            bind,
        })
    }

    /// Names of the plugins at each point (for logs and tests).
    pub fn describe(&self) -> Vec<(&'static str, Vec<String>)> {
        vec![
            ("queueSort", vec![self.queue_sort.name().to_string()]),
            ("preFilter", self.pre_filter.iter().map(|p| p.name().to_string()).collect()),
            ("filter", self.filter.iter().map(|p| p.name().to_string()).collect()),
            ("postFilter", self.post_filter.iter().map(|p| p.name().to_string()).collect()),
            ("preScore", self.pre_score.iter().map(|p| p.name().to_string()).collect()),
            ("score", self.score.iter().map(|(p, w)| format!("{}:{w}", p.name())).collect()),
            ("reserve", self.reserve.iter().map(|p| p.name().to_string()).collect()),
            ("permit", self.permit.iter().map(|p| p.name().to_string()).collect()),
            ("bind", self.bind.iter().map(|p| p.name().to_string()).collect()),
        ]
    }

    /// The QueueSort plugin (every profile of one scheduler must use the same).
    pub fn queue_sort(&self) -> Arc<dyn QueueSortPlugin> {
        self.queue_sort.clone()
    }

    /// PreFilter: the nodes that can possibly fit, or the status that rejects the Pod.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let mut result = PreFilterResult::all_nodes();
        let mut narrowed_by = Vec::new();
        state.filter_skipped = vec![false; self.filter.len()];
        for p in &self.pre_filter {
            let (r, status) = p.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                // Skipped by position in the filter list: run_filters runs for every node.
                for (i, f) in self.filter.iter().enumerate() {
                    if f.name() == p.name() {
                        state.filter_skipped[i] = true;
                    }
                }
                continue;
            }
            if !status.is_success() {
                return (result, status.from_plugin(p.name()));
            }
            if r.node_names.is_some() {
                narrowed_by.push(p.name());
                result = result.merge(r);
                if result.node_names.as_ref().is_some_and(HashSet::is_empty) {
                    let msg = format!("node(s) didn't satisfy plugin(s) [{}]", narrowed_by.join(" "));
                    return (result, Status::unresolvable(msg).from_plugin(p.name()));
                }
            }
        }
        (result, Status::success())
    }

    /// Filter: the first plugin that rejects the node decides.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        for (i, p) in self.filter.iter().enumerate() {
            if state.filter_skipped.get(i).copied().unwrap_or(false) {
                continue;
            }
            let status = p.filter(state, pod, node, snapshot);
            if !status.is_success() {
                let code =
                    if status.code() == Code::Error || status.is_rejected() { status.code() } else { Code::Error };
                let reasons = status.reasons().to_vec();
                return Status::with_reasons(code, reasons).from_plugin(p.name());
            }
        }
        Status::success()
    }

    pub fn has_post_filter(&self) -> bool {
        !self.post_filter.is_empty()
    }

    /// PostFilter: the first plugin that finds a way (nominated node) ends the run.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeStatuses,
        snapshot: &Snapshot,
    ) -> (PostFilterResult, Status) {
        let runner = Runner { fw: self, snapshot };
        let mut last = Status::unschedulable("");
        for p in &self.post_filter {
            let (r, status) = p.post_filter(&runner, state, pod, statuses);
            if status.is_success() {
                return (r, status.from_plugin(p.name()));
            }
            if !status.is_rejected() {
                return (PostFilterResult::default(), status.from_plugin(p.name()));
            }
            last = status.from_plugin(p.name());
        }
        (PostFilterResult::default(), last)
    }

    /// PreScore then Score, normalized and weighted: each node's total.
    pub fn run_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Result<Vec<i64>, Status> {
        for p in &self.pre_score {
            let status = p.pre_score(state, pod, nodes, snapshot);
            if status.is_skip() {
                state.skip_score.push(p.name());
            } else if !status.is_success() {
                return Err(status.from_plugin(p.name()));
            }
        }
        let mut totals = vec![0i64; nodes.len()];
        let mut scores: Vec<NodeScore> = Vec::with_capacity(nodes.len());
        for (p, weight) in &self.score {
            if state.skip_score.contains(&p.name()) {
                continue;
            }
            scores.clear();
            for n in nodes {
                let s = p.score(state, pod, n, snapshot).map_err(|s| s.from_plugin(p.name()))?;
                scores.push(NodeScore { name: &n.name, score: s });
            }
            let status = p.normalize(state, pod, &mut scores);
            if !status.is_success() {
                return Err(status.from_plugin(p.name()));
            }
            for (t, s) in totals.iter_mut().zip(&scores) {
                if !(0..=super::MAX_NODE_SCORE).contains(&s.score) {
                    return Err(Status::error(format!(
                        "plugin {:?} returns an invalid score {}, it should in the range of [0, 100] after normalizing",
                        p.name(),
                        s.score
                    )));
                }
                *t += s.score * weight;
            }
        }
        Ok(totals)
    }

    /// Reserve in order; on a failure the ones before are unreserved.
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        for (i, p) in self.reserve.iter().enumerate() {
            let status = p.reserve(state, pod, node);
            if !status.is_success() {
                for q in self.reserve[..i].iter().rev() {
                    q.unreserve(state, pod, node);
                }
                return status.from_plugin(p.name());
            }
        }
        Status::success()
    }

    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for p in self.reserve.iter().rev() {
            p.unreserve(state, pod, node);
        }
    }

    /// Permit: any rejection rejects; the longest wait is kept.
    pub fn run_permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> (Status, std::time::Duration) {
        let mut wait = std::time::Duration::ZERO;
        for p in &self.permit {
            let (status, d) = p.permit(state, pod, node);
            match status.code() {
                Code::Success => {}
                Code::Wait => wait = wait.max(d),
                _ => return (status.from_plugin(p.name()), d),
            }
        }
        if wait > std::time::Duration::ZERO {
            return (Status::new(Code::Wait, "waiting on permit"), wait);
        }
        (Status::success(), wait)
    }

    /// Bind: the first plugin that does not Skip binds.
    pub async fn run_bind(&self, pod: &PodInfo, node: &str) -> Status {
        for p in &self.bind {
            let status = p.bind(pod, node).await;
            if !status.is_skip() {
                return status.from_plugin(p.name());
            }
        }
        Status::error("no bind plugin bound the pod")
    }

    /// The filter runner PostFilter plugins use.
    pub fn runner<'a>(&'a self, snapshot: &'a Snapshot) -> impl FilterRunner + 'a {
        Runner { fw: self, snapshot }
    }
}

fn strip<T>(v: Vec<(T, i64)>) -> Vec<T> {
    v.into_iter().map(|(p, _)| p).collect()
}

struct Runner<'a> {
    fw: &'a Framework,
    snapshot: &'a Snapshot,
}

impl FilterRunner for Runner<'_> {
    fn snapshot(&self) -> &Snapshot {
        self.snapshot
    }

    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        self.fw.run_filters(state, pod, node, self.snapshot)
    }

    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo) {
        for p in &self.fw.pre_filter {
            if let Some(ext) = p.extensions() {
                ext.add_pod(state, pod, added, node, self.snapshot);
            }
        }
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &PodInfo, node: &NodeInfo) {
        for p in &self.fw.pre_filter {
            if let Some(ext) = p.extensions() {
                ext.remove_pod(state, pod, removed, node, self.snapshot);
            }
        }
    }
}
