//! Pod rules split out of `pod.rs`: tolerations and `ValidatePodUpdate`'s immutability rules.

use serde_json::{Map, Value};

use super::meta::{label_value, qualified_name};
use crate::Cause;

type Obj = Map<String, Value>;

fn s<'a>(m: &'a Obj, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(tols: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(tols) = tols.and_then(Value::as_array) else {
        return;
    };
    for (i, t) in tols.iter().enumerate() {
        let Some(t) = t.as_object() else { continue };
        let p = format!("{path}[{i}]");
        let key = s(t, "key");
        if !key.is_empty() {
            for msg in qualified_name(key) {
                out.push(Cause::invalid(format!("{p}.key"), &Value::from(key), &msg));
            }
        }
        let op = s(t, "operator");
        if key.is_empty() && op != "Exists" {
            out.push(Cause::invalid(
                format!("{p}.operator"),
                &Value::from(op),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        let effect = s(t, "effect");
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            out.push(Cause::invalid(
                format!("{p}.effect"),
                &Value::from(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        let value = s(t, "value");
        match op {
            "" | "Equal" => {
                for msg in label_value(value) {
                    out.push(Cause::invalid(format!("{p}.operator"), &Value::from(value), &msg));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    out.push(Cause::invalid(
                        format!("{p}.operator"),
                        &Value::from(value),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => out.push(Cause::not_supported(format!("{p}.operator"), &Value::from(other), &["Equal", "Exists"])),
        }
        if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            out.push(Cause::not_supported(
                format!("{p}.effect"),
                &Value::from(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
}

const UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// `ValidatePodUpdate`'s spec rules (the new pod is validated separately).
pub(crate) fn validate_pod_spec_update(new: Option<&Value>, old: Option<&Value>, out: &mut Vec<Cause>) {
    let empty = Obj::new();
    let new = new.and_then(Value::as_object).unwrap_or(&empty);
    let old = old.and_then(Value::as_object).unwrap_or(&empty);
    let count = |m: &Obj, k: &str| m.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    if count(new, "containers") != count(old, "containers") {
        out.push(Cause::forbidden("spec.containers", "pod updates may not add or remove containers"));
        return;
    }
    match (
        new.get("activeDeadlineSeconds").and_then(Value::as_i64),
        old.get("activeDeadlineSeconds").and_then(Value::as_i64),
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            out.push(Cause::invalid(
                "spec.activeDeadlineSeconds",
                &Value::from(n),
                "must be between 0 and 2147483647, inclusive",
            ));
            return;
        }
        (Some(n), Some(o)) if o < n => {
            out.push(Cause::invalid(
                "spec.activeDeadlineSeconds",
                &Value::from(n),
                "must be less than or equal to previous value",
            ));
            return;
        }
        (None, Some(_)) => out.push(Cause::invalid(
            "spec.activeDeadlineSeconds",
            &Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    // Munge the mutable fields of the new spec back to the old values, then compare.
    let mut munged = new.clone();
    for key in ["containers", "initContainers"] {
        if let (Some(Value::Array(nc)), Some(Value::Array(oc))) = (munged.get_mut(key), old.get(key)) {
            for (n, o) in nc.iter_mut().zip(oc) {
                if let (Some(n), Some(o)) = (n.as_object_mut(), o.as_object()) {
                    match o.get("image") {
                        Some(img) => n.insert("image".into(), img.clone()),
                        None => n.remove("image"),
                    };
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "tolerations"] {
        match old.get(key) {
            Some(v) => munged.insert(key.into(), v.clone()),
            None => munged.remove(key),
        };
    }
    let old_grace = old.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
    let new_grace = new.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
        if let Some(g) = old.get("terminationGracePeriodSeconds") {
            munged.insert("terminationGracePeriodSeconds".into(), g.clone());
        }
    }
    if &munged != old {
        out.push(Cause::forbidden(
            "spec",
            &format!("pod updates may not change fields other than {UPDATABLE}\n{}", spec_diff(old, &munged)),
        ));
    }
    // Only additions to tolerations (tolerationSeconds may change).
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new_tols: Vec<Value> =
        new.get("tolerations").and_then(Value::as_array).into_iter().flatten().map(strip).collect();
    for o in old.get("tolerations").and_then(Value::as_array).into_iter().flatten() {
        if !new_tols.contains(&strip(o)) {
            out.push(Cause::forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            break;
        }
    }
}

/// A short rendering of the changed PodSpec fields in the style of `cmp.Diff`.
fn spec_diff(old: &Obj, new: &Obj) -> String {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("  core.PodSpec{\n");
    let go_name = |k: &str| {
        let mut c = k.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    };
    for k in keys {
        let (o, n) = (old.get(k), new.get(k));
        if o == n {
            continue;
        }
        let render = |v: Option<&Value>| v.map_or_else(|| "nil".to_string(), Value::to_string);
        out.push_str(&format!("- \t{}: {},\n", go_name(k), render(o)));
        out.push_str(&format!("+ \t{}: {},\n", go_name(k), render(n)));
    }
    out.push_str("  }\n");
    out
}
