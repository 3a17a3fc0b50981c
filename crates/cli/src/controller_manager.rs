//! `skiff controller-manager`: the controllers and node IPAM alone, against a server started
//! with `--disable-controller-manager` (as kube-controller-manager runs beside kube-apiserver).

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct ControllerManagerArgs {
    #[command(flatten)]
    remote: crate::remote::RemoteArgs,
    /// How long a Node may go without renewing its Lease before it is marked Unknown
    #[arg(long, default_value = "40s", value_parser = crate::server::parse_duration)]
    node_monitor_grace_period: std::time::Duration,
    /// The Pods' addresses: each Node gets a block of it
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: String,
    /// The size of each Node's block of the cluster CIDR
    #[arg(long, default_value_t = 24)]
    node_cidr_mask_size: u8,
}

pub fn run(args: ControllerManagerArgs) -> anyhow::Result<()> {
    let cidr: skiff_controllers::nodeipam::Cidr =
        args.cluster_cidr.parse().map_err(|e| anyhow::anyhow!("--cluster-cidr: {e}"))?;
    let connection = args.remote.connection()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let client = connection.client()?;
        let config = skiff_controllers::manager::Config { node_monitor_grace_period: args.node_monitor_grace_period };
        tokio::spawn(skiff_controllers::manager::run(client.clone(), config));
        skiff_controllers::nodeipam::run(client, cidr, args.node_cidr_mask_size).await?;
        Ok(())
    })
}
