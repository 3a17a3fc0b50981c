//! The scheduling framework: one small trait per extension point, as in Kubernetes
//! (`pkg/scheduler/framework/interface.go`). Plugins are pure: they read a [`Snapshot`] and
//! the Pod and return a [`Status`]; the only I/O is behind [`BindPlugin`].

pub mod config;
pub mod cycle_state;
pub mod nodeinfo;
pub mod podinfo;
pub mod registry;
pub mod resource;
pub mod runtime;
pub mod snapshot;
pub mod status;

use std::collections::HashSet;

pub use cycle_state::{CycleState, StateData};
pub use nodeinfo::NodeInfo;
pub use podinfo::PodInfo;
pub use resource::Resource;
pub use snapshot::Snapshot;
pub use status::{Code, Status};

/// The highest score a Score plugin gives a node (after normalizing).
pub const MAX_NODE_SCORE: i64 = 100;

/// A node's score from one plugin, or the weighted sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeScore<'a> {
    pub name: &'a str,
    pub score: i64,
}

/// What PreFilter may say beyond its status: only these nodes can fit (`None`: all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    pub node_names: Option<HashSet<String>>,
}

impl PreFilterResult {
    pub fn all_nodes() -> PreFilterResult {
        PreFilterResult { node_names: None }
    }

    /// The intersection of two results.
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        match (self.node_names, other.node_names) {
            (None, n) | (n, None) => PreFilterResult { node_names: n },
            (Some(a), Some(b)) => PreFilterResult { node_names: Some(a.intersection(&b).cloned().collect()) },
        }
    }
}

/// A Pod the PostFilter (preemption) wants removed, by namespace, name and uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Victim {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// What a PostFilter plugin decided: nominate the Pod to a node once the victims are gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFilterResult {
    pub nominated_node: Option<String>,
    pub victims: Vec<Victim>,
}

/// A filter status per node (the `NodeToStatusMap` of a failed cycle).
pub type NodeStatuses = Vec<(String, Status)>;

/// Every plugin has a name (the one configuration files use).
pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;
}

/// Orders the active queue (`QueueSort`): `true` if `a` goes before `b`.
pub trait QueueSortPlugin: Plugin {
    fn less(&self, a: &QueuedPod, b: &QueuedPod) -> bool;
}

/// A Pod waiting in the queue, with the time it (re-)entered it.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    pub info: std::sync::Arc<PodInfo>,
    /// Monotonic order of arrival (smaller is older).
    pub timestamp: u64,
    /// How many times the Pod was tried.
    pub attempts: u32,
}

/// Cluster-wide work before filtering; may narrow the nodes or reject the Pod outright.
pub trait PreFilterPlugin: Plugin {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> (PreFilterResult, Status);

    /// How the plugin's cycle state changes when a Pod is added to or removed from a node in a
    /// what-if (preemption, nominated Pods); `None` if its state does not depend on other Pods.
    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
}

/// Keeps a PreFilter plugin's state true when preemption adds or removes Pods.
pub trait PreFilterExtensions: Send + Sync {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo, snapshot: &Snapshot);
    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
        snapshot: &Snapshot,
    );
}

/// Whether the Pod can run on one node.
pub trait FilterPlugin: Plugin {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> Status;
}

/// Runs when no node passed the filters (preemption).
pub trait PostFilterPlugin: Plugin {
    fn post_filter(
        &self,
        ctx: &dyn FilterRunner,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeStatuses,
    ) -> (PostFilterResult, Status);
}

/// What PostFilter plugins may ask of the framework: run every filter on a what-if node.
pub trait FilterRunner {
    fn snapshot(&self) -> &Snapshot;
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo);
    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &PodInfo, node: &NodeInfo);
}

/// Work before scoring over the nodes that passed the filters.
pub trait PreScorePlugin: Plugin {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status;
}

/// A score for one node, then all scores normalized to 0..=[`MAX_NODE_SCORE`].
pub trait ScorePlugin: Plugin {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, snapshot: &Snapshot) -> Result<i64, Status>;

    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [NodeScore]) -> Status {
        Status::success()
    }
}

/// Claims what the Pod will use on its node; undone by `unreserve` if the cycle fails later.
pub trait ReservePlugin: Plugin {
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// May hold a Pod back before binding (Success, Unschedulable or Wait).
pub trait PermitPlugin: Plugin {
    fn permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> (Status, std::time::Duration);
}

/// Binds the Pod to its node (the only extension point with I/O).
#[async_trait::async_trait]
pub trait BindPlugin: Plugin {
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status;
}
