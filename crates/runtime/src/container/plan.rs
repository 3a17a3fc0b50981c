//! From a spec to the ordered steps the container's first process takes between fork and
//! exec (runc's order: cgroup, namespaces, root propagation, rootfs, mounts, devices,
//! pivot_root, masked and read-only paths, identity, capabilities, no_new_privs, cwd).
//! Pure: `sys.rs` performs each step.

use std::path::PathBuf;

use oci_spec::runtime::{Capability, LinuxNamespaceType, PosixRlimitType, Spec};
use rustix::mount::MountFlags;

use super::spec::capability_number;

/// Namespaces a step can join or create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsKind {
    Mount,
    Network,
    Ipc,
    Uts,
    Pid,
    Cgroup,
}

/// One mount, its destination relative to the new root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOp {
    pub source: String,
    pub destination: String,
    pub fstype: String,
    pub flags: MountFlags,
    pub data: String,
    pub bind: bool,
    /// Remount read-only after a bind (a bind ignores MS_RDONLY on the first call).
    pub remount_readonly: bool,
}

/// Capability sets as bit masks (bit n = capability n).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapMasks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// One thing the child does before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    JoinCgroup(Vec<PathBuf>),
    Join(NsKind, PathBuf),
    Unshare(Vec<NsKind>),
    LoopbackUp,
    Hostname(String),
    RootSlave,
    Overlay {
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        target: PathBuf,
    },
    BindRootfs(PathBuf),
    Mount(MountOp),
    Devices,
    PivotRoot(PathBuf),
    Mask(String),
    Readonly(String),
    ReadonlyRoot,
    /// A resource limit; `sys` never raises it above the caller's hard limit.
    Rlimit {
        resource: rustix::process::Resource,
        soft: u64,
        hard: u64,
    },
    OomScoreAdj(i32),
    Setsid,
    /// Opens a terminal in the container's devpts, makes its slave side stdin/stdout/stderr
    /// and hands the master side to the monitor.
    Console,
    ControllingTerminal,
    Identity {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
        caps: CapMasks,
    },
    NoNewPrivs,
    Chdir(String),
}

/// How the root file system is provided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rootfs {
    /// An overlay of image layers (top first) with a writable upper directory.
    Overlay { lower: Vec<PathBuf>, upper: PathBuf, work: PathBuf },
    /// `root.path` as it is (a bare bundle).
    Directory,
}

/// Errors in the spec that make it unrunnable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("spec has no {0}")]
    Missing(&'static str),
    #[error("unsupported namespace {0}")]
    Namespace(String),
    #[error("unsupported mount type {fstype:?} at {destination}")]
    MountType { fstype: String, destination: String },
}

/// Parses runc's mount options into flags, data and a read-only remount.
pub fn mount_options(options: &[String]) -> (MountFlags, String, bool) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= MountFlags::RDONLY,
            "rw" => flags.remove(MountFlags::RDONLY),
            "nosuid" => flags |= MountFlags::NOSUID,
            "suid" => flags.remove(MountFlags::NOSUID),
            "nodev" => flags |= MountFlags::NODEV,
            "dev" => flags.remove(MountFlags::NODEV),
            "noexec" => flags |= MountFlags::NOEXEC,
            "exec" => flags.remove(MountFlags::NOEXEC),
            "bind" => flags |= MountFlags::BIND,
            "rbind" => flags |= MountFlags::BIND | MountFlags::REC,
            "relatime" => flags |= MountFlags::RELATIME,
            "strictatime" => flags |= MountFlags::STRICTATIME,
            "noatime" => flags |= MountFlags::NOATIME,
            "nodiratime" => flags |= MountFlags::NODIRATIME,
            "sync" => flags |= MountFlags::SYNCHRONOUS,
            // Propagation is set afterwards by the bind steps; private is the default here.
            "private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared" => {}
            other => data.push(other.to_string()),
        }
    }
    let remount = flags.contains(MountFlags::BIND) && flags.contains(MountFlags::RDONLY);
    (flags, data.join(","), remount)
}

fn caps_mask(set: &Option<std::collections::HashSet<Capability>>) -> u64 {
    let mut mask = 0u64;
    for c in set.iter().flatten() {
        let name = serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        if let Some(n) = capability_number(&name) {
            mask |= 1 << n;
        }
    }
    mask
}

/// The steps for `spec`, joining the cgroup directories `cgroups` (their `cgroup.procs`).
/// The PID namespace is not in the steps: it applies to children, so the monitor enters or
/// creates it before forking.
pub fn plan(spec: &Spec, rootfs: &Rootfs, cgroups: Vec<PathBuf>) -> Result<Vec<Step>, PlanError> {
    let root = spec.root().as_ref().ok_or(PlanError::Missing("root"))?;
    let process = spec.process().as_ref().ok_or(PlanError::Missing("process"))?;
    let linux = spec.linux().as_ref().ok_or(PlanError::Missing("linux"))?;
    let mut steps = Vec::new();
    if !cgroups.is_empty() {
        steps.push(Step::JoinCgroup(cgroups));
    }
    let mut new = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        let kind = match ns.typ() {
            LinuxNamespaceType::Mount => NsKind::Mount,
            LinuxNamespaceType::Network => NsKind::Network,
            LinuxNamespaceType::Ipc => NsKind::Ipc,
            LinuxNamespaceType::Uts => NsKind::Uts,
            LinuxNamespaceType::Pid => continue,
            LinuxNamespaceType::Cgroup => NsKind::Cgroup,
            other => return Err(PlanError::Namespace(format!("{other:?}"))),
        };
        match ns.path() {
            Some(path) => steps.push(Step::Join(kind, path.clone())),
            None => new.push(kind),
        }
    }
    if !new.contains(&NsKind::Mount) {
        return Err(PlanError::Missing("new mount namespace"));
    }
    let new_net = new.contains(&NsKind::Network);
    let new_uts = new.contains(&NsKind::Uts);
    steps.push(Step::Unshare(new));
    if new_net {
        steps.push(Step::LoopbackUp);
    }
    if let (true, Some(h)) = (new_uts, spec.hostname()) {
        steps.push(Step::Hostname(h.clone()));
    }
    steps.push(Step::RootSlave);
    let target = root.path().clone();
    steps.push(match rootfs {
        Rootfs::Overlay { lower, upper, work } => {
            Step::Overlay { lower: lower.clone(), upper: upper.clone(), work: work.clone(), target: target.clone() }
        }
        Rootfs::Directory => Step::BindRootfs(target.clone()),
    });
    for m in spec.mounts().iter().flatten() {
        let fstype = m.typ().clone().unwrap_or_else(|| "bind".into());
        let destination = m.destination().to_string_lossy().into_owned();
        let (mut flags, data, remount) = mount_options(m.options().as_deref().unwrap_or_default());
        let bind = fstype == "bind" || flags.contains(MountFlags::BIND);
        if bind {
            flags |= MountFlags::BIND;
        }
        match fstype.as_str() {
            "bind" | "proc" | "tmpfs" | "devpts" | "mqueue" | "sysfs" => {}
            // cgroup v1 needs one mount per hierarchy; left out, as is /sys/fs/cgroup.
            "cgroup" | "cgroup2" => continue,
            _ => return Err(PlanError::MountType { fstype, destination }),
        }
        let source = m.source().as_ref().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| fstype.clone());
        steps.push(Step::Mount(MountOp { source, destination, fstype, flags, data, bind, remount_readonly: remount }));
    }
    steps.push(Step::Devices);
    steps.push(Step::PivotRoot(target));
    for p in linux.masked_paths().iter().flatten() {
        steps.push(Step::Mask(p.clone()));
    }
    for p in linux.readonly_paths().iter().flatten() {
        steps.push(Step::Readonly(p.clone()));
    }
    if root.readonly() == Some(true) {
        steps.push(Step::ReadonlyRoot);
    }
    for l in process.rlimits().iter().flatten() {
        steps.push(Step::Rlimit { resource: rlimit_resource(l.typ()), soft: l.soft(), hard: l.hard() });
    }
    if let Some(adj) = process.oom_score_adj() {
        steps.push(Step::OomScoreAdj(adj));
    }
    if process.terminal() == Some(true) {
        steps.extend([Step::Console, Step::Setsid, Step::ControllingTerminal]);
    } else {
        steps.push(Step::Setsid);
    }
    let caps = process.capabilities().as_ref().map(|c| CapMasks {
        bounding: caps_mask(c.bounding()),
        effective: caps_mask(c.effective()),
        permitted: caps_mask(c.permitted()),
        inheritable: caps_mask(c.inheritable()),
        ambient: caps_mask(c.ambient()),
    });
    let user = process.user();
    steps.push(Step::Identity {
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        caps: caps.unwrap_or_default(),
    });
    if process.no_new_privileges() == Some(true) {
        steps.push(Step::NoNewPrivs);
    }
    steps.push(Step::Chdir(process.cwd().to_string_lossy().into_owned()));
    Ok(steps)
}

/// The kernel's resource for an OCI rlimit type.
fn rlimit_resource(typ: PosixRlimitType) -> rustix::process::Resource {
    use rustix::process::Resource as R;
    match typ {
        PosixRlimitType::RlimitCpu => R::Cpu,
        PosixRlimitType::RlimitFsize => R::Fsize,
        PosixRlimitType::RlimitData => R::Data,
        PosixRlimitType::RlimitStack => R::Stack,
        PosixRlimitType::RlimitCore => R::Core,
        PosixRlimitType::RlimitRss => R::Rss,
        PosixRlimitType::RlimitNproc => R::Nproc,
        PosixRlimitType::RlimitNofile => R::Nofile,
        PosixRlimitType::RlimitMemlock => R::Memlock,
        PosixRlimitType::RlimitAs => R::As,
        PosixRlimitType::RlimitLocks => R::Locks,
        PosixRlimitType::RlimitSigpending => R::Sigpending,
        PosixRlimitType::RlimitMsgqueue => R::Msgqueue,
        PosixRlimitType::RlimitNice => R::Nice,
        PosixRlimitType::RlimitRtprio => R::Rtprio,
        PosixRlimitType::RlimitRttime => R::Rttime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::config::{ContainerConfig, Namespace, Namespaces};
    use crate::container::process::Process;
    use crate::container::spec::{build, SpecContext};

    fn spec(config: &ContainerConfig) -> Spec {
        let process = Process {
            args: vec!["sh".into()],
            env: vec![],
            cwd: "/work".into(),
            uid: 33,
            gid: 34,
            additional_gids: vec![4],
        };
        let ctx = SpecContext { rootfs: "/c/rootfs".into(), hostname: "web".into(), ..Default::default() };
        build(config, &process, &ctx).unwrap()
    }

    #[test]
    fn options_become_flags_data_and_remounts() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (f, d, r) = mount_options(&o(&["nosuid", "noexec", "mode=755", "size=65536k"]));
        assert_eq!((f, d.as_str(), r), (MountFlags::NOSUID | MountFlags::NOEXEC, "mode=755,size=65536k", false));
        let (f, _, r) = mount_options(&o(&["rbind", "ro", "rprivate"]));
        assert!(f.contains(MountFlags::BIND | MountFlags::REC | MountFlags::RDONLY) && r);
    }

    #[test]
    fn new_namespaces_get_loopback_and_hostname_joined_ones_do_not() {
        let steps = plan(&spec(&ContainerConfig::default()), &Rootfs::Directory, vec!["/cg/x".into()]).unwrap();
        assert_eq!(steps[0], Step::JoinCgroup(vec!["/cg/x".into()]));
        assert!(steps.contains(&Step::LoopbackUp) && steps.contains(&Step::Hostname("web".into())));
        let config = ContainerConfig {
            namespaces: Namespaces {
                network: Namespace::Join("/proc/7/ns/net".into()),
                uts: Namespace::Join("/proc/7/ns/uts".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let steps = plan(&spec(&config), &Rootfs::Directory, vec![]).unwrap();
        assert!(steps.contains(&Step::Join(NsKind::Network, "/proc/7/ns/net".into())));
        assert!(!steps.contains(&Step::LoopbackUp) && !steps.iter().any(|s| matches!(s, Step::Hostname(_))));
        assert!(matches!(&steps[2], Step::Unshare(k) if k.contains(&NsKind::Mount) && !k.contains(&NsKind::Network)));
    }

    #[test]
    fn order_is_rootfs_mounts_pivot_paths_identity_cwd() {
        let rootfs =
            Rootfs::Overlay { lower: vec!["/l/2".into(), "/l/1".into()], upper: "/u".into(), work: "/w".into() };
        let rlimits = vec![crate::container::config::Rlimit { name: "RLIMIT_NOFILE".into(), soft: 64, hard: 128 }];
        let steps = plan(&spec(&ContainerConfig { rlimits, ..Default::default() }), &rootfs, vec![]).unwrap();
        let pos = |f: &dyn Fn(&Step) -> bool| steps.iter().position(f).unwrap();
        let limit = pos(&|s| *s == Step::Rlimit { resource: rustix::process::Resource::Nofile, soft: 64, hard: 128 });
        let overlay = pos(&|s| matches!(s, Step::Overlay { .. }));
        let proc_mount = pos(&|s| matches!(s, Step::Mount(m) if m.fstype == "proc"));
        let pivot = pos(&|s| matches!(s, Step::PivotRoot(_)));
        let mask = pos(&|s| matches!(s, Step::Mask(_)));
        let ident = pos(&|s| matches!(s, Step::Identity { .. }));
        assert!(overlay < proc_mount && proc_mount < pivot && pivot < mask && mask < limit && limit < ident);
        assert_eq!(steps.last(), Some(&Step::Chdir("/work".into())));
        match &steps[ident] {
            Step::Identity { uid, gid, groups, caps } => {
                assert_eq!((*uid, *gid, groups.as_slice()), (33, 34, &[4][..]));
                assert_eq!(caps.bounding.count_ones(), 14);
                assert_eq!(caps.bounding & (1 << 21), 0, "no CAP_SYS_ADMIN");
            }
            _ => unreachable!(),
        }
    }
}
