//! cgroups for containers: cgroup v1 (one directory per hierarchy, as on this machine, where
//! a stray cgroup2 mount at /sys/fs/cgroup/unified is ignored) and the unified v2 hierarchy.
//! Everything is plain file I/O under the mount points found in mountinfo, so tests run on
//! a temporary directory.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

/// v1 controllers a container joins (name=systemd and the like are left alone).
const V1_CONTROLLERS: [&str; 8] = ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices"];
/// v2 controllers enabled for children.
const V2_CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// Which cgroup hierarchies this machine has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Controller → mount point (co-mounted controllers share one).
    V1(BTreeMap<String, PathBuf>),
    /// The unified hierarchy's mount point.
    V2(PathBuf),
}

/// Reads the layout from `/proc/self/mountinfo` text: v2 when a cgroup2 file system is
/// mounted at `/sys/fs/cgroup`, v1 otherwise.
pub fn parse_mountinfo(text: &str) -> Option<Layout> {
    let mut v1 = BTreeMap::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mount_point = left.split(' ').nth(4).unwrap_or_default();
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or_default();
        let options = r.nth(1).unwrap_or_default();
        match fstype {
            "cgroup2" if mount_point == "/sys/fs/cgroup" => return Some(Layout::V2(PathBuf::from(mount_point))),
            "cgroup" => {
                for o in options.split(',') {
                    if V1_CONTROLLERS.contains(&o) {
                        v1.insert(o.to_string(), PathBuf::from(mount_point));
                    }
                }
            }
            _ => {}
        }
    }
    (!v1.is_empty()).then_some(Layout::V1(v1))
}

/// The layout of this machine.
pub fn detect() -> io::Result<Layout> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    parse_mountinfo(&text).ok_or_else(|| io::Error::other("no cgroup hierarchy is mounted"))
}

/// One container's (or Pod's) cgroup: a directory per hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub v2: bool,
    /// Controller → directory (v2: one entry, "").
    pub dirs: BTreeMap<String, PathBuf>,
}

fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    fs::write(dir.join(file), value).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.join(file).display())))
}

fn relative(path: &str) -> PathBuf {
    PathBuf::from(path.trim_start_matches('/'))
}

/// cgroup v2 `cpu.weight` from v1 shares, as runc converts them.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

impl Layout {
    /// The cgroup at `path` (relative to each hierarchy's root), not touching the disk.
    pub fn cgroup(&self, path: &str) -> Cgroup {
        match self {
            Layout::V2(root) => Cgroup { v2: true, dirs: BTreeMap::from([(String::new(), root.join(relative(path)))]) },
            Layout::V1(mounts) => {
                Cgroup { v2: false, dirs: mounts.iter().map(|(c, m)| (c.clone(), m.join(relative(path)))).collect() }
            }
        }
    }

    /// Creates the cgroup at `path` (and its parents) and applies `resources`.
    pub fn create(&self, path: &str, resources: Option<&LinuxResources>) -> io::Result<Cgroup> {
        let cg = self.cgroup(path);
        match self {
            Layout::V2(root) => {
                let mut cur = root.clone();
                for c in relative(path).components() {
                    enable_v2_controllers(&cur)?;
                    cur.push(c);
                    create_dir(&cur)?;
                }
            }
            Layout::V1(mounts) => {
                for (controller, mount) in mounts {
                    let mut cur = mount.clone();
                    for c in relative(path).components() {
                        let parent = cur.clone();
                        cur.push(c);
                        create_dir(&cur)?;
                        // A new cpuset starts empty and refuses tasks (ENOSPC) until it gets
                        // the parent's CPUs and memory nodes. Checked whether or not we made
                        // it: another thread may have made it and not filled it in yet.
                        if controller == "cpuset" {
                            for f in ["cpuset.cpus", "cpuset.mems"] {
                                if fs::read_to_string(cur.join(f)).unwrap_or_default().trim().is_empty() {
                                    let v = fs::read_to_string(parent.join(f)).unwrap_or_default();
                                    write(&cur, f, v.trim())?;
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(r) = resources {
            cg.apply(r)?;
        }
        Ok(cg)
    }
}

/// Creates `dir`; true when it is new.
fn create_dir(dir: &Path) -> io::Result<bool> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
}

fn enable_v2_controllers(dir: &Path) -> io::Result<()> {
    let available = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let want: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if want.is_empty() {
        return Ok(());
    }
    write(dir, "cgroup.subtree_control", &want.join(" "))
}

fn counter(text: &str, key: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

impl Cgroup {
    fn dir(&self, controller: &str) -> Option<&Path> {
        if self.v2 {
            self.dirs.get("").map(PathBuf::as_path)
        } else {
            self.dirs.get(controller).map(PathBuf::as_path)
        }
    }

    /// Distinct directories a process joins (co-mounted controllers counted once).
    pub fn join_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.dirs.values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Writes the limits of `r`.
    pub fn apply(&self, r: &LinuxResources) -> io::Result<()> {
        if let (Some(limit), Some(dir)) = (r.memory().as_ref().and_then(|m| m.limit()), self.dir("memory")) {
            if self.v2 {
                write(dir, "memory.max", &limit.to_string())?;
                // Absent without swap accounting; nothing to limit then.
                let _ = write(dir, "memory.swap.max", "0");
            } else {
                write(dir, "memory.limit_in_bytes", &limit.to_string())?;
            }
        }
        if let (Some(cpu), Some(dir)) = (r.cpu().as_ref(), self.dir("cpu")) {
            if let Some(shares) = cpu.shares() {
                if self.v2 {
                    write(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
                } else {
                    write(dir, "cpu.shares", &shares.to_string())?;
                }
            }
            if let Some(quota) = cpu.quota() {
                let period = cpu.period().unwrap_or(100_000);
                if self.v2 {
                    let q = if quota > 0 { quota.to_string() } else { "max".to_string() };
                    write(dir, "cpu.max", &format!("{q} {period}"))?;
                } else {
                    write(dir, "cpu.cfs_period_us", &period.to_string())?;
                    write(dir, "cpu.cfs_quota_us", &quota.to_string())?;
                }
            }
        }
        if let (Some(pids), Some(dir)) = (r.pids().as_ref(), self.dir("pids")) {
            let v = if pids.limit() > 0 { pids.limit().to_string() } else { "max".to_string() };
            write(dir, "pids.max", &v)?;
        }
        Ok(())
    }

    /// How many processes the kernel's OOM killer killed in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let Some(dir) = self.dir("memory") else { return 0 };
        let file = if self.v2 { "memory.events" } else { "memory.oom_control" };
        counter(&fs::read_to_string(dir.join(file)).unwrap_or_default(), "oom_kill")
    }

    /// The memory working set, as the kubelet counts it: usage less inactive file pages.
    pub fn memory_working_set(&self) -> Option<u64> {
        let dir = self.dir("memory")?;
        let (usage, inactive) = if self.v2 {
            ("memory.current", "inactive_file")
        } else {
            ("memory.usage_in_bytes", "total_inactive_file")
        };
        let usage: u64 = fs::read_to_string(dir.join(usage)).ok()?.trim().parse().ok()?;
        let stat = fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
        Some(usage.saturating_sub(counter(&stat, inactive)))
    }

    /// The processes in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let dir = if self.v2 { self.dir("") } else { self.dir("pids").or_else(|| self.dir("memory")) };
        let Some(dir) = dir else { return vec![] };
        fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// SIGKILLs every process in the cgroup.
    pub fn kill_all(&self) {
        for p in self.pids().into_iter().filter_map(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }

    /// Removes the directories, retrying briefly while the kernel still counts exiting tasks.
    pub fn remove(&self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in self.dirs.values() {
            loop {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(16) && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
                }
            }
        }
        Ok(())
    }

    /// Removes the directories if empty; a busy or non-empty one is left.
    pub fn remove_if_empty(&self) {
        for dir in self.dirs.values() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

    const HYBRID: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid shared:15 - cgroup cgroup rw,xattr,name=systemd
36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid shared:16 - cgroup cgroup rw,pids
";

    fn resources() -> LinuxResources {
        LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(32 << 20).build().unwrap())
            .cpu(LinuxCpuBuilder::default().shares(512u64).quota(50_000).period(100_000u64).build().unwrap())
            .pids(LinuxPidsBuilder::default().limit(64).build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn hybrid_layout_is_v1_and_comounts_join_once() {
        let layout = parse_mountinfo(HYBRID).unwrap();
        let Layout::V1(m) = &layout else { panic!("{layout:?}") };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["cpu", "cpuacct", "memory", "pids"]);
        let cg = layout.cgroup("/skiff/pod1/c1");
        assert_eq!(cg.dirs["cpu"], Path::new("/sys/fs/cgroup/cpu,cpuacct/skiff/pod1/c1"));
        assert_eq!(cg.join_dirs().len(), 3);
        let v2 = "40 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(parse_mountinfo(v2), Some(Layout::V2("/sys/fs/cgroup".into())));
        assert_eq!(parse_mountinfo("1 0 0:1 / / rw - ext4 /dev/vda rw\n"), None);
    }

    #[test]
    fn v1_limits_and_cpuset_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        let mut mounts = BTreeMap::new();
        for c in ["memory", "cpu", "pids", "cpuset"] {
            let m = dir.path().join(c);
            fs::create_dir_all(&m).unwrap();
            mounts.insert(c.to_string(), m);
        }
        fs::write(dir.path().join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
        fs::write(dir.path().join("cpuset/cpuset.mems"), "0\n").unwrap();
        let layout = Layout::V1(mounts);
        let cg = layout.create("skiff/c1", Some(&resources())).unwrap();
        let read = |p: &str| fs::read_to_string(dir.path().join(p)).unwrap();
        assert_eq!(read("memory/skiff/c1/memory.limit_in_bytes"), (32u64 << 20).to_string());
        assert_eq!(read("cpu/skiff/c1/cpu.shares"), "512");
        assert_eq!(read("cpu/skiff/c1/cpu.cfs_quota_us"), "50000");
        assert_eq!(read("pids/skiff/c1/pids.max"), "64");
        assert_eq!(read("cpuset/skiff/cpuset.cpus"), "0-1");
        assert_eq!(read("cpuset/skiff/c1/cpuset.mems"), "0");
        fs::write(
            dir.path().join("memory/skiff/c1/memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        assert_eq!(cg.oom_kills(), 2);

        // A cpuset someone else made but has not filled in yet is filled in too.
        fs::create_dir_all(dir.path().join("cpuset/racy")).unwrap();
        fs::write(dir.path().join("cpuset/racy/cpuset.cpus"), "").unwrap();
        layout.create("racy/c2", None).unwrap();
        assert_eq!(read("cpuset/racy/cpuset.cpus"), "0-1");
        assert_eq!(read("cpuset/racy/c2/cpuset.cpus"), "0-1");
    }

    #[test]
    fn v2_enables_controllers_and_converts_shares() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n").unwrap();
        fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        let cg = Layout::V2(root.clone()).create("skiff/c1", Some(&resources())).unwrap();
        assert_eq!(fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(), "+cpu +memory +pids");
        let c1 = root.join("skiff/c1");
        assert_eq!(fs::read_to_string(c1.join("memory.max")).unwrap(), (32u64 << 20).to_string());
        assert_eq!(fs::read_to_string(c1.join("cpu.max")).unwrap(), "50000 100000");
        assert_eq!(fs::read_to_string(c1.join("cpu.weight")).unwrap(), shares_to_weight(512).to_string());
        assert_eq!((shares_to_weight(2), shares_to_weight(1024), shares_to_weight(262_144)), (1, 39, 10000));
        fs::write(c1.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n").unwrap();
        assert_eq!(cg.oom_kills(), 1);
    }
}
