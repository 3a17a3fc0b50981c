//! Validation of scheduling.k8s.io kinds: `ValidatePriorityClass`, `ValidatePriorityClassUpdate`.

use serde_json::Value;

use crate::priority::{
    check_known_system_class, is_global_default, value, HIGHEST_USER_DEFINABLE_PRIORITY, PREEMPT_LOWER_PRIORITY,
    PREEMPT_NEVER, SYSTEM_PRIORITY_CLASS_PREFIX,
};
use crate::{At, Cause};

/// `ValidatePriorityClass` beyond ObjectMeta: `system-` names belong to the system classes, other
/// classes stay at or below `HighestUserDefinablePriority`, and the preemption policy is known.
pub(crate) fn validate_priority_class(obj: &Value, out: &mut Vec<Cause>) {
    let name = obj.at("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        if let Err(e) = check_known_system_class(name, value(obj), is_global_default(obj)) {
            out.push(Cause::forbidden(
                "metadata.name",
                &format!(
                    "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use \
                     only. error: {e}"
                ),
            ));
        }
    } else if value(obj) > HIGHEST_USER_DEFINABLE_PRIORITY {
        out.push(Cause::forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"),
        ));
    }
    // `ValidatePreemptionPolicy`.
    match obj.get("preemptionPolicy") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if p == PREEMPT_LOWER_PRIORITY || p == PREEMPT_NEVER => {}
        Some(Value::String(p)) if p.is_empty() => out.push(Cause::required("preemptionPolicy")),
        Some(p) => out.push(Cause::not_supported("preemptionPolicy", p, &[PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER])),
    }
}

/// `ValidatePriorityClassUpdate` beyond ObjectMeta: `value` and `preemptionPolicy` are immutable.
pub(crate) fn validate_priority_class_update(new: &Value, old: &Value, out: &mut Vec<Cause>) {
    if value(new) != value(old) {
        out.push(Cause::forbidden("value", "may not be changed in an update."));
    }
    let policy = |o: &Value| o.get("preemptionPolicy").cloned().unwrap_or(Value::Null);
    if policy(new) != policy(old) {
        out.push(Cause::invalid("preemptionPolicy", &policy(new), "field is immutable"));
    }
}
