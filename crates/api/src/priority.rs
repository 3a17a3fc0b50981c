//! Pod priority as Kubernetes computes it: the constants and system PriorityClasses of
//! `pkg/apis/scheduling`, and the decisions of the `Priority` admission plugin
//! (`plugin/pkg/admission/priority`): a new Pod's priority and preemption policy from the
//! PriorityClass it names (or the global default one), at most one global default class, and
//! no deleting the system classes. The API server looks the classes up in its store and hands
//! them in; everything here is pure.

use crate::At;
use serde_json::{json, Map, Value};

/// `scheduling.HighestUserDefinablePriority`: the largest value of a class not named `system-*`.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;
/// `scheduling.SystemCriticalPriority`.
pub const SYSTEM_CRITICAL_PRIORITY: i64 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// `scheduling.SystemPriorityClassPrefix`: names reserved for the system classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";
/// `scheduling.SystemNodeCritical`.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// `scheduling.SystemClusterCritical`.
pub const SYSTEM_CLUSTER_CRITICAL: &str = "system-cluster-critical";
/// `scheduling.DefaultPriorityWhenNoDefaultClassExists`.
pub const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS: i64 = 0;
/// `PreemptLowerPriority`, the default preemption policy.
pub const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";
/// `Never`.
pub const PREEMPT_NEVER: &str = "Never";

/// One of the PriorityClasses every cluster has (`SystemPriorityClasses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemClass {
    pub name: &'static str,
    pub value: i64,
    pub description: &'static str,
}

/// The system classes, as `pkg/apis/scheduling/v1/helpers.go` defines them.
pub const SYSTEM_PRIORITY_CLASSES: [SystemClass; 2] = [
    SystemClass {
        name: SYSTEM_NODE_CRITICAL,
        value: SYSTEM_CRITICAL_PRIORITY + 1000,
        description: "Used for system critical pods that must not be moved from their current node.",
    },
    SystemClass {
        name: SYSTEM_CLUSTER_CRITICAL,
        value: SYSTEM_CRITICAL_PRIORITY,
        description: "Used for system critical pods that must run in the cluster, but can be moved to another node \
                      if necessary.",
    },
];

impl SystemClass {
    /// The PriorityClass the API server creates at start when it is missing.
    pub fn object(&self) -> Value {
        json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": self.name},
            "value": self.value,
            "description": self.description,
        })
    }
}

/// `IsKnownSystemPriorityClass`: `Err` says why `name` (with this value and globalDefault) is not
/// one of the system classes.
pub fn check_known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    match SYSTEM_PRIORITY_CLASSES.iter().find(|c| c.name == name) {
        Some(c) if c.value != value => Err(format!("value of {} PriorityClass must be {}", c.name, c.value)),
        // No system class is the global default.
        Some(c) if global_default => Err(format!("globalDefault of {} PriorityClass must be false", c.name)),
        Some(_) => Ok(()),
        None => Err(format!("{name} is not a known system priority class")),
    }
}

/// A PriorityClass' `value` (0 when unset, as Go's int32 is).
pub fn value(class: &Value) -> i64 {
    class.get("value").and_then(Value::as_i64).unwrap_or(0)
}

/// A PriorityClass' `globalDefault`.
pub fn is_global_default(class: &Value) -> bool {
    class.get("globalDefault").and_then(Value::as_bool) == Some(true)
}

fn class_name(class: &Value) -> &str {
    class.at("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

/// `getDefaultPriorityClass`: of the classes marked `globalDefault`, the one with the lowest value
/// (more than one can exist after concurrent creates).
pub fn global_default<'a>(classes: impl IntoIterator<Item = &'a Value>) -> Option<&'a Value> {
    classes.into_iter().filter(|c| is_global_default(c)).fold(None, |best, c| match best {
        Some(b) if value(b) <= value(c) => Some(b),
        _ => Some(c),
    })
}

/// The PriorityClass a Pod names (`spec.priorityClassName`, `""` for none): the API server hands
/// that class to [`admit_pod_create`], or the global default one when the Pod names none.
pub fn pod_class_name(pod: &Value) -> &str {
    pod.at("/spec/priorityClassName").and_then(Value::as_str).unwrap_or("")
}

/// `admitPod` on create: sets `spec.priority` and `spec.preemptionPolicy` (and
/// `spec.priorityClassName`, to the global default class when the Pod named none).
///
/// `class` is the class [`pod_class_name`] names (`None`: there is none), or, when the Pod names
/// none, the global default class (`None`: no class is the default; priority 0). `Err` is the
/// reason of the 403 Forbidden.
pub fn admit_pod_create(pod: &mut Value, class: Option<&Value>) -> Result<(), String> {
    let Some(map) = pod.as_object_mut() else {
        return Ok(());
    };
    let spec = map.entry("spec").or_insert(Value::Null);
    if spec.is_null() {
        *spec = Value::Object(Map::new());
    }
    let Some(spec) = spec.as_object_mut() else {
        return Ok(());
    };
    let requested = spec.get("priorityClassName").and_then(Value::as_str).unwrap_or("").to_string();
    let (priority, policy) = match (requested.as_str(), class) {
        ("", None) => (DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS, Some(PREEMPT_LOWER_PRIORITY.to_string())),
        ("", Some(default)) => {
            spec.insert("priorityClassName".into(), Value::from(class_name(default)));
            (value(default), preemption_policy(default))
        }
        (name, None) => return Err(format!("no PriorityClass with name {name} was found")),
        (_, Some(pc)) => (value(pc), preemption_policy(pc)),
    };
    if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
        if given != priority {
            return Err(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission \
                 controller computed {priority} from the given PriorityClass name"
            ));
        }
    }
    spec.insert("priority".into(), Value::from(priority));
    if let Some(policy) = policy {
        if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str) {
            if given != policy {
                return Err(format!(
                    "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority \
                     admission controller computed {policy} from the given PriorityClass name"
                ));
            }
        }
        spec.insert("preemptionPolicy".into(), Value::from(policy));
    }
    Ok(())
}

fn preemption_policy(class: &Value) -> Option<String> {
    class.get("preemptionPolicy").and_then(Value::as_str).map(String::from)
}

/// `admitPod` on update: a Pod written back without `spec.priority` or `spec.preemptionPolicy`
/// keeps the ones admission gave it (validation then rejects any other change to them).
pub fn admit_pod_update(new: &mut Value, old: &Value) {
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["priority", "preemptionPolicy"] {
        let unset = spec.get(key).is_none_or(Value::is_null);
        if let Some(v) = old.get("spec").and_then(|s| s.get(key)).filter(|v| unset && !v.is_null()) {
            spec.insert(key.into(), v.clone());
        }
    }
}

/// `validatePriorityClass` of the plugin: a class may become the global default only while no
/// other one is. `current` is the global default among the stored classes; `update` tells an
/// update (the current default may stay the default) from a create. `Err` is the reason of the
/// 403 Forbidden.
pub fn check_global_default(class: &Value, current: Option<&Value>, update: bool) -> Result<(), String> {
    if !is_global_default(class) {
        return Ok(());
    }
    match current {
        Some(d) if !update || class_name(d) != class_name(class) => {
            Err(format!("PriorityClass {} is already marked as default. Only one default can exist", class_name(d)))
        }
        _ => Ok(()),
    }
}

/// The priorityclasses storage's `Delete`: the system classes cannot be deleted. `Err` is the
/// reason of the 403 Forbidden.
pub fn check_delete(name: &str) -> Result<(), String> {
    if SYSTEM_PRIORITY_CLASSES.iter().any(|c| c.name == name) {
        return Err("this is a system priority class and cannot be deleted".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, value: i64, policy: &str, default: bool) -> Value {
        json!({"metadata": {"name": name}, "value": value, "preemptionPolicy": policy, "globalDefault": default})
    }

    fn pod(spec: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn system_classes_are_known_only_with_their_values() {
        assert_eq!(SYSTEM_PRIORITY_CLASSES[0].value, 2_000_001_000);
        assert_eq!(SYSTEM_PRIORITY_CLASSES[1].value, 2_000_000_000);
        assert_eq!(check_known_system_class("system-node-critical", 2_000_001_000, false), Ok(()));
        assert_eq!(
            check_known_system_class("system-node-critical", 5, false).unwrap_err(),
            "value of system-node-critical PriorityClass must be 2000001000"
        );
        assert_eq!(
            check_known_system_class("system-cluster-critical", 2_000_000_000, true).unwrap_err(),
            "globalDefault of system-cluster-critical PriorityClass must be false"
        );
        assert_eq!(
            check_known_system_class("system-mine", 1, false).unwrap_err(),
            "system-mine is not a known system priority class"
        );
        let obj = SYSTEM_PRIORITY_CLASSES[0].object();
        assert_eq!(obj["metadata"]["name"], "system-node-critical");
        assert_eq!(obj["description"], "Used for system critical pods that must not be moved from their current node.");
        assert_eq!(
            SYSTEM_PRIORITY_CLASSES[1].description,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."
        );
    }

    #[test]
    fn the_lowest_global_default_wins() {
        let classes = [class("a", 10, "Never", true), class("b", 5, "Never", true), class("c", 1, "Never", false)];
        assert_eq!(global_default(&classes).map(class_name), Some("b"));
        assert_eq!(global_default(&classes[2..]), None);
    }

    #[test]
    fn a_named_class_gives_its_value_and_policy() {
        let high = class("high", 1000, "Never", false);
        let mut p = pod(json!({"priorityClassName": "high"}));
        admit_pod_create(&mut p, Some(&high)).unwrap();
        assert_eq!((&p["spec"]["priority"], &p["spec"]["preemptionPolicy"]), (&json!(1000), &json!("Never")));
        // The same values given explicitly are fine; other ones are not.
        let mut same = pod(json!({"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "Never"}));
        assert_eq!(admit_pod_create(&mut same, Some(&high)), Ok(()));
        let mut other = pod(json!({"priorityClassName": "high", "priority": 7}));
        assert_eq!(
            admit_pod_create(&mut other, Some(&high)).unwrap_err(),
            "the integer value of priority (7) must not be provided in pod spec; priority admission controller \
             computed 1000 from the given PriorityClass name"
        );
        let mut policy = pod(json!({"priorityClassName": "high", "preemptionPolicy": "PreemptLowerPriority"}));
        assert_eq!(
            admit_pod_create(&mut policy, Some(&high)).unwrap_err(),
            "the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority \
             admission controller computed Never from the given PriorityClass name"
        );
    }

    #[test]
    fn a_missing_class_is_refused() {
        let mut p = pod(json!({"priorityClassName": "foo"}));
        assert_eq!(admit_pod_create(&mut p, None).unwrap_err(), "no PriorityClass with name foo was found");
    }

    #[test]
    fn no_class_means_the_global_default_or_zero() {
        let mut p = pod(json!({}));
        admit_pod_create(&mut p, None).unwrap();
        assert_eq!(p["spec"], json!({"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}));
        let mut bare = json!({"metadata": {"name": "p"}});
        admit_pod_create(&mut bare, None).unwrap();
        assert_eq!(bare["spec"]["priority"], 0);
        let low = class("low", -5, "Never", true);
        let mut p = pod(json!({"priorityClassName": ""}));
        admit_pod_create(&mut p, Some(&low)).unwrap();
        assert_eq!(p["spec"], json!({"priorityClassName": "low", "priority": -5, "preemptionPolicy": "Never"}));
        let mut wrong = pod(json!({"priority": 0}));
        assert!(admit_pod_create(&mut wrong, Some(&low)).unwrap_err().contains("(0) must not be provided"));
    }

    #[test]
    fn updates_keep_what_admission_set() {
        let old = pod(json!({"priority": 1000, "preemptionPolicy": "Never"}));
        let mut new = pod(json!({"containers": []}));
        admit_pod_update(&mut new, &old);
        assert_eq!(new["spec"]["priority"], 1000);
        assert_eq!(new["spec"]["preemptionPolicy"], "Never");
        let mut changed = pod(json!({"priority": 5}));
        admit_pod_update(&mut changed, &old);
        assert_eq!(changed["spec"]["priority"], 5, "left for validation to refuse");
    }

    #[test]
    fn only_one_global_default() {
        let a = class("a", 1, PREEMPT_LOWER_PRIORITY, true);
        let b = class("b", 2, PREEMPT_LOWER_PRIORITY, true);
        assert_eq!(check_global_default(&b, None, false), Ok(()));
        assert_eq!(
            check_global_default(&b, Some(&a), false).unwrap_err(),
            "PriorityClass a is already marked as default. Only one default can exist"
        );
        assert!(check_global_default(&b, Some(&a), true).is_err());
        assert_eq!(check_global_default(&a, Some(&a), true), Ok(()));
        assert!(check_global_default(&a, Some(&a), false).is_err());
        assert_eq!(check_global_default(&class("c", 1, PREEMPT_NEVER, false), Some(&a), false), Ok(()));
    }

    #[test]
    fn system_classes_cannot_be_deleted() {
        assert_eq!(
            check_delete("system-node-critical").unwrap_err(),
            "this is a system priority class and cannot be deleted"
        );
        assert!(check_delete("system-cluster-critical").is_err());
        assert_eq!(check_delete("high"), Ok(()));
    }
}
