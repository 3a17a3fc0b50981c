//! Pod create → Running, observed through a watch, one Pod at a time (the image present), on a
//! real `skiff server` and a `skiff agent` process; beside `podman kube play` of the same
//! two-container Pod where podman is installed. Then the server's and the agent's memory idle
//! and with the Pods running, and the memory of the per-Pod helper processes. Root only (real
//! sandboxes and networks).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use skiff_runtime::image::testing;

use crate::api::rss_kb;
use crate::client::PodEvent;
use crate::cluster::Cluster;
use crate::container::{line, setup, which, BenchError, IMAGE};
use crate::Stats;

const BRIDGE: &str = "skiffbench0";

fn manifest(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"nodeName":"bench-node",
"terminationGracePeriodSeconds":1,"containers":[
{{"name":"a","image":"{IMAGE}","imagePullPolicy":"IfNotPresent","command":["sleep","3600"]}},
{{"name":"b","image":"{IMAGE}","imagePullPolicy":"IfNotPresent","command":["sleep","3600"]}}]}}}}"#
    )
}

fn yaml(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: a\n    image: {IMAGE}\n    command: [sleep, '3600']\n  - name: b\n    image: {IMAGE}\n    command: [sleep, '3600']\n"
    )
}

struct ServerProc(Child);

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = Command::new("ip").args(["link", "del", BRIDGE]).output();
    }
}

/// `skiff ARGS --data-dir DIR`, quiet, killed on drop.
fn spawn(skiff: &Path, args: &[&str], dir: &Path) -> Result<ServerProc, BenchError> {
    let child = Command::new(skiff)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(ServerProc(child))
}

fn pss_kb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Pss:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// PIDs of the infra processes and monitors under `dir`'s runtime.
fn helper_pids(dir: &Path) -> Vec<i32> {
    let mut pids = vec![];
    for (sub, file, key) in [("sandboxes", "sandbox.json", "pid"), ("containers", "state.json", "monitorPid")] {
        for e in std::fs::read_dir(dir.join("runtime").join(sub)).into_iter().flatten().flatten() {
            let v: serde_json::Value = std::fs::read_to_string(e.path().join(file))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            pids.extend(v[key].as_i64().map(|p| p as i32));
        }
    }
    pids
}

/// Runs the benchmark with `count` Pods.
pub async fn run(skiff: &Path, count: usize) -> Result<Vec<String>, BenchError> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let archive = dir.join("busybox.tar");
    testing::docker_archive(&archive, &testing::busybox_layer()?, IMAGE)?;
    let images = dir.join("runtime/images");
    let out = Command::new(skiff).arg("image").arg("--root").arg(&images).arg("import").arg(&archive).output()?;
    if !out.status.success() {
        return Err(setup(String::from_utf8_lossy(&out.stderr)));
    }
    let _ = Command::new("ip").args(["link", "del", BRIDGE]).output();
    // The server without its in-process agent, and the agent as a process of its own, so
    // that each one's memory shows.
    let server = Cluster::start_in(skiff, dir, &[]).await?;
    let server_pid = server.server.pid();
    let (target, url, token, ca) = (server.target.clone(), &server.url, &server.node_token, &server.ca);
    #[rustfmt::skip]
    let agent = spawn(skiff, &[
        "agent", "--server", url, "--token", token, "--ca-file", ca,
        "--kubelet-port", "0", "--node-name", "bench-node", "--node-ip", "127.0.0.1", "--bridge-name", BRIDGE,
        "--pod-cidr", "10.199.0.0/24", "--eviction-hard", "memory.available<1Mi,nodefs.available<1Mi",
    ], dir)?;
    let pid = agent.0.id();
    let mut conn = target.connect().await.map_err(setup)?;
    while conn.call(Method::GET, "/api/v1/nodes/bench-node", None).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kb(pid);
    let server_idle = rss_kb(server_pid);

    // A watch reports when each Pod turns Running.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    crate::client::watch(&target, "/api/v1/namespaces/default/pods?watch=true", move |ev: PodEvent| {
        if ev.object.status.phase == "Running" {
            let _ = tx.send((ev.object.metadata.name, Instant::now()));
        }
    })
    .await
    .map_err(setup)?;
    let mut samples = vec![];
    let all = Instant::now();
    for i in 0..count {
        let name = format!("bench-{i}");
        let start = Instant::now();
        conn.call(Method::POST, "/api/v1/namespaces/default/pods", Some(Bytes::from(manifest(&name))))
            .await
            .map_err(setup)?;
        loop {
            let (n, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .map_err(|_| setup(format!("{name} did not run within 60 s")))?
                .ok_or_else(|| setup("the watch ended"))?;
            if n == name {
                samples.push(at - start);
                break;
            }
        }
    }
    let stats = Stats::new(samples, all.elapsed());
    let mut lines = vec![format!(
        "{:<52} median {:>7.1} ms   p99 {:>7.1} ms   (n={})",
        "skiff: Pod create → Running (watch), 2 containers",
        stats.quantile_ms(0.5),
        stats.quantile_ms(0.99),
        stats.count()
    )];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = rss_kb(pid);
    let helpers = helper_pids(dir);
    let helper_pss: u64 = helpers.iter().map(|p| pss_kb(*p)).sum();
    lines.push(format!("{:<52} {:>7.1} MB", "server RSS, idle (no agent)", server_idle as f64 / 1024.0));
    lines.push(format!("{:<52} {:>7.1} MB", "server RSS, with the Pods", rss_kb(server_pid) as f64 / 1024.0));
    lines.push(format!("{:<52} {:>7.1} MB", "agent RSS, idle", idle as f64 / 1024.0));
    lines.push(format!("{:<52} {:>7.1} MB", format!("agent RSS, {count} Pods running"), busy as f64 / 1024.0));
    lines.push(format!(
        "{:<52} {:>7.1} KB",
        "per Pod: agent growth + PSS of its infra and monitors",
        ((busy.saturating_sub(idle)) + helper_pss) as f64 / count.max(1) as f64
    ));
    let _ = conn.call(Method::DELETE, "/api/v1/namespaces/default/pods", None).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !helper_pids(dir).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(agent);
    drop(server);

    if let Some(podman) = which("podman") {
        // This machine's hard limits are below podman's default rlimits (see machine.md): a
        // private containers.conf through CONTAINERS_CONF, nothing written to /etc.
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n[engine]\nruntime = \"runc\"\n",
        )?;
        let podman = |args: &[&str]| {
            let mut c = Command::new(&podman);
            c.env("CONTAINERS_CONF", &conf).args(args);
            c
        };
        let _ = podman(&["load", "-i"]).arg(&archive).output()?;
        let runs = count.min(20);
        let mut samples = vec![];
        let all = Instant::now();
        for i in 0..runs {
            let file = dir.join(format!("kube-{i}.yaml"));
            std::fs::write(&file, yaml(&format!("bench-{i}")))?;
            let start = Instant::now();
            let out = podman(&["kube", "play"]).arg(&file).output()?;
            let took = start.elapsed();
            let _ = podman(&["kube", "down", "--force"]).arg(&file).output();
            let _ = podman(&["pod", "rm", "-f", &format!("bench-{i}")]).output();
            if !out.status.success() {
                lines.push(format!("podman kube play failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
                break;
            }
            samples.push(took);
        }
        if !samples.is_empty() {
            let s = Stats::new(samples, all.elapsed());
            lines.push(line("podman kube play (same Pod, until it returns)", &s));
        }
    }
    Ok(lines)
}
