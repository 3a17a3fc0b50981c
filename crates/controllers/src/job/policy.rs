//! How a Job judges its failed Pods: `podFailurePolicy` rules, the back-off before new Pods
//! after failures, and container restarts under `restartPolicy: OnFailure`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;

/// First delay before replacing a failed Pod, doubled per further failure up to the max.
const POD_BACKOFF: Duration = Duration::from_secs(10);
const MAX_POD_BACKOFF: Duration = Duration::from_secs(360);

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

pub fn succeeded(pod: &Pod) -> bool {
    phase(pod) == Some("Succeeded")
}

/// Failed, or deleted before it succeeded (`isPodFailed`).
pub fn failed(pod: &Pod) -> bool {
    phase(pod) == Some("Failed") || (pod.metadata.deletion_timestamp.is_some() && !succeeded(pod))
}

fn statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let s = pod.status.as_ref();
    let init = s.and_then(|s| s.init_container_statuses.as_ref()).into_iter().flatten();
    init.chain(s.and_then(|s| s.container_statuses.as_ref()).into_iter().flatten())
}

/// When the Pod finished: its last container's end, else its deletion.
pub fn finish_time(pod: &Pod) -> Option<Timestamp> {
    let ended = statuses(pod).filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref().map(|t| t.0));
    ended.max().or_else(|| pod.metadata.deletion_timestamp.as_ref().map(|t| t.0))
}

/// Container restarts of the active Pods (`restartPolicy: OnFailure` counts them as failures).
pub fn restarts(active: &[Arc<Pod>]) -> i32 {
    active.iter().flat_map(|p| statuses(p).map(|c| c.restart_count)).sum()
}

/// How long new Pods still wait after the failures since the last success.
pub fn backoff_remaining(pods: &[Arc<Pod>], now: Timestamp) -> Option<Duration> {
    let last_success = pods.iter().filter(|p| succeeded(p)).filter_map(|p| finish_time(p)).max();
    let failures: Vec<Timestamp> = pods
        .iter()
        .filter(|p| failed(p))
        .filter_map(|p| finish_time(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let last = *failures.iter().max()?;
    let factor = 1u32.checked_shl(failures.len().saturating_sub(1) as u32).unwrap_or(u32::MAX);
    let delay = POD_BACKOFF.saturating_mul(factor).min(MAX_POD_BACKOFF);
    let left = last.as_millisecond() + delay.as_millis() as i64 - now.as_millisecond();
    (left > 0).then(|| Duration::from_millis(left as u64))
}

/// The action of the first rule a failed Pod matches, with the message a FailJob gives.
pub fn matching_rule(policy: &PodFailurePolicy, pod: &Pod) -> Option<(String, String)> {
    let pod_name =
        format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or(""));
    for (i, rule) in policy.rules.iter().enumerate() {
        if let Some(why) = rule_matches(rule, pod) {
            let msg = match why {
                Match::ExitCode(container, code) => format!(
                    "Container {container} for pod {pod_name} failed with exit code {code} matching {} rule at index {i}",
                    rule.action
                ),
                Match::Condition(t) => {
                    format!("Pod {pod_name} has condition {t} matching {} rule at index {i}", rule.action)
                }
            };
            return Some((rule.action.clone(), msg));
        }
    }
    None
}

enum Match {
    ExitCode(String, i32),
    Condition(String),
}

fn rule_matches(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<Match> {
    if let Some(req) = &rule.on_exit_codes {
        for c in statuses(pod) {
            if req.container_name.as_ref().is_some_and(|n| *n != c.name) {
                continue;
            }
            let Some(code) = c.state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code) else {
                continue;
            };
            if code == 0 {
                continue;
            }
            let listed = req.values.contains(&code);
            let hit = match req.operator.as_str() {
                "In" => listed,
                "NotIn" => !listed,
                _ => false,
            };
            if hit {
                return Some(Match::ExitCode(c.name.clone(), code));
            }
        }
    }
    for pattern in rule.on_pod_conditions.iter().flatten() {
        let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).into_iter().flatten();
        let want = if pattern.status.is_empty() { "True" } else { pattern.status.as_str() };
        if conditions.into_iter().any(|c| c.type_ == pattern.type_ && c.status == want) {
            return Some(Match::Condition(pattern.type_.clone()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Arc<Pod> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn ended(phase: &str, at: &str, code: i32) -> Arc<Pod> {
        pod(json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": phase, "containerStatuses": [
            {"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": code, "finishedAt": at}}}]}}))
    }

    #[test]
    fn back_off_doubles_per_failure_since_the_last_success() {
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let one = vec![ended("Failed", "2026-01-01T00:00:55Z", 1)];
        assert_eq!(backoff_remaining(&one, now), Some(Duration::from_secs(5)));
        let two = vec![ended("Failed", "2026-01-01T00:00:30Z", 1), ended("Failed", "2026-01-01T00:00:50Z", 1)];
        assert_eq!(backoff_remaining(&two, now), Some(Duration::from_secs(10)));
        let healed = vec![ended("Failed", "2026-01-01T00:00:50Z", 1), ended("Succeeded", "2026-01-01T00:00:55Z", 0)];
        assert_eq!(backoff_remaining(&healed, now), None);
    }

    #[test]
    fn failure_policy_rules_match_exit_codes_and_conditions() {
        let policy: PodFailurePolicy = serde_json::from_value(json!({"rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}))
        .unwrap();
        let (action, msg) = matching_rule(&policy, &ended("Failed", "2026-01-01T00:00:00Z", 42)).unwrap();
        assert_eq!(action, "FailJob");
        assert_eq!(msg, "Container c for pod ns/p failed with exit code 42 matching FailJob rule at index 1");
        assert!(matching_rule(&policy, &ended("Failed", "2026-01-01T00:00:00Z", 1)).is_none());
        let disrupted = pod(json!({"status": {"phase": "Failed",
            "conditions": [{"type": "DisruptionTarget", "status": "True"}]}}));
        assert_eq!(matching_rule(&policy, &disrupted).unwrap().0, "Ignore");
    }
}
