//! Container start-to-exit: `skiff container run --rm IMAGE -- true` beside `runc run` of a
//! bare bundle and `podman run --rm --network none` (each where installed), median of N; and
//! the memory of one container's monitor.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use skiff_runtime::image::testing;

use crate::Stats;

/// Errors preparing the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub(crate) fn setup(m: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(m.to_string())
}

pub(crate) const IMAGE: &str = "localhost/bench-busybox:latest";

pub(crate) fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(bin)).find(|p| p.is_file())
}

/// Median-bearing stats of `runs` timed runs (after one warm-up) of `make()`.
pub(crate) fn time_runs(runs: usize, mut make: impl FnMut(usize) -> Command) -> Result<Stats, BenchError> {
    let mut samples = Vec::with_capacity(runs);
    let all = Instant::now();
    for i in 0..=runs {
        let mut c = make(i);
        let start = Instant::now();
        let out = c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
        if !out.status.success() {
            return Err(setup(format!("{:?}: {}", c, String::from_utf8_lossy(&out.stderr).trim())));
        }
        if i > 0 {
            samples.push(start.elapsed());
        }
    }
    Ok(Stats::new(samples, all.elapsed()))
}

pub(crate) fn line(name: &str, s: &Stats) -> String {
    format!("{name:<52} median {:>7.1} ms   p90 {:>7.1} ms   (n={})", s.quantile_ms(0.5), s.quantile_ms(0.9), s.count())
}

/// Runs the comparison; `skiff` is the binary to measure.
pub fn run(skiff: &Path, runs: usize) -> Result<Vec<String>, BenchError> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let archive = dir.join("busybox.tar");
    let layer = testing::busybox_layer()?;
    testing::docker_archive(&archive, &layer, IMAGE)?;
    let images = dir.join("images");
    let containers = dir.join("containers");
    let skiff_cmd = |args: &[&str]| {
        let mut c = Command::new(skiff);
        c.arg("container").arg("--root").arg(&containers).arg("--image-root").arg(&images).args(args);
        c
    };
    let out = Command::new(skiff).arg("image").arg("--root").arg(&images).arg("import").arg(&archive).output()?;
    if !out.status.success() {
        return Err(setup(String::from_utf8_lossy(&out.stderr)));
    }
    let mut lines = vec![format!("start-to-exit of `true`, {runs} runs each after one warm-up")];
    let skiff_stats = time_runs(runs, |_| skiff_cmd(&["run", "--rm", IMAGE, "--", "true"]))?;
    lines.push(line("skiff container run --rm", &skiff_stats));

    if let Some(runc) = which("runc") {
        let bundle = dir.join("bundle");
        fs::create_dir_all(bundle.join("rootfs"))?;
        tar::Archive::new(&layer[..]).unpack(bundle.join("rootfs"))?;
        let spec = Command::new(&runc).arg("spec").current_dir(&bundle).output()?;
        if spec.status.success() {
            let path = bundle.join("config.json");
            let mut config: serde_json::Value = serde_json::from_slice(&fs::read(&path)?).map_err(setup)?;
            config["process"]["terminal"] = json!(false);
            config["process"]["args"] = json!(["true"]);
            fs::write(&path, serde_json::to_vec(&config).map_err(setup)?)?;
            let root = dir.join("runc-state");
            let stats = time_runs(runs, |i| {
                let mut c = Command::new(&runc);
                c.arg("--root").arg(&root).args(["run", "--bundle"]).arg(&bundle).arg(format!("bench-{i}"));
                c
            })?;
            lines.push(line("runc run (bare bundle)", &stats));
            lines.push(format!("  skiff / runc = {:.2}", skiff_stats.quantile_ms(0.5) / stats.quantile_ms(0.5)));
        }
    } else {
        lines.push("runc: not installed (apt-get install runc)".into());
    }

    if let Some(podman) = which("podman") {
        let load = Command::new(&podman).arg("load").arg("-i").arg(&archive).output()?;
        // This machine's hard limits are below podman's default rlimits (see machine.md).
        let podman_run =
            ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];
        let probe = Command::new(&podman).args(podman_run).args([IMAGE, "true"]).output()?;
        if load.status.success() && probe.status.success() {
            let stats = time_runs(runs, |_| {
                let mut c = Command::new(&podman);
                c.args(podman_run).args([IMAGE, "true"]);
                c
            })?;
            lines.push(line("podman run --rm --network none", &stats));
        } else {
            let why =
                String::from_utf8_lossy(if load.status.success() { &probe.stderr } else { &load.stderr }).into_owned();
            lines.push(format!("podman: does not run here: {}", why.lines().last().unwrap_or("").trim()));
        }
        let _ = Command::new(&podman).args(["rmi", "-f", IMAGE]).output();
    } else {
        lines.push("podman: not installed".into());
    }

    lines.push(monitor_memory(&skiff_cmd)?);
    Ok(lines)
}

/// Memory of the monitors of five running containers: mean RSS, PSS (shared pages split
/// among the monitors) and private dirty memory (what each new container really adds).
fn monitor_memory(skiff_cmd: &dyn Fn(&[&str]) -> Command) -> Result<String, BenchError> {
    const N: usize = 5;
    let mut ids = Vec::new();
    for _ in 0..N {
        let out = skiff_cmd(&["run", "-d", IMAGE, "--", "sleep", "30"]).output()?;
        if !out.status.success() {
            return Err(setup(String::from_utf8_lossy(&out.stderr)));
        }
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    std::thread::sleep(Duration::from_millis(200));
    let (mut rss, mut pss, mut dirty) = (0u64, 0u64, 0u64);
    for id in &ids {
        let inspect = String::from_utf8_lossy(&skiff_cmd(&["inspect", id]).output()?.stdout).into_owned();
        let pid = inspect
            .lines()
            .find_map(|l| l.trim().strip_prefix("\"monitorPid\": ")?.trim_end_matches(',').parse::<i32>().ok())
            .ok_or_else(|| setup("no monitor pid"))?;
        let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let kb = |key: &str| -> u64 {
            rollup
                .lines()
                .filter(|l| l.starts_with(key))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum()
        };
        rss += kb("Rss:");
        pss += kb("Pss:");
        dirty += kb("Private_Dirty:");
    }
    for id in &ids {
        let _ = skiff_cmd(&["rm", "-f", id]).output();
    }
    let n = N as u64;
    Ok(format!(
        "monitor memory, mean of {N} containers: RSS {} KiB, PSS {} KiB, private dirty {} KiB",
        rss / n,
        pss / n,
        dirty / n
    ))
}
