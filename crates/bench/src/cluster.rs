//! A control plane for the scale benchmarks: `skiff server` (agent-less) in a temporary data
//! dir, components as their own processes, and `skiff hollow-nodes`; all killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Target;
use crate::container::{setup, BenchError};

/// A child process killed (and reaped) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

/// Clock ticks per second in `/proc` (USER_HZ, 100 on Linux whatever the kernel's HZ).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) a process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / TICKS
}

/// The whole machine's CPU time so far, from `/proc/stat`, in seconds summed over all CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineCpu {
    /// Spent running anything: user, nice, system, irq and softirq time.
    pub busy: f64,
    /// Taken by the hypervisor for others while this machine wanted to run (a noisy host).
    pub steal: f64,
    /// The CPUs the totals are summed over (the `cpuN` lines).
    pub cpus: usize,
}

impl MachineCpu {
    /// Reads the totals now (zero where `/proc/stat` cannot be read).
    pub fn now() -> MachineCpu {
        MachineCpu::parse(&std::fs::read_to_string("/proc/stat").unwrap_or_default())
    }

    /// The totals of `/proc/stat`'s first (`cpu`) line.
    pub fn parse(stat: &str) -> MachineCpu {
        let line = stat.lines().find(|l| l.starts_with("cpu ")).unwrap_or_default();
        let f: Vec<f64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0.0)).collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0.0) / TICKS;
        let cpus = stat.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count();
        // user nice system idle iowait irq softirq steal …
        MachineCpu { busy: at(0) + at(1) + at(2) + at(5) + at(6), steal: at(7), cpus }
    }

    /// What was spent between `earlier` and `self`.
    pub fn since(self, earlier: MachineCpu) -> MachineCpu {
        MachineCpu { busy: self.busy - earlier.busy, steal: self.steal - earlier.steal, cpus: self.cpus }
    }
}

pub fn spawn(skiff: &Path, args: &[String], log: &Path) -> Result<Proc, BenchError> {
    let log = std::fs::File::create(log)?;
    let child = Command::new(skiff).args(args).env("SKIFF_LOG", "warn").stdout(Stdio::null()).stderr(log).spawn()?;
    Ok(Proc(child))
}

/// A running server and what its clients need.
pub struct Cluster {
    pub dir: std::path::PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub server: Proc,
    pub target: Target,
    pub url: String,
    pub ca: String,
    pub admin_token: String,
    pub node_token: String,
    skiff: std::path::PathBuf,
}

impl Cluster {
    /// Starts `skiff server --disable-agent` with `flags` in a new temporary data dir.
    pub async fn start(skiff: &Path, flags: &[&str]) -> Result<Cluster, BenchError> {
        let tmp = tempfile::tempdir()?;
        let mut c = Cluster::start_in(skiff, tmp.path(), flags).await?;
        c._tmp = Some(tmp);
        Ok(c)
    }

    /// Starts `skiff server --disable-agent` with `flags` on the data dir `d` (the caller's).
    pub async fn start_in(skiff: &Path, d: &Path, flags: &[&str]) -> Result<Cluster, BenchError> {
        let mut args: Vec<String> =
            ["server", "--disable-agent", "--bind-address", "127.0.0.1", "--https-listen-port", "0"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend(["--data-dir".to_string(), d.display().to_string()]);
        // A wrapper (a script that runs the server under a profiler, such as valgrind's
        // callgrind) takes the binary as its first argument.
        let server = match std::env::var_os("SKIFF_BENCH_SERVER_WRAPPER") {
            Some(w) => {
                args.insert(0, skiff.display().to_string());
                spawn(Path::new(&w), &args, &d.join("server.log"))?
            }
            None => spawn(skiff, &args, &d.join("server.log"))?,
        };
        let kubeconfig = d.join("admin.kubeconfig");
        let start = Instant::now();
        while !kubeconfig.exists() {
            if start.elapsed() > Duration::from_secs(120) {
                return Err(setup("the server did not start"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let text = std::fs::read_to_string(&kubeconfig)?;
        let target = Target::from_kubeconfig(&text).map_err(setup)?;
        let url = format!("https://{}", target.addr);
        let ca = d.join("server/tls/ca.crt").display().to_string();
        let admin_token = std::fs::read_to_string(d.join("server/tls/admin.token"))?.trim().to_string();
        let node_token = std::fs::read_to_string(d.join("server/tls/node.token"))?.trim().to_string();
        Ok(Cluster {
            dir: d.to_path_buf(),
            _tmp: None,
            server,
            target,
            url,
            ca,
            admin_token,
            node_token,
            skiff: skiff.to_path_buf(),
        })
    }

    /// Runs `skiff <component> --server … --token <admin> --ca-file …` as its own process.
    pub fn component(&self, component: &str, extra: &[&str]) -> Result<Proc, BenchError> {
        let mut args: Vec<String> = vec![component.into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["--server".into(), self.url.clone(), "--token".into(), self.admin_token.clone()]);
        args.extend(["--ca-file".into(), self.ca.clone()]);
        spawn(&self.skiff, &args, &self.dir.join(format!("{component}.log")))
    }

    /// Starts `count` hollow nodes (4 CPUs, 32 GiB, 110 Pods each) and waits until they are
    /// registered; returns the process and how long registration took.
    pub async fn hollow_nodes(&self, count: usize) -> Result<(Proc, Duration), BenchError> {
        let mut hollow = Command::new(&self.skiff)
            .args(["hollow-nodes", "--count", &count.to_string(), "--concurrency", "32"])
            .args(["--cpu", "4", "--memory", "32Gi", "--pods", "110", "--zones", "0"])
            .args(["--server", &self.url, "--token", &self.node_token, "--ca-file", &self.ca])
            .env("SKIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = hollow.stderr.take().ok_or_else(|| setup("hollow-nodes stderr"))?;
        let proc = Proc(hollow);
        let registered = Instant::now();
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stderr).lines().map_while(Result::ok).any(|l| l.contains("hollow nodes ready"))
        })
        .await
        .map_err(setup)?;
        if !ready {
            return Err(setup("hollow-nodes exited before registering its nodes"));
        }
        Ok((proc, registered.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::MachineCpu;

    #[test]
    fn machine_cpu_counts_busy_time_and_steal_apart_from_idle() {
        let stat = "cpu  100 5 50 9000 20 3 2 40 0 0\ncpu0 50 2 25 4500 10 1 1 20 0 0\nintr 1\n";
        let m = MachineCpu::parse(stat);
        assert!((m.busy - 1.60).abs() < 1e-9, "{m:?}");
        assert!((m.steal - 0.40).abs() < 1e-9, "{m:?}");
        assert_eq!(m.cpus, 1);
        let later = MachineCpu { busy: 2.10, steal: 0.45, cpus: 1 };
        let d = later.since(m);
        assert!((d.busy - 0.50).abs() < 1e-9 && (d.steal - 0.05).abs() < 1e-9, "{d:?}");
        assert_eq!(MachineCpu::parse(""), MachineCpu::default());
    }
}
