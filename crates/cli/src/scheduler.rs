//! `skiff scheduler`: the scheduler alone, against a server started with
//! `--disable-scheduler` (as kube-scheduler runs beside kube-apiserver).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use skiff_scheduler::framework::config::SchedulerConfig;

#[derive(Args, Debug)]
pub struct SchedulerArgs {
    #[command(flatten)]
    remote: crate::remote::RemoteArgs,
    /// A KubeSchedulerConfiguration file
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Reads a `--scheduler-config`/`--config` file, checking its profiles before anything runs.
pub fn read_config(path: Option<&PathBuf>) -> anyhow::Result<SchedulerConfig> {
    let Some(path) = path else { return Ok(SchedulerConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config =
        SchedulerConfig::parse(&text).with_context(|| format!("scheduler configuration {}", path.display()))?;
    skiff_scheduler::run::frameworks(&config, &skiff_scheduler::run::config_check_context())?;
    Ok(config)
}

pub fn run(args: SchedulerArgs) -> anyhow::Result<()> {
    let config = read_config(args.config.as_ref())?;
    let connection = args.remote.connection()?;
    // Scheduling cycles run on their own thread; one worker carries the watches, bindings and
    // Events (a second one mostly woke up and went back to sleep).
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        skiff_scheduler::run::run(connection.client()?, config).await?;
        Ok(())
    })
}
