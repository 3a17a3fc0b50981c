//! Routes to the other nodes' Pod CIDRs (the host-gw way: `10.42.1.0/24 via <node IP>`), so
//! Pods on different nodes reach each other without encapsulation when the nodes share a
//! link. The routes carry skiff's own route protocol number, so a sync removes exactly the
//! routes skiff made and no longer wants.

use std::net::Ipv4Addr;

use futures::TryStreamExt;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use rtnetlink::RouteMessageBuilder;

use crate::ipam::Subnet;
use crate::netlink::{self, fail};
use crate::NetError;

/// skiff's route protocol (`ip route show proto 57`).
pub const PROTOCOL: u8 = 57;

/// A route to another node's Pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeRoute {
    pub pods: Subnet,
    pub via: Ipv4Addr,
}

fn parse(m: &RouteMessage) -> Option<NodeRoute> {
    if m.header.protocol != RouteProtocol::Other(PROTOCOL) {
        return None;
    }
    let mut dst = None;
    let mut via = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => dst = Some(*ip),
            RouteAttribute::Gateway(RouteAddress::Inet(ip)) => via = Some(*ip),
            _ => {}
        }
    }
    Some(NodeRoute { pods: Subnet { network: dst?, prefix: m.header.destination_prefix_length }, via: via? })
}

fn message(r: &NodeRoute) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(r.pods.network, r.pods.prefix)
        .gateway(r.via)
        .protocol(RouteProtocol::Other(PROTOCOL))
        .build()
}

/// The skiff routes in the host's main table.
pub fn list() -> Result<Vec<NodeRoute>, NetError> {
    netlink::run(None, |handle| async move {
        let all = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let routes: Vec<RouteMessage> =
            handle.route().get(all).execute().try_collect().await.map_err(fail("listing routes"))?;
        Ok(routes.iter().filter_map(parse).collect())
    })
}

/// What to delete and what to add to go from `current` to `wanted` (pure).
pub fn diff(current: &[NodeRoute], wanted: &[NodeRoute]) -> (Vec<NodeRoute>, Vec<NodeRoute>) {
    let stale = current.iter().filter(|r| !wanted.contains(r)).copied().collect();
    let missing = wanted.iter().filter(|r| !current.contains(r)).copied().collect();
    (stale, missing)
}

/// Makes skiff's routes exactly `wanted`: stale ones are deleted, missing ones added
/// (replacing a route to the same CIDR through another node).
pub fn sync(wanted: &[NodeRoute]) -> Result<(), NetError> {
    let (stale, missing) = diff(&list()?, wanted);
    if stale.is_empty() && missing.is_empty() {
        return Ok(());
    }
    tracing::info!(?stale, ?missing, "syncing routes to other nodes' Pods");
    netlink::run(None, move |handle| async move {
        for r in &stale {
            match handle.route().del(message(r)).execute().await {
                Err(e) if netlink::code(&e) == Some(netlink::ESRCH) => {}
                other => other.map_err(fail(format!("deleting the route to {}", r.pods)))?,
            }
        }
        for r in &missing {
            handle
                .route()
                .add(message(r))
                .replace()
                .execute()
                .await
                .map_err(fail(format!("adding the route to {} via {}", r.pods, r.via)))?;
        }
        Ok(())
    })
}

/// Turns on IPv4 forwarding in this network namespace (Pods on other nodes are reached
/// through it); says whether it was off.
pub fn enable_forwarding() -> Result<bool, NetError> {
    let path = std::path::Path::new("/proc/sys/net/ipv4/ip_forward");
    let io = |source| NetError::Io { path: path.to_path_buf(), source };
    if std::fs::read_to_string(path).map_err(io)?.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(path, "1").map_err(io)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cidr: &str, via: [u8; 4]) -> NodeRoute {
        NodeRoute { pods: cidr.parse().unwrap(), via: via.into() }
    }

    #[test]
    fn diff_removes_stale_and_adds_missing_routes() {
        let current = [r("10.42.1.0/24", [192, 168, 0, 2]), r("10.42.2.0/24", [192, 168, 0, 3])];
        let wanted = [r("10.42.1.0/24", [192, 168, 0, 2]), r("10.42.2.0/24", [192, 168, 0, 4])];
        let (stale, missing) = diff(&current, &wanted);
        assert_eq!(stale, [r("10.42.2.0/24", [192, 168, 0, 3])]);
        assert_eq!(missing, [r("10.42.2.0/24", [192, 168, 0, 4])]);
        assert_eq!(diff(&wanted, &wanted), (vec![], vec![]));
    }

    #[test]
    fn messages_carry_skiffs_protocol_and_parse_back() {
        let route = r("10.42.3.0/24", [10, 0, 0, 7]);
        assert_eq!(parse(&message(&route)), Some(route));
        let mut other = message(&route);
        other.header.protocol = RouteProtocol::Static;
        assert_eq!(parse(&other), None);
    }
}
