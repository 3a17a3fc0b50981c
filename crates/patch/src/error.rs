//! The error type of JSON patch and strategic merge patch, with Kubernetes' messages.

use serde_json::Value;

/// Why a patch could not be applied. Messages match Kubernetes' (apimachinery `mergepatch`
/// errors, evanphx/json-patch errors) where kubectl shows them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch is malformed (HTTP 400 Bad Request in Kubernetes).
    #[error("{0}")]
    BadRequest(String),
    /// The patch is well formed but cannot be applied to this object (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// Any other strategic merge patch failure (Kubernetes returns these as plain errors).
    #[error("{0}")]
    Invalid(String),
}

impl PatchError {
    /// The HTTP status code Kubernetes answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable(_) => 422,
            PatchError::Invalid(_) => 500,
        }
    }

    pub(crate) fn bad_json_doc() -> Self {
        PatchError::BadRequest("invalid JSON document".into())
    }
    pub(crate) fn no_list_of_lists() -> Self {
        PatchError::Unprocessable("lists of lists are not supported".into())
    }
    pub(crate) fn bad_primitive_list() -> Self {
        PatchError::BadRequest("invalid patch format of primitive list".into())
    }
    pub(crate) fn bad_retain_keys() -> Self {
        PatchError::BadRequest("invalid patch format of retainKeys".into())
    }
    pub(crate) fn bad_set_element_order() -> Self {
        PatchError::BadRequest("invalid patch format of setElementOrder list".into())
    }
    /// `mergepatch.ErrBadArgType(expected, actual)`.
    pub(crate) fn bad_arg_type(expected: &str, actual: &Value) -> Self {
        PatchError::Invalid(format!("expected a {expected}, but received a {}", go_type_name(actual)))
    }
    /// `mergepatch.ErrNoMergeKey(m, key)`.
    pub(crate) fn no_merge_key(m: &Value, key: &str) -> Self {
        PatchError::Invalid(format!("map: {} does not contain declared merge key: {key}", go_fmt(m)))
    }
    /// `mergepatch.ErrBadPatchType(t, m)`.
    pub(crate) fn bad_patch_type(t: &Value, m: &Value) -> Self {
        PatchError::Invalid(format!("unknown patch type: {} in map: {}", go_fmt(t), go_fmt(m)))
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        PatchError::Invalid(msg.into())
    }
}

/// Go's type name of a decoded JSON value (`reflect.TypeOf(v)`).
pub(crate) const GO_MAP: &str = "map[string]interface {}";
/// Go's type name of a decoded JSON array.
pub(crate) const GO_SLICE: &str = "[]interface {}";

pub(crate) fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => GO_SLICE,
        Value::Object(_) => GO_MAP,
    }
}

/// Formats a JSON value like Go's `fmt.Sprintf("%v", v)` of the decoded value.
pub(crate) fn go_fmt(v: &Value) -> String {
    let mut out = String::new();
    write_go(v, &mut out);
    out
}

fn write_go(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => out.push_str(&format!("{f:.0}")),
            Some(f) => out.push_str(&format!("{f}")),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(v) = m.get(*k) {
                    write_go(v, out);
                }
            }
            out.push(']');
        }
    }
}
