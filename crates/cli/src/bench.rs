//! `skiff bench`: runs the benchmarks of skiff-bench and prints their tables.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: What,
    /// Seconds each closed-loop scenario runs
    #[arg(long, default_value_t = 5, global = true)]
    seconds: u64,
}

#[derive(Subcommand, Debug)]
enum What {
    /// The API server over HTTPS: start time, RSS, create/get/list/watch
    Api,
    /// Store backends: durable writes/s
    Store,
    /// Containers: start-to-exit of `true` beside runc and podman, monitor memory (root)
    Container {
        /// Timed runs per runtime
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Pods: create → Running through a watch beside podman kube play, agent memory (root)
    Pods {
        /// Pods created (one at a time; they keep running until the end)
        #[arg(long, default_value_t = 100)]
        count: usize,
    },
    /// The scheduler (SchedulingBasic's shape): hollow nodes, Pods placed, then Pods scheduled
    Scheduler {
        /// Hollow nodes
        #[arg(long, default_value_t = 5000)]
        nodes: usize,
        /// Pods placed before the measurement
        #[arg(long, default_value_t = 1000)]
        placed: usize,
        /// Pods created and scheduled in the measurement
        #[arg(long, default_value_t = 10000)]
        pods: usize,
        /// Concurrent creating clients
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// The controller manager: a Deployment scaled on hollow nodes, its memory with many Pods
    Controllers {
        /// Hollow nodes
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        /// Replicas the Deployment is scaled to in the timed step
        #[arg(long, default_value_t = 1000)]
        replicas: usize,
        /// Replicas for the memory figure
        #[arg(long, default_value_t = 10000)]
        pods: usize,
    },
    /// Image pull from a loopback docker-registry beside skopeo
    Pull {
        /// Timed runs per tool
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let skiff = std::env::current_exe().context("locating the skiff binary")?;
    let lines = match args.what {
        What::Container { runs } => skiff_bench::container::run(&skiff, runs).context("container benchmark")?,
        What::Pods { count } => {
            tokio_runtime()?.block_on(skiff_bench::pods::run(&skiff, count)).context("pods benchmark")?
        }
        What::Scheduler { nodes, placed, pods, clients } => {
            let o = skiff_bench::scheduler::Options { nodes, placed, pods, clients };
            tokio_runtime()?.block_on(skiff_bench::scheduler::run(&skiff, &o)).context("scheduler benchmark")?
        }
        What::Controllers { nodes, replicas, pods } => {
            let o = skiff_bench::controllers::Options { nodes, replicas, pods };
            tokio_runtime()?.block_on(skiff_bench::controllers::run(&skiff, &o)).context("controllers benchmark")?
        }
        What::Pull { runs } => skiff_bench::pull::run(&skiff, runs).context("pull benchmark")?,
        What::Api => tokio_runtime()?
            .block_on(skiff_bench::api::run(&skiff_bench::api::Options { skiff, duration }))
            .context("api benchmark")?,
        What::Store => tokio_runtime()?.block_on(skiff_bench::store::run(duration)).context("store benchmark")?,
    };
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")
}
