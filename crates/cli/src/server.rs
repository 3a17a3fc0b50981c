//! `skiff server`: flags as k3s names them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Folder for the database, certificates and credentials
    /// [default: /var/lib/skiff as root, else ~/.local/share/skiff]
    #[arg(long, short = 'd', env = "SKIFF_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// HTTPS port of the API server (0 picks a free one)
    #[arg(long, default_value_t = 6443)]
    https_listen_port: u16,
    /// Where to write the admin kubeconfig [default: <data-dir>/admin.kubeconfig]
    #[arg(long, short = 'o', env = "SKIFF_KUBECONFIG_OUTPUT")]
    write_kubeconfig: Option<PathBuf>,
    /// More host names or addresses for the serving certificate
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    /// Run without the node agent
    #[arg(long)]
    disable_agent: bool,
    /// Run without the scheduler (Pods then need `spec.nodeName`)
    #[arg(long)]
    disable_scheduler: bool,
    /// Run without the controller manager (workload controllers and node IPAM)
    #[arg(long)]
    disable_controller_manager: bool,
    /// A KubeSchedulerConfiguration file (profiles, plugins, weights) for the scheduler
    #[arg(long, value_name = "FILE")]
    scheduler_config: Option<PathBuf>,
    /// The Pods' addresses: each Node gets a block of it (see --node-cidr-mask-size)
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: String,
    /// How long a Node may go without renewing its Lease before it is marked Unknown, tainted
    /// unreachable, and its Pods evicted after their tolerationSeconds (e.g. 40s, 2m)
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    node_monitor_grace_period: std::time::Duration,
    /// The tolerationSeconds of the node.kubernetes.io/not-ready:NoExecute toleration added to
    /// every Pod that does not have one
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    default_not_ready_toleration_seconds: i64,
    /// The tolerationSeconds of the node.kubernetes.io/unreachable:NoExecute toleration added to
    /// every Pod that does not have one
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    default_unreachable_toleration_seconds: i64,
    /// The size of each Node's block of the cluster CIDR
    #[arg(long, default_value_t = 24)]
    node_cidr_mask_size: u8,
    #[command(flatten)]
    node: crate::agent::NodeArgs,
}

/// A Go-style duration: a number with `ms`, `s`, `m` or `h` (seconds when bare).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("not a duration: {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("not a duration: {s:?} (use ms, s, m or h)")),
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

pub fn default_data_dir() -> PathBuf {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false);
    if is_root {
        return PathBuf::from("/var/lib/skiff");
    }
    match std::env::var_os("XDG_DATA_HOME") {
        Some(d) => PathBuf::from(d).join("skiff"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".local/share/skiff"),
    }
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let mut config = skiff_apiserver::Config::new(data_dir.clone());
    config.bind_address = args.bind_address;
    config.port = args.https_listen_port;
    config.tls_sans = args.tls_san;
    config.admission = skiff_apiserver::registry::AdmissionConfig {
        default_not_ready_toleration_seconds: args.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds: args.default_unreachable_toleration_seconds,
    };
    if let Some(k) = args.write_kubeconfig {
        config.kubeconfig = k;
    }
    let cluster_cidr: skiff_controllers::nodeipam::Cidr =
        args.cluster_cidr.parse().map_err(|e| anyhow::anyhow!("--cluster-cidr: {e}"))?;
    skiff_controllers::nodeipam::CidrSet::new(cluster_cidr, args.node_cidr_mask_size)
        .map_err(|e| anyhow::anyhow!("--node-cidr-mask-size: {e}"))?;
    let scheduler_config = crate::scheduler::read_config(args.scheduler_config.as_ref())?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let running = skiff_apiserver::start(config)
            .await
            .with_context(|| format!("starting the API server (data dir {})", data_dir.display()))?;
        tracing::info!(
            url = %running.url,
            kubeconfig = %running.kubeconfig.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "skiff server ready"
        );
        eprintln!("skiff server is ready at {}", running.url);
        eprintln!("kubeconfig written to {}", running.kubeconfig.display());
        eprintln!("try: kubectl --kubeconfig {} get nodes", running.kubeconfig.display());
        if !args.disable_controller_manager {
            let controllers = crate::inprocess::client(&data_dir, &running, "system:kube-controller-manager", &[])?;
            let cm = skiff_controllers::manager::Config { node_monitor_grace_period: args.node_monitor_grace_period };
            // The server's node name is its identity, so a restarted server leads again at once.
            let mut election = skiff_controllers::leader::Election::controller_manager();
            election.identity = args.node.name(&data_dir);
            let mask = args.node_cidr_mask_size;
            tokio::spawn(async move {
                let work = crate::controller_manager::work(controllers.clone(), cm, cluster_cidr, mask);
                skiff_controllers::leader::lead(controllers, &election, work).await;
                tracing::error!("the controller manager lost its leader lease; exiting");
                std::process::exit(1);
            });
        }
        if !args.disable_scheduler {
            let client = crate::inprocess::client(&data_dir, &running, "system:kube-scheduler", &[])?;
            tokio::spawn(async move {
                if let Err(e) = skiff_scheduler::run::run(client, scheduler_config).await {
                    tracing::error!(error = %e, "scheduler stopped");
                }
            });
        }
        if !args.disable_agent {
            crate::agent::spawn_in_server(&args.node, &data_dir, &running)?;
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c")?,
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        Ok(())
    })
}
