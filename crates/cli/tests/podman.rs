//! The same Pod YAMLs under `podman kube play` and under skiff (as root, where podman is
//! installed): what a user can observe — logs, output of commands run in the containers,
//! shared localhost and volumes, hostnames, init order, exit codes — must be the same.
//!
//! Podman runs with a private store (vfs, under the test's temporary folder) and without a
//! network (`--network none`: the Pod still has its own localhost), so it touches nothing on
//! the machine and leaves nothing behind.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::cluster::{root, Cluster};

/// The seed's first Pod.
const MYAPP: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels: {app: myapp}
spec:
  nodeName: node-a
  containers:
  - name: myapp-container
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo Hello Kubernetes! && sleep 3600']
"#;

/// Two containers, one volume, one localhost: the writer fills the volume, the server serves it.
const SHARED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  nodeName: node-a
  volumes:
  - name: html
    emptyDir: {}
  containers:
  - name: server
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['httpd', '-f', '-p', '8080', '-h', '/html']
    volumeMounts: [{name: html, mountPath: /html}]
  - name: writer
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    env: [{name: GREETING, value: hello from the writer}]
    command: ['sh', '-c', 'echo "$GREETING" > /data/index.html && echo written && sleep 3600']
    volumeMounts: [{name: html, mountPath: /data}]
"#;

/// An init container prepares the volume; the app container only starts afterwards.
/// (OnFailure: podman 4.3 gives init containers the Pod's restart policy, and with Always it
/// restarts the finished init container and then fails to remove it.)
const INIT: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: archive
spec:
  nodeName: node-a
  restartPolicy: OnFailure
  initContainers:
  - name: fetch
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'cp /var/www/index.html /work/page.html && echo init-done > /work/order']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'cat /work/order; cat /work/page.html; echo app-started; sleep 3600']
    volumeMounts: [{name: work, mountPath: /work}]
  volumes:
  - name: work
    emptyDir: {}
"#;

/// A container that fails, never restarted.
const FAILS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: fails
spec:
  nodeName: node-a
  restartPolicy: Never
  containers:
  - name: job
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo giving up >&2; exit 3']
"#;

/// What the user can see of a Pod, whoever runs it.
trait Runner {
    fn play(&self, yaml: &str);
    fn logs(&self, pod: &str, container: &str) -> String;
    fn exec(&self, pod: &str, container: &str, script: &str) -> String;
    fn exit_code(&self, pod: &str, container: &str) -> Option<i64>;
}

struct Skiff<'a>(&'a Cluster);

impl Runner for Skiff<'_> {
    fn play(&self, yaml: &str) {
        self.0.k().ok(&["apply", "-f", "-"], Some(yaml));
    }
    fn logs(&self, pod: &str, container: &str) -> String {
        String::from_utf8_lossy(&self.0.k().run(&["logs", pod, "-c", container], None).stdout).into_owned()
    }
    fn exec(&self, pod: &str, container: &str, script: &str) -> String {
        String::from_utf8_lossy(&self.0.k().run(&["exec", pod, "-c", container, "--", "sh", "-c", script], None).stdout)
            .into_owned()
    }
    fn exit_code(&self, pod: &str, container: &str) -> Option<i64> {
        let path = format!("{{.status.containerStatuses[?(@.name==\"{container}\")].state.terminated.exitCode}}");
        self.0.pod_field(pod, &path).trim().parse().ok()
    }
}

struct Podman {
    bin: PathBuf,
    dir: PathBuf,
}

impl Podman {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        // This machine's hard limits are below podman's default rlimits (see machine.md).
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("podman")
    }

    fn start(bin: PathBuf, dir: &Path, archive: &Path) -> Podman {
        let dir = dir.join("podman");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\nruntime = \"runc\"\n",
        )
        .unwrap();
        let p = Podman { bin, dir };
        let out = p.cmd(&["load", "-i"]).arg(archive).output().unwrap();
        assert!(out.status.success(), "podman load: {}", String::from_utf8_lossy(&out.stderr));
        p
    }
}

impl Runner for Podman {
    fn play(&self, yaml: &str) {
        let name = format!("kube-{}.yaml", self.dir.read_dir().unwrap().count());
        let file = self.dir.join(name);
        std::fs::write(&file, yaml).unwrap();
        let out = self.cmd(&["kube", "play", "--network", "none"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "podman kube play: {}", String::from_utf8_lossy(&out.stderr));
    }
    fn logs(&self, pod: &str, container: &str) -> String {
        // `podman logs` writes what the container wrote to stderr to its own stderr.
        let out = self.run(&["logs", &format!("{pod}-{container}")]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
    fn exec(&self, pod: &str, container: &str, script: &str) -> String {
        String::from_utf8_lossy(&self.run(&["exec", &format!("{pod}-{container}"), "sh", "-c", script]).stdout)
            .into_owned()
    }
    fn exit_code(&self, pod: &str, container: &str) -> Option<i64> {
        let name = format!("{pod}-{container}");
        let state = self.run(&["inspect", &name, "--format", "{{.State.Status}} {{.State.ExitCode}}"]);
        let text = String::from_utf8_lossy(&state.stdout);
        let (status, code) = text.trim().split_once(' ')?;
        (status == "exited").then(|| code.parse().ok()).flatten()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for pod in ["myapp-pod", "shared", "archive", "fails"] {
            let _ = self.run(&["pod", "rm", "-f", "-t", "0", pod]);
        }
        let _ = self.run(&["rmi", "-a", "-f"]);
        // conmon processes were re-parented to this (sub-reaping) test process.
        while let Ok(Some(_)) = rustix::process::waitpid(None, rustix::process::WaitOptions::NOHANG) {}
    }
}

/// Waits until `f` gives a value that `done` accepts, or the limit; returns the last value.
fn settle<T>(mut f: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let start = Instant::now();
    loop {
        let v = f();
        if done(&v) || start.elapsed() > Duration::from_secs(60) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Plays every Pod with `r` and returns what a user sees, by name.
fn observe(r: &dyn Runner) -> BTreeMap<&'static str, String> {
    for yaml in [MYAPP, SHARED, INIT, FAILS] {
        r.play(yaml);
    }
    let mut seen = BTreeMap::new();
    seen.insert("myapp logs", settle(|| r.logs("myapp-pod", "myapp-container"), |s| !s.is_empty()));
    seen.insert("myapp hostname", r.exec("myapp-pod", "myapp-container", "hostname"));
    settle(|| r.logs("shared", "writer"), |s| s.contains("written"));
    seen.insert(
        "shared: the writer reads the server over localhost",
        settle(|| r.exec("shared", "writer", "wget -qO- http://localhost:8080/"), |s| !s.is_empty()),
    );
    seen.insert("shared: the server sees the writer's file", r.exec("shared", "server", "cat /html/index.html"));
    seen.insert(
        "shared: one network namespace",
        r.exec("shared", "server", "ip -o addr show lo | grep -c 127.0.0.1; hostname"),
    );
    seen.insert("init: order and volume", settle(|| r.logs("archive", "app"), |s| s.contains("app-started")));
    seen.insert("fails: exit code", format!("{:?}", settle(|| r.exit_code("fails", "job"), Option::is_some)));
    seen.insert("fails: stderr", r.logs("fails", "job"));
    seen
}

#[test]
fn the_same_pods_under_podman_kube_play_and_skiff() {
    if !root() {
        return;
    }
    let Some(bin) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("podman"))
        .find(|p| p.is_file())
    else {
        eprintln!("skipped: podman is not installed");
        return;
    };
    let c = Cluster::start(&[]);
    let skiff = observe(&Skiff(&c));
    let podman = Podman::start(bin, c.dir(), &c.dir().join("busybox.tar"));
    let theirs = observe(&podman);
    for (what, ours) in &skiff {
        assert_eq!(Some(ours), theirs.get(what), "{what}: skiff vs podman kube play");
    }
    assert_eq!(skiff["myapp logs"], "Hello Kubernetes!\n");
    assert_eq!(skiff["fails: exit code"], "Some(3)");
    assert_eq!(c.pod_field("fails", "{.status.phase}"), "Failed");
    assert_eq!(skiff["init: order and volume"], "init-done\nhello from busybox httpd\napp-started\n");
}
