//! The `skiff` binary: argument parsing and wiring only; the work is in the library crates.

mod agent;
mod bench;
mod container;
mod controller_manager;
mod hollow;
mod image;
mod inprocess;
mod remote;
mod scheduler;
mod server;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the API server spends a third of its time allocating
/// and freeing JSON values, and glibc's arenas also hold on to freed memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "skiff", version, about = "A Kubernetes-compatible container orchestrator in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane (API server on an embedded store) and a node agent
    Server(server::ServerArgs),
    /// Run a node agent that joins a server
    Agent(agent::AgentArgs),
    /// Run benchmarks (see README)
    Bench(bench::BenchArgs),
    /// Manage the runtime's images
    Image(image::ImageArgs),
    /// Run and manage containers directly (without the API server)
    Container(container::ContainerArgs),
    /// Run the scheduler alone, against a server started with --disable-scheduler
    Scheduler(scheduler::SchedulerArgs),
    /// Run the controller manager alone, against a server started with --disable-controller-manager
    ControllerManager(controller_manager::ControllerManagerArgs),
    /// Register many Nodes that run no containers (for scale tests and benchmarks)
    HollowNodes(hollow::HollowArgs),
}

fn main() -> anyhow::Result<()> {
    // No transparent huge pages for skiff's own processes: mimalloc asks for them on its arenas,
    // and every page it frees and reuses then faults back as 2 MiB the kernel must zero (8% of
    // the API server's time in the controllers benchmark, and a third more resident memory).
    // Containers get the default back before they exec (`skiff_runtime::container::sys`).
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    // The runtime re-executes this binary as a container's monitor, exec helper or Pod infra process: dispatch
    // before anything else runs (no threads, no argument parser, little memory).
    let mut argv = std::env::args_os().skip(1);
    match argv.next().as_deref().and_then(|a| a.to_str()) {
        Some("__monitor") => {
            let dir = std::path::PathBuf::from(argv.next().unwrap_or_default());
            let attach = argv.next().is_some_and(|a| a == "attach");
            std::process::exit(skiff_runtime::container::monitor::main(&dir, attach));
        }
        Some("__pause") => {
            let hostname = argv.next().and_then(|h| h.into_string().ok()).unwrap_or_default();
            std::process::exit(skiff_runtime::sandbox::pause_main(&hostname));
        }
        Some("__exec") => {
            let dir = std::path::PathBuf::from(argv.next().unwrap_or_default());
            let config = argv.next().and_then(|c| c.into_string().ok()).unwrap_or_default();
            std::process::exit(skiff_runtime::container::exec::main(&dir, &config));
        }
        _ => {}
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Server(args) => server::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Image(args) => image::run(args),
        Command::Container(args) => container::run(args),
        Command::HollowNodes(args) => hollow::run(args),
        Command::Scheduler(args) => scheduler::run(args),
        Command::ControllerManager(args) => controller_manager::run(args),
    }
}
