//! `skiff image import|ls|rm`: the runtime's image store, for direct use.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use skiff_runtime::image::{
    collect, import_archive, import_oci_layout, pull, ContentStore, ImageIndex, Progress, Reference, RegistriesConfig,
};

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// Where images are kept [default: <data-dir>/runtime/images]
    #[arg(long, env = "SKIFF_IMAGE_ROOT", global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand, Debug)]
enum ImageCommand {
    /// Import a `docker save` archive, an OCI archive or an OCI image layout directory
    Import {
        path: PathBuf,
        /// Name for the image (OCI layouts and archives: the layout's tag is kept when the name
        /// has none; docker archives: used when the archive names no tag)
        #[arg(long)]
        name: Option<String>,
    },
    /// Pull an image from a registry
    Pull {
        reference: String,
        /// Registries config: mirrors, plain-HTTP hosts, credentials
        /// [default: <data-dir>/registries.yaml]
        #[arg(long, env = "SKIFF_REGISTRIES")]
        registries: Option<PathBuf>,
    },
    /// List images
    Ls,
    /// Forget an image name
    Rm { reference: String },
    /// Remove blobs and unpacked layers no image or container needs
    Gc {
        /// Containers whose layers stay [default: <data-dir>/runtime/containers]
        #[arg(long, env = "SKIFF_CONTAINER_ROOT")]
        container_root: Option<PathBuf>,
    },
}

pub fn run(args: ImageArgs) -> anyhow::Result<()> {
    let root = args.root.unwrap_or_else(|| crate::server::default_data_dir().join("runtime/images"));
    let store = ContentStore::open(&root).with_context(|| format!("opening the image store {}", root.display()))?;
    let mut images = ImageIndex::load(&root)?;
    match args.command {
        ImageCommand::Import { path, name } => {
            let names = if path.is_dir() {
                import_oci_layout(&path, name.as_deref(), &store, &mut images)
            } else {
                import_archive(&path, name.as_deref(), &store, &mut images)
            }
            .with_context(|| format!("importing {}", path.display()))?;
            for n in names {
                println!("imported {n}");
            }
        }
        ImageCommand::Pull { reference, registries } => {
            let full: Reference = reference.parse()?;
            let path = registries.unwrap_or_else(|| crate::server::default_data_dir().join("registries.yaml"));
            let config = RegistriesConfig::load(&path)?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let progress = TerminalProgress::new();
            let record = rt
                .block_on(pull(&full, &store, &mut images, &config, &progress))
                .with_context(|| format!("pulling {full}"))?;
            if progress.tty {
                eprintln!();
            }
            println!("pulled {full} ({})", record.manifest);
        }
        ImageCommand::Ls => {
            println!("{:<60} {:<19} {:>10}", "REFERENCE", "MANIFEST", "SIZE");
            for (name, rec) in images.iter() {
                let short = rec.manifest.strip_prefix("sha256:").unwrap_or(&rec.manifest);
                println!("{name:<60} {:<19} {:>10}", &short[..12.min(short.len())], human(rec.size));
            }
        }
        ImageCommand::Gc { container_root } => {
            let containers =
                container_root.unwrap_or_else(|| crate::server::default_data_dir().join("runtime/containers"));
            let runtime = skiff_runtime::container::Runtime::new(containers, &root, "skiff");
            let in_use = runtime.list()?.into_iter().flat_map(|c| c.record.layers).collect();
            let done = collect(&store, &images, &in_use)?;
            println!("removed {} blobs and {} layers ({})", done.blobs, done.layers, human(done.bytes));
        }
        ImageCommand::Rm { reference } => {
            let full: Reference = reference.parse()?;
            match images.remove(&full.to_string())? {
                Some(_) => println!("untagged {full}"),
                None => anyhow::bail!("no such image: {full}"),
            }
        }
    }
    Ok(())
}

/// One progress line for the whole pull on a terminal (redrawn at most ten times a second),
/// nothing otherwise.
struct TerminalProgress {
    tty: bool,
    state: std::sync::Mutex<Drawn>,
}

/// Bytes done and expected per blob, and when the line was last drawn.
#[derive(Default)]
struct Drawn {
    blobs: std::collections::BTreeMap<String, (u64, u64)>,
    at: Option<std::time::Instant>,
}

impl TerminalProgress {
    fn new() -> TerminalProgress {
        TerminalProgress { tty: std::io::IsTerminal::is_terminal(&std::io::stderr()), state: Default::default() }
    }
}

impl Progress for TerminalProgress {
    fn blob(&self, digest: &str, done: u64, total: u64) {
        if !self.tty {
            return;
        }
        let Ok(mut guard) = self.state.lock() else { return };
        let Drawn { blobs, at: drawn } = &mut *guard;
        blobs.insert(digest.to_string(), (done, total));
        let finished = done >= total;
        if !finished && drawn.is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(100)) {
            return;
        }
        *drawn = Some(std::time::Instant::now());
        let (done, total) = blobs.values().fold((0, 0), |(d, t), (bd, bt)| (d + bd, t + bt));
        let complete = blobs.values().filter(|(d, t)| d >= t).count();
        eprint!("\rblobs {complete}/{}: {} / {}   ", blobs.len(), human(done), human(total));
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
