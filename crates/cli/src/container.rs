//! `skiff container run|ls|logs|exec|stop|rm`: the runtime's containers, for direct use.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use skiff_runtime::container::log::{decode, Stream};
use skiff_runtime::container::{
    describe, BindMount, ContainerConfig, ExecConfig, Namespace, Namespaces, Output, Resources, Rlimit, Runtime, Status,
};

#[derive(Args, Debug)]
pub struct ContainerArgs {
    /// Where containers are kept [default: <data-dir>/runtime/containers]
    #[arg(long, env = "SKIFF_CONTAINER_ROOT", global = true)]
    root: Option<PathBuf>,
    /// Where images are kept [default: <data-dir>/runtime/images]
    #[arg(long, env = "SKIFF_IMAGE_ROOT", global = true)]
    image_root: Option<PathBuf>,
    #[command(subcommand)]
    command: ContainerCommand,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Start in the background and print the container's id
    #[arg(short, long)]
    detach: bool,
    #[arg(long)]
    name: Option<String>,
    /// Environment variable NAME=VALUE (repeatable)
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// Bind mount SOURCE:DESTINATION[:ro] (repeatable)
    #[arg(short, long = "volume")]
    volume: Vec<String>,
    /// User: uid, uid:gid, name or name:group [default: the image's USER]
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory [default: the image's]
    #[arg(short, long)]
    workdir: Option<String>,
    #[arg(long)]
    hostname: Option<String>,
    /// Memory limit in bytes, or with a suffix: 32m, 1g
    #[arg(short, long)]
    memory: Option<String>,
    /// CPU limit in cores (CFS quota)
    #[arg(long)]
    cpus: Option<f64>,
    /// CPU shares (relative weight)
    #[arg(long)]
    cpu_shares: Option<u64>,
    #[arg(long)]
    pids_limit: Option<i64>,
    /// Network namespace: new, host, or the path of one to join
    #[arg(long, default_value = "new")]
    net: String,
    /// IPC namespace: new, host, or a path
    #[arg(long, default_value = "new")]
    ipc: String,
    /// UTS namespace: new, host, or a path
    #[arg(long, default_value = "new")]
    uts: String,
    /// PID namespace: new, host, or a path
    #[arg(long, default_value = "new")]
    pid: String,
    /// Parent cgroup (a Pod's) [default: skiff]
    #[arg(long)]
    cgroup_parent: Option<String>,
    /// Bind this directory at /dev/shm (shared between containers)
    #[arg(long)]
    shm: Option<PathBuf>,
    /// Allocate a terminal (output is logged as stdout)
    #[arg(short, long)]
    tty: bool,
    #[arg(long)]
    read_only: bool,
    #[arg(long)]
    cap_add: Vec<String>,
    #[arg(long)]
    cap_drop: Vec<String>,
    /// A resource limit: nofile=1024[:2048] (never above skiff's own hard limit)
    #[arg(long)]
    ulimit: Vec<String>,
    image: String,
    /// Command and arguments [default: the image's ENTRYPOINT and CMD]
    #[arg(last = true)]
    command: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum ContainerCommand {
    /// Create and start a container; without -d, stream its output and exit with its code
    Run(Box<RunArgs>),
    /// List containers (running ones; -a for all)
    Ls {
        #[arg(short, long)]
        all: bool,
        /// Print ids only
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print a container's output
    Logs {
        container: String,
        #[arg(short, long)]
        follow: bool,
    },
    /// Run a command in a running container
    Exec {
        /// Keep stdin open
        #[arg(short, long)]
        interactive: bool,
        /// Allocate a terminal
        #[arg(short, long)]
        tty: bool,
        #[arg(short, long = "env")]
        env: Vec<String>,
        container: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Stop containers: SIGTERM, then SIGKILL after the grace period
    Stop {
        /// Seconds to wait before SIGKILL
        #[arg(short = 't', long, default_value_t = 10)]
        time: u64,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove containers
    Rm {
        /// Stop running containers first
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Print a container's record and state as JSON
    Inspect { container: String },
}

fn namespace(value: &str) -> Namespace {
    match value {
        "new" | "" => Namespace::New,
        "host" => Namespace::Host,
        path => Namespace::Join(PathBuf::from(path)),
    }
}

/// Bytes from `123`, `32k`, `32m`, `1g` (also `Mi`, `Gi` as Kubernetes writes them).
pub fn parse_bytes(s: &str) -> anyhow::Result<i64> {
    let lower = s.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: f64 = digits.parse().with_context(|| format!("bad size {s:?}"))?;
    let mult = match &lower[digits.len()..] {
        "" | "b" => 1.0,
        "k" | "kb" | "ki" => 1024.0,
        "m" | "mb" | "mi" => 1024.0 * 1024.0,
        "g" | "gb" | "gi" => 1024.0 * 1024.0 * 1024.0,
        other => bail!("bad size suffix {other:?} in {s:?}"),
    };
    Ok((n * mult) as i64)
}

fn pairs(values: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Ok((e.clone(), std::env::var(e).unwrap_or_default())),
        })
        .collect()
}

fn config_of(a: &RunArgs) -> anyhow::Result<ContainerConfig> {
    let mounts = a
        .volume
        .iter()
        .map(|v| {
            let parts: Vec<&str> = v.split(':').collect();
            match parts.as_slice() {
                [src, dst] => Ok(BindMount { source: src.into(), destination: dst.to_string(), read_only: false }),
                [src, dst, mode] if *mode == "ro" || *mode == "rw" => {
                    Ok(BindMount { source: src.into(), destination: dst.to_string(), read_only: *mode == "ro" })
                }
                _ => bail!("bad volume {v:?}: want SOURCE:DESTINATION[:ro]"),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ContainerConfig {
        name: a.name.clone(),
        image: a.image.clone(),
        args: a.command.clone(),
        env: pairs(&a.env)?,
        working_dir: a.workdir.clone(),
        user: a.user.clone(),
        hostname: a.hostname.clone(),
        namespaces: Namespaces {
            network: namespace(&a.net),
            ipc: namespace(&a.ipc),
            uts: namespace(&a.uts),
            pid: namespace(&a.pid),
        },
        mounts,
        shm: a.shm.clone(),
        resources: Resources {
            memory_limit: a.memory.as_deref().map(parse_bytes).transpose()?,
            cpu_shares: a.cpu_shares,
            cpu_quota: a.cpus.map(|c| (c * 100_000.0) as i64),
            cpu_period: a.cpus.map(|_| 100_000),
            pids_limit: a.pids_limit,
        },
        cgroup_parent: a.cgroup_parent.clone().unwrap_or_default(),
        tty: a.tty,
        read_only_rootfs: a.read_only,
        add_capabilities: a.cap_add.clone(),
        drop_capabilities: a.cap_drop.clone(),
        rlimits: a.ulimit.iter().map(|u| ulimit(u)).collect::<anyhow::Result<_>>()?,
        ..Default::default()
    })
}

/// `nofile=1024` or `nofile=1024:2048` as docker writes it.
fn ulimit(text: &str) -> anyhow::Result<Rlimit> {
    let (name, values) = text.split_once('=').with_context(|| format!("--ulimit {text}: expected NAME=SOFT[:HARD]"))?;
    let (soft, hard) = values.split_once(':').unwrap_or((values, values));
    let number = |v: &str| v.parse::<u64>().with_context(|| format!("--ulimit {text}: {v:?} is not a number"));
    Ok(Rlimit { name: format!("RLIMIT_{}", name.to_ascii_uppercase()), soft: number(soft)?, hard: number(hard)? })
}

pub fn run(args: ContainerArgs) -> anyhow::Result<()> {
    let data = crate::server::default_data_dir().join("runtime");
    let root = args.root.unwrap_or_else(|| data.join("containers"));
    let images = args.image_root.unwrap_or_else(|| data.join("images"));
    let exe = std::env::current_exe().context("locating the skiff binary")?;
    let rt = Runtime::new(root, images, exe);
    match args.command {
        ContainerCommand::Run(a) => run_container(&rt, &a),
        ContainerCommand::Ls { all, quiet } => {
            if !quiet {
                println!("{:<13} {:<20} {:<32} {:<24} {:<22} CREATED", "ID", "NAME", "IMAGE", "COMMAND", "STATUS");
            }
            for c in rt.list()? {
                if !all && !matches!(c.status, Status::Running { .. }) {
                    continue;
                }
                let r = &c.record;
                if quiet {
                    println!("{}", r.id);
                    continue;
                }
                let cmd = [r.config.command.clone(), r.config.args.clone()].concat().join(" ");
                let cmd: String = cmd.chars().take(24).collect();
                println!(
                    "{:<13} {:<20} {:<32} {:<24} {:<22} {}",
                    &r.id[..12],
                    r.name,
                    r.image,
                    cmd,
                    describe(&c.status),
                    &r.created[..19.min(r.created.len())]
                );
            }
            Ok(())
        }
        ContainerCommand::Logs { container, follow } => logs(&rt, &container, follow),
        ContainerCommand::Exec { interactive, tty, env, container, command } => {
            let exec = ExecConfig { args: command, env: pairs(&env)?, tty };
            let code =
                if tty { exec_tty(&rt, &container, &exec)? } else { exec_plain(&rt, &container, &exec, interactive)? };
            std::process::exit(code);
        }
        ContainerCommand::Stop { time, containers } => {
            for c in containers {
                rt.stop(&c, Duration::from_secs(time))?;
                println!("{c}");
            }
            Ok(())
        }
        ContainerCommand::Rm { force, containers } => {
            for c in containers {
                rt.remove(&c, force)?;
                println!("{c}");
            }
            Ok(())
        }
        ContainerCommand::Inspect { container } => {
            println!("{}", serde_json::to_string_pretty(&inspect_json(&rt.info(&container)?))?);
            Ok(())
        }
    }
}

/// The record and state as `inspect` prints them.
fn inspect_json(info: &skiff_runtime::container::Info) -> serde_json::Value {
    let mut v = serde_json::json!({
        "id": info.record.id,
        "name": info.record.name,
        "image": info.record.image,
        "status": describe(&info.status),
        "pid": info.run.as_ref().map_or(0, |r| r.pid),
        "monitorPid": info.run.as_ref().map_or(0, |r| r.monitor_pid),
        "logPath": info.record.log_path,
    });
    if let Status::Exited(e) = &info.status {
        v["exitCode"] = e.exit_code.into();
        v["reason"] = e.reason.clone().into();
        v["finishedAt"] = e.finished_at.clone().into();
    }
    v
}

fn run_container(rt: &Runtime, a: &RunArgs) -> anyhow::Result<()> {
    let id = rt.create(config_of(a)?)?;
    let started = match rt.start(&id, !a.detach) {
        Ok(s) => s,
        Err(e) => {
            if a.rm {
                let _ = rt.remove(&id, true);
            }
            return Err(e.into());
        }
    };
    if a.detach {
        println!("{id}");
        return Ok(());
    }
    let mut monitor = started.monitor;
    let mut code = None;
    if let Some(mut attach) = started.attach {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        while let Some(o) = attach.next_output() {
            match o {
                Output::Stdout(d) => {
                    let _ = out.write_all(&d).and_then(|_| out.flush());
                }
                Output::Stderr(d) => {
                    let _ = err.write_all(&d);
                }
                Output::Exit(e) => code = Some(e.exit_code),
            }
        }
    }
    let _ = monitor.wait();
    let code = match code {
        Some(c) => c,
        None => rt.wait(&id, None)?.map(|e| e.exit_code).unwrap_or(255),
    };
    if a.rm {
        rt.remove(&id, true)?;
    }
    std::process::exit(code);
}

fn print_log(data: &[u8]) {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    for (stream, bytes) in decode(data) {
        let _ = match stream {
            Stream::Stdout => out.write_all(&bytes),
            Stream::Stderr => err.write_all(&bytes),
        };
    }
    let _ = out.flush();
}

fn logs(rt: &Runtime, key: &str, follow: bool) -> anyhow::Result<()> {
    let info = rt.info(key)?;
    let path = info.record.log_path.clone();
    let mut rotated: Vec<PathBuf> = (1..=info.record.config.log.max_files)
        .map(|n| PathBuf::from(format!("{}.{n}", path.display())))
        .filter(|p| p.exists())
        .collect();
    rotated.reverse();
    for p in rotated {
        print_log(&std::fs::read(&p)?);
    }
    let mut file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut pending = Vec::new();
    loop {
        let mut chunk = Vec::new();
        file.read_to_end(&mut chunk)?;
        pending.extend_from_slice(&chunk);
        if let Some(end) = pending.iter().rposition(|b| *b == b'\n') {
            print_log(&pending[..=end]);
            pending.drain(..=end);
        }
        if !follow || !matches!(rt.info(key)?.status, Status::Running { .. }) {
            if follow {
                let mut rest = Vec::new();
                file.read_to_end(&mut rest)?;
                pending.extend_from_slice(&rest);
                print_log(&pending);
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn exec_plain(rt: &Runtime, key: &str, exec: &ExecConfig, interactive: bool) -> anyhow::Result<i32> {
    let stdin = if interactive { Stdio::inherit() } else { Stdio::null() };
    let mut child = rt.exec(key, exec, [stdin, Stdio::inherit(), Stdio::inherit()])?;
    Ok(child.wait()?.code().unwrap_or(255))
}

/// Exec with a new terminal: the process gets the pty's slave side, this command copies
/// between its own terminal (in raw mode) and the master side.
fn exec_tty(rt: &Runtime, key: &str, exec: &ExecConfig) -> anyhow::Result<i32> {
    let stdin_tty = std::io::stdin().is_terminal();
    let size = if stdin_tty { rustix::termios::tcgetwinsize(std::io::stdin()).ok() } else { None };
    let (mut child, master) = rt.exec_tty(key, exec, size)?;
    let saved = if stdin_tty { rustix::termios::tcgetattr(std::io::stdin()).ok() } else { None };
    if let Some(t) = &saved {
        let mut raw = t.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, &raw);
    }
    let mut master_in = master.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut master_in);
    });
    let mut master_out = master;
    let copier = std::thread::spawn(move || {
        let mut out = std::io::stdout();
        let mut buf = [0u8; 8192];
        while let Ok(n) = master_out.read(&mut buf) {
            if n == 0 || out.write_all(&buf[..n]).and_then(|_| out.flush()).is_err() {
                break;
            }
        }
    });
    let status = child.wait()?;
    let _ = copier.join();
    if let Some(t) = saved {
        let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, &t);
    }
    Ok(status.code().unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("32m").unwrap(), 32 << 20);
        assert_eq!(parse_bytes("1Gi").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("12q").is_err());
    }
}
