//! The OCI runtime spec (`config.json`) of a container: containerd's defaults (mounts,
//! capabilities, masked and read-only paths) plus what the caller asked for.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimit,
    PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use super::config::{ContainerConfig, Namespace};
use super::process::Process;

/// Errors building a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown capability {0:?}")]
    Capability(String),
    #[error("mount destination {0:?} must be an absolute path")]
    Destination(String),
    #[error("unknown resource limit {0:?}")]
    Rlimit(String),
    #[error(transparent)]
    Oci(#[from] oci_spec::OciSpecError),
}

/// Capability numbers, from linux/capability.h; the index is the number.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// containerd's default capability set (`oci/spec.go`, `defaultUnixCaps`).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// containerd's default masked paths (`oci/spec.go`).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// containerd's default read-only paths.
pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// The number of a capability name (`CAP_` prefix optional, any case).
pub fn capability_number(name: &str) -> Option<u8> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    CAPABILITY_NAMES.iter().position(|n| *n == full).map(|i| i as u8)
}

fn capability(name: &str) -> Result<Capability, SpecError> {
    let upper = name.to_ascii_uppercase();
    Capability::from_str(upper.strip_prefix("CAP_").unwrap_or(&upper)).map_err(|_| SpecError::Capability(name.into()))
}

/// The default set with Kubernetes' `add` and `drop` (either may say `ALL`).
pub fn capabilities(add: &[String], drop: &[String]) -> Result<HashSet<Capability>, SpecError> {
    let all = |v: &[String]| v.iter().any(|c| c.eq_ignore_ascii_case("ALL"));
    let mut set: HashSet<Capability> = if all(add) {
        CAPABILITY_NAMES.iter().filter_map(|n| capability(n).ok()).collect()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|n| capability(n)).collect::<Result<_, _>>()?
    };
    if !all(add) {
        for c in add {
            set.insert(capability(c)?);
        }
    }
    if all(drop) {
        set.clear();
    } else {
        for c in drop {
            set.remove(&capability(c)?);
        }
    }
    Ok(set)
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn bind(source: &Path, destination: &str, read_only: bool) -> Result<Mount, SpecError> {
    if !destination.starts_with('/') {
        return Err(SpecError::Destination(destination.into()));
    }
    let mut options = vec!["rbind", "rprivate"];
    if read_only {
        options.push("ro");
    }
    Ok(MountBuilder::default()
        .destination(destination)
        .typ("bind")
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// The spec's rlimits; an unknown name is an error.
fn rlimits(limits: &[super::config::Rlimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    limits
        .iter()
        .map(|l| {
            let typ: PosixRlimitType =
                l.name.to_ascii_uppercase().parse().map_err(|_| SpecError::Rlimit(l.name.clone()))?;
            Ok(PosixRlimitBuilder::default().typ(typ).soft(l.soft.min(l.hard)).hard(l.hard).build()?)
        })
        .collect()
}

/// Files the runtime writes per container and binds in (/etc/hosts, /etc/hostname, …).
#[derive(Debug, Clone, Default)]
pub struct SpecContext {
    pub rootfs: PathBuf,
    pub hostname: String,
    pub etc_files: Vec<(PathBuf, &'static str)>,
    pub cgroups_path: String,
    pub oom_score_adj_floor: i32,
}

/// Builds the container's `config.json`.
/// The OCI form of cgroup limits.
pub fn linux_resources(r: &super::config::Resources) -> Result<LinuxResources, SpecError> {
    let mut resources = LinuxResourcesBuilder::default();
    if let Some(limit) = r.memory_limit {
        resources = resources.memory(LinuxMemoryBuilder::default().limit(limit).build()?);
    }
    if r.cpu_shares.is_some() || r.cpu_quota.is_some() {
        let mut cpu = LinuxCpuBuilder::default();
        if let Some(s) = r.cpu_shares {
            cpu = cpu.shares(s);
        }
        if let Some(q) = r.cpu_quota {
            cpu = cpu.quota(q).period(r.cpu_period.unwrap_or(100_000));
        }
        resources = resources.cpu(cpu.build()?);
    }
    if let Some(p) = r.pids_limit {
        resources = resources.pids(LinuxPidsBuilder::default().limit(p).build()?);
    }
    Ok(resources.build()?)
}

pub fn build(config: &ContainerConfig, process: &Process, ctx: &SpecContext) -> Result<Spec, SpecError> {
    let caps = capabilities(&config.add_capabilities, &config.drop_capabilities)?;
    let user = UserBuilder::default()
        .uid(process.uid)
        .gid(process.gid)
        .additional_gids(process.additional_gids.clone())
        .build()?;
    let oom = config.oom_score_adj.map(|v| v.max(ctx.oom_score_adj_floor));
    let mut proc_builder = ProcessBuilder::default()
        .terminal(config.tty)
        .user(user)
        .args(process.args.clone())
        .env(process.env.clone())
        .cwd(process.cwd.clone())
        .no_new_privileges(config.no_new_privileges)
        .rlimits(rlimits(&config.rlimits)?)
        .capabilities(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                .inheritable(HashSet::new())
                .ambient(HashSet::new())
                .build()?,
        );
    if let Some(oom) = oom {
        proc_builder = proc_builder.oom_score_adj(oom);
    }

    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"])?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        )?,
        match &config.shm {
            Some(path) => bind(path, "/dev/shm", false)?,
            None => mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])?,
        },
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"])?,
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"])?,
    ];
    for (source, destination) in &ctx.etc_files {
        if !config.mounts.iter().any(|m| m.destination == *destination) {
            mounts.push(bind(source, destination, false)?);
        }
    }
    // Parents before children, as containerd orders them.
    let mut volumes: Vec<_> = config.mounts.iter().collect();
    volumes.sort_by_key(|m| Path::new(&m.destination).components().count());
    for m in volumes {
        mounts.push(bind(&m.source, &m.destination, m.read_only)?);
    }

    let mut namespaces = vec![LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Mount).build()?];
    for (ns, typ) in [
        (&config.namespaces.pid, LinuxNamespaceType::Pid),
        (&config.namespaces.network, LinuxNamespaceType::Network),
        (&config.namespaces.ipc, LinuxNamespaceType::Ipc),
        (&config.namespaces.uts, LinuxNamespaceType::Uts),
    ] {
        match ns {
            Namespace::Host => {}
            Namespace::New => namespaces.push(LinuxNamespaceBuilder::default().typ(typ).build()?),
            Namespace::Join(path) => namespaces.push(LinuxNamespaceBuilder::default().typ(typ).path(path).build()?),
        }
    }

    let linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(linux_resources(&config.resources)?)
        .cgroups_path(PathBuf::from(&ctx.cgroups_path))
        .masked_paths(MASKED_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .readonly_paths(READONLY_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .build()?;

    Ok(SpecBuilder::default()
        .version("1.1.0")
        .root(RootBuilder::default().path(&ctx.rootfs).readonly(config.read_only_rootfs).build()?)
        .hostname(ctx.hostname.clone())
        .process(proc_builder.build()?)
        .mounts(mounts)
        .linux(linux)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::config::BindMount;

    fn process() -> Process {
        Process {
            args: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            additional_gids: vec![],
        }
    }

    #[test]
    fn capability_sets_follow_add_and_drop() {
        let caps = capabilities(&[], &[]).unwrap();
        assert_eq!(caps.len(), 14);
        let caps = capabilities(&["NET_ADMIN".into()], &["KILL".into(), "cap_chown".into()]).unwrap();
        assert!(caps.contains(&Capability::NetAdmin) && !caps.contains(&Capability::Kill));
        assert!(!caps.contains(&Capability::Chown));
        assert_eq!(capabilities(&["ALL".into()], &[]).unwrap().len(), 41);
        assert!(capabilities(&[], &["ALL".into()]).unwrap().is_empty());
        assert!(matches!(capabilities(&["BOGUS".into()], &[]), Err(SpecError::Capability(_))));
        assert_eq!(capability_number("sys_admin"), Some(21));
        assert_eq!(capability_number("CAP_CHECKPOINT_RESTORE"), Some(40));
    }

    #[test]
    fn namespaces_mounts_and_limits() {
        let config = ContainerConfig {
            namespaces: crate::container::config::Namespaces {
                network: Namespace::Join("/run/netns/pod".into()),
                pid: Namespace::Host,
                ..Default::default()
            },
            mounts: vec![
                BindMount { source: "/data/a/b".into(), destination: "/data/sub".into(), read_only: true },
                BindMount { source: "/data/a".into(), destination: "/data".into(), read_only: false },
            ],
            resources: crate::container::config::Resources {
                memory_limit: Some(32 << 20),
                cpu_quota: Some(50_000),
                ..Default::default()
            },
            oom_score_adj: Some(-998),
            ..Default::default()
        };
        let ctx = SpecContext { rootfs: "/c/rootfs".into(), hostname: "h".into(), ..Default::default() };
        let spec = build(&config, &process(), &ctx).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let ns: Vec<_> = linux.namespaces().as_ref().unwrap().iter().map(|n| (n.typ(), n.path().clone())).collect();
        assert!(ns.contains(&(LinuxNamespaceType::Network, Some("/run/netns/pod".into()))));
        assert!(ns.contains(&(LinuxNamespaceType::Ipc, None)));
        assert!(!ns.iter().any(|(t, _)| *t == LinuxNamespaceType::Pid));
        let dests: Vec<_> = spec.mounts().as_ref().unwrap().iter().map(|m| m.destination().clone()).collect();
        let data = dests.iter().position(|d| d == Path::new("/data")).unwrap();
        let sub = dests.iter().position(|d| d == Path::new("/data/sub")).unwrap();
        assert!(data < sub, "parents mount first: {dests:?}");
        let res = linux.resources().as_ref().unwrap();
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(32 << 20));
        assert_eq!(res.cpu().as_ref().unwrap().period(), Some(100_000));
        assert_eq!(spec.process().as_ref().unwrap().oom_score_adj(), Some(0), "never below the floor");
        let bad = ContainerConfig {
            mounts: vec![BindMount { source: "/x".into(), destination: "rel".into(), read_only: false }],
            ..Default::default()
        };
        assert!(matches!(build(&bad, &process(), &ctx), Err(SpecError::Destination(_))));
    }
}
