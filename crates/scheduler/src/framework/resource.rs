//! Resource amounts as the scheduler adds them up (`framework.Resource`): CPU in millicores,
//! memory and ephemeral storage in bytes, a Pod count, and extended resources by name.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_api::quantity::Amount;

/// CPU a container without a CPU request counts as when nodes are scored (100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory a container without a memory request counts as when nodes are scored (200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A resource name resolved once, where a plugin is configured: reading it from a
/// [`Resource`] on every node of every cycle is then a field access, not a string match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceName {
    Cpu,
    Memory,
    EphemeralStorage,
    Pods,
    Scalar(String),
}

impl From<&str> for ResourceName {
    fn from(name: &str) -> ResourceName {
        match name {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            "ephemeral-storage" => ResourceName::EphemeralStorage,
            "pods" => ResourceName::Pods,
            other => ResourceName::Scalar(other.to_string()),
        }
    }
}

/// An amount of every resource the scheduler knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// How many Pods (only meaningful for a node's allocatable).
    pub allowed_pod_number: i64,
    /// Extended resources (`example.com/gpu`, `hugepages-2Mi`, …).
    pub scalar: BTreeMap<String, i64>,
}

/// The value of a quantity in the resource's unit (millicores for CPU); malformed quantities
/// (which validation keeps out) count as zero.
pub fn amount(name: &str, q: &Quantity) -> i64 {
    match Amount::parse(&q.0) {
        Ok(a) if name == "cpu" => a.milli_value(),
        Ok(a) => a.value(),
        Err(_) => 0,
    }
}

impl Resource {
    /// A resource list (`requests`, `allocatable`, `overhead`) summed up.
    pub fn from_list(list: Option<&BTreeMap<String, Quantity>>) -> Resource {
        let mut r = Resource::default();
        for (name, q) in list.into_iter().flatten() {
            r.set(name, amount(name, q));
        }
        r
    }

    /// Sets one resource by its Kubernetes name.
    pub fn set(&mut self, name: &str, value: i64) {
        match name {
            "cpu" => self.milli_cpu = value,
            "memory" => self.memory = value,
            "ephemeral-storage" => self.ephemeral_storage = value,
            "pods" => self.allowed_pod_number = value,
            _ if is_scalar(name) => {
                self.scalar.insert(name.to_string(), value);
            }
            _ => {}
        }
    }

    /// One resource, named as [`ResourceName`] resolved it.
    pub fn amount(&self, name: &ResourceName) -> i64 {
        match name {
            ResourceName::Cpu => self.milli_cpu,
            ResourceName::Memory => self.memory,
            ResourceName::EphemeralStorage => self.ephemeral_storage,
            ResourceName::Pods => self.allowed_pod_number,
            ResourceName::Scalar(name) => self.scalar.get(name).copied().unwrap_or(0),
        }
    }

    /// One resource by its Kubernetes name.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.milli_cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.allowed_pod_number,
            _ => self.scalar.get(name).copied().unwrap_or(0),
        }
    }

    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Each resource the larger of the two (`SetMaxResource`).
    pub fn max_with(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.max(other.allowed_pod_number);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// Whether every amount is zero.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.allowed_pod_number == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

/// Whether a resource name is an extended resource (a domain-qualified name outside
/// `kubernetes.io/`, or `requests.`-less hugepages) that the scheduler counts by name.
pub fn is_scalar(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/') && !name.starts_with("kubernetes.io/") && !name.starts_with("requests."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
    }

    #[test]
    fn reads_amounts_in_scheduler_units() {
        let r = Resource::from_list(Some(&list(&[
            ("cpu", "1500m"),
            ("memory", "1Gi"),
            ("pods", "110"),
            ("example.com/gpu", "2"),
            ("hugepages-2Mi", "4Mi"),
            ("kubernetes.io/odd", "1"),
        ])));
        assert_eq!((r.milli_cpu, r.memory, r.allowed_pod_number), (1500, 1 << 30, 110));
        assert_eq!(r.get("example.com/gpu"), 2);
        assert_eq!(r.get("hugepages-2Mi"), 4 << 20);
        assert_eq!(r.get("kubernetes.io/odd"), 0);
        let mut sum = r.clone();
        sum.add(&r);
        sum.sub(&r);
        assert_eq!(sum, r);
    }
}
