//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

use crate::error::PatchError;

/// Applies a JSON merge patch (RFC 7386): objects merge recursively, `null` deletes a key,
/// anything else (arrays included) replaces.
pub fn json_merge(original: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(_) => {
            let mut target = original.clone();
            merge_into(&mut target, patch);
            target
        }
        other => other.clone(),
    }
}

/// [`json_merge`] in place: `target` is changed where the patch says, nothing else is copied.
fn merge_into(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else if let Some(slot) = t.get_mut(k) {
            merge_into(slot, v);
        } else {
            let mut fresh = Value::Null;
            merge_into(&mut fresh, v);
            t.insert(k.clone(), fresh);
        }
    }
}

/// Applies a JSON patch (RFC 6902). A malformed patch document gives
/// [`PatchError::BadRequest`]; an operation that does not apply gives
/// [`PatchError::Unprocessable`] with evanphx/json-patch's message (as Kubernetes shows it).
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: Vec<json_patch::PatchOperation> = match patch {
        Value::Array(items) => {
            let mut ops = Vec::with_capacity(items.len());
            for item in items {
                ops.push(decode_op(item)?);
            }
            ops
        }
        _ => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                json_kind(patch)
            )))
        }
    };
    let mut doc = original.clone();
    match json_patch::patch(&mut doc, &ops) {
        Ok(()) => Ok(doc),
        Err(e) => Err(PatchError::Unprocessable(describe_failure(ops.get(e.operation), &e.kind))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode_op(item: &Value) -> Result<json_patch::PatchOperation, PatchError> {
    let Some(obj) = item.as_object() else {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_kind(item)
        )));
    };
    let op = obj.get("op").and_then(Value::as_str).unwrap_or("unknown");
    match op {
        "add" | "remove" | "replace" | "move" | "copy" | "test" => {}
        other => return Err(PatchError::BadRequest(format!("Unexpected kind: {other}"))),
    }
    if !obj.get("path").is_some_and(Value::is_string) {
        return Err(PatchError::BadRequest(format!("{op} operation missing path: missing value")));
    }
    if matches!(op, "add" | "replace" | "test") && !obj.contains_key("value") {
        return Err(PatchError::BadRequest(format!("{op} operation missing value: missing value")));
    }
    if matches!(op, "move" | "copy") && !obj.get("from").is_some_and(Value::is_string) {
        return Err(PatchError::BadRequest(format!("{op} operation missing from: missing value")));
    }
    serde_json::from_value(item.clone())
        .map_err(|e| PatchError::BadRequest(format!("invalid JSON patch operation: {e}")))
}

fn describe_failure(op: Option<&json_patch::PatchOperation>, kind: &json_patch::PatchErrorKind) -> String {
    use json_patch::PatchOperation as Op;
    match op {
        Some(Op::Test(t)) => format!("testing value {} failed: test failed", t.path),
        Some(Op::Add(a)) => format!("add operation does not apply: doc is missing path: \"{}\": missing value", a.path),
        Some(Op::Remove(r)) => {
            format!("remove operation does not apply: doc is missing path: \"{}\": missing value", r.path)
        }
        Some(Op::Replace(r)) => {
            format!("replace operation does not apply: doc is missing key: {}: missing value", r.path)
        }
        Some(Op::Move(m)) => match kind {
            json_patch::PatchErrorKind::CannotMoveInsideItself => {
                format!("move operation does not apply: cannot move {} into itself", m.from)
            }
            json_patch::PatchErrorKind::InvalidFromPointer => {
                format!("move operation does not apply: doc is missing from path: {}: missing value", m.from)
            }
            _ => format!("move operation does not apply: doc is missing destination path: {}: missing value", m.path),
        },
        Some(Op::Copy(c)) => match kind {
            json_patch::PatchErrorKind::InvalidFromPointer => {
                format!("copy operation does not apply: doc is missing from path: \"{}\": missing value", c.from)
            }
            _ => format!("copy operation does not apply: doc is missing destination path: {}: missing value", c.path),
        },
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386_examples() {
        let orig = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        let patch = json!({"a": "z", "c": {"f": null}});
        assert_eq!(json_merge(&orig, &patch), json!({"a": "z", "c": {"d": "e"}}));
        assert_eq!(json_merge(&json!({"a": [1]}), &json!({"a": [2, 3]})), json!({"a": [2, 3]}));
        assert_eq!(json_merge(&json!({"a": "b"}), &json!(["c"])), json!(["c"]));
        assert_eq!(json_merge(&json!([1]), &json!({"a": {"b": null, "c": 1}})), json!({"a": {"c": 1}}));
        assert_eq!(json_merge(&json!({"e": null}), &json!({"a": 1})), json!({"e": null, "a": 1}));
    }

    #[test]
    fn json_patch_ops() {
        let orig = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1, "list": [1, 2]}});
        let patch = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "test", "path": "/spec/replicas", "value": 3}
        ]);
        let out = json_patch(&orig, &patch).unwrap();
        assert_eq!(out, json!({"metadata": {"labels": {"b": "2"}}, "spec": {"replicas": 3, "list": [1, 2, 3]}}));
    }

    #[test]
    fn json_patch_errors() {
        let orig = json!({"spec": {"replicas": 1}});
        let e = json_patch(&orig, &json!([{"op": "test", "path": "/spec/replicas", "value": 2}])).unwrap_err();
        assert_eq!(e.to_string(), "testing value /spec/replicas failed: test failed");
        assert_eq!(e.http_status(), 422);
        let e = json_patch(&orig, &json!([{"op": "remove", "path": "/spec/x"}])).unwrap_err();
        assert_eq!(e.to_string(), "remove operation does not apply: doc is missing path: \"/spec/x\": missing value");
        let e = json_patch(&orig, &json!([{"op": "replace", "path": "/spec/x", "value": 1}])).unwrap_err();
        assert_eq!(e.to_string(), "replace operation does not apply: doc is missing key: /spec/x: missing value");
        let e = json_patch(&orig, &json!([{"op": "add", "path": "/a/b", "value": 1}])).unwrap_err();
        assert!(e.to_string().starts_with("add operation does not apply"));
        let e = json_patch(&orig, &json!({"op": "add"})).unwrap_err();
        assert_eq!(e.http_status(), 400);
        let e = json_patch(&orig, &json!([{"op": "frobnicate", "path": "/a"}])).unwrap_err();
        assert_eq!(e.to_string(), "Unexpected kind: frobnicate");
        let e = json_patch(&orig, &json!([{"op": "add", "path": "/a"}])).unwrap_err();
        assert_eq!(e.http_status(), 400);
        let e = json_patch(&orig, &json!([7])).unwrap_err();
        assert_eq!(e.http_status(), 400);
    }
}
