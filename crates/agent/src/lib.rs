//! skiff-agent: the node agent (the kubelet's job). It registers this machine as a Node,
//! renews the Node's Lease, reports the Node's status, and (next) runs the Pods bound to the
//! Node with skiff-runtime. It reaches the control plane only through the HTTPS API, with the
//! kube-rs client it is given (built by skiff-client from node credentials).

pub mod eviction;
pub mod hollow;
pub mod host;
pub mod kubelet;
pub mod node;
pub mod pods;
pub mod report;
pub mod routes;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

pub use node::NodeConfig;
pub use report::Intervals;

/// Errors of the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("API: {0}")]
    Api(#[from] kube::Error),
    #[error("configuration: {0}")]
    Config(String),
}

/// How to run the agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node: NodeConfig,
    /// Where Pods' data lives (`<data-dir>/agent`).
    pub data_dir: PathBuf,
    pub intervals: Intervals,
    pub pods: PodsConfig,
    /// The cluster CA: clients of the agent's port must have a certificate it signed.
    pub ca_pem: String,
    /// Hard eviction thresholds, and how often they are checked.
    pub eviction: eviction::Thresholds,
    pub eviction_interval: std::time::Duration,
}

/// How Pods are run.
#[derive(Debug, Clone)]
pub struct PodsConfig {
    /// The runtime's state: `containers/`, `sandboxes/`, `images/` (shared with `skiff image`).
    pub runtime_dir: PathBuf,
    /// The registries configuration for pulls.
    pub registries: PathBuf,
    /// The `skiff` binary, re-executed as monitors and infra processes.
    pub self_exe: PathBuf,
    pub network: PodNetworkConfig,
    pub backoff: pods::actions::Backoff,
    /// How often each Pod worker looks again when nothing wakes it.
    pub resync: std::time::Duration,
}

/// Which Pod network the node uses.
#[derive(Debug, Clone)]
pub enum PodNetworkConfig {
    /// The built-in one: a node bridge of this name on the node's Pod CIDR, and routes to the
    /// other nodes' CIDRs.
    Bridge(String),
    /// CNI plugins: the network configuration folder and the plugin folders.
    Cni { conf_dir: PathBuf, bin_dirs: Vec<PathBuf> },
}

/// Registers the Node, then keeps its Lease and status fresh until the process ends.
pub async fn run(mut config: AgentConfig, client: kube::Client) -> Result<(), AgentError> {
    let _ = std::fs::create_dir_all(&config.data_dir);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", config.node.kubelet_port))
        .await
        .map_err(|e| AgentError::Config(format!("listening on port {}: {e}", config.node.kubelet_port)))?;
    config.node.kubelet_port = listener.local_addr().map(|a| a.port()).unwrap_or(config.node.kubelet_port);
    let tls = kubelet::tls_config(&config.ca_pem, &[config.node.internal_ip.clone(), config.node.name.clone()])?;
    let machine = host::probe(&config.data_dir);
    let nodes: Api<Node> = Api::all(client.clone());
    let registered = report::register(&nodes, &config.node, &machine).await?;
    let uid = registered.metadata.uid.clone().unwrap_or_default();
    let last = registered.status.clone().unwrap_or_default();
    let lease = tokio::spawn(report::lease_loop(client.clone(), config.node.clone(), uid, config.intervals.lease));
    let status = tokio::spawn(report::status_loop(
        nodes.clone(),
        config.node.clone(),
        machine,
        config.data_dir.clone(),
        config.eviction,
        config.intervals.clone(),
        last,
    ));
    let network: std::sync::Arc<dyn skiff_net::Network> = match &config.pods.network {
        PodNetworkConfig::Bridge(bridge) => {
            let cidr = report::pod_cidr(&nodes, &config.node).await?;
            let subnet: skiff_net::Subnet = cidr.parse().map_err(AgentError::Config)?;
            let (me, ip) = (config.node.name.clone(), config.node.internal_ip.clone());
            tokio::spawn(routes::run(client.clone(), me, ip, cidr));
            std::sync::Arc::new(skiff_net::BridgeNetwork::new(skiff_net::BridgeConfig {
                bridge: bridge.clone(),
                subnet,
                state_dir: config.data_dir.join("network"),
            }))
        }
        PodNetworkConfig::Cni { conf_dir, bin_dirs } => {
            std::sync::Arc::new(skiff_net::CniNetwork::new(skiff_net::CniConfig {
                conf_dir: conf_dir.clone(),
                bin_dirs: bin_dirs.clone(),
                state_dir: config.data_dir.join("network/cni"),
            }))
        }
    };
    let paths = pods::real::RuntimePaths {
        containers: config.pods.runtime_dir.join("containers"),
        sandboxes: config.pods.runtime_dir.join("sandboxes"),
        images: config.pods.runtime_dir.join("images"),
        registries: config.pods.registries.clone(),
        pods: config.data_dir.join("pods"),
        self_exe: config.pods.self_exe.clone(),
    };
    let runtime = pods::real::SkiffPodRuntime::new(paths, network, config.node.internal_ip.clone());
    let runtime: std::sync::Arc<dyn pods::model::PodRuntime> = std::sync::Arc::new(runtime);
    tokio::spawn(kubelet::serve(listener, tls, kubelet::router(runtime.clone())));
    let workers = std::sync::Arc::new(pods::WorkerContext {
        runtime,
        client: client.clone(),
        node_ip: config.node.internal_ip.clone(),
        backoff: config.pods.backoff,
        resync: config.pods.resync,
        http: pods::prober::http_client(),
        events: pods::events::Recorder::new(client.clone(), config.node.name.clone()),
    });
    tokio::spawn(eviction::run(
        client.clone(),
        workers.runtime.clone(),
        workers.events.clone(),
        config.node.name.clone(),
        config.data_dir.clone(),
        config.eviction,
        config.eviction_interval,
    ));
    let pods = tokio::spawn(pods::run(workers, config.node.name.clone()));
    let _ = tokio::join!(lease, status, pods);
    Ok(())
}
