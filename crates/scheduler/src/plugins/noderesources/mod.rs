//! NodeResourcesFit and NodeResourcesBalancedAllocation: whether a node has room for the
//! Pod's requests, and how full (or how evenly full) the node would be with it.

pub mod balanced;
pub mod fit;

use serde::Deserialize;

use crate::framework::resource::ResourceName;
use crate::framework::{NodeInfo, PodInfo};

/// A resource and its weight in a score (`ResourceSpec`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    pub name: String,
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// A configured resource, its name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    pub name: ResourceName,
    pub weight: i64,
}

/// The resources of a configuration, resolved.
pub fn resolve(specs: &[ResourceSpec]) -> Vec<Weighted> {
    specs.iter().map(|s| Weighted { name: ResourceName::from(s.name.as_str()), weight: s.weight }).collect()
}

/// cpu and memory, weight 1 each: the default of both plugins.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec { name: "cpu".into(), weight: 1 }, ResourceSpec { name: "memory".into(), weight: 1 }]
}

/// What the node would have requested of `resource` with the Pod on it, and its allocatable;
/// `non_zero` counts containers that request no CPU or memory at the scoring defaults.
pub fn requested_and_allocatable(
    pod: &PodInfo,
    node: &NodeInfo,
    resource: &ResourceName,
    non_zero: bool,
) -> (i64, i64) {
    let allocatable = node.allocatable.amount(resource);
    let requested = match (resource, non_zero) {
        (ResourceName::Cpu, true) => node.non_zero_cpu + pod.non_zero_cpu,
        (ResourceName::Memory, true) => node.non_zero_memory + pod.non_zero_memory,
        _ => node.requested.amount(resource) + pod.requests.amount(resource),
    };
    (requested, allocatable)
}
