//! What the runtime keeps on disk per container (`<root>/<id>/`): `container.json` (the
//! request and derived paths), `config.json` (the OCI spec), `state.json` (written by the
//! monitor once the process runs) and `exit.json` (written by the monitor when it ends).
//! Each is replaced atomically, so a crash never leaves half a file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::config::ContainerConfig;

/// `container.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub created: String,
    pub config: ContainerConfig,
    pub log_path: PathBuf,
    pub cgroup: String,
    /// Image layer directories, top first.
    pub layers: Vec<PathBuf>,
}

/// `state.json`: who runs, verified by start times so a reused PID is not mistaken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub pid: i32,
    pub pid_start: u64,
    pub started_at: String,
}

/// `exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitState {
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// Completed, Error, OOMKilled or StartError (Kubernetes' terminated reasons).
    pub reason: String,
    pub oom_killed: bool,
    pub finished_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A container's state, derived from the files and the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Created,
    Running {
        pid: i32,
    },
    Exited(ExitState),
    /// Started, but its monitor and process are gone without an exit record.
    Unknown,
}

/// Kubernetes' reason for a terminated container.
pub fn exit_reason(code: i32, oom_killed: bool) -> &'static str {
    match (oom_killed, code) {
        (true, _) => "OOMKilled",
        (false, 0) => "Completed",
        _ => "Error",
    }
}

/// Derives the status; `alive(pid, start)` checks the process table.
pub fn status(run: Option<&RunState>, exit: Option<&ExitState>, alive: impl Fn(i32, u64) -> bool) -> Status {
    match (run, exit) {
        (_, Some(e)) => Status::Exited(e.clone()),
        (None, None) => Status::Created,
        (Some(r), None) if alive(r.pid, r.pid_start) => Status::Running { pid: r.pid },
        (Some(r), None) if alive(r.monitor_pid, r.monitor_start) => Status::Running { pid: r.pid },
        (Some(_), None) => Status::Unknown,
    }
}

/// State letter and start time (field 22, clock ticks since boot) from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    Some((rest.chars().next()?, rest.split(' ').nth(19)?.parse().ok()?))
}

/// Start time of `pid` in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// Whether `pid` is still the process that started at `start` (and not a zombie).
pub fn alive(pid: i32, start: u64) -> bool {
    matches!(stat(pid), Some((state, s)) if s == start && state != 'Z' && state != 'X')
}

/// Writes `value` as JSON to `path` through a temporary file, synced and renamed.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(value).map_err(io::Error::other)?)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(data) => serde_json::from_slice(&data).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// RFC 3339 time of now.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> ExitState {
        ExitState {
            exit_code: code,
            signal: None,
            reason: exit_reason(code, false).into(),
            oom_killed: false,
            finished_at: "2026-01-01T00:00:00Z".into(),
            message: None,
        }
    }

    #[test]
    fn status_from_files_and_processes() {
        let run = RunState { monitor_pid: 10, monitor_start: 1, pid: 11, pid_start: 2, started_at: now() };
        assert_eq!(status(None, None, |_, _| true), Status::Created);
        assert_eq!(status(Some(&run), None, |p, _| p == 11), Status::Running { pid: 11 });
        assert_eq!(status(Some(&run), None, |_, _| false), Status::Unknown);
        assert_eq!(status(Some(&run), Some(&exit(3)), |_, _| true), Status::Exited(exit(3)));
        assert_eq!(
            (exit_reason(0, false), exit_reason(1, false), exit_reason(137, true)),
            ("Completed", "Error", "OOMKilled")
        );
    }

    #[test]
    fn own_process_is_alive_with_its_start_time() {
        let me = std::process::id() as i32;
        let start = start_time(me).unwrap();
        assert!(alive(me, start) && !alive(me, start + 1));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        assert_eq!(read_json::<ExitState>(&p).unwrap(), None);
        write_json(&p, &exit(2)).unwrap();
        assert_eq!(read_json::<ExitState>(&p).unwrap(), Some(exit(2)));
    }
}
