//! Routes to the other nodes' Pods for the built-in network: a watch on all Nodes keeps one
//! host route per other Node (`<its podCIDR> via <its InternalIP>`, [`skiff_net::routes`]),
//! and removes the route of a Node that goes away.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::watcher;
use skiff_net::routes::NodeRoute;

/// The route to `node`'s Pods, if it has a Pod CIDR and an IPv4 InternalIP.
pub fn route_to(node: &Node) -> Option<NodeRoute> {
    let pods = node.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()?;
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    let via: Ipv4Addr = addresses.iter().find(|a| a.type_ == "InternalIP")?.address.parse().ok()?;
    Some(NodeRoute { pods, via })
}

/// The routes this node wants: one per other Node, none through this node's own address or to
/// its own CIDR (several nodes on one host share its routing table).
pub fn wanted(routes: &BTreeMap<String, NodeRoute>, me: &str, my_ip: &str, my_cidr: &str) -> Vec<NodeRoute> {
    routes
        .iter()
        .filter(|(name, r)| {
            name.as_str() != me && r.via.to_string() != my_ip && r.pods.to_string() != my_cidr && !r.via.is_loopback()
        })
        .map(|(_, r)| *r)
        .collect()
}

/// Keeps the routes in step with the Nodes until the watch ends.
pub async fn run(client: kube::Client, me: String, my_ip: String, my_cidr: String) {
    let nodes: Api<Node> = Api::all(client);
    let mut routes: BTreeMap<String, NodeRoute> = BTreeMap::new();
    let mut listing = BTreeMap::new();
    let mut applied: Option<Vec<NodeRoute>> = None;
    let mut stream = watcher(nodes, watcher::Config::default()).boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Init) => listing.clear(),
            Ok(watcher::Event::InitApply(n)) => {
                if let Some(r) = route_to(&n) {
                    listing.insert(n.metadata.name.unwrap_or_default(), r);
                }
                continue;
            }
            Ok(watcher::Event::InitDone) => routes = std::mem::take(&mut listing),
            Ok(watcher::Event::Apply(n)) => {
                let name = n.metadata.name.clone().unwrap_or_default();
                match route_to(&n) {
                    Some(r) => routes.insert(name, r),
                    None => routes.remove(&name),
                };
            }
            Ok(watcher::Event::Delete(n)) => {
                routes.remove(n.metadata.name.as_deref().unwrap_or_default());
            }
            Err(e) => {
                tracing::warn!(error = %e, "watching Nodes for routes");
                continue;
            }
        }
        let want = wanted(&routes, &me, &my_ip, &my_cidr);
        if applied.as_ref() == Some(&want) {
            continue;
        }
        let w = want.clone();
        let result = tokio::task::spawn_blocking(move || {
            if !w.is_empty() && skiff_net::routes::enable_forwarding()? {
                tracing::info!("turned on IPv4 forwarding for other nodes' Pods");
            }
            skiff_net::routes::sync(&w)
        })
        .await;
        match result {
            Ok(Ok(())) => applied = Some(want),
            Ok(Err(e)) => tracing::warn!(error = %e, "routes to other nodes' Pods"),
            Err(e) => tracing::warn!(error = %e, "routes to other nodes' Pods"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cidr: Option<&str>, ip: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]},
        }))
        .unwrap()
    }

    #[test]
    fn one_route_per_other_node_with_a_cidr() {
        let mut routes = BTreeMap::new();
        for n in [
            node("a", Some("10.42.0.0/24"), "192.168.5.1"),
            node("b", Some("10.42.1.0/24"), "192.168.5.2"),
            node("c", None, "192.168.5.3"),
            node("d", Some("10.42.3.0/24"), "127.0.0.1"),
            node("e", Some("10.42.4.0/24"), "192.168.5.1"),
        ] {
            if let Some(r) = route_to(&n) {
                routes.insert(n.metadata.name.unwrap(), r);
            }
        }
        let want = wanted(&routes, "a", "192.168.5.1", "10.42.0.0/24");
        assert_eq!(want, [NodeRoute { pods: "10.42.1.0/24".parse().unwrap(), via: [192, 168, 5, 2].into() }]);
    }
}
