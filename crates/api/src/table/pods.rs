//! The pod printer: a port of `printPod` (kubernetes/pkg/printers/internalversion/printers.go).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::format::{age, arr_at, at, int_at, is_set, name, str_at, time_at, translate_timestamp_since};

/// `node.NodeUnreachablePodReason`.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

/// Keeps the latest of two restart dates (`lastRestartDate.Before(&terminatedDate)`).
fn later(cur: Option<DateTime<Utc>>, new: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (cur, new) {
        (Some(c), Some(n)) if c < n => Some(n),
        (None, Some(n)) => Some(n),
        (c, _) => c,
    }
}

/// `podutil.IsRestartableInitContainer`: an init container with `restartPolicy: Always`.
fn is_restartable_init(init_containers: &[Value], name: &str) -> bool {
    init_containers
        .iter()
        .find(|c| str_at(c, &["name"]) == name)
        .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
}

fn has_condition_true(conditions: &[Value], type_: &str) -> bool {
    conditions.iter().any(|c| str_at(c, &["type"]) == type_ && str_at(c, &["status"]) == "True")
}

/// `isPodInitializedConditionTrue`: the first `Initialized` condition decides.
fn is_initialized(conditions: &[Value]) -> bool {
    conditions.iter().find(|c| str_at(c, &["type"]) == "Initialized").is_some_and(|c| str_at(c, &["status"]) == "True")
}

fn last_terminated(status: &Value) -> Option<DateTime<Utc>> {
    if is_set(status, &["lastState", "terminated"]) {
        time_at(status, &["lastState", "terminated", "finishedAt"])
    } else {
        None
    }
}

/// The cells of a pod row: Name, Ready, Status, Restarts, Age, IP, Node, Nominated Node,
/// Readiness Gates.
pub(super) fn row(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let containers = arr_at(pod, &["spec", "containers"]);
    let init_containers = arr_at(pod, &["spec", "initContainers"]);
    let conditions = arr_at(pod, &["status", "conditions"]);

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total_containers = containers.len();
    let mut ready_containers = 0usize;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_restartable_init_restart: Option<DateTime<Utc>> = None;

    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = if status_reason.is_empty() { phase.to_string() } else { status_reason.to_string() };

    for c in conditions {
        if str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    total_containers += init_containers.iter().filter(|c| str_at(c, &["restartPolicy"]) == "Always").count();

    let mut initializing = false;
    for (i, cs) in arr_at(pod, &["status", "initContainerStatuses"]).iter().enumerate() {
        let restart_count = int_at(cs, &["restartCount"]);
        restarts += restart_count;
        let terminated_date = last_terminated(cs);
        last_restart = later(last_restart, terminated_date);
        let restartable = is_restartable_init(init_containers, str_at(cs, &["name"]));
        if restartable {
            restartable_init_restarts += restart_count;
            last_restartable_init_restart = later(last_restartable_init_restart, terminated_date);
        }
        let terminated = at(cs, &["state", "terminated"]).filter(|v| !v.is_null());
        let waiting = at(cs, &["state", "waiting"]).filter(|v| !v.is_null());
        let started = at(cs, &["started"]).and_then(Value::as_bool).unwrap_or(false);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if restartable && started {
            if at(cs, &["ready"]).and_then(Value::as_bool).unwrap_or(false) {
                ready_containers += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let r = str_at(t, &["reason"]);
            reason = if r.is_empty() {
                let signal = int_at(t, &["signal"]);
                if signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
                }
            } else {
                format!("Init:{r}")
            };
        } else if let Some(r) =
            waiting.map(|w| str_at(w, &["reason"])).filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || is_initialized(conditions) {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for cs in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(cs, &["restartCount"]);
            last_restart = later(last_restart, last_terminated(cs));
            let waiting_reason = at(cs, &["state", "waiting"]).filter(|v| !v.is_null()).map(|w| str_at(w, &["reason"]));
            let terminated = at(cs, &["state", "terminated"]).filter(|v| !v.is_null());
            let running = is_set(cs, &["state", "running"]);
            let ready = at(cs, &["ready"]).and_then(Value::as_bool).unwrap_or(false);
            if let Some(r) = waiting_reason.filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if ready && running {
                has_running = true;
                ready_containers += 1;
            }
        }
        // Back to "Running" if at least one container still reports running.
        if reason == "Completed" && has_running {
            reason = if has_condition_true(conditions, "Ready") { "Running" } else { "NotReady" }.to_string();
        }
    }

    if is_set(pod, &["metadata", "deletionTimestamp"]) {
        if status_reason == NODE_UNREACHABLE_POD_REASON {
            reason = "Unknown".to_string();
        } else if phase != "Failed" && phase != "Succeeded" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", translate_timestamp_since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let pod_ip = arr_at(pod, &["status", "podIPs"])
        .first()
        .map(|ip| str_at(ip, &["ip"]))
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };

    let gates = arr_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|g| {
                let t = str_at(g, &["conditionType"]);
                conditions.iter().find(|c| str_at(c, &["type"]) == t).is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };

    vec![
        json!(name(pod)),
        json!(format!("{ready_containers}/{total_containers}")),
        json!(reason),
        json!(restarts_str),
        json!(age(pod, now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(pod, &["spec", "nodeName"]))),
        json!(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        json!(readiness_gates),
    ]
}
