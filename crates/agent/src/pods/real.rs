//! [`PodRuntime`] on the node's real parts: skiff-runtime's sandboxes and containers, a
//! skiff-net provider for the Pod network, the image store (pulls through the registries
//! configuration), and per-Pod files under `<agent dir>/pods/<uid>/` (volumes, /etc files,
//! CRI logs `logs/<container>/<attempt>.log`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use skiff_net::{Network, PodNetworkRequest};
use std::io::Read;
use std::process::Stdio;

use skiff_runtime::container::{ExecConfig, Runtime, Status};
use skiff_runtime::image::{pull, Auth, ContentStore, ImageIndex, Quiet, Reference, RegistriesConfig};
use skiff_runtime::sandbox::{SandboxConfig, Sandboxes};

use super::convert::{
    self, PodContext, LABEL_ATTEMPT, LABEL_CONTAINER, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID,
    LABEL_SANDBOX, LABEL_TERMINATION_LOG, LABEL_TERMINATION_POLICY,
};
use super::index::PodIndex;
use super::model::{
    ContainerLog, ExecProcess, ObservedContainer, ObservedPod, ObservedSandbox, ObservedState, PodRuntime,
    RuntimeFailure,
};
use super::pullsecrets::{self, Credential, Keyring};
use super::sources::PodSources;
use super::volumes;

/// Where the runtime's parts live.
pub struct RuntimePaths {
    pub containers: PathBuf,
    pub sandboxes: PathBuf,
    pub images: PathBuf,
    pub registries: PathBuf,
    /// Per-Pod files.
    pub pods: PathBuf,
    /// The `skiff` binary (monitors, infra processes).
    pub self_exe: PathBuf,
}

/// The real node runtime.
pub struct SkiffPodRuntime {
    containers: Runtime,
    sandboxes: Sandboxes,
    network: Arc<dyn Network>,
    paths: RuntimePaths,
    node_ip: String,
    /// Pulls write the image index: one at a time.
    pulls: Mutex<()>,
    handle: tokio::runtime::Handle,
    /// Termination messages of exited containers (read once: an exited container's files do
    /// not change).
    messages: Mutex<BTreeMap<String, Option<String>>>,
    /// Record ids by Pod (built on first use).
    index: Mutex<Option<PodIndex>>,
}

fn time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

fn failure(reason: &str) -> impl FnOnce(skiff_runtime::container::RuntimeError) -> RuntimeFailure + '_ {
    move |e| RuntimeFailure::new(reason, e)
}

impl SkiffPodRuntime {
    /// Runs `f` on the index, built from the records on disk the first time.
    fn with_index<T>(&self, f: impl FnOnce(&mut PodIndex) -> T) -> Result<T, RuntimeFailure> {
        let mut guard = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let sandboxes =
                self.sandboxes.list().into_iter().map(|s| (label(&s.labels, LABEL_POD_UID).to_string(), s.id));
            let containers = self.containers.list().map_err(failure("RuntimeError"))?;
            let containers = containers
                .into_iter()
                .map(|i| (label(&i.record.config.labels, LABEL_POD_UID).to_string(), i.record.id));
            *guard = Some(PodIndex::build(sandboxes, containers));
        }
        Ok(f(guard.as_mut().expect("built above")))
    }

    /// Must be called inside a tokio runtime (pulls run on it).
    pub fn new(paths: RuntimePaths, network: Arc<dyn Network>, node_ip: String) -> SkiffPodRuntime {
        SkiffPodRuntime {
            containers: Runtime::new(&paths.containers, &paths.images, &paths.self_exe),
            sandboxes: Sandboxes::new(&paths.sandboxes, &paths.self_exe),
            network,
            paths,
            node_ip,
            pulls: Mutex::new(()),
            handle: tokio::runtime::Handle::current(),
            messages: Mutex::new(BTreeMap::new()),
            index: Mutex::new(None),
        }
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.paths.pods.join(uid)
    }

    /// The CRI log of one attempt of a container.
    pub fn log_path(pods: &std::path::Path, uid: &str, container: &str, attempt: u32) -> PathBuf {
        pods.join(uid).join("logs").join(container).join(format!("{attempt}.log"))
    }

    /// [`termination_message`] of an exited container, read once.
    fn termination_message(
        &self,
        id: &str,
        labels: &BTreeMap<String, String>,
        log: &Path,
        code: i32,
    ) -> Option<String> {
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.entry(id.to_string()).or_insert_with(|| termination_message(labels, log, code)).clone()
    }

    fn image_present(&self, image: &str) -> bool {
        ImageIndex::load(&self.paths.images).is_ok_and(|index| index.lookup(image).is_some())
    }
}

/// What an exited container leaves as its message: its termination message file (at most
/// 4 KiB), or with FallbackToLogsOnError after a failure the end of its log (80 lines, 2 KiB).
fn termination_message(labels: &BTreeMap<String, String>, log: &Path, exit_code: i32) -> Option<String> {
    let file = label(labels, LABEL_TERMINATION_LOG);
    if !file.is_empty() {
        let mut text = Vec::new();
        if let Ok(f) = fs::File::open(file) {
            let _ = f.take(4096).read_to_end(&mut text);
        }
        if !text.is_empty() {
            return Some(String::from_utf8_lossy(&text).into_owned());
        }
    }
    if label(labels, LABEL_TERMINATION_POLICY) != "FallbackToLogsOnError" || exit_code == 0 {
        return None;
    }
    let data = fs::read(log).ok()?;
    let mut lines: Vec<Vec<u8>> = vec![];
    let mut partial = false;
    for record in data.split(|b| *b == b'\n').filter_map(skiff_runtime::container::log::parse_line) {
        match lines.last_mut() {
            Some(last) if partial => last.extend_from_slice(record.content),
            _ => lines.push(record.content.to_vec()),
        }
        partial = record.partial;
    }
    let tail = lines[lines.len().saturating_sub(80)..].join(&b'\n');
    let tail = &tail[tail.len().saturating_sub(2048)..];
    (!tail.is_empty()).then(|| String::from_utf8_lossy(tail).into_owned())
}

fn label<'a>(labels: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    labels.get(key).map(String::as_str).unwrap_or_default()
}

impl PodRuntime for SkiffPodRuntime {
    fn observe(&self, uid: &str) -> Result<ObservedPod, RuntimeFailure> {
        let mut observed = ObservedPod::default();
        let (sandbox_ids, container_ids) = self.with_index(|i| i.of(uid))?;
        let mut gone = vec![];
        let sandboxes: Vec<_> = sandbox_ids
            .iter()
            .filter_map(|id| {
                let s = self.sandboxes.get(id);
                if s.is_none() {
                    gone.push(id.clone());
                }
                s
            })
            .collect();
        let mut all = vec![];
        for id in container_ids {
            match self.containers.get(&id) {
                Ok(info) => all.push(info),
                Err(skiff_runtime::container::RuntimeError::NotFound(_)) => gone.push(id),
                Err(e) => return Err(failure("RuntimeError")(e)),
            }
        }
        if !gone.is_empty() {
            self.with_index(|i| gone.iter().for_each(|id| i.forget(id)))?;
        }
        for s in sandboxes {
            let recorded = fs::read_to_string(self.sandboxes.data_dir(&s.id).join("ip")).ok();
            let ip = match recorded.and_then(|t| t.trim().parse().ok()) {
                Some(ip) => Some(ip),
                None => self.network.address(&s.id).ok().flatten(),
            };
            let attempt = label(&s.labels, LABEL_ATTEMPT).parse().unwrap_or(0);
            observed.sandboxes.push(ObservedSandbox { alive: s.alive(), id: s.id, attempt, ip });
        }
        observed.sandboxes.sort_by_key(|s| s.attempt);
        for info in all {
            let labels = &info.record.config.labels;
            let started_at = info.run.as_ref().and_then(|r| time(&r.started_at));
            let state = match info.status {
                Status::Created => ObservedState::Created,
                Status::Running { .. } => ObservedState::Running { started_at },
                Status::Exited(e) => ObservedState::Exited {
                    exit_code: e.exit_code,
                    reason: e.reason,
                    message: self
                        .termination_message(&info.record.id, labels, &info.record.log_path, e.exit_code)
                        .or(e.message),
                    started_at,
                    finished_at: time(&e.finished_at),
                },
                Status::Unknown => ObservedState::Exited {
                    exit_code: 137,
                    reason: "ContainerStatusUnknown".into(),
                    message: Some("The container could not be located when the pod was terminated".into()),
                    started_at,
                    finished_at: started_at,
                },
            };
            observed.containers.push(ObservedContainer {
                id: info.record.id.clone(),
                name: label(labels, LABEL_CONTAINER).to_string(),
                attempt: label(labels, LABEL_ATTEMPT).parse().unwrap_or(0),
                sandbox: label(labels, LABEL_SANDBOX).to_string(),
                image: info.record.image.clone(),
                image_id: info.record.image_id.clone(),
                state,
            });
        }
        observed.containers.sort_by_key(|c| c.attempt);
        Ok(observed)
    }

    fn pods(&self) -> Result<Vec<String>, RuntimeFailure> {
        let mut uids: Vec<String> =
            self.sandboxes.list().iter().map(|s| label(&s.labels, LABEL_POD_UID).to_string()).collect();
        for info in self.containers.list().map_err(failure("RuntimeError"))? {
            uids.push(label(&info.record.config.labels, LABEL_POD_UID).to_string());
        }
        if let Ok(entries) = fs::read_dir(&self.paths.pods) {
            uids.extend(entries.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()));
        }
        uids.retain(|u| !u.is_empty());
        uids.sort();
        uids.dedup();
        Ok(uids)
    }

    fn memory_usage(&self, pod_uid: &str) -> Option<u64> {
        let (sandboxes, _) = self.with_index(|i| i.of(pod_uid)).ok()?;
        let record = sandboxes.iter().rev().find_map(|id| self.sandboxes.get(id))?;
        skiff_runtime::container::cgroup::detect().ok()?.cgroup(&record.cgroup).memory_working_set()
    }

    fn disk_usage(&self, pod_uid: &str) -> Option<u64> {
        fn size(path: &std::path::Path) -> u64 {
            match fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => {
                    fs::read_dir(path).into_iter().flatten().flatten().map(|e| size(&e.path())).sum()
                }
                Ok(m) => m.len(),
                Err(_) => 0,
            }
        }
        let dir = self.paths.pods.join(pod_uid);
        dir.exists().then(|| size(&dir))
    }

    fn create_sandbox(&self, pod: &Pod, attempt: u32) -> Result<ObservedSandbox, RuntimeFailure> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let id = format!("{uid}-{attempt}");
        let spec = pod.spec.as_ref();
        let mut hostname =
            spec.and_then(|s| s.hostname.clone()).or_else(|| pod.metadata.name.clone()).unwrap_or_default();
        hostname.truncate(63);
        let config = SandboxConfig {
            hostname: hostname.clone(),
            cgroup: convert::pod_cgroup(pod),
            resources: convert::pod_resources(pod)?,
            shm_size: 0,
            labels: BTreeMap::from([
                (LABEL_POD_UID.to_string(), uid.clone()),
                (LABEL_ATTEMPT.to_string(), attempt.to_string()),
            ]),
        };
        let fail = |e: &dyn std::fmt::Display| {
            RuntimeFailure::new("CreatePodSandboxError", format!("creating the sandbox: {e}"))
        };
        let record = self.sandboxes.create(&id, &config).map_err(|e| fail(&e))?;
        self.with_index(|i| i.add_sandbox(&uid, &id))?;
        let request = PodNetworkRequest {
            id: id.clone(),
            netns: record.namespace("net"),
            port_mappings: convert::host_ports(pod),
            pod_namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            pod_name: pod.metadata.name.clone().unwrap_or_default(),
            pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
        };
        let network = self.network.setup(&request);
        let network = match network {
            Ok(n) => n,
            Err(e) => {
                let _ = self.sandboxes.remove(&id);
                return Err(fail(&format!("setting up the network: {e}")));
            }
        };
        let _ = fs::write(self.sandboxes.data_dir(&id).join("ip"), network.ip.to_string());
        let dir = self.pod_dir(&uid);
        fs::create_dir_all(&dir).map_err(|e| fail(&e))?;
        let resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for (file, content) in [
            ("etc-hosts", convert::etc_hosts(pod, &network.ip.to_string())),
            ("etc-hostname", format!("{hostname}\n")),
            ("resolv.conf", resolv),
        ] {
            fs::write(dir.join(file), content).map_err(|e| fail(&e))?;
        }
        Ok(ObservedSandbox { id, attempt, alive: true, ip: Some(network.ip) })
    }

    fn remove_sandbox(&self, id: &str) -> Result<(), RuntimeFailure> {
        let fail = |e: &dyn std::fmt::Display| RuntimeFailure::new("KillPodSandboxError", e.to_string());
        self.network.teardown(id).map_err(|e| fail(&e))?;
        self.sandboxes.remove(id).map_err(|e| fail(&e))?;
        self.with_index(|i| i.forget(id))
    }

    fn remove_pod_data(&self, uid: &str) -> Result<(), RuntimeFailure> {
        volumes::remove(&self.pod_dir(uid)).map_err(|e| RuntimeFailure::new("KillPodError", e))
    }

    fn ensure_image(&self, _pod: &Pod, container: &Container, keyring: &Keyring) -> Result<bool, RuntimeFailure> {
        let image = container.image.clone().unwrap_or_default();
        let policy = container.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
        let present = self.image_present(&image);
        match policy {
            "Never" if present => return Ok(false),
            "Never" => {
                return Err(RuntimeFailure::new(
                    "ErrImageNeverPull",
                    format!("Container image \"{image}\" is not present with pull policy of Never"),
                ))
            }
            "IfNotPresent" if present => return Ok(false),
            _ => {}
        }
        let _guard = self.pulls.lock().unwrap_or_else(|e| e.into_inner());
        let pull_failed = |e: &dyn std::fmt::Display| {
            RuntimeFailure::new("ErrImagePull", format!("failed to pull and unpack image \"{image}\": {e}"))
        };
        let reference: Reference = image.parse().map_err(|e| pull_failed(&e))?;
        let store = ContentStore::open(&self.paths.images).map_err(|e| pull_failed(&e))?;
        let mut index = ImageIndex::load(&self.paths.images).map_err(|e| pull_failed(&e))?;
        let config = if self.paths.registries.exists() {
            RegistriesConfig::load(&self.paths.registries).map_err(|e| pull_failed(&e))?
        } else {
            RegistriesConfig::default()
        };
        // The Pod's credentials for this registry, each in turn, as the kubelet tries them;
        // without any, the node's own (registries.yaml) or none.
        let mut attempts: Vec<Option<Credential>> =
            pullsecrets::lookup(keyring, &reference.domain, &reference.path).into_iter().map(Some).collect();
        if attempts.is_empty() {
            attempts.push(None);
        }
        let mut errors = vec![];
        for c in attempts {
            let mut config = config.clone();
            if let Some(c) = c {
                let host = config.configs.entry(reference.domain.clone()).or_default();
                host.auth = Some(Auth { username: c.username, password: c.password });
            }
            match self.handle.block_on(pull(&reference, &store, &mut index, &config, &Quiet)) {
                Ok(_) => return Ok(true),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(pull_failed(&errors.join("; ")))
    }

    fn start_container(
        &self,
        pod: &Pod,
        sandbox: &ObservedSandbox,
        container: &Container,
        attempt: u32,
        sources: &PodSources,
    ) -> Result<String, RuntimeFailure> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let dir = self.pod_dir(&uid);
        let record = self
            .sandboxes
            .get(&sandbox.id)
            .ok_or_else(|| RuntimeFailure::new("CreateContainerError", format!("sandbox {} is gone", sandbox.id)))?;
        let ctx = PodContext {
            namespaces: PathBuf::from(format!("/proc/{}/ns", record.pid)),
            shm: self.sandboxes.shm_dir(&sandbox.id),
            etc_hosts: dir.join("etc-hosts"),
            etc_hostname: dir.join("etc-hostname"),
            resolv_conf: dir.join("resolv.conf"),
            volumes: volumes::prepare(pod, &dir.join("volumes"), sources)?,
            cgroup_parent: record.cgroup.clone(),
            log_path: Self::log_path(&self.paths.pods, &uid, &container.name, attempt),
            pod_ip: sandbox.ip.map(|i| i.to_string()).unwrap_or_default(),
            node_ip: self.node_ip.clone(),
            sources: sources.clone(),
            termination_log: dir.join("termination").join(format!("{}-{attempt}", container.name)),
        };
        if let Some(parent) = ctx.termination_log.parent() {
            fs::create_dir_all(parent).map_err(|e| RuntimeFailure::new("CreateContainerError", e))?;
        }
        fs::write(&ctx.termination_log, "").map_err(|e| RuntimeFailure::new("CreateContainerError", e))?;
        if let Some(parent) = ctx.log_path.parent() {
            fs::create_dir_all(parent).map_err(|e| RuntimeFailure::new("CreateContainerError", e))?;
        }
        let mut config = convert::container_config(pod, container, attempt, &ctx)?;
        config.labels.insert(LABEL_SANDBOX.to_string(), sandbox.id.clone());
        let id = self.containers.create(config).map_err(failure("CreateContainerError"))?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        self.with_index(|i| i.add_container(&uid, &id))?;
        match self.containers.start(&id, false) {
            Ok(started) => {
                skiff_runtime::reaper::adopt(started.monitor);
                Ok(id)
            }
            Err(e) => {
                // The attempt stays recorded (exit.json says StartError) so that back-off applies.
                Err(RuntimeFailure::new("RunContainerError", e))
            }
        }
    }

    fn find_container(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<Option<ContainerLog>, RuntimeFailure> {
        let mut attempts: Vec<(u32, ContainerLog)> = self
            .containers
            .list()
            .map_err(failure("RuntimeError"))?
            .into_iter()
            .filter(|i| {
                let l = &i.record.config.labels;
                label(l, LABEL_POD_NAMESPACE) == namespace
                    && label(l, LABEL_POD_NAME) == pod
                    && label(l, LABEL_CONTAINER) == container
                    && i.status != Status::Created
            })
            .map(|i| {
                let attempt = label(&i.record.config.labels, LABEL_ATTEMPT).parse().unwrap_or(0);
                (attempt, ContainerLog { id: i.record.id.clone(), path: i.record.log_path.clone() })
            })
            .collect();
        attempts.sort_by_key(|(a, _)| std::cmp::Reverse(*a));
        Ok(attempts.into_iter().nth(usize::from(previous)).map(|(_, log)| log))
    }

    fn exec_sync(&self, id: &str, command: &[String], timeout: Duration) -> Result<(i32, String), RuntimeFailure> {
        let fail = |e: &dyn std::fmt::Display| RuntimeFailure::new("ExecError", e.to_string());
        let (mut reader, writer) = std::io::pipe().map_err(|e| fail(&e))?;
        let exec = ExecConfig { args: command.to_vec(), env: vec![], tty: false };
        let stdio = [Stdio::null(), Stdio::from(writer.try_clone().map_err(|e| fail(&e))?), Stdio::from(writer)];
        let mut child = self.containers.exec(id, &exec, stdio).map_err(|e| fail(&e))?;
        // Output is read beside the wait so that a full pipe never blocks the command.
        let output = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = reader.by_ref().take(64 * 1024).read_to_end(&mut bytes);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            String::from_utf8_lossy(&bytes).into_owned()
        });
        let deadline = std::time::Instant::now() + timeout;
        let status = loop {
            match child.try_wait().map_err(|e| fail(&e))? {
                Some(status) => break status,
                None if std::time::Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(&format!("command timed out after {}s", timeout.as_secs())));
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let output = output.join().unwrap_or_default();
        Ok((skiff_runtime::container::sys::exit_code(status).0, output))
    }

    fn exec_stream(&self, id: &str, command: &[String], tty: bool) -> Result<ExecProcess, RuntimeFailure> {
        let fail = |e: &dyn std::fmt::Display| RuntimeFailure::new("ExecError", e.to_string());
        let exec = ExecConfig { args: command.to_vec(), env: vec![], tty };
        if tty {
            let (child, master) = self.containers.exec_tty(id, &exec, None).map_err(|e| fail(&e))?;
            return Ok(ExecProcess { child, terminal: Some(master) });
        }
        let stdio = [Stdio::piped(), Stdio::piped(), Stdio::piped()];
        let child = self.containers.exec(id, &exec, stdio).map_err(|e| fail(&e))?;
        Ok(ExecProcess { child, terminal: None })
    }

    fn pod_netns(&self, namespace: &str, pod: &str) -> Result<Option<PathBuf>, RuntimeFailure> {
        let containers = self.containers.list().map_err(failure("RuntimeError"))?;
        let live = containers
            .iter()
            .filter(|i| {
                let l = &i.record.config.labels;
                label(l, LABEL_POD_NAMESPACE) == namespace && label(l, LABEL_POD_NAME) == pod
            })
            .filter_map(|i| self.sandboxes.get(label(&i.record.config.labels, LABEL_SANDBOX)))
            .find(|s| s.alive());
        Ok(live.map(|s| s.namespace("net")))
    }

    fn is_running(&self, id: &str) -> bool {
        self.containers.info(id).is_ok_and(|i| matches!(i.status, Status::Running { .. }))
    }

    fn stop_container(&self, id: &str, grace: Duration) -> Result<(), RuntimeFailure> {
        self.containers.stop(id, grace).map(|_| ()).map_err(failure("KillContainerError"))
    }

    fn remove_container(&self, id: &str) -> Result<(), RuntimeFailure> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        self.containers.remove(id, true).map_err(failure("RemoveContainerError"))?;
        self.with_index(|i| i.forget(id))
    }
}
