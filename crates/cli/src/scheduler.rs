//! `skiff scheduler`: the scheduler alone, against a server started with
//! `--disable-scheduler` (as kube-scheduler runs beside kube-apiserver).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use skiff_client::{Connection, Credentials};
use skiff_scheduler::framework::config::SchedulerConfig;

#[derive(Args, Debug)]
pub struct SchedulerArgs {
    /// The server's URL (https://HOST:6443)
    #[arg(long, env = "SKIFF_URL")]
    server: String,
    /// A bearer token of the server (<data-dir>/server/tls/admin.token)
    #[arg(long, env = "SKIFF_TOKEN")]
    token: String,
    /// The server's CA certificate [default: <data-dir>/server/tls/ca.crt of a local server]
    #[arg(long, env = "SKIFF_CA_FILE")]
    ca_file: Option<PathBuf>,
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
    let ca_file = args.ca_file.clone().unwrap_or_else(|| crate::server::default_data_dir().join("server/tls/ca.crt"));
    let ca_pem = std::fs::read_to_string(&ca_file).with_context(|| format!("reading {}", ca_file.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let connection = Connection { url: args.server, ca_pem, credentials: Credentials::Token(args.token) };
        skiff_scheduler::run::run(connection.client()?, config).await?;
        Ok(())
    })
}
