//! Test harness: a real `skiff server` on a random loopback port with its own data dir, and
//! helpers to drive it with real kubectl binaries.
#![allow(dead_code)]

pub mod cluster;
pub mod hollow;
pub mod images;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running `skiff server`; killed (and its data dir removed) on drop.
pub struct Server {
    child: Option<Child>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub kubeconfig: PathBuf,
}

impl Server {
    /// Starts a server with a new data dir.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing data dir (which the caller keeps), without an agent.
    pub fn start_in(dir: &Path) -> Server {
        Server::start_with(dir, &["--disable-agent"])
    }

    /// Starts a server on an existing data dir with extra flags.
    pub fn start_with(dir: &Path, flags: &[&str]) -> Server {
        let kubeconfig = dir.join("admin.kubeconfig");
        let _ = std::fs::remove_file(&kubeconfig);
        let log = std::fs::File::options().create(true).append(true).open(dir.join("server.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .arg("server")
            .args(if flags.contains(&"--bind-address") { &[][..] } else { &["--bind-address", "127.0.0.1"][..] })
            .args(["--https-listen-port", "0"])
            .args(flags)
            .arg("--data-dir")
            .arg(dir)
            .env("SKIFF_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn skiff server");
        let start = Instant::now();
        while !kubeconfig.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "server did not write its kubeconfig; log:\n{}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Server { child: Some(child), dir: dir.to_path_buf(), _tmp: None, kubeconfig }
    }

    /// SIGKILLs the server (no clean shutdown) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// A kubectl of the given binary pointed at this server.
    pub fn kubectl<'a>(&'a self, bin: &'a Path) -> Kubectl<'a> {
        Kubectl { bin, server: self }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every kubectl binary found on this machine: Debian's (from `SKIFF_DEBIAN_KUBECTL`), the
/// versioned google-cloud-sdk ones, and the one on PATH.
pub fn kubectls() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("SKIFF_DEBIAN_KUBECTL").map(PathBuf::from) {
        if p.exists() {
            out.push(p);
        }
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/debian-kubectl/usr/bin/kubectl");
    if out.is_empty() && local.exists() {
        out.push(local);
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/google-cloud-sdk/bin") {
        let mut v: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("kubectl.1.")))
            .collect();
        v.sort();
        out.extend(v);
    }
    if out.is_empty() {
        if let Ok(o) = Command::new("sh").args(["-c", "command -v kubectl"]).output() {
            let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if !p.is_empty() {
                out.push(PathBuf::from(p));
            }
        }
    }
    assert!(!out.is_empty(), "no kubectl found; run scripts/setup-test-deps.sh");
    if let Ok(only) = std::env::var("SKIFF_KUBECTL_ONLY") {
        out.retain(|p| p.to_string_lossy().contains(&only));
    }
    out
}

/// The minor version of a kubectl binary (20 for Debian's 1.20).
pub fn minor(bin: &Path) -> u32 {
    let out = Command::new(bin).args(["version", "--client", "-o", "json"]).output().expect("kubectl version");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["clientVersion"]["minor"].as_str().unwrap_or("0").trim_end_matches('+').parse().unwrap_or(0)
}

pub struct Kubectl<'a> {
    pub bin: &'a Path,
    server: &'a Server,
}

impl Kubectl<'_> {
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(self.bin);
        let cache = self.server.dir.join(format!("kcache-{}", self.bin.file_name().unwrap().to_string_lossy()));
        c.arg("--kubeconfig").arg(&self.server.kubeconfig).arg("--cache-dir").arg(cache);
        c
    }

    /// Runs kubectl with `args` and optional stdin; returns the output.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = self.cmd();
        c.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn kubectl");
        if let Some(input) = stdin {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        // No kubectl call may hang the suite: kill it after a minute (the test then fails).
        let pid = child.id();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                if start.elapsed() > Duration::from_secs(60) {
                    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let out = child.wait_with_output().expect("kubectl output");
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    }

    /// Runs kubectl and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(args, stdin);
        assert!(
            o.status.success(),
            "{} {:?} failed: {}\nstdout: {}\nserver log tail:\n{}",
            self.bin.display(),
            args,
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout),
            tail(&self.server.log(), 30)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs kubectl and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(args, stdin);
        assert!(!o.status.success(), "{:?} should fail but printed {}", args, String::from_utf8_lossy(&o.stdout));
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

/// Polls `check` every 200 ms until it holds; panics after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `kubectl get <args> -o json`, parsed.
pub fn get(k: &Kubectl<'_>, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&k.ok(&all, None)).unwrap()
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a Python test script from tests/python with the server's kubeconfig.
pub fn python(server: &Server, script: &str, args: &[&str]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python").join(script);
    Command::new("python3").arg(path).arg(&server.kubeconfig).args(args).output().expect("python3")
}

/// Makes this test process the reaper of orphaned descendants (container monitors whose
/// starter exited; this machine's PID 1 does not reap), so [`reap`] can collect them.
pub fn become_subreaper() {
    let _ =
        rustix::process::set_child_subreaper(Some(rustix::process::Pid::from_raw(std::process::id() as i32).unwrap()));
}

/// Reaps the given processes (inherited monitors) once they have exited.
pub fn reap(pids: &[i32]) {
    for pid in pids.iter().filter_map(|p| rustix::process::Pid::from_raw(*p)) {
        for _ in 0..100 {
            match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
    }
}
