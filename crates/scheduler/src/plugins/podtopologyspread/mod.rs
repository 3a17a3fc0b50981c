//! PodTopologySpread: Pods that match a constraint's selector spread across topology domains
//! within `maxSkew`; DoNotSchedule constraints filter, ScheduleAnyway ones (and the default
//! constraints for Pods of a Service or a workload) score.

mod filtering;
mod scoring;

use std::sync::Arc;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use serde::Deserialize;
use serde_json::{json, Value};
use skiff_api::selector::LabelSelector;

use super::nodeaffinity::pod_matches_node;
use crate::framework::config::ConfigError;
use crate::framework::registry::{self, PluginContext, Registered};
use crate::framework::{NodeInfo, Plugin, PodInfo, Snapshot};
use skiff_api::scheduling::first_untolerated;

pub const NAME: &str = "PodTopologySpread";
pub const ERR_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const HOSTNAME: &str = "kubernetes.io/hostname";

/// One constraint, with its selector parsed and its policies resolved.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub max_skew: i64,
    pub topology_key: String,
    /// All must match (the default constraints AND the selectors of every workload).
    pub selectors: Vec<LabelSelector>,
    pub min_domains: i64,
    pub honor_node_affinity: bool,
    pub honor_node_taints: bool,
    /// Names what [`Constraint::count`] counts (namespace and selectors), for the per-node memo.
    count_key: String,
}

/// The key of counting Pods of `namespace` that all `selectors` select.
fn count_key(namespace: &str, selectors: &[LabelSelector]) -> String {
    let mut key = format!("PodTopologySpread/{namespace}");
    for s in selectors {
        key.push('\0');
        key.push_str(&s.to_string());
    }
    key
}

impl Constraint {
    fn from_api(c: &TopologySpreadConstraint, pod: &PodInfo) -> Constraint {
        let mut sel = c.label_selector.as_ref().and_then(|s| serde_json::to_value(s).ok()).unwrap_or(Value::Null);
        // matchLabelKeys: the Pod's own values of those keys join the selector.
        for key in c.match_label_keys.iter().flatten() {
            if let Some(v) = pod.labels().get(key) {
                if sel.is_null() {
                    sel = json!({});
                }
                let req = json!({"key": key, "operator": "In", "values": [v]});
                match sel.get_mut("matchExpressions").and_then(Value::as_array_mut) {
                    Some(list) => list.push(req),
                    None => sel["matchExpressions"] = json!([req]),
                }
            }
        }
        let selector = LabelSelector::from_label_selector(&sel).unwrap_or_else(|_| LabelSelector::nothing());
        Constraint {
            max_skew: c.max_skew as i64,
            topology_key: c.topology_key.clone(),
            count_key: count_key(&pod.namespace, std::slice::from_ref(&selector)),
            selectors: vec![selector],
            min_domains: c.min_domains.unwrap_or(1) as i64,
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }

    pub fn selects(&self, pod: &PodInfo) -> bool {
        self.selectors.iter().all(|s| s.matches(pod.labels()))
    }

    /// Whether the node counts for this constraint (node inclusion policies).
    fn includes(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        if self.honor_node_affinity && !pod_matches_node(pod, node) {
            return false;
        }
        if self.honor_node_taints {
            let tolerations = pod.pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]);
            if first_untolerated(node.taints(), tolerations, |e| e == "NoSchedule" || e == "NoExecute").is_some() {
                return false;
            }
        }
        true
    }

    /// Pods on the node in the Pod's namespace that the constraint selects (terminating ones
    /// do not count).
    fn count(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        node.memo_count(&self.count_key, || {
            node.pods
                .iter()
                .filter(|p| {
                    p.namespace == pod.namespace && p.pod.metadata.deletion_timestamp.is_none() && self.selects(p)
                })
                .count() as i64
        })
    }
}

/// Whether the node has every constraint's topology key.
fn has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints.iter().all(|c| node.labels().contains_key(&c.topology_key))
}

/// A default constraint (`PodTopologySpreadArgs.defaultConstraints`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DefaultConstraint {
    max_skew: i32,
    topology_key: String,
    when_unsatisfiable: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(default)]
    default_constraints: Vec<DefaultConstraint>,
    /// `System` (the default) or `List`.
    #[serde(default)]
    defaulting_type: Option<String>,
}

pub struct PodTopologySpread {
    /// (maxSkew, topologyKey, DoNotSchedule?) for Pods without constraints of their own.
    defaults: Vec<(i64, String, bool)>,
    /// The System defaults: nodes without the keys are not ignored when scoring.
    system_defaulted: bool,
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PodTopologySpread {
    /// The Pod's constraints for `when` (DoNotSchedule or ScheduleAnyway), or the default ones
    /// if it has none, selecting the Pods of the Services and workloads that select it.
    fn constraints(&self, pod: &PodInfo, snapshot: &Snapshot, do_not_schedule: bool) -> Vec<Constraint> {
        let wanted = if do_not_schedule { "DoNotSchedule" } else { "ScheduleAnyway" };
        let own = pod.pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_deref()).unwrap_or(&[]);
        if !own.is_empty() {
            return own
                .iter()
                .filter(|c| c.when_unsatisfiable == wanted)
                .map(|c| Constraint::from_api(c, pod))
                .collect();
        }
        let defaults: Vec<_> = self.defaults.iter().filter(|(_, _, dns)| *dns == do_not_schedule).collect();
        if defaults.is_empty() {
            return Vec::new();
        }
        let selectors: Vec<LabelSelector> = snapshot
            .workloads
            .iter()
            .filter(|(ns, sel)| *ns == pod.namespace && !sel.is_empty() && sel.matches(pod.labels()))
            .map(|(_, sel)| sel.clone())
            .collect();
        if selectors.is_empty() {
            return Vec::new();
        }
        let count_key = count_key(&pod.namespace, &selectors);
        defaults
            .into_iter()
            .map(|(skew, key, _)| Constraint {
                max_skew: *skew,
                topology_key: key.clone(),
                count_key: count_key.clone(),
                selectors: selectors.clone(),
                min_domains: 1,
                honor_node_affinity: true,
                honor_node_taints: false,
            })
            .collect()
    }
}

pub fn factory(args: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let a: Args = registry::args(NAME, args)?;
    let (defaults, system_defaulted) = match a.defaulting_type.as_deref() {
        None | Some("System") => {
            if !a.default_constraints.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "{NAME} args: defaultConstraints: Invalid value: when .defaultingType is \"System\", .defaultConstraints must be empty"
                )));
            }
            (vec![(3, HOSTNAME.to_string(), false), (5, "topology.kubernetes.io/zone".to_string(), false)], true)
        }
        Some("List") => {
            let mut out = Vec::new();
            for c in &a.default_constraints {
                if c.max_skew < 1 {
                    return Err(ConfigError::Invalid(format!("{NAME} args: maxSkew must be greater than zero")));
                }
                if c.when_unsatisfiable != "DoNotSchedule" && c.when_unsatisfiable != "ScheduleAnyway" {
                    return Err(ConfigError::Invalid(format!(
                        "{NAME} args: whenUnsatisfiable: Unsupported value: {:?}",
                        c.when_unsatisfiable
                    )));
                }
                out.push((c.max_skew as i64, c.topology_key.clone(), c.when_unsatisfiable == "DoNotSchedule"));
            }
            (out, false)
        }
        Some(other) => {
            return Err(ConfigError::Invalid(format!("{NAME} args: defaultingType: Unsupported value: {other:?}")))
        }
    };
    let p = Arc::new(PodTopologySpread { defaults, system_defaulted });
    Ok(Registered::filter_and_score(p))
}
