//! `skiff hollow-nodes`: many Nodes without containers, for scale tests and benchmarks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use skiff_agent::hollow::HollowConfig;
use skiff_client::{Connection, Credentials};

#[derive(Args, Debug)]
pub struct HollowArgs {
    /// How many nodes
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// The server's URL (https://HOST:6443)
    #[arg(long, env = "SKIFF_URL")]
    server: String,
    /// The server's node token (<data-dir>/server/tls/node.token on the server)
    #[arg(long, env = "SKIFF_TOKEN")]
    token: String,
    /// The server's CA certificate [default: <data-dir>/server/tls/ca.crt of a local server]
    #[arg(long, env = "SKIFF_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// Nodes are named PREFIX-0 … PREFIX-(count-1)
    #[arg(long, default_value = "hollow")]
    name_prefix: String,
    /// Allocatable CPU of each node
    #[arg(long, default_value = "4")]
    cpu: String,
    /// Allocatable memory of each node
    #[arg(long, default_value = "16Gi")]
    memory: String,
    /// Pods each node takes
    #[arg(long, default_value_t = 110)]
    pods: u32,
    /// Labels for the nodes (KEY=VALUE)
    #[arg(long = "node-label")]
    node_labels: Vec<String>,
    /// Spread the nodes over this many topology.kubernetes.io/zone values (0: none)
    #[arg(long, default_value_t = 0)]
    zones: usize,
    /// Seconds between renewals of each node's Lease
    #[arg(long, default_value_t = 10)]
    lease_interval_seconds: u64,
    /// Requests in flight at once
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

pub fn run(args: HollowArgs) -> anyhow::Result<()> {
    let ca_file = args.ca_file.clone().unwrap_or_else(|| crate::server::default_data_dir().join("server/tls/ca.crt"));
    let ca_pem = std::fs::read_to_string(&ca_file).with_context(|| format!("reading {}", ca_file.display()))?;
    let mut labels = BTreeMap::new();
    for l in &args.node_labels {
        let (k, v) = l.split_once('=').with_context(|| format!("--node-label {l:?}: expected KEY=VALUE"))?;
        labels.insert(k.to_string(), v.to_string());
    }
    let config = HollowConfig {
        count: args.count,
        prefix: args.name_prefix,
        cpu: args.cpu,
        memory: args.memory,
        pods: args.pods,
        labels,
        zones: args.zones,
        lease_interval: Duration::from_secs(args.lease_interval_seconds.max(1)),
        status_interval: Duration::from_secs(60),
        concurrency: args.concurrency,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let connection = Connection { url: args.server, ca_pem, credentials: Credentials::Token(args.token) };
        let client = connection.client()?;
        skiff_agent::hollow::run(client, config, |n| eprintln!("{n} hollow nodes ready")).await?;
        Ok(())
    })
}
