//! A one-node cluster for Pod tests (as root): `skiff server` with its agent, a busybox image
//! imported, a bridge and Pod CIDR of the test's own. On drop the Pods are deleted through the
//! API, and then anything left (processes, /dev/shm mounts, cgroups, the bridge) is removed by
//! hand, so a failing test leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::images::{busybox_layer, docker_archive};
use super::{kubectls, Kubectl, Server};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Cluster {
    pub server: Option<Server>,
    pub tmp: tempfile::TempDir,
    pub bridge: String,
    pub cidr: String,
    pub kubectl: PathBuf,
    /// The runtime folders of this cluster's agents (more nodes add theirs), cleaned on drop.
    pub runtimes: Vec<PathBuf>,
    /// Flags beyond the harness's own.
    extra: Vec<String>,
}

/// Whether the test can run (it needs root); says so when skipped.
pub fn root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: needs root");
    false
}

/// Runs `ip` with `args`, ignoring failures.
fn ip(args: &[&str]) {
    let _ = Command::new("ip").args(args).output();
}

impl Cluster {
    /// A server with an agent (`node-a`) and `extra` flags.
    pub fn start(extra: &[&str]) -> Cluster {
        super::become_subreaper();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        // Test processes may run side by side: their bridges and CIDRs differ by process.
        let p = std::process::id() % 150;
        let bridge = format!("skt{p}-{n}");
        let cidr = format!("10.{}.{n}.0/24", 100 + p);
        ip(&["link", "del", &bridge]);
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &format!("skiff_{}", bridge.replace('-', "_"))])
            .output();
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("busybox.tar");
        docker_archive(&archive, &busybox_layer());
        let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["image", "--root"])
            .arg(tmp.path().join("runtime/images"))
            .arg("import")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let kubectl = kubectls().remove(0);
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let runtimes = vec![tmp.path().join("runtime")];
        let mut c = Cluster { server: None, tmp, bridge, cidr, kubectl, runtimes, extra };
        c.server = Some(Server::start_with(c.tmp.path(), &c.flags()));
        c.wait_for("node-a to be Ready", Duration::from_secs(30), || {
            c.k()
                .run(
                    &["get", "node", "node-a", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"],
                    None,
                )
                .stdout
                == b"True"
        });
        c
    }

    /// SIGKILLs the server and starts it again on the same data dir with the same flags.
    pub fn restart(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.kill9();
        }
        self.server = Some(Server::start_with(self.tmp.path(), &self.flags()));
    }

    /// The harness's flags, less those `extra` sets itself (a `--cluster-cidr` replaces the
    /// fixed `--pod-cidr`), then `extra`.
    fn flags(&self) -> Vec<&str> {
        let defaults = [
            ("--node-name", "node-a"),
            ("--node-ip", "127.0.0.1"),
            ("--bridge-name", &self.bridge),
            ("--pod-cidr", &self.cidr),
            ("--restart-backoff-ms", "500"),
            ("--kubelet-port", "0"),
            // Eviction only where a test asks for it, whatever this machine's free space.
            ("--eviction-hard", "memory.available<1Mi,nodefs.available<1Mi"),
        ];
        let set = |f: &str| self.extra.iter().any(|e| e == f || (f == "--pod-cidr" && e == "--cluster-cidr"));
        let mut flags: Vec<&str> = defaults.iter().filter(|(f, _)| !set(f)).flat_map(|(f, v)| [*f, *v]).collect();
        flags.extend(self.extra.iter().map(String::as_str));
        flags
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the server runs")
    }

    pub fn k(&self) -> Kubectl<'_> {
        self.server().kubectl(&self.kubectl)
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Waits until `f` holds; the server's log tail is in the failure message.
    pub fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            if start.elapsed() > limit {
                let log = self.server.as_ref().map(|s| s.log()).unwrap_or_default();
                panic!("timed out waiting for {what}; server log:\n{}", super::tail(&log, 40));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A JSON path of a Pod (`kubectl get pod NAME -o jsonpath=…`).
    pub fn pod_field(&self, name: &str, path: &str) -> String {
        let out = self.k().run(&["get", "pod", name, "-o", &format!("jsonpath={path}")], None);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn wait_phase(&self, name: &str, phase: &str) {
        self.wait_for(&format!("pod {name} to be {phase}"), Duration::from_secs(60), || {
            self.pod_field(name, "{.status.phase}") == phase
        });
    }

    /// PIDs of every infra process, container process and monitor this cluster's runtime
    /// recorded.
    fn runtime_pids(&self) -> Vec<i32> {
        let mut pids = vec![];
        for root in &self.runtimes {
            for (sub, file, keys) in
                [("sandboxes", "sandbox.json", &["pid"][..]), ("containers", "state.json", &["pid", "monitorPid"][..])]
            {
                for entry in std::fs::read_dir(root.join(sub)).into_iter().flatten().flatten() {
                    let Ok(text) = std::fs::read_to_string(entry.path().join(file)) else { continue };
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                    pids.extend(keys.iter().filter_map(|k| v[*k].as_i64()).map(|p| p as i32));
                }
            }
        }
        pids
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.server.is_some() {
            // The controllers first, so that none makes a new Pod (whose infra process could
            // outlive a server killed while starting it) while the Pods go.
            let controllers = "deployments,replicasets,replicationcontrollers,statefulsets,daemonsets,jobs,cronjobs";
            let _ = self.k().run(&["delete", controllers, "--all", "--all-namespaces", "--wait=false"], None);
            let _ = self.k().run(&["delete", "pods", "--all", "--grace-period=1", "--timeout=20s"], None);
        }
        if let Some(mut s) = self.server.take() {
            s.kill9();
        }
        let pids = self.runtime_pids();
        for p in pids.iter().filter_map(|p| rustix::process::Pid::from_raw(*p)) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        super::reap(&pids);
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let dir = self.dir().to_string_lossy().into_owned();
        let mut points: Vec<&str> =
            mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&dir)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = rustix::mount::unmount(p, rustix::mount::UnmountFlags::DETACH);
        }
        // Pod cgroups of this cluster: named by the Pods' uids in the sandboxes' records.
        let sandboxes = self.runtimes.iter().flat_map(|r| std::fs::read_dir(r.join("sandboxes")).into_iter().flatten());
        for entry in sandboxes.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("sandbox.json")) else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            let Some(cg) = v["cgroup"].as_str() else { continue };
            for c in ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices", "unified", ""] {
                let base = Path::new("/sys/fs/cgroup").join(c).join(cg);
                for child in std::fs::read_dir(&base).into_iter().flatten().flatten() {
                    if child.path().is_dir() {
                        let _ = std::fs::remove_dir(child.path());
                    }
                }
                let _ = std::fs::remove_dir(&base);
                // The QoS tier (`…/burstable`), when no other Pod is in it.
                if let Some(tier) = base.parent().filter(|t| t.ends_with("burstable") || t.ends_with("besteffort")) {
                    let _ = std::fs::remove_dir(tier);
                }
            }
        }
        ip(&["link", "del", &self.bridge]);
        let table = format!("skiff_{}", self.bridge.replace('-', "_"));
        let _ = Command::new("nft").args(["delete", "table", "ip", &table]).output();
    }
}
