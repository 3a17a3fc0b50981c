//! Reaps helper processes (monitors, infra processes) that outlive the call that started
//! them: one background thread polls the adopted children, so no zombie is left while the
//! caller runs on. Processes started before a restart of the caller are not its children and
//! need no reaping.

use std::process::Child;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

static CHILDREN: OnceLock<Mutex<Vec<Child>>> = OnceLock::new();

/// Hands `child` to the reaper thread (started on first use).
pub fn adopt(child: Child) {
    let mut started = false;
    let children = CHILDREN.get_or_init(|| {
        started = true;
        Mutex::new(Vec::new())
    });
    children.lock().unwrap_or_else(|e| e.into_inner()).push(child);
    if started {
        let _ = std::thread::Builder::new().name("reaper".into()).spawn(|| loop {
            std::thread::sleep(Duration::from_millis(500));
            if let Some(children) = CHILDREN.get() {
                children.lock().unwrap_or_else(|e| e.into_inner()).retain_mut(|c| matches!(c.try_wait(), Ok(None)));
            }
        });
    }
}
