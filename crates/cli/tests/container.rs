//! `skiff container …` as a user runs it (as root): real namespaces, overlayfs, cgroups.
//! Every test uses its own roots and cgroup parent and removes what it made, also on failure.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::images::{busybox_layer, docker_archive};

/// Roots for images and containers, a busybox image imported, a cgroup parent; on drop every
/// container is removed (which unmounts nothing on the host: rootfs mounts live in the
/// containers' mount namespaces), the cgroup parent too.
struct Env {
    dir: tempfile::TempDir,
    cgroup_parent: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("busybox.tar");
        docker_archive(&archive, &busybox_layer());
        common::become_subreaper();
        let env = Env { cgroup_parent: format!("skiff-test-{}", std::process::id()), dir };
        let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["image", "--root"])
            .arg(env.images())
            .arg("import")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        env
    }

    fn images(&self) -> PathBuf {
        self.dir.path().join("images")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_skiff"));
        c.arg("container").arg("--root").arg(self.dir.path().join("containers")).arg("--image-root").arg(self.images());
        c.args(args);
        c
    }

    fn skiff(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.skiff(args);
        assert!(o.status.success(), "skiff container {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `run <mode> --cgroup-parent <this test's> EXTRA busybox -- CMD`.
    fn run_args<'a>(&'a self, mode: &'a str, extra: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["run", mode, "--cgroup-parent", &self.cgroup_parent];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["localhost/busybox:latest", "--"]);
        args.extend_from_slice(cmd);
        args
    }

    /// A container in the background; returns its id.
    fn detached(&self, extra: &[&str], cmd: &[&str]) -> String {
        self.ok(&self.run_args("-d", extra, cmd)).trim().to_string()
    }

    /// A container in the foreground, removed when it exits.
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        self.skiff(&self.run_args("--rm", extra, cmd))
    }

    fn wait_for(&self, what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let ids = self.skiff(&["ls", "-a", "-q"]);
        let mut monitors = Vec::new();
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            monitors.extend(field(&self.ok(&["inspect", id]), "monitorPid"));
            let _ = self.skiff(&["rm", "-f", id]);
        }
        for c in ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices", "unified", ""] {
            let _ = fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join(&self.cgroup_parent));
        }
        common::reap(&monitors);
    }
}

/// A numeric field of `inspect` output.
fn field(inspect: &str, name: &str) -> Option<i32> {
    let key = format!("\"{name}\": ");
    inspect.lines().find_map(|l| l.trim().strip_prefix(key.as_str())?.trim_end_matches(',').parse().ok())
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn root() -> bool {
    if rustix_is_root() {
        return true;
    }
    eprintln!("skipped: needs root");
    false
}

fn rustix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[test]
fn run_echo_exit_codes_and_oom() {
    if !root() {
        return;
    }
    let env = Env::new();
    let o = env.run(&[], &["echo", "hi"]);
    assert_eq!(text(&o), "hi\n", "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0));
    let o = env.run(&[], &["sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert_eq!(
        (text(&o), String::from_utf8_lossy(&o.stderr).into_owned(), o.status.code()),
        ("out\n".into(), "err\n".into(), Some(7))
    );

    // The image's identity and a few isolation facts.
    let o = env.run(
        &["--hostname", "box", "-u", "nobody"],
        &["sh", "-c", "id -u; hostname; cat /proc/self/status | grep CapEff; ls /dev"],
    );
    let out = text(&o);
    assert!(out.starts_with("65534\nbox\n"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("null") && out.contains("pts") && out.contains("shm"), "{out}");
    let o = env.run(&[], &["sh", "-c", "echo $$; cat /proc/self/status | grep CapBnd"]);
    assert!(text(&o).starts_with("1\nCapBnd:\t00000000a80425fb"), "{}", text(&o));
    // skiff turns transparent huge pages off for itself, not for what it runs.
    let o = env.run(&[], &["grep", "THP_enabled", "/proc/self/status"]);
    assert_eq!(text(&o), "THP_enabled:\t1\n");

    // -t: a terminal from the container's own devpts.
    let o = env.run(&["-t"], &["sh", "-c", "tty; exit 5"]);
    assert_eq!(
        (text(&o).as_str(), o.status.code()),
        ("/dev/pts/0\r\n", Some(5)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Resource limits, never above this process's hard limit.
    let o = env.run(&["--ulimit", "nofile=64:128"], &["sh", "-c", "ulimit -n; ulimit -Hn"]);
    assert_eq!(text(&o), "64\n128\n", "{}", String::from_utf8_lossy(&o.stderr));
    let limits = fs::read_to_string("/proc/self/limits").unwrap();
    let hard: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    let o = env.run(&["--ulimit", &format!("nofile=64:{}", hard * 4)], &["sh", "-c", "ulimit -Hn"]);
    assert_eq!(text(&o), format!("{hard}\n"), "{}", String::from_utf8_lossy(&o.stderr));

    // A memory hog under a 32 MiB limit is OOMKilled.
    let id = env.detached(&["--memory", "32m"], &["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    env.wait_for("the OOM kill", || env.ok(&["ls", "-a"]).contains("OOMKilled"));
    let inspect = env.ok(&["inspect", &id]);
    assert!(inspect.contains("\"reason\": \"OOMKilled\"") && inspect.contains("\"exitCode\": 137"), "{inspect}");
    env.ok(&["rm", &id]);
}

#[test]
fn shared_network_namespace_and_shared_volume() {
    if !root() {
        return;
    }
    let env = Env::new();
    let web = env.detached(&[], &["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/var/www"]);
    let pid = field(&env.ok(&["inspect", &web]), "pid").unwrap();
    let net = format!("/proc/{pid}/ns/net");
    let mut fetched = String::new();
    env.wait_for("wget over localhost", || {
        let o = env.run(&["--net", &net], &["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]);
        fetched = text(&o);
        o.status.success()
    });
    assert_eq!(fetched, "hello from busybox httpd\n");

    let shared = env.dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    let volume = format!("{}:/data", shared.display());
    let o = env.run(&["-v", &volume], &["sh", "-c", "echo written-by-one > /data/f"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = env.run(&["-v", &format!("{volume}:ro")], &["sh", "-c", "cat /data/f; touch /data/g"]);
    assert_eq!(text(&o), "written-by-one\n");
    assert_ne!(o.status.code(), Some(0), "read-only mount was writable");
    env.ok(&["stop", "-t", "1", &web]);
}

#[test]
fn containers_outlive_the_runtime_and_are_found_again() {
    if !root() {
        return;
    }
    let env = Env::new();
    // A foreground run whose controlling process is killed: the container keeps running.
    let mut fg = env
        .command(&[
            "run",
            "--name",
            "fg",
            "--cgroup-parent",
            &env.cgroup_parent,
            "localhost/busybox:latest",
            "--",
            "sleep",
            "1000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    env.wait_for("fg to run", || env.ok(&["ls"]).contains("fg"));
    let quick = env.detached(&["--name", "quick"], &["sh", "-c", "sleep 1; exit 3"]);
    fg.kill().unwrap();
    fg.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let ls = env.ok(&["ls", "-a"]);
    let fg_line = ls.lines().find(|l| l.contains(" fg ")).unwrap_or_else(|| panic!("{ls}"));
    assert!(fg_line.contains("Running"), "{ls}");
    env.wait_for("quick to exit", || env.ok(&["ls", "-a"]).contains("Exited (3) Error"));
    let exec = env.skiff(&["exec", "fg", "--", "sh", "-c", "echo $$ inside; hostname"]);
    assert!(exec.status.success(), "{}", String::from_utf8_lossy(&exec.stderr));
    assert!(text(&exec).contains("inside"), "{}", text(&exec));
    // exec -i feeds stdin; exec -t gives the process a terminal of its own.
    let mut cat =
        env.command(&["exec", "-i", "fg", "--", "cat"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut cat.stdin.take().unwrap(), b"through stdin\n").unwrap();
    let cat = cat.wait_with_output().unwrap();
    assert_eq!((text(&cat).as_str(), cat.status.code()), ("through stdin\n", Some(0)));
    let tty = env.skiff(&["exec", "-t", "fg", "--", "sh", "-c", "tty; exit 4"]);
    assert!(text(&tty).starts_with("/dev/pts/"), "{:?} {}", text(&tty), String::from_utf8_lossy(&tty.stderr));
    assert_eq!(tty.status.code(), Some(4));
    let logs = env.ok(&["logs", &quick]);
    assert_eq!(logs, "");
    env.ok(&["stop", "-t", "1", "fg"]);
    // sleep as PID 1 has no SIGTERM handler, so the kernel ignores TERM: SIGKILL after the grace.
    let ls = env.ok(&["ls", "-a"]);
    assert!(ls.lines().any(|l| l.contains(" fg ") && l.contains("Exited (137)")), "{ls}");
    env.ok(&["rm", "fg", &quick]);
    assert_eq!(env.ok(&["ls", "-a", "-q"]), "");
}
