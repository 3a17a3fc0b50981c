//! The built-in Pod network: one Linux bridge per node holding the first address of the
//! node's Pod CIDR, and per Pod a veth pair — one end on the bridge, the other moved into the
//! Pod's network namespace as `eth0` with the Pod's address and a default route through the
//! bridge, over rtnetlink; `hostPort`s through [`crate::hostport`].

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Mutex;

use rtnetlink::{LinkBridge, LinkUnspec, LinkVeth};

use crate::hostport::HostPorts;
use crate::ipam::{Ipam, Subnet};
use crate::netlink::{self, fail};
use crate::{NetError, Network, PodNetwork, PodNetworkRequest};

/// How the node's bridge is set up.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The bridge's name (`skiff0`).
    pub bridge: String,
    /// The node's Pod CIDR.
    pub subnet: Subnet,
    /// Where address reservations are kept.
    pub state_dir: PathBuf,
}

/// The built-in provider.
pub struct BridgeNetwork {
    config: BridgeConfig,
    ipam: Ipam,
    /// Serializes changes to the bridge itself (creating it twice at once fails).
    bridge_lock: Mutex<()>,
    host_ports: HostPorts,
}

/// The host-side name of a Pod's veth (at most 15 bytes, stable for a sandbox id).
pub fn host_interface(id: &str) -> String {
    format!("veth{:011x}", fnv(id) >> 20)
}

fn peer_interface(id: &str) -> String {
    format!("vpod{:011x}", fnv(id) >> 20)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

impl BridgeNetwork {
    pub fn new(config: BridgeConfig) -> BridgeNetwork {
        let ipam = Ipam::new(config.state_dir.join("ipam"), config.subnet);
        let host_ports = HostPorts::new(&config.bridge);
        BridgeNetwork { config, ipam, bridge_lock: Mutex::new(()), host_ports }
    }

    /// Creates the bridge with the gateway address and sets it up (idempotent).
    pub fn ensure_bridge(&self) -> Result<u32, NetError> {
        let _guard = self.bridge_lock.lock().unwrap_or_else(|e| e.into_inner());
        let name = self.config.bridge.clone();
        let (gateway, prefix) = (self.config.subnet.gateway(), self.config.subnet.prefix);
        netlink::run(None, move |handle| async move {
            let index = match netlink::index(&handle, &name).await? {
                Some(i) => i,
                None => {
                    handle
                        .link()
                        .add(LinkBridge::new(&name).build())
                        .execute()
                        .await
                        .map_err(fail(format!("creating bridge {name}")))?;
                    netlink::index(&handle, &name)
                        .await?
                        .ok_or_else(|| NetError::Namespace(format!("bridge {name} vanished")))?
                }
            };
            netlink::add_address(&handle, index, gateway, prefix).await?;
            netlink::up(&handle, index, &format!("setting {name} up")).await?;
            Ok(index)
        })
    }
}

impl Network for BridgeNetwork {
    fn setup(&self, request: &PodNetworkRequest) -> Result<PodNetwork, NetError> {
        let _span = tracing::info_span!("network_setup", id = %request.id).entered();
        let netns: OwnedFd =
            File::open(&request.netns).map_err(|source| NetError::Io { path: request.netns.clone(), source })?.into();
        let netns_for_move =
            netns.try_clone().map_err(|source| NetError::Io { path: request.netns.clone(), source })?;
        let bridge = self.ensure_bridge()?;
        let ip = self.ipam.allocate(&request.id)?;
        let subnet = self.config.subnet;
        let (host, peer) = (host_interface(&request.id), peer_interface(&request.id));
        let result = (|| {
            let (h, p) = (host.clone(), peer.clone());
            netlink::run(None, move |handle| async move {
                netlink::delete(&handle, &h).await?;
                netlink::delete(&handle, &p).await?;
                handle
                    .link()
                    .add(LinkVeth::new(&h, &p).build())
                    .execute()
                    .await
                    .map_err(fail(format!("creating veth pair {h}")))?;
                let host_index = netlink::index(&handle, &h).await?.ok_or_else(|| NetError::Namespace(h.clone()))?;
                let peer_index = netlink::index(&handle, &p).await?.ok_or_else(|| NetError::Namespace(p.clone()))?;
                handle
                    .link()
                    .set(LinkUnspec::new_with_index(host_index).controller(bridge).up().build())
                    .execute()
                    .await
                    .map_err(fail(format!("attaching {h} to the bridge")))?;
                use std::os::fd::AsRawFd;
                handle
                    .link()
                    .set(LinkUnspec::new_with_index(peer_index).setns_by_fd(netns_for_move.as_raw_fd()).build())
                    .execute()
                    .await
                    .map_err(fail("moving the Pod's interface into its namespace"))?;
                Ok(())
            })?;
            let p = peer.clone();
            netlink::run(Some(netns), move |handle| async move {
                if let Some(lo) = netlink::index(&handle, "lo").await? {
                    netlink::up(&handle, lo, "setting lo up").await?;
                }
                let index = netlink::index(&handle, &p).await?.ok_or_else(|| NetError::Namespace(p.clone()))?;
                handle
                    .link()
                    .set(LinkUnspec::new_with_index(index).name("eth0").build())
                    .execute()
                    .await
                    .map_err(fail("renaming the Pod's interface to eth0"))?;
                netlink::add_address(&handle, index, ip, subnet.prefix).await?;
                netlink::up(&handle, index, "setting eth0 up").await?;
                netlink::default_route(&handle, subnet.gateway()).await
            })?;
            self.host_ports.add(&request.id, ip, &request.port_mappings)
        })();
        match result {
            Ok(()) => Ok(PodNetwork { ip, prefix: subnet.prefix, gateway: subnet.gateway(), host_interface: host }),
            Err(e) => {
                let _ = self.teardown(&request.id);
                Err(e)
            }
        }
    }

    fn teardown(&self, id: &str) -> Result<(), NetError> {
        let _span = tracing::info_span!("network_teardown", id).entered();
        self.host_ports.remove(id)?;
        let (host, peer) = (host_interface(id), peer_interface(id));
        netlink::run(None, move |handle| async move {
            netlink::delete(&handle, &host).await?;
            netlink::delete(&handle, &peer).await
        })?;
        self.ipam.release(id)?;
        Ok(())
    }

    fn address(&self, id: &str) -> Result<Option<Ipv4Addr>, NetError> {
        Ok(self.ipam.find(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_ifnamsiz_and_are_stable() {
        let a = host_interface("0123456789abcdef0123456789abcdef");
        assert!(a.len() <= 15, "{a}");
        assert_eq!(a, host_interface("0123456789abcdef0123456789abcdef"));
        assert_ne!(a, host_interface("another"));
        assert!(peer_interface("x").len() <= 15);
    }
}
