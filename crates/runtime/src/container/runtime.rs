//! The runtime's API: create, start (through a monitor process), list, wait, stop, exec and
//! remove containers kept under one root directory. Synchronous: an async caller runs it on
//! a blocking thread. The container's own process is never forked from the caller, so a
//! multi-threaded caller is fine.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::image::ImageConfiguration;

use super::cgroup;
use super::config::ContainerConfig;
use super::process::{self, ProcessError};
use super::spec::{self, SpecContext, SpecError};
use super::state::{self, ContainerRecord, ExitState, RunState, Status};
use crate::image::{unpack_image, ContentStore, Digest, ImageIndex, Reference, StoreError, UnpackError};

/// Errors of the runtime's operations.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("{0:?} matches more than one container")]
    Ambiguous(String),
    #[error("container name {0:?} is already in use")]
    NameInUse(String),
    #[error("image {0} is not in the image store (pull or import it first)")]
    NoImage(String),
    #[error("container {id} is {state}")]
    State { id: String, state: String },
    #[error("starting the container: {0}")]
    Start(String),
    #[error(transparent)]
    Image(#[from] StoreError),
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RuntimeError + '_ {
    move |source| RuntimeError::Io { path: path.to_path_buf(), source }
}

/// A container as listed.
#[derive(Debug, Clone)]
pub struct Info {
    pub record: ContainerRecord,
    pub run: Option<RunState>,
    pub status: Status,
}

/// A started container; `attach` carries its output when the start asked for it.
pub struct Started {
    pub pid: i32,
    pub monitor: Child,
    pub attach: Option<Attach>,
}

/// Output of an attached container, demultiplexed.
pub enum Output {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Exit(ExitState),
}

/// The monitor's attach stream.
pub struct Attach(BufReader<ChildStdout>);

impl Attach {
    /// The next piece of output, or the exit; `None` when the monitor went away.
    pub fn next_output(&mut self) -> Option<Output> {
        let mut head = [0u8; 5];
        self.0.read_exact(&mut head).ok()?;
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut data = vec![0u8; len];
        self.0.read_exact(&mut data).ok()?;
        match head[0] {
            1 => Some(Output::Stdout(data)),
            2 => Some(Output::Stderr(data)),
            _ => serde_json::from_slice(&data).ok().map(Output::Exit),
        }
    }
}

/// What to run in a running container.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExecConfig {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub tty: bool,
}

/// Containers under `root`, images from the store at `images`.
pub struct Runtime {
    root: PathBuf,
    images: PathBuf,
    self_exe: PathBuf,
}

fn random_id() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Reads `etc/<name>` from the topmost layer that has it.
fn image_file(layers_top_first: &[PathBuf], name: &str) -> String {
    layers_top_first.iter().find_map(|l| fs::read_to_string(l.join("etc").join(name)).ok()).unwrap_or_default()
}

impl Runtime {
    /// `self_exe` is the `skiff` binary, re-executed as `__monitor` and `__exec`.
    pub fn new(root: impl Into<PathBuf>, images: impl Into<PathBuf>, self_exe: impl Into<PathBuf>) -> Runtime {
        Runtime { root: root.into(), images: images.into(), self_exe: self_exe.into() }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Creates a container (state Created): unpacks the image's layers, resolves the process,
    /// writes the spec and the /etc files it binds.
    pub fn create(&self, config: ContainerConfig) -> Result<String, RuntimeError> {
        let _span = tracing::info_span!("create", image = %config.image).entered();
        let store = ContentStore::open(&self.images)?;
        let index = ImageIndex::load(&self.images)?;
        let normalized = config.image.parse::<Reference>().map(|r| r.to_string()).unwrap_or_default();
        let (_, image) = index.lookup(&config.image).ok_or(RuntimeError::NoImage(config.image.clone()))?;
        let manifest: Digest = image.manifest.parse().map_err(|e| RuntimeError::Start(format!("{e}")))?;
        let config_digest: Digest = image.config.parse().map_err(|e| RuntimeError::Start(format!("{e}")))?;
        let image_config: ImageConfiguration = serde_json::from_slice(&store.read(&config_digest)?)
            .map_err(|e| RuntimeError::Start(format!("image config: {e}")))?;
        let mut layers = unpack_image(&store, &manifest)?;
        layers.reverse();

        fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let id = random_id().map_err(io_err(Path::new("/dev/urandom")))?;
        let name = config.name.clone().unwrap_or_else(|| id[..12].to_string());
        if self.list()?.iter().any(|c| c.record.name == name) {
            return Err(RuntimeError::NameInUse(name));
        }
        let dir = self.dir(&id);
        for d in ["rootfs", "upper", "work"] {
            fs::create_dir_all(dir.join(d)).map_err(io_err(&dir))?;
        }
        let hostname = config.hostname.clone().unwrap_or_else(|| id[..12].to_string());
        let passwd = image_file(&layers, "passwd");
        let group = image_file(&layers, "group");
        let process = process::resolve(&config, image_config.config().as_ref(), &hostname, &passwd, &group)?;
        let hosts = format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n");
        let resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for (file, content) in [("hostname", format!("{hostname}\n")), ("hosts", hosts), ("resolv.conf", resolv)] {
            fs::write(dir.join(file), content).map_err(io_err(&dir))?;
        }
        let parent = if config.cgroup_parent.is_empty() { "skiff".to_string() } else { config.cgroup_parent.clone() };
        let ctx = SpecContext {
            rootfs: dir.join("rootfs"),
            hostname,
            etc_files: vec![
                (dir.join("hostname"), "/etc/hostname"),
                (dir.join("hosts"), "/etc/hosts"),
                (dir.join("resolv.conf"), "/etc/resolv.conf"),
            ],
            cgroups_path: format!("{}/{id}", parent.trim_end_matches('/')),
            oom_score_adj_floor: fs::read_to_string("/proc/self/oom_score_adj")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        };
        let spec = spec::build(&config, &process, &ctx)?;
        let config_path = dir.join("config.json");
        spec.save(&config_path).map_err(|e| RuntimeError::Io { path: config_path, source: io::Error::other(e) })?;
        let record = ContainerRecord {
            id: id.clone(),
            name,
            image: normalized,
            image_id: image.config.clone(),
            created: state::now(),
            log_path: config.log.path.clone().unwrap_or_else(|| dir.join("container.log")),
            cgroup: ctx.cgroups_path.clone(),
            layers,
            config,
        };
        state::write_json(&dir.join("container.json"), &record).map_err(io_err(&dir))?;
        Ok(id)
    }

    /// Starts a created container through its monitor; returns once the process runs.
    pub fn start(&self, id: &str, attach: bool) -> Result<Started, RuntimeError> {
        let _span = tracing::info_span!("start", id).entered();
        let info = self.info(id)?;
        if info.status != Status::Created {
            return Err(RuntimeError::State { id: id.into(), state: describe(&info.status) });
        }
        let dir = self.dir(id);
        let mut command = Command::new(&self.self_exe);
        command.arg("__monitor").arg(&dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
        if attach {
            command.arg("attach");
        }
        let mut monitor = command.spawn().map_err(io_err(&self.self_exe))?;
        let stdout = monitor.stdout.take().ok_or_else(|| RuntimeError::Start("no monitor pipe".into()))?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(io_err(&dir))?;
        let line = line.trim_end();
        if let Some(pid) = line.strip_prefix("ok ").and_then(|p| p.parse().ok()) {
            let attach = attach.then(|| Attach(reader));
            return Ok(Started { pid, monitor, attach });
        }
        let _ = monitor.wait();
        let message = line.strip_prefix("error ").unwrap_or(line);
        Err(RuntimeError::Start(if message.is_empty() { "the monitor exited".into() } else { message.into() }))
    }

    /// One container by id, id prefix or name.
    pub fn info(&self, key: &str) -> Result<Info, RuntimeError> {
        let id = self.resolve(key)?;
        self.load(&id)
    }

    /// One container by its full id (no lookup among the others).
    pub fn get(&self, id: &str) -> Result<Info, RuntimeError> {
        self.load(id)
    }

    fn load(&self, id: &str) -> Result<Info, RuntimeError> {
        let dir = self.dir(id);
        let record: ContainerRecord = state::read_json(&dir.join("container.json"))
            .map_err(io_err(&dir))?
            .ok_or_else(|| RuntimeError::NotFound(id.into()))?;
        let run: Option<RunState> = state::read_json(&dir.join("state.json")).map_err(io_err(&dir))?;
        let exit: Option<ExitState> = state::read_json(&dir.join("exit.json")).map_err(io_err(&dir))?;
        let status = state::status(run.as_ref(), exit.as_ref(), state::alive);
        Ok(Info { record, run, status })
    }

    /// The full id for an id, a unique id prefix or a name.
    pub fn resolve(&self, key: &str) -> Result<String, RuntimeError> {
        let ids = self.ids()?;
        if ids.iter().any(|i| i == key) {
            return Ok(key.to_string());
        }
        for id in &ids {
            if let Ok(Some(r)) = state::read_json::<ContainerRecord>(&self.dir(id).join("container.json")) {
                if r.name == key {
                    return Ok(id.clone());
                }
            }
        }
        let matches: Vec<_> = ids.iter().filter(|i| !key.is_empty() && i.starts_with(key)).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(RuntimeError::NotFound(key.into())),
            _ => Err(RuntimeError::Ambiguous(key.into())),
        }
    }

    fn ids(&self) -> Result<Vec<String>, RuntimeError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io_err(&self.root)(e)),
        };
        Ok(entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
    }

    /// Every container, oldest first (found again from disk after a restart).
    pub fn list(&self) -> Result<Vec<Info>, RuntimeError> {
        let mut all: Vec<Info> = self.ids()?.iter().filter_map(|id| self.load(id).ok()).collect();
        all.sort_by(|a, b| a.record.created.cmp(&b.record.created));
        Ok(all)
    }

    /// Waits for the container to exit (up to `timeout`); `None` when it still runs.
    pub fn wait(&self, key: &str, timeout: Option<Duration>) -> Result<Option<ExitState>, RuntimeError> {
        let id = self.resolve(key)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let info = self.load(&id)?;
            match info.status {
                Status::Exited(e) => return Ok(Some(e)),
                Status::Created => return Err(RuntimeError::State { id, state: "created".into() }),
                Status::Unknown => return Ok(None),
                Status::Running { .. } => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            // The monitor writes exit.json and then exits: wait on its pidfd when possible.
            let run = info.run.as_ref();
            let pidfd = run
                .and_then(|r| rustix::process::Pid::from_raw(r.monitor_pid))
                .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok());
            let slice = Duration::from_millis(50);
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()).min(slice)).unwrap_or(slice);
            match pidfd {
                Some(fd) if run.is_some_and(|r| state::alive(r.monitor_pid, r.monitor_start)) => {
                    let ts = rustix::time::Timespec { tv_sec: 0, tv_nsec: left.as_nanos() as i64 };
                    let mut fds = [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)];
                    let _ = rustix::event::poll(&mut fds, Some(&ts));
                }
                _ => std::thread::sleep(left.min(Duration::from_millis(10))),
            }
        }
    }

    /// Sends `signal` to the container's process.
    pub fn kill(&self, key: &str, signal: rustix::process::Signal) -> Result<(), RuntimeError> {
        let info = self.info(key)?;
        match info.status {
            Status::Running { pid } => {
                if let Some(p) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, signal);
                }
                Ok(())
            }
            other => Err(RuntimeError::State { id: info.record.id, state: describe(&other) }),
        }
    }

    /// SIGTERM, then SIGKILL to everything in the container's cgroup after `grace`.
    pub fn stop(&self, key: &str, grace: Duration) -> Result<Option<ExitState>, RuntimeError> {
        let info = self.info(key)?;
        let id = info.record.id.clone();
        if !matches!(info.status, Status::Running { .. }) {
            return Ok(match info.status {
                Status::Exited(e) => Some(e),
                _ => None,
            });
        }
        let _span = tracing::info_span!("stop", id).entered();
        self.kill(&id, rustix::process::Signal::TERM)?;
        if let Some(exit) = self.wait(&id, Some(grace))? {
            return Ok(Some(exit));
        }
        if let Ok(layout) = cgroup::detect() {
            layout.cgroup(&info.record.cgroup).kill_all();
        }
        let _ = self.kill(&id, rustix::process::Signal::KILL);
        self.wait(&id, Some(Duration::from_secs(10)))
    }

    /// Removes a container that is not running (`force` stops it first).
    pub fn remove(&self, key: &str, force: bool) -> Result<(), RuntimeError> {
        let info = self.info(key)?;
        let id = info.record.id.clone();
        if let Status::Running { .. } = info.status {
            if !force {
                return Err(RuntimeError::State { id, state: "running (stop it first or force)".into() });
            }
            self.stop(&id, Duration::ZERO)?;
        }
        if let Ok(layout) = cgroup::detect() {
            let cg = layout.cgroup(&info.record.cgroup);
            let _ = cg.remove();
            if let Some((parent, _)) = info.record.cgroup.rsplit_once('/') {
                layout.cgroup(parent).remove_if_empty();
            }
        }
        let dir = self.dir(&id);
        fs::remove_dir_all(&dir).map_err(io_err(&dir))
    }

    /// Runs a new process in a running container (its namespaces, cgroup, user and
    /// capabilities) through the `__exec` helper; the child's stdio is `stdio`.
    pub fn exec(&self, key: &str, exec: &ExecConfig, stdio: [Stdio; 3]) -> Result<Child, RuntimeError> {
        let (info, _) = self.running(key)?;
        self.spawn_exec(&info, exec, stdio)
    }

    /// A running container and its process's PID.
    fn running(&self, key: &str) -> Result<(Info, i32), RuntimeError> {
        let info = self.info(key)?;
        match info.status {
            Status::Running { pid } => Ok((info, pid)),
            _ => Err(RuntimeError::State { id: info.record.id.clone(), state: describe(&info.status) }),
        }
    }

    fn spawn_exec(&self, info: &Info, exec: &ExecConfig, stdio: [Stdio; 3]) -> Result<Child, RuntimeError> {
        let json = serde_json::to_string(exec).map_err(|e| RuntimeError::Start(e.to_string()))?;
        let [stdin, stdout, stderr] = stdio;
        Command::new(&self.self_exe)
            .arg("__exec")
            .arg(self.dir(&info.record.id))
            .arg(json)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(io_err(&self.self_exe))
    }

    /// [`Runtime::exec`] with a new terminal from the container's own devpts (so that it has
    /// a name inside): the process gets the slave side as its stdio and controlling terminal;
    /// the caller reads and writes the returned master side (reads end with an error once the
    /// process and its children have closed the terminal).
    pub fn exec_tty(
        &self,
        key: &str,
        exec: &ExecConfig,
        size: Option<rustix::termios::Winsize>,
    ) -> Result<(Child, fs::File), RuntimeError> {
        let (info, pid) = self.running(key)?;
        let ptmx = PathBuf::from(format!("/proc/{pid}/root/dev/pts/ptmx"));
        let (master, slave) =
            super::console::open_pty(&ptmx).map_err(|e| RuntimeError::Start(format!("allocating a terminal: {e}")))?;
        let (master, slave) = (fs::File::from(master), fs::File::from(slave));
        if let Some(size) = size {
            let _ = rustix::termios::tcsetwinsize(&master, size);
        }
        let clone = |f: &fs::File| f.try_clone().map(Stdio::from).map_err(io_err(&ptmx));
        let exec = ExecConfig { tty: true, ..exec.clone() };
        let child = self.spawn_exec(&info, &exec, [clone(&slave)?, clone(&slave)?, Stdio::from(slave)])?;
        Ok((child, master))
    }
}

/// A status in words, as `container ls` prints it.
pub fn describe(status: &Status) -> String {
    match status {
        Status::Created => "Created".into(),
        Status::Running { .. } => "Running".into(),
        Status::Exited(e) => format!("Exited ({}) {}", e.exit_code, e.reason),
        Status::Unknown => "Unknown".into(),
    }
}
