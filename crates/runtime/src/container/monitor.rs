//! The monitor: one small process per container (the `skiff` binary re-executed), which
//! outlives whoever started it. It creates the cgroup, enters or creates the PID namespace,
//! forks the container's process through the planned steps, writes `state.json`, copies
//! output into the CRI log (and, when attached, to its caller), reaps the process, records
//! `exit.json` with the OOM verdict, and removes the cgroup.
//!
//! Protocol on the monitor's stdout: one line, `ok <pid>` or `error <message>`; when attached,
//! then frames `[stream: u8][len: u32 LE][bytes]` (1 stdout, 2 stderr, 3 the exit JSON).

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::OFlags;

use super::cgroup;
use super::log::{LogWriter, Stream};
use super::plan::{plan, NsKind, Rootfs, Step};
use super::state::{self, ContainerRecord, ExitState, RunState};
use super::sys;

fn reply(line: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

fn frame(attached: &mut bool, stream: u8, data: &[u8]) {
    if !*attached {
        return;
    }
    let mut out = io::stdout().lock();
    let mut buf = Vec::with_capacity(data.len() + 5);
    buf.push(stream);
    buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
    buf.extend_from_slice(data);
    if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
        *attached = false;
    }
}

fn detach_stdout() {
    if let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

fn record_failure(dir: &Path, message: &str) {
    let exit = ExitState {
        exit_code: 128,
        signal: None,
        reason: "StartError".into(),
        oom_killed: false,
        finished_at: state::now(),
        message: Some(message.to_string()),
    };
    let _ = state::write_json(&dir.join("exit.json"), &exit);
}

/// Entry point of `skiff __monitor <dir> [attach]`; returns the monitor's exit code.
pub fn main(dir: &Path, attach: bool) -> i32 {
    let _ = rustix::process::setsid();
    match run(dir, attach) {
        Ok(()) => 0,
        Err(message) => {
            record_failure(dir, &message);
            reply(&format!("error {message}"));
            1
        }
    }
}

struct Io {
    out: OwnedFd,
    err: Option<OwnedFd>,
}

/// Starts the container's process: with a terminal (which the process opens in its own devpts
/// and hands back), or with pipes for stdout and stderr.
fn spawn(mut command: Command, steps: Vec<Step>, tty: bool) -> Result<(Child, Io), String> {
    if tty {
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let (child, master) = sys::spawn_with_console(command, steps)?;
        return Ok((child, Io { out: master, err: None }));
    }
    let pipe = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| format!("stdio: {e}"));
    let ((out_r, out_w), (err_r, err_w)) = (pipe()?, pipe()?);
    command.stdin(Stdio::null()).stdout(Stdio::from(out_w)).stderr(Stdio::from(err_w));
    let child = sys::spawn_with_steps(command, steps)?;
    Ok((child, Io { out: out_r, err: Some(err_r) }))
}

fn run(dir: &Path, attach: bool) -> Result<(), String> {
    let record: ContainerRecord = state::read_json(&dir.join("container.json"))
        .map_err(|e| format!("reading container.json: {e}"))?
        .ok_or("container.json is missing")?;
    let spec = Spec::load(dir.join("config.json")).map_err(|e| format!("reading config.json: {e}"))?;
    let process = spec.process().as_ref().ok_or("spec has no process")?;
    let args = process.args().clone().unwrap_or_default();

    let layout = cgroup::detect().map_err(|e| e.to_string())?;
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let cg = layout.create(&record.cgroup, resources).map_err(|e| format!("creating cgroup: {e}"))?;
    let rootfs = if record.layers.is_empty() {
        Rootfs::Directory
    } else {
        Rootfs::Overlay { lower: record.layers.clone(), upper: dir.join("upper"), work: dir.join("work") }
    };
    let fail = |message: String| {
        cg.remove_if_empty();
        message
    };
    let steps = plan(&spec, &rootfs, cg.join_dirs()).map_err(|e| fail(e.to_string()))?;
    for ns in spec.linux().as_ref().and_then(|l| l.namespaces().clone()).unwrap_or_default() {
        if ns.typ() == LinuxNamespaceType::Pid {
            match ns.path() {
                Some(path) => sys::join(NsKind::Pid, path),
                None => sys::unshare_pid_for_children(),
            }
            .map_err(|e| fail(format!("pid namespace: {e}")))?;
        }
    }

    let command = sys::command(&args, process.env().iter().flatten()).ok_or("spec has no command")?;
    let log_path = record.log_path.clone();
    let mut log = LogWriter::open(&log_path, record.config.log.max_size, record.config.log.max_files)
        .map_err(|e| fail(format!("log {}: {e}", log_path.display())))?;
    let (mut child, io_fds) = spawn(command, steps, process.terminal() == Some(true)).map_err(fail)?;
    let pid = child.id() as i32;
    let me = std::process::id() as i32;
    let run = RunState {
        monitor_pid: me,
        monitor_start: state::start_time(me).unwrap_or(0),
        pid,
        pid_start: state::start_time(pid).unwrap_or(0),
        started_at: state::now(),
    };
    state::write_json(&dir.join("state.json"), &run).map_err(|e| format!("state.json: {e}"))?;
    reply(&format!("ok {pid}"));
    let mut attached = attach;
    if !attach {
        detach_stdout();
    }

    copy_output(&io_fds, &mut log, &mut attached, pid);
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = log.finish(chrono::Utc::now());
    let (exit_code, signal) = sys::exit_code(status);
    let oom_killed = cg.oom_kills() > 0;
    let exit = ExitState {
        exit_code,
        signal,
        reason: state::exit_reason(exit_code, oom_killed).into(),
        oom_killed,
        finished_at: state::now(),
        message: None,
    };
    let _ = state::write_json(&dir.join("exit.json"), &exit);
    cg.kill_all();
    let _ = cg.remove();
    frame(&mut attached, 3, &serde_json::to_vec(&exit).unwrap_or_default());
    Ok(())
}

/// Copies output until the process exits (its pidfd turns readable) and the pipes are drained.
fn copy_output(io_fds: &Io, log: &mut LogWriter, attached: &mut bool, pid: i32) {
    let pidfd = rustix::process::Pid::from_raw(pid)
        .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok());
    let mut pipes: Vec<(Stream, &OwnedFd)> = vec![(Stream::Stdout, &io_fds.out)];
    if let Some(err) = &io_fds.err {
        pipes.push((Stream::Stderr, err));
    }
    let mut buf = vec![0u8; 32 * 1024];
    let mut exited = false;
    while !pipes.is_empty() {
        let mut fds: Vec<PollFd<'_>> = pipes.iter().map(|(_, fd)| PollFd::new(*fd, PollFlags::IN)).collect();
        if let (Some(p), false) = (&pidfd, exited) {
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
        if poll(&mut fds, exited.then_some(&zero)).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        if ready.len() > pipes.len() && ready[pipes.len()] {
            exited = true;
            // Drain without blocking: leftover holders of the pipes must not keep us here.
            for (_, fd) in &pipes {
                let _ = rustix::fs::fcntl_setfl(fd, OFlags::NONBLOCK);
            }
        }
        let mut progressed = false;
        let mut closed = Vec::new();
        for (i, (stream, fd)) in pipes.iter().enumerate() {
            if !ready[i] && !exited {
                continue;
            }
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => closed.push(i),
                Err(rustix::io::Errno::AGAIN) => {}
                Err(_) => closed.push(i),
                Ok(n) => {
                    progressed = true;
                    let _ = log.write(*stream, &buf[..n], chrono::Utc::now());
                    frame(attached, if *stream == Stream::Stdout { 1 } else { 2 }, &buf[..n]);
                }
            }
        }
        for i in closed.into_iter().rev() {
            pipes.remove(i);
        }
        if exited && !progressed {
            return;
        }
    }
}
