//! `skiff controller-manager`: the controllers and node IPAM alone, against a server started
//! with `--disable-controller-manager` (as kube-controller-manager runs beside kube-apiserver).

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use skiff_controllers::leader::Election;
use skiff_controllers::manager::Config;
use skiff_controllers::nodeipam::Cidr;

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
    /// Work only while holding the Lease kube-system/kube-controller-manager
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// How long others wait after the leader's last renewal before taking over
    #[arg(long, default_value = "15s", value_parser = crate::server::parse_duration)]
    leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading
    #[arg(long, default_value = "10s", value_parser = crate::server::parse_duration)]
    leader_elect_renew_deadline: Duration,
    /// How often candidates try to take, and the leader to renew, the Lease
    #[arg(long, default_value = "2s", value_parser = crate::server::parse_duration)]
    leader_elect_retry_period: Duration,
}

pub fn run(args: ControllerManagerArgs) -> anyhow::Result<()> {
    let cidr: skiff_controllers::nodeipam::Cidr =
        args.cluster_cidr.parse().map_err(|e| anyhow::anyhow!("--cluster-cidr: {e}"))?;
    let connection = args.remote.connection()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let client = connection.client()?;
        let config = skiff_controllers::manager::Config { node_monitor_grace_period: args.node_monitor_grace_period };
        let work = work(client.clone(), config, cidr, args.node_cidr_mask_size);
        if !args.leader_elect {
            work.await;
            anyhow::bail!("the controller manager stopped");
        }
        let election = Election {
            lease_duration: args.leader_elect_lease_duration,
            renew_deadline: args.leader_elect_renew_deadline,
            retry_period: args.leader_elect_retry_period,
            ..Election::controller_manager()
        };
        skiff_controllers::leader::lead(client, &election, work).await;
        anyhow::bail!("lost the leader lease {}/{}", election.namespace, election.name)
    })
}

/// The controllers and node IPAM, until either stops.
pub async fn work(client: kube::Client, config: Config, cidr: Cidr, mask: u8) {
    tokio::select! {
        () = skiff_controllers::manager::run(client.clone(), config) => {}
        r = skiff_controllers::nodeipam::run(client, cidr, mask) => {
            if let Err(e) = r {
                tracing::error!(error = %e, "node IPAM stopped");
            }
        }
    }
}
