//! Pod sandboxes: the infra process that holds a Pod's network, IPC and UTS namespaces for as
//! long as the Pod lives (containers come and go and join them by `/proc/<pid>/ns/*`), the
//! Pod's shared `/dev/shm` (a tmpfs) and its cgroup. The infra process is the `skiff` binary
//! re-executed as `__pause`: it unshares the namespaces, sets the hostname, says `ok` and
//! sleeps until it is killed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::container::cgroup;
use crate::container::state::{self, read_json, write_json};
use crate::reaper;

/// A sandbox to create.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// The Pod's hostname (its name, or `spec.hostname`).
    pub hostname: String,
    /// The Pod's cgroup, relative to each hierarchy's root (`skiff/pods/<uid>`).
    pub cgroup: String,
    /// Limits of the Pod cgroup (the sum of its containers').
    pub resources: crate::container::config::Resources,
    /// Size of the shared /dev/shm in bytes.
    pub shm_size: u64,
    pub labels: BTreeMap<String, String>,
}

/// A sandbox as recorded on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxRecord {
    pub id: String,
    pub hostname: String,
    pub pid: i32,
    /// The infra process's start time (clock ticks), so a reused PID is not taken for it.
    pub start: u64,
    pub cgroup: String,
    pub created: String,
    pub labels: BTreeMap<String, String>,
}

impl SandboxRecord {
    /// Whether the infra process still runs.
    pub fn alive(&self) -> bool {
        state::alive(self.pid, self.start)
    }

    /// The path of one of the sandbox's namespaces (`net`, `ipc`, `uts`).
    pub fn namespace(&self, kind: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/{kind}", self.pid))
    }
}

/// Errors of sandbox operations.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("starting the sandbox: {0}")]
    Start(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SandboxError + '_ {
    move |source| SandboxError::Io { path: path.to_path_buf(), source }
}

/// Sandboxes kept under one root directory.
pub struct Sandboxes {
    root: PathBuf,
    self_exe: PathBuf,
}

impl Sandboxes {
    /// `self_exe` is the `skiff` binary, re-executed as `__pause`.
    pub fn new(root: impl Into<PathBuf>, self_exe: impl Into<PathBuf>) -> Sandboxes {
        Sandboxes { root: root.into(), self_exe: self_exe.into() }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The host directory bound at /dev/shm in each of the sandbox's containers.
    pub fn shm_dir(&self, id: &str) -> PathBuf {
        self.dir(id).join("shm")
    }

    /// A directory for the caller's records about the sandbox (its network), removed with it.
    pub fn data_dir(&self, id: &str) -> PathBuf {
        self.dir(id).join("data")
    }

    /// Starts the infra process and sets up /dev/shm and the cgroup.
    pub fn create(&self, id: &str, config: &SandboxConfig) -> Result<SandboxRecord, SandboxError> {
        let _span = tracing::info_span!("sandbox_create", id, hostname = %config.hostname).entered();
        let dir = self.dir(id);
        let shm = self.shm_dir(id);
        fs::create_dir_all(&shm).map_err(io_err(&shm))?;
        fs::create_dir_all(self.data_dir(id)).map_err(io_err(&dir))?;
        let size = if config.shm_size == 0 { 64 << 20 } else { config.shm_size };
        if !is_mount_point(&shm) {
            rustix::mount::mount(
                "shm",
                &shm,
                "tmpfs",
                rustix::mount::MountFlags::NOSUID
                    | rustix::mount::MountFlags::NODEV
                    | rustix::mount::MountFlags::NOEXEC,
                std::ffi::CString::new(format!("mode=1777,size={size}")).ok().as_deref(),
            )
            .map_err(|e| io_err(&shm)(e.into()))?;
        }
        let layout = cgroup::detect().map_err(io_err(Path::new("/proc/self/mountinfo")))?;
        let resources = crate::container::spec::linux_resources(&config.resources)
            .map_err(|e| io_err(Path::new(&config.cgroup))(std::io::Error::other(e.to_string())))?;
        let cg = layout.create(&config.cgroup, Some(&resources)).map_err(io_err(Path::new(&config.cgroup)))?;
        let mut child = Command::new(&self.self_exe)
            .arg("__pause")
            .arg(&config.hostname)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_err(&self.self_exe))?;
        let pid = child.id() as i32;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ok" {
            let _ = child.kill();
            let _ = child.wait();
            let message = line.trim().strip_prefix("error ").unwrap_or("the infra process exited").to_string();
            return Err(SandboxError::Start(message));
        }
        let record = SandboxRecord {
            id: id.to_string(),
            hostname: config.hostname.clone(),
            pid,
            start: state::start_time(pid).unwrap_or(0),
            cgroup: config.cgroup.clone(),
            created: state::now(),
            labels: config.labels.clone(),
        };
        // Recorded before anything else can fail or the agent can die, so that whoever cleans
        // up finds the infra process; a failure from here on takes the process back down.
        let path = dir.join("sandbox.json");
        let joined = write_json(&path, &record).map_err(io_err(&path)).and_then(|()| {
            cg.join_dirs().into_iter().try_for_each(|d| {
                let procs = d.join("cgroup.procs");
                fs::write(&procs, pid.to_string()).map_err(io_err(&procs))
            })
        });
        if let Err(e) = joined {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        reaper::adopt(child);
        Ok(record)
    }

    /// One sandbox by id.
    pub fn get(&self, id: &str) -> Option<SandboxRecord> {
        read_json(&self.dir(id).join("sandbox.json")).ok().flatten()
    }

    /// Every sandbox recorded (also those whose infra process is gone).
    pub fn list(&self) -> Vec<SandboxRecord> {
        let Ok(entries) = fs::read_dir(&self.root) else { return vec![] };
        let mut all: Vec<SandboxRecord> = entries
            .filter_map(Result::ok)
            .filter_map(|e| read_json(&e.path().join("sandbox.json")).ok().flatten())
            .collect();
        all.sort_by(|a, b| a.created.cmp(&b.created));
        all
    }

    /// Kills the infra process and removes /dev/shm, the cgroup (once its containers are gone)
    /// and the sandbox's directory. Idempotent.
    pub fn remove(&self, id: &str) -> Result<(), SandboxError> {
        let _span = tracing::info_span!("sandbox_remove", id).entered();
        let dir = self.dir(id);
        if let Some(record) = self.get(id) {
            if record.alive() {
                if let Some(pid) = rustix::process::Pid::from_raw(record.pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
                let deadline = Instant::now() + Duration::from_secs(5);
                while record.alive() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            if let Ok(layout) = cgroup::detect() {
                let cg = layout.cgroup(&record.cgroup);
                cg.kill_all();
                let _ = cg.remove();
                let mut parent = record.cgroup.as_str();
                while let Some((p, _)) = parent.rsplit_once('/') {
                    layout.cgroup(p).remove_if_empty();
                    parent = p;
                }
            }
        }
        let shm = self.shm_dir(id);
        if is_mount_point(&shm) {
            rustix::mount::unmount(&shm, rustix::mount::UnmountFlags::DETACH).map_err(|e| io_err(&shm)(e.into()))?;
        }
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&dir)(e)),
            _ => Ok(()),
        }
    }
}

/// Whether `path` is a mount point (its device differs from its parent's, or it is listed).
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else { return false };
    let Ok(path) = path.canonicalize() else { return false };
    let wanted = path.to_string_lossy().replace(' ', "\\040");
    text.lines().any(|l| l.split(' ').nth(4) == Some(wanted.as_str()))
}

/// Entry point of `skiff __pause <hostname>`: the infra process. Call it first thing in
/// `main`, while the process is single-threaded.
pub fn pause_main(hostname: &str) -> i32 {
    use std::io::Write;
    let _ = rustix::process::setsid();
    let result = crate::container::sys::unshare_pod_namespaces()
        .and_then(|_| rustix::system::sethostname(hostname.as_bytes()).map_err(io::Error::from));
    let mut out = io::stdout().lock();
    if let Err(e) = result {
        let _ = writeln!(out, "error {e}");
        return 1;
    }
    let _ = writeln!(out, "ok");
    let _ = out.flush();
    drop(out);
    if let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
    // SIGTERM and SIGKILL end it (their default action); nothing else needs doing.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
