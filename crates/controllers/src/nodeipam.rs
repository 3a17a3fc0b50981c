//! Node IPAM: each Node gets `spec.podCIDR`/`podCIDRs`, a block of the cluster CIDR
//! (`10.42.0.0/16` cut into `/24`s by default), as kube-controller-manager's range allocator
//! does. A CIDR a Node already has is kept and marked taken; a deleted Node's CIDR is free
//! again. [`CidrSet`] is the pure allocator; [`run`] drives it from a watch on Nodes.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher;

use crate::ControllerError;

/// An IPv4 CIDR (skiff-net's, which the node's bridge and IPAM use).
pub use skiff_net::Subnet as Cidr;

/// The blocks of one cluster CIDR: which are taken, and the next to try (round robin, like
/// the upstream cidrset).
#[derive(Debug, Clone)]
pub struct CidrSet {
    cluster: Cidr,
    node_prefix: u8,
    taken: BTreeSet<u32>,
    next: u32,
}

impl CidrSet {
    pub fn new(cluster: Cidr, node_prefix: u8) -> Result<CidrSet, String> {
        if node_prefix < cluster.prefix || node_prefix > 30 {
            return Err(format!(
                "node CIDR mask size {node_prefix} must be between the cluster CIDR's ({}) and 30",
                cluster.prefix
            ));
        }
        if node_prefix - cluster.prefix > 16 {
            return Err(format!("{cluster} holds more than 65536 node CIDRs of /{node_prefix}"));
        }
        Ok(CidrSet { cluster, node_prefix, taken: BTreeSet::new(), next: 0 })
    }

    fn size(&self) -> u32 {
        1 << (self.node_prefix - self.cluster.prefix)
    }

    fn block(&self, i: u32) -> Cidr {
        let network = u32::from(self.cluster.network) + (i << (32 - self.node_prefix));
        Cidr { network: network.into(), prefix: self.node_prefix }
    }

    /// The index of `c` when it is one of this set's blocks.
    fn index(&self, c: &Cidr) -> Option<u32> {
        (self.cluster.contains(c.network) && c.prefix == self.node_prefix)
            .then(|| (u32::from(c.network) - u32::from(self.cluster.network)) >> (32 - self.node_prefix))
    }

    /// Marks a Node's existing CIDR as taken; false when it is not one of this set's blocks.
    pub fn occupy(&mut self, c: &Cidr) -> bool {
        self.index(c).map(|i| self.taken.insert(i)).is_some()
    }

    pub fn release(&mut self, c: &Cidr) {
        if let Some(i) = self.index(c) {
            self.taken.remove(&i);
        }
    }

    /// The next free block, taken; `None` when the cluster CIDR is full.
    pub fn allocate(&mut self) -> Option<Cidr> {
        let size = self.size();
        let i = (0..size).map(|k| (self.next + k) % size).find(|i| !self.taken.contains(i))?;
        self.taken.insert(i);
        self.next = (i + 1) % size;
        Some(self.block(i))
    }
}

/// The Node's Pod CIDR, if it has one.
fn pod_cidr(node: &Node) -> Option<Cidr> {
    node.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()
}

/// Gives every Node without a Pod CIDR one of `cluster` (blocks of `/node_prefix`), until the
/// watch ends.
pub async fn run(client: kube::Client, cluster: Cidr, node_prefix: u8) -> Result<(), ControllerError> {
    let mut set = CidrSet::new(cluster, node_prefix).map_err(ControllerError::Config)?;
    let nodes: Api<Node> = Api::all(client);
    // Node name → its CIDR, as last seen; nodes seen during a (re)list wait for its end.
    let mut known: BTreeMap<String, Option<Cidr>> = BTreeMap::new();
    let mut listing: Vec<Node> = vec![];
    let mut stream = watcher(nodes.clone(), watcher::Config::default()).boxed();
    while let Some(event) = stream.next().await {
        let pending = match event {
            Ok(watcher::Event::Init) => {
                listing.clear();
                continue;
            }
            Ok(watcher::Event::InitApply(node)) => {
                listing.push(node);
                continue;
            }
            Ok(watcher::Event::InitDone) => {
                set = CidrSet::new(cluster, node_prefix).map_err(ControllerError::Config)?;
                known.clear();
                for node in &listing {
                    let c = pod_cidr(node);
                    if let Some(c) = &c {
                        set.occupy(c);
                    }
                    known.insert(node.metadata.name.clone().unwrap_or_default(), c);
                }
                std::mem::take(&mut listing)
            }
            Ok(watcher::Event::Apply(node)) => {
                let name = node.metadata.name.clone().unwrap_or_default();
                match pod_cidr(&node) {
                    Some(c) => {
                        set.occupy(&c);
                        known.insert(name, Some(c));
                    }
                    // An event from before this controller's own patch landed.
                    None if matches!(known.get(&name), Some(Some(_))) => continue,
                    None => {
                        known.insert(name, None);
                    }
                }
                vec![node]
            }
            Ok(watcher::Event::Delete(node)) => {
                if let Some(Some(c)) = known.remove(node.metadata.name.as_deref().unwrap_or_default()) {
                    set.release(&c);
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "node IPAM: watching Nodes");
                continue;
            }
        };
        for node in pending.iter().filter(|n| pod_cidr(n).is_none()) {
            let name = node.metadata.name.clone().unwrap_or_default();
            if matches!(known.get(&name), Some(Some(_))) {
                continue;
            }
            let Some(c) = set.allocate() else {
                tracing::error!(node = %name, cluster = %cluster, "node IPAM: no Pod CIDR left for the Node");
                continue;
            };
            let patch = serde_json::json!({"spec": {"podCIDR": c.to_string(), "podCIDRs": [c.to_string()]}});
            match nodes.patch(&name, &PatchParams::default(), &Patch::Strategic(&patch)).await {
                Ok(_) => {
                    tracing::info!(node = %name, cidr = %c, "node IPAM: Pod CIDR assigned");
                    known.insert(name, Some(c));
                }
                Err(e) => {
                    tracing::warn!(node = %name, error = %e, "node IPAM: assigning a Pod CIDR");
                    set.release(&c);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_are_handed_out_in_order_and_skip_taken_ones() {
        let mut set = CidrSet::new(cidr("10.42.0.0/16"), 24).unwrap();
        assert!(set.occupy(&cidr("10.42.1.0/24")));
        assert_eq!(set.allocate(), Some(cidr("10.42.0.0/24")));
        assert_eq!(set.allocate(), Some(cidr("10.42.2.0/24")));
        set.release(&cidr("10.42.0.0/24"));
        // Round robin: a released block is handed out again only after the others.
        assert_eq!(set.allocate(), Some(cidr("10.42.3.0/24")));
    }

    #[test]
    fn a_full_set_gives_none_and_foreign_cidrs_are_not_taken() {
        let mut set = CidrSet::new(cidr("10.0.0.0/23"), 24).unwrap();
        assert!(!set.occupy(&cidr("192.168.0.0/24")));
        assert!(!set.occupy(&cidr("10.0.0.0/25")));
        assert_eq!(set.allocate(), Some(cidr("10.0.0.0/24")));
        assert_eq!(set.allocate(), Some(cidr("10.0.1.0/24")));
        assert_eq!(set.allocate(), None);
        set.release(&cidr("10.0.1.0/24"));
        assert_eq!(set.allocate(), Some(cidr("10.0.1.0/24")));
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(CidrSet::new(cidr("10.42.0.0/16"), 8).is_err());
        assert!(CidrSet::new(cidr("10.42.0.0/16"), 31).is_err());
        assert!(CidrSet::new(cidr("10.0.0.0/8"), 28).is_err());
        assert!("10.42.7.9/16".parse::<Cidr>().is_err(), "host bits set");
        assert!("10.42.0.0".parse::<Cidr>().is_err());
        assert!("10.42.0.0/33".parse::<Cidr>().is_err());
        assert_eq!(cidr("10.42.0.0/16").to_string(), "10.42.0.0/16");
    }
}
