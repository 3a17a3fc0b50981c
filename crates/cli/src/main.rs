//! The `skiff` binary: argument parsing and wiring only; the work is in the library crates.

mod bench;
mod image;
mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "skiff", version, about = "A Kubernetes-compatible container orchestrator in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: API server on an embedded store.
    Server(server::ServerArgs),
    /// Run benchmarks (see README)
    Bench(bench::BenchArgs),
    /// Manage the runtime's images
    Image(image::ImageArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Server(args) => server::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Image(args) => image::run(args),
    }
}
