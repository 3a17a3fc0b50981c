//! The exec helper (`skiff __exec <dir> <json>`): a short-lived single-threaded process that
//! enters the container's PID namespace (for its child), then forks the new process into the
//! container's cgroup, IPC, UTS, network and mount namespaces with the container's user and
//! capabilities, and exits with its exit code.

use std::path::Path;

use oci_spec::runtime::Spec;

use super::cgroup;
use super::plan::{plan, NsKind, Rootfs, Step};
use super::runtime::ExecConfig;
use super::state::{self, ContainerRecord, RunState};
use super::sys;

/// Entry point; returns the exit code (126 when the process could not be started).
pub fn main(dir: &Path, config: &str) -> i32 {
    match run(dir, config) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("exec failed: {message}");
            126
        }
    }
}

/// The exec steps: the container's cgroup, its namespaces (mount last: it changes the root),
/// then the identity and working directory of the container's own process.
pub fn exec_steps(container: &[Step], cgroups: Vec<std::path::PathBuf>, pid: i32, tty: bool) -> Vec<Step> {
    let mut steps = vec![Step::JoinCgroup(cgroups)];
    for kind in [NsKind::Ipc, NsKind::Uts, NsKind::Network, NsKind::Mount] {
        let name = match kind {
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Network => "net",
            _ => "mnt",
        };
        steps.push(Step::Join(kind, format!("/proc/{pid}/ns/{name}").into()));
    }
    steps.push(Step::Setsid);
    if tty {
        steps.push(Step::ControllingTerminal);
    }
    steps.extend(
        container.iter().filter(|s| matches!(s, Step::Identity { .. } | Step::NoNewPrivs | Step::Chdir(_))).cloned(),
    );
    steps
}

fn run(dir: &Path, config: &str) -> Result<i32, String> {
    let exec: ExecConfig = serde_json::from_str(config).map_err(|e| e.to_string())?;
    let record: ContainerRecord =
        state::read_json(&dir.join("container.json")).map_err(|e| e.to_string())?.ok_or("no such container")?;
    let run: RunState = state::read_json(&dir.join("state.json")).map_err(|e| e.to_string())?.ok_or("not started")?;
    if !state::alive(run.pid, run.pid_start) {
        return Err("the container is not running".into());
    }
    let spec = Spec::load(dir.join("config.json")).map_err(|e| e.to_string())?;
    let container_steps = plan(&spec, &Rootfs::Directory, vec![]).map_err(|e| e.to_string())?;
    let layout = cgroup::detect().map_err(|e| e.to_string())?;
    let cgroups = layout.cgroup(&record.cgroup).join_dirs();
    let steps = exec_steps(&container_steps, cgroups, run.pid, exec.tty);
    let env = spec.process().as_ref().and_then(|p| p.env().clone()).unwrap_or_default();
    let exec_env: Vec<String> = exec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let command = sys::command(&exec.args, env.iter().chain(&exec_env)).ok_or("no command")?;
    sys::join(NsKind::Pid, Path::new(&format!("/proc/{}/ns/pid", run.pid)))
        .map_err(|e| format!("pid namespace: {e}"))?;
    let mut child = sys::spawn_with_steps(command, steps)?;
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok(sys::exit_code(status).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::plan::CapMasks;

    #[test]
    fn exec_joins_everything_and_keeps_the_identity() {
        let identity = Step::Identity { uid: 5, gid: 6, groups: vec![], caps: CapMasks::default() };
        let container =
            vec![Step::LoopbackUp, Step::Devices, identity.clone(), Step::NoNewPrivs, Step::Chdir("/w".into())];
        let steps = exec_steps(&container, vec!["/cg".into()], 42, true);
        assert_eq!(steps[0], Step::JoinCgroup(vec!["/cg".into()]));
        assert_eq!(steps[4], Step::Join(NsKind::Mount, "/proc/42/ns/mnt".into()));
        assert!(steps.contains(&Step::ControllingTerminal) && steps.contains(&identity));
        assert!(!steps.contains(&Step::LoopbackUp) && !steps.contains(&Step::Devices));
        assert_eq!(steps.last(), Some(&Step::Chdir("/w".into())));
    }
}
