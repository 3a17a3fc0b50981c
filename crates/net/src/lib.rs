//! skiff-net: Pod networks. A [`Network`] gives a Pod's network namespace (held by its sandbox)
//! an interface and an address, and takes them away again. [`bridge::BridgeNetwork`] is the
//! built-in provider (node bridge, veth pairs, [`ipam`] allocator, rtnetlink only);
//! [`cni::CniNetwork`] runs standard CNI plugins instead.

pub mod bridge;
pub mod cni;
pub mod hostport;
pub mod ipam;
mod netlink;
pub mod netns;
pub mod routes;

use std::net::Ipv4Addr;
use std::path::PathBuf;

pub use bridge::{BridgeConfig, BridgeNetwork};
pub use cni::{CniConfig, CniNetwork};
pub use hostport::PortMapping;
pub use ipam::{IpamError, Subnet};

/// A Pod network to set up.
#[derive(Debug, Clone)]
pub struct PodNetworkRequest {
    /// The sandbox's id: owner of the address and of the interfaces.
    pub id: String,
    /// The network namespace to configure (`/proc/<pid>/ns/net` of the sandbox).
    pub netns: PathBuf,
    /// Node ports forwarded to the Pod (`hostPort`).
    pub port_mappings: Vec<PortMapping>,
    /// The Pod, for providers that want to know it (CNI's `K8S_POD_*` arguments).
    pub pod_namespace: String,
    pub pod_name: String,
    pub pod_uid: String,
}

/// What a Pod got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNetwork {
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    /// The host end of the Pod's link.
    pub host_interface: String,
}

/// Errors of network providers.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{what}: {message}")]
    Netlink { what: String, message: String },
    #[error("{0}")]
    Namespace(String),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error("CNI: {0}")]
    Cni(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A Pod network provider. Calls block (run them on a blocking thread); `setup` and
/// `teardown` are idempotent, and `teardown` works after the namespace is gone.
pub trait Network: Send + Sync {
    fn setup(&self, request: &PodNetworkRequest) -> Result<PodNetwork, NetError>;
    fn teardown(&self, id: &str) -> Result<(), NetError>;
    /// The address held for a sandbox, if any (after a restart).
    fn address(&self, id: &str) -> Result<Option<Ipv4Addr>, NetError>;
}
