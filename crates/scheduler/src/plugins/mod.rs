//! The in-tree plugins, one module each, and the default profile kube-scheduler runs
//! (`pkg/scheduler/apis/config/v1/default_plugins.go`) with its score weights.

pub mod defaultbinder;
pub mod defaultpreemption;
pub mod imagelocality;
pub mod interpodaffinity;
pub mod nodeaffinity;
pub mod nodename;
pub mod nodeports;
pub mod noderesources;
pub mod nodeunschedulable;
mod normalize;
pub mod podtopologyspread;
pub mod queuesort;
pub mod tainttoleration;
#[cfg(test)]
pub(crate) mod testing;

use crate::framework::registry::Registry;

/// Every in-tree plugin, the default ones in kube-scheduler's order with their weights.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(queuesort::NAME, queuesort::factory, Some(1));
    r.register(nodeunschedulable::NAME, nodeunschedulable::factory, Some(1));
    r.register(nodename::NAME, nodename::factory, Some(1));
    r.register(tainttoleration::NAME, tainttoleration::factory, Some(3));
    r.register(nodeaffinity::NAME, nodeaffinity::factory, Some(2));
    r.register(nodeports::NAME, nodeports::factory, Some(1));
    r.register(noderesources::fit::NAME, noderesources::fit::factory, Some(1));
    r.register(podtopologyspread::NAME, podtopologyspread::factory, Some(2));
    r.register(interpodaffinity::NAME, interpodaffinity::factory, Some(2));
    r.register(defaultpreemption::NAME, defaultpreemption::factory, Some(1));
    r.register(noderesources::balanced::NAME, noderesources::balanced::factory, Some(1));
    r.register(imagelocality::NAME, imagelocality::factory, Some(1));
    r.register(defaultbinder::NAME, defaultbinder::factory, Some(1));
    r
}
