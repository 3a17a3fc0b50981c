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
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let What::Container { runs } = args.what {
        let skiff = std::env::current_exe().context("locating the skiff binary")?;
        for l in skiff_bench::container::run(&skiff, runs).context("container benchmark")? {
            println!("{l}");
        }
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    let duration = Duration::from_secs(args.seconds);
    let lines = rt.block_on(async {
        match args.what {
            What::Api => {
                let skiff = std::env::current_exe().context("locating the skiff binary")?;
                skiff_bench::api::run(&skiff_bench::api::Options { skiff, duration }).await.context("api benchmark")
            }
            What::Store => skiff_bench::store::run(duration).await.context("store benchmark"),
            What::Container { .. } => unreachable!("handled above"),
        }
    })?;
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
