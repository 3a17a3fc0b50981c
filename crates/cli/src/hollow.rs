//! `skiff hollow-nodes`: many Nodes without containers, for scale tests and benchmarks.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use skiff_agent::hollow::HollowConfig;

#[derive(Args, Debug)]
pub struct HollowArgs {
    /// How many nodes
    #[arg(long, default_value_t = 1)]
    count: usize,
    #[command(flatten)]
    remote: crate::remote::RemoteArgs,
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
    /// Seconds between reports of each node's status when nothing changed (the kubelet's
    /// nodeStatusReportFrequency; the Lease says the node is alive in between)
    #[arg(long, default_value_t = 300)]
    node_status_report_seconds: u64,
    /// Requests in flight at once
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

pub fn run(args: HollowArgs) -> anyhow::Result<()> {
    let connection = args.remote.connection()?;
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
        status_interval: Duration::from_secs(args.node_status_report_seconds.max(1)),
        concurrency: args.concurrency,
    };
    // One thread: the nodes' work is small requests and a watch, and a second worker would
    // mostly wake up and go back to sleep, taking CPU from the cluster under test.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let client = connection.client()?;
        skiff_agent::hollow::run(client, config, |n| eprintln!("{n} hollow nodes ready")).await?;
        Ok(())
    })
}
