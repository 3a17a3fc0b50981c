//! `skiff agent` (a node joining a server) and the agent `skiff server` runs in-process; both
//! reach the API server over HTTPS with node credentials.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use skiff_agent::pods::actions::Backoff;
use skiff_agent::{AgentConfig, Intervals, NodeConfig, PodNetworkConfig, PodsConfig};
use skiff_client::{Connection, Credentials};

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The server's URL (https://HOST:6443)
    #[arg(long, env = "SKIFF_URL")]
    server: String,
    /// The server's node token (<data-dir>/server/tls/node.token on the server)
    #[arg(long, env = "SKIFF_TOKEN")]
    token: String,
    /// The server's CA certificate (<data-dir>/server/tls/ca.crt on the server)
    #[arg(long, env = "SKIFF_CA_FILE")]
    ca_file: PathBuf,
    #[command(flatten)]
    node: NodeArgs,
    /// Folder for Pods' data [default: /var/lib/skiff as root, else ~/.local/share/skiff]
    #[arg(long, short = 'd', env = "SKIFF_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// Flags of the node, shared by `skiff server` and `skiff agent`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// The Node's name [default: the host name]
    #[arg(long, env = "SKIFF_NODE_NAME")]
    node_name: Option<String>,
    /// The Node's InternalIP [default: the address of the default route, else 127.0.0.1]
    #[arg(long)]
    node_ip: Option<IpAddr>,
    /// Labels for the Node (KEY=VALUE)
    #[arg(long = "node-label")]
    node_labels: Vec<String>,
    /// The Node's Pod CIDR [default: a block of the server's --cluster-cidr, assigned by it]
    #[arg(long)]
    pod_cidr: Option<String>,
    /// The port of the agent's HTTPS server (logs, exec, port-forward; 0 = any free port)
    #[arg(long, default_value_t = 10250)]
    kubelet_port: u16,
    /// The node bridge of the built-in Pod network
    #[arg(long, default_value = "skiff0")]
    bridge_name: String,
    /// Use CNI plugins for the Pod network, with the first network configuration in this
    /// folder (instead of the built-in bridge)
    #[arg(long)]
    cni_conf_dir: Option<PathBuf>,
    /// Folders of CNI plugin binaries
    #[arg(long, value_delimiter = ':', default_value = "/opt/cni/bin:/usr/lib/cni")]
    cni_bin_dir: Vec<PathBuf>,
    /// First CrashLoopBackOff / image pull back-off delay in milliseconds (doubles up to 300 s)
    #[arg(long, default_value_t = 10_000, hide = true)]
    restart_backoff_ms: u64,
    /// Seconds between renewals of the Node's Lease (and checks of its status)
    #[arg(long, default_value_t = 10, hide = true)]
    node_lease_seconds: u64,
    /// Hard eviction thresholds (kubelet syntax): below them the node evicts Pods
    #[arg(long, default_value = "memory.available<100Mi,nodefs.available<10%")]
    eviction_hard: String,
    /// Seconds between checks of the eviction thresholds
    #[arg(long, default_value_t = 10, hide = true)]
    eviction_interval_seconds: u64,
}

impl NodeArgs {
    /// The Node's name: `--node-name`, or the host name.
    pub fn name(&self, data_dir: &Path) -> String {
        match &self.node_name {
            Some(n) => n.clone(),
            None => skiff_agent::host::probe(data_dir).hostname,
        }
    }

    /// The agent's configuration; `server` adds the control-plane role labels.
    pub fn config(&self, data_dir: &Path, server: bool, ca_pem: &str) -> anyhow::Result<AgentConfig> {
        let name = self.name(data_dir);
        let mut labels = BTreeMap::new();
        if server {
            labels.insert("node-role.kubernetes.io/control-plane".to_string(), "true".to_string());
            labels.insert("node-role.kubernetes.io/master".to_string(), "true".to_string());
        }
        for l in &self.node_labels {
            let (k, v) = l.split_once('=').with_context(|| format!("--node-label {l}: expected KEY=VALUE"))?;
            labels.insert(k.to_string(), v.to_string());
        }
        let ip = self.node_ip.unwrap_or_else(skiff_agent::host::primary_ip);
        Ok(AgentConfig {
            node: NodeConfig {
                name,
                labels,
                internal_ip: ip.to_string(),
                pod_cidr: self.pod_cidr.clone(),
                max_pods: 110,
                version: skiff_apiserver::server::GIT_VERSION.to_string(),
                kubelet_port: self.kubelet_port,
            },
            data_dir: data_dir.join("agent"),
            ca_pem: ca_pem.to_string(),
            eviction: skiff_agent::eviction::parse(&self.eviction_hard)
                .map_err(|e| anyhow::anyhow!("--eviction-hard: {e}"))?,
            eviction_interval: std::time::Duration::from_secs(self.eviction_interval_seconds.max(1)),
            pods: PodsConfig {
                runtime_dir: data_dir.join("runtime"),
                registries: data_dir.join("registries.yaml"),
                self_exe: std::env::current_exe().context("finding the skiff binary")?,
                network: match &self.cni_conf_dir {
                    Some(dir) => PodNetworkConfig::Cni { conf_dir: dir.clone(), bin_dirs: self.cni_bin_dir.clone() },
                    None => PodNetworkConfig::Bridge(self.bridge_name.clone()),
                },
                backoff: Backoff {
                    initial: std::time::Duration::from_millis(self.restart_backoff_ms.max(1)),
                    max: std::time::Duration::from_secs(300)
                        .max(std::time::Duration::from_millis(self.restart_backoff_ms)),
                },
                resync: std::time::Duration::from_secs(1),
            },
            intervals: Intervals {
                lease: std::time::Duration::from_secs(self.node_lease_seconds.max(1)),
                status: std::time::Duration::from_secs(self.node_lease_seconds.max(1)),
                ..Intervals::default()
            },
        })
    }
}

/// Runs the in-process agent of `skiff server`, authenticated by a client certificate for
/// `system:node:<name>` that the server's CA signs.
pub fn spawn_in_server(args: &NodeArgs, data_dir: &Path, running: &skiff_apiserver::Running) -> anyhow::Result<()> {
    let config = args.config(data_dir, true, &running.pki.ca_cert_pem)?;
    let user = format!("system:node:{}", config.node.name);
    let client = crate::inprocess::client(data_dir, running, &user, &["system:nodes"])?;
    tokio::spawn(async move {
        if let Err(e) = skiff_agent::run(config, client).await {
            tracing::error!(error = %e, "the node agent stopped");
        }
    });
    Ok(())
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::server::default_data_dir);
    let ca_pem = std::fs::read_to_string(&args.ca_file)
        .with_context(|| format!("reading the server's CA {}", args.ca_file.display()))?;
    let config = args.node.config(&data_dir, false, &ca_pem)?;
    let connection =
        Connection { url: args.server.clone(), ca_pem, credentials: Credentials::Token(args.token.clone()) };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let client = connection.client()?;
        eprintln!("skiff agent: node {} joining {}", config.node.name, args.server);
        tokio::select! {
            r = skiff_agent::run(config, client) => r.context("the node agent stopped"),
            r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c"),
        }
    })
}
