//! The kernel side of [`plan`](super::plan): performs each step in the freshly forked child,
//! and the two calls that need `unsafe` (entering a PID namespace for children, and running
//! the steps between fork and exec).

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use rustix::fs::{mknodat, FileType, Mode, OFlags, CWD};
use rustix::mount::{mount, mount_bind, mount_bind_recursive, mount_change, mount_remount, unmount};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::{CapabilitySet, CapabilitySets, LinkNameSpaceType, UnshareFlags};

use super::plan::{CapMasks, MountOp, NsKind, Step};

/// A failed step, with what it was doing.
#[derive(Debug)]
pub struct StepError {
    pub step: String,
    pub source: io::Error,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.source)
    }
}

fn flags_of(kinds: &[NsKind]) -> UnshareFlags {
    let mut f = UnshareFlags::empty();
    for k in kinds {
        f |= match k {
            NsKind::Mount => UnshareFlags::NEWNS,
            NsKind::Network => UnshareFlags::NEWNET,
            NsKind::Ipc => UnshareFlags::NEWIPC,
            NsKind::Uts => UnshareFlags::NEWUTS,
            NsKind::Pid => UnshareFlags::NEWPID,
            NsKind::Cgroup => UnshareFlags::NEWCGROUP,
        };
    }
    f
}

fn link_type(kind: NsKind) -> LinkNameSpaceType {
    match kind {
        NsKind::Mount => LinkNameSpaceType::Mount,
        NsKind::Network => LinkNameSpaceType::Network,
        NsKind::Ipc => LinkNameSpaceType::InterProcessCommunication,
        NsKind::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
        NsKind::Pid => LinkNameSpaceType::ProcessID,
        NsKind::Cgroup => LinkNameSpaceType::ControlGroup,
    }
}

/// Enters the namespace at `path`.
pub fn join(kind: NsKind, path: &Path) -> io::Result<()> {
    use rustix::fd::AsFd;
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    Ok(rustix::thread::move_into_link_name_space(fd.as_fd(), Some(link_type(kind)))?)
}

/// Makes the next children of this process start in a new PID namespace.
/// Only for single-threaded processes (the monitor, the exec helper).
#[allow(unsafe_code)]
pub fn unshare_pid_for_children() -> io::Result<()> {
    // SAFETY: `unshare(CLONE_NEWPID)` changes only the namespace of future children; the
    // callers are single-threaded helper processes, so no other thread observes the change.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }.map_err(io::Error::from)
}

/// Moves this process into new network, IPC and UTS namespaces (a Pod's sandbox).
/// Only for single-threaded processes (the infra process).
#[allow(unsafe_code)]
pub fn unshare_pod_namespaces() -> io::Result<()> {
    // SAFETY: called first thing by the single-threaded infra process; no other thread shares
    // the namespaces being replaced.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS) }
        .map_err(io::Error::from)
}

/// A command for the OCI `args` with exactly the `KEY=VALUE` entries of `env`.
pub fn command<'a>(args: &[String], env: impl IntoIterator<Item = &'a String>) -> Option<Command> {
    let mut command = Command::new(args.first()?);
    command.args(&args[1..]).env_clear();
    for e in env {
        if let Some((k, v)) = e.split_once('=') {
            command.env(k, v);
        }
    }
    Some(command)
}

/// The exit code as a shell reports it (128 + signal) and the signal, if any.
pub fn exit_code(status: std::process::ExitStatus) -> (i32, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal();
    (status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0)), signal)
}

/// Spawns `command`, running `steps` in the child between fork and exec. A failed step is
/// reported through a close-on-exec pipe, so the error names the step.
pub fn spawn_with_steps(command: Command, steps: Vec<Step>) -> Result<std::process::Child, String> {
    spawn(command, steps, None)
}

/// [`spawn_with_steps`] for steps that include [`Step::Console`]: also returns the master side
/// of the terminal the child opened in its own devpts.
pub fn spawn_with_console(command: Command, steps: Vec<Step>) -> Result<(std::process::Child, OwnedFd), String> {
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    let (ours, theirs) = socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None)
        .map_err(|e| format!("console socket: {e}"))?;
    let child = spawn(command, steps, Some(theirs))?;
    let master = super::console::receive_fd(&ours).map_err(|e| format!("receiving the console: {e}"))?;
    Ok((child, master))
}

#[allow(unsafe_code)]
fn spawn(mut command: Command, steps: Vec<Step>, console: Option<OwnedFd>) -> Result<std::process::Child, String> {
    let (report_r, report_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| e.to_string())?;
    let run = move || -> io::Result<()> {
        // The skiff binary turned transparent huge pages off for itself (see its main); the
        // container's processes get the machine's setting back.
        let _ = rustix::thread::disable_transparent_huge_pages(false);
        let mut ctx = Context { rootfs: PathBuf::new(), console: console.as_ref().map(|c| c.as_fd()) };
        for step in &steps {
            if let Err(source) = perform(step, &mut ctx) {
                let message = match step {
                    Step::Mount(m) => format!("mounting {} ({}) at {}: {source}", m.source, m.fstype, m.destination),
                    other => format!("{other:?}: {source}"),
                };
                let _ = rustix::io::write(&report_w, message.as_bytes());
                return Err(source);
            }
        }
        Ok(())
    };
    // SAFETY: the closure runs in the forked child of a single-threaded process (the monitor
    // or the exec helper), so no lock can be held by another thread; it only makes system
    // calls, allocates and writes to a pipe.
    unsafe { command.pre_exec(run) };
    let program = command.get_program().to_string_lossy().into_owned();
    let spawned = command.spawn();
    // The child's copy of the write end is gone (exec or exit); drop ours so reads end.
    drop(command);
    spawned.map_err(|e| {
        let mut buf = vec![0u8; 4096];
        let n = rustix::io::read(&report_r, &mut buf).unwrap_or(0);
        if n == 0 {
            format!("exec {program}: {e}")
        } else {
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
    })
}

/// Joins `path` to `root` without leaving `root`: symlinks resolve inside it, `..` stops at it.
pub fn secure_join(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<String> =
        Path::new(path).components().rev().filter_map(|c| c.as_os_str().to_str().map(str::to_string)).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = parts.pop() {
        match part.as_str() {
            "/" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = root.join(resolved.iter().collect::<PathBuf>()).join(&part);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() && links < 255 => {
                links += 1;
                let target = fs::read_link(&candidate).unwrap_or_default();
                if target.is_absolute() {
                    resolved.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                        Component::ParentDir => parts.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => resolved.push(part),
        }
    }
    root.join(resolved.iter().collect::<PathBuf>())
}

fn ensure_mountpoint(dest: &Path, file: bool) -> io::Result<()> {
    if dest.exists() {
        return Ok(());
    }
    if file {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::File::create(dest).map(|_| ())
    } else {
        fs::create_dir_all(dest)
    }
}

fn do_mount(op: &MountOp, rootfs: &Path) -> io::Result<()> {
    let dest = secure_join(rootfs, &op.destination);
    if op.bind {
        let source = Path::new(&op.source);
        ensure_mountpoint(&dest, !source.is_dir())?;
        if op.flags.contains(MountFlags::REC) {
            mount_bind_recursive(source, &dest)?;
        } else {
            mount_bind(source, &dest)?;
        }
        let extra = op.flags & (MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC);
        if !extra.is_empty() {
            mount_remount(&dest, MountFlags::BIND | extra, "")?;
        }
        mount_change(&dest, MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)?;
        return Ok(());
    }
    ensure_mountpoint(&dest, false)?;
    let data = std::ffi::CString::new(op.data.clone()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let data = if op.data.is_empty() { None } else { Some(data.as_c_str()) };
    mount(op.source.as_str(), &dest, op.fstype.as_str(), op.flags, data)?;
    Ok(())
}

const DEVICES: [(&str, u32, u32); 6] =
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

fn devices(rootfs: &Path) -> io::Result<()> {
    let dev = rootfs.join("dev");
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        let _ = fs::remove_file(&path);
        mknodat(CWD, &path, FileType::CharacterDevice, Mode::from_raw_mode(0o666), rustix::fs::makedev(major, minor))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666))?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        let path = dev.join(link);
        if fs::symlink_metadata(&path).is_err() {
            std::os::unix::fs::symlink(target, &path)?;
        }
    }
    Ok(())
}

fn pivot_root(rootfs: &Path) -> io::Result<()> {
    rustix::process::chdir(rootfs)?;
    rustix::process::pivot_root(".", ".")?;
    mount_change(".", MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)?;
    unmount(".", UnmountFlags::DETACH)?;
    rustix::process::chdir("/")?;
    Ok(())
}

fn mask(path: &str) -> io::Result<()> {
    match fs::metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => Ok(mount("tmpfs", path, "tmpfs", MountFlags::RDONLY, None)?),
        Ok(_) => Ok(mount_bind("/dev/null", path)?),
    }
}

fn readonly(path: &str) -> io::Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    mount_bind_recursive(path, path)?;
    mount_remount(path, MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV, "")?;
    Ok(())
}

fn identity(uid: u32, gid: u32, groups: &[u32], caps: &CapMasks) -> io::Result<()> {
    let last = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(63);
    for n in 0..=last {
        if caps.bounding & (1 << n) == 0 {
            rustix::thread::remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(1 << n))?;
        }
    }
    rustix::thread::set_keep_capabilities(true)?;
    let groups: Vec<_> = groups.iter().map(|g| rustix::fs::Gid::from_raw(*g)).collect();
    rustix::thread::set_thread_groups(&groups)?;
    let g = rustix::fs::Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(g, g, g)?;
    let u = rustix::fs::Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(u, u, u)?;
    rustix::thread::set_keep_capabilities(false)?;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::from_bits_retain(caps.effective),
            permitted: CapabilitySet::from_bits_retain(caps.permitted),
            inheritable: CapabilitySet::from_bits_retain(caps.inheritable),
        },
    )?;
    for n in 0..=last {
        if caps.ambient & (1 << n) != 0 {
            rustix::thread::configure_capability_in_ambient_set(CapabilitySet::from_bits_retain(1 << n), true)?;
        }
    }
    Ok(())
}

/// Brings `lo` (always ifindex 1 in a new network namespace) up with one RTM_NEWLINK.
fn loopback_up() -> io::Result<()> {
    use rustix::net::{netlink::SocketAddrNetlink, AddressFamily, RecvFlags, SendFlags, SocketType};
    let sock = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)?;
    let mut msg = Vec::with_capacity(32);
    msg.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    msg.extend_from_slice(&16u16.to_ne_bytes()); // RTM_NEWLINK
    msg.extend_from_slice(&(1u16 | 4).to_ne_bytes()); // NLM_F_REQUEST | NLM_F_ACK
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid
    msg.extend_from_slice(&[0, 0, 0, 0]); // ifi_family, pad, ifi_type
    msg.extend_from_slice(&1i32.to_ne_bytes()); // ifi_index
    msg.extend_from_slice(&1u32.to_ne_bytes()); // ifi_flags = IFF_UP
    msg.extend_from_slice(&1u32.to_ne_bytes()); // ifi_change = IFF_UP
    rustix::net::sendto(&sock, &msg, SendFlags::empty(), &SocketAddrNetlink::new(0, 0))?;
    let mut buf = [0u8; 256];
    let n = rustix::net::recv(&sock, &mut buf, RecvFlags::empty())?.0;
    // NLMSG_ERROR (2) carries the errno, negated, right after the header; 0 is the ack.
    if n >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == 2 {
        let errno = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        if errno != 0 {
            return Err(io::Error::from_raw_os_error(-errno));
        }
    }
    Ok(())
}

/// What steps carry from one to the next.
pub struct Context<'a> {
    /// The root file system once it is mounted.
    pub rootfs: PathBuf,
    /// Where [`Step::Console`] sends the terminal's master side.
    pub console: Option<BorrowedFd<'a>>,
}

/// Performs one step; `ctx` remembers where the root file system was mounted.
pub fn perform(step: &Step, ctx: &mut Context<'_>) -> io::Result<()> {
    let rootfs = &mut ctx.rootfs;
    match step {
        Step::JoinCgroup(dirs) => {
            for d in dirs {
                fs::write(d.join("cgroup.procs"), "0")?;
            }
        }
        Step::Join(kind, path) => join(*kind, path)?,
        Step::Unshare(kinds) => {
            #[allow(unsafe_code)]
            // SAFETY: runs in the single-threaded child between fork and exec.
            unsafe { rustix::thread::unshare_unsafe(flags_of(kinds)) }?
        }
        Step::LoopbackUp => loopback_up()?,
        Step::Hostname(h) => rustix::system::sethostname(h.as_bytes())?,
        Step::RootSlave => mount_change("/", MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC)?,
        Step::Overlay { lower, upper, work, target } => {
            let lower: Vec<_> = lower.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            let data = format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.join(":"),
                upper.to_string_lossy(),
                work.to_string_lossy()
            );
            let data = std::ffi::CString::new(data).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            mount("overlay", target, "overlay", MountFlags::empty(), Some(data.as_c_str()))?;
            *rootfs = target.clone();
        }
        Step::BindRootfs(target) => {
            mount_bind_recursive(target, target)?;
            *rootfs = target.clone();
        }
        Step::Mount(op) => do_mount(op, rootfs)?,
        Step::Devices => devices(rootfs)?,
        Step::PivotRoot(target) => pivot_root(target)?,
        Step::Mask(p) => mask(p)?,
        Step::Readonly(p) => readonly(p)?,
        Step::ReadonlyRoot => mount_remount("/", MountFlags::BIND | MountFlags::RDONLY, "")?,
        Step::Rlimit { resource, soft, hard } => set_rlimit(*resource, *soft, *hard)?,
        Step::OomScoreAdj(v) => fs::write("/proc/self/oom_score_adj", v.to_string())?,
        Step::Setsid => {
            rustix::process::setsid()?;
        }
        Step::Console => {
            let socket = ctx.console.ok_or_else(|| io::Error::other("no console socket"))?;
            let (master, slave) = super::console::open_pty(Path::new("/dev/pts/ptmx"))?;
            rustix::stdio::dup2_stdin(&slave)?;
            rustix::stdio::dup2_stdout(&slave)?;
            rustix::stdio::dup2_stderr(&slave)?;
            super::console::send_fd(socket, master.as_fd())?;
        }
        Step::ControllingTerminal => rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?,
        Step::Identity { uid, gid, groups, caps } => identity(*uid, *gid, groups, caps)?,
        Step::NoNewPrivs => rustix::thread::set_no_new_privs(true)?,
        Step::Chdir(dir) => rustix::process::chdir(dir.as_str())?,
    }
    Ok(())
}

/// Sets a limit, never above the current hard limit (raising it needs CAP_SYS_RESOURCE).
fn set_rlimit(resource: rustix::process::Resource, soft: u64, hard: u64) -> io::Result<()> {
    let current = rustix::process::getrlimit(resource);
    let hard = current.maximum.map_or(hard, |max| hard.min(max));
    let limit = rustix::process::Rlimit { current: Some(soft.min(hard)), maximum: Some(hard) };
    rustix::process::setrlimit(resource, limit)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_join_stays_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("real/inner")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("real/up")).unwrap();
        assert_eq!(secure_join(root, "/abs/inner"), root.join("real/inner"));
        assert_eq!(secure_join(root, "/real/up/passwd"), root.join("etc/passwd"));
        assert_eq!(secure_join(root, "/../../x"), root.join("x"));
        assert_eq!(secure_join(root, "/new/dir"), root.join("new/dir"));
    }
}
