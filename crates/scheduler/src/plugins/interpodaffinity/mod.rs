//! InterPodAffinity: required Pod affinity and anti-affinity (the incoming Pod's, and every
//! placed Pod's anti-affinity towards it) filter nodes by topology domain; preferred terms
//! (both ways) score them.

mod filtering;
mod scoring;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::framework::config::ConfigError;
use crate::framework::podinfo::AffinityTerm;
use crate::framework::registry::{self, PluginContext, Registered};
use crate::framework::{NodeInfo, Plugin, PodInfo, Snapshot};

pub const NAME: &str = "InterPodAffinity";
pub const ERR_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
pub const ERR_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const ERR_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";

/// Counts per topology domain: label key, then value (looked up without allocating).
#[derive(Debug, Clone, Default)]
pub struct TopologyCounts(HashMap<String, HashMap<String, i64>>);

impl TopologyCounts {
    fn add(&mut self, key: &str, node: &NodeInfo, by: i64) {
        let Some(v) = node.labels().get(key) else { return };
        let values = self.0.entry(key.to_string()).or_default();
        let e = values.entry(v.clone()).or_default();
        *e += by;
        if *e == 0 {
            values.remove(v);
            if values.is_empty() {
                self.0.remove(key);
            }
        }
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0.get(key).and_then(|v| v.get(value)).copied().unwrap_or(0)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `InterPodAffinityArgs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(default = "one")]
    hard_pod_affinity_weight: i64,
    #[serde(default)]
    ignore_preferred_terms_of_existing_pods: bool,
}

fn one() -> i64 {
    1
}

impl Default for Args {
    fn default() -> Self {
        Args { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

pub struct InterPodAffinity {
    hard_pod_affinity_weight: i64,
    ignore_preferred_terms_of_existing_pods: bool,
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Whether `term` selects `pod`, with the namespace labels from the snapshot.
fn term_matches(term: &AffinityTerm, pod: &PodInfo, snapshot: &Snapshot) -> bool {
    term.matches(pod, snapshot.namespace_labels(&pod.namespace))
}

/// Whether `pod` matches every one of `terms` (and there is at least one).
fn matches_all(terms: &[AffinityTerm], pod: &PodInfo, snapshot: &Snapshot) -> bool {
    !terms.is_empty() && terms.iter().all(|t| term_matches(t, pod, snapshot))
}

pub fn factory(args: &Value, _: &PluginContext) -> Result<Registered, ConfigError> {
    let a: Args = registry::args(NAME, args)?;
    if !(0..=100).contains(&a.hard_pod_affinity_weight) {
        return Err(ConfigError::Invalid(format!(
            "{NAME} args: hardPodAffinityWeight: Invalid value: {}: not in valid range [0, 100]",
            a.hard_pod_affinity_weight
        )));
    }
    let p = Arc::new(InterPodAffinity {
        hard_pod_affinity_weight: a.hard_pod_affinity_weight,
        ignore_preferred_terms_of_existing_pods: a.ignore_preferred_terms_of_existing_pods,
    });
    Ok(Registered::filter_and_score(p))
}
