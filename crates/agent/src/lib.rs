//! skiff-agent: the node agent (the kubelet's job). It registers this machine as a Node,
//! renews the Node's Lease, reports the Node's status, and (next) runs the Pods bound to the
//! Node with skiff-runtime. It reaches the control plane only through the HTTPS API, with the
//! kube-rs client it is given (built by skiff-client from node credentials).

pub mod host;
pub mod node;
pub mod report;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

pub use node::NodeConfig;
pub use report::Intervals;

/// The port the Node advertises for logs, exec and port-forward.
pub const KUBELET_PORT: i32 = 10250;

/// Errors of the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("API: {0}")]
    Api(#[from] kube::Error),
}

/// How to run the agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node: NodeConfig,
    /// Where Pods' data lives (`<data-dir>/agent`).
    pub data_dir: PathBuf,
    pub intervals: Intervals,
}

/// Registers the Node, then keeps its Lease and status fresh until the process ends.
pub async fn run(config: AgentConfig, client: kube::Client) -> Result<(), AgentError> {
    let _ = std::fs::create_dir_all(&config.data_dir);
    let machine = host::probe(&config.data_dir);
    let nodes: Api<Node> = Api::all(client.clone());
    let registered = report::register(&nodes, &config.node, &machine).await?;
    let uid = registered.metadata.uid.clone().unwrap_or_default();
    let last = registered.status.clone().unwrap_or_default();
    let lease = tokio::spawn(report::lease_loop(client.clone(), config.node.clone(), uid, config.intervals.lease));
    let status = tokio::spawn(report::status_loop(
        nodes,
        config.node.clone(),
        machine,
        config.data_dir.clone(),
        config.intervals.clone(),
        last,
    ));
    let _ = tokio::join!(lease, status);
    Ok(())
}
