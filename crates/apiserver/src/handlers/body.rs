//! Request bodies: size limit, JSON/YAML decoding, type and unknown-field checks.

use bytes::Bytes;
use http::{header, request::Parts, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use skiff_api::{validation, ApiError, ResourceInfo};

use crate::request::FieldValidation;

/// The largest request body accepted, as kube-apiserver (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Reads the whole body (413 beyond [`MAX_BODY`]).
pub async fn read(req: Request<Incoming>) -> Result<(Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok((parts, c.to_bytes())),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(ApiError::too_large(format!("Request entity too large: limit is {MAX_BODY}")))
        }
        Err(e) => Err(ApiError::bad_request(format!("error reading request body: {e}"))),
    }
}

pub fn content_type(parts: &Parts) -> String {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Parses a JSON or YAML document into a value (400 on syntax errors).
pub fn parse(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if content_type.ends_with("yaml") {
        let v: serde_yaml::Value = serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: yaml: {e}")))?;
        serde_json::to_value(v).map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
    } else if content_type == "application/vnd.kubernetes.protobuf" {
        skiff_proto::decode(body).map_err(|e| ApiError::bad_request(format!("error decoding protobuf body: {e}")))
    } else if content_type.contains("protobuf") || content_type.contains("cbor") {
        Err(ApiError::unsupported_media_type(content_type))
    } else {
        crate::json::from_bytes(body)
            .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))
    }
}

/// Decodes an object body for `res`: it must be an object of the resource's kind; unknown
/// fields are an error (Strict), a warning (Warn) or dropped silently (Ignore) and are never
/// stored. Returns the object and the warnings.
pub fn decode_object(
    res: &ResourceInfo,
    content_type: &str,
    body: &[u8],
    fv: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let mut obj = parse(content_type, body)?;
    check_type(res, &obj)?;
    let warnings = check_fields(res, &mut obj, fv)?;
    Ok((obj, warnings))
}

/// The body's apiVersion/kind, when present, must be the resource's.
pub fn check_type(res: &ResourceInfo, obj: &Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::bad_request("the body of the request must be a JSON or YAML object"));
    };
    if let Some(kind) = map.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty()) {
        if kind != res.kind {
            return Err(ApiError::bad_request(format!(
                "the kind in the body ({kind}) does not match the kind of the resource ({})",
                res.kind
            )));
        }
    }
    if let Some(av) = map.get("apiVersion").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        if av != res.api_version() {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                res.api_version()
            )));
        }
    }
    Ok(())
}

/// Applies the field validation directive to `obj` (unknown fields removed in every mode).
pub fn check_fields(res: &ResourceInfo, obj: &mut Value, fv: FieldValidation) -> Result<Vec<String>, ApiError> {
    let unknown = validation::check_fields(res, obj)?;
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if fv == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!("strict decoding error: {}", unknown.join(", "))));
    }
    for msg in &unknown {
        // `unknown field "spec.foo"` → spec.foo
        if let Some(path) = msg.strip_prefix("unknown field \"").and_then(|p| p.strip_suffix('"')) {
            remove_path(obj, path);
        }
    }
    Ok(if fv == FieldValidation::Warn { unknown } else { Vec::new() })
}

/// Removes the field at a path like `spec.containers[0].foo`.
fn remove_path(obj: &mut Value, path: &str) {
    let mut segments: Vec<(String, Vec<usize>)> = Vec::new();
    for part in path.split('.') {
        let mut it = part.split('[');
        let name = it.next().unwrap_or("").to_string();
        let idx = it.filter_map(|s| s.trim_end_matches(']').parse().ok()).collect();
        segments.push((name, idx));
    }
    let Some((last, last_idx)) = segments.pop() else {
        return;
    };
    let mut cur = obj;
    for (name, idx) in &segments {
        let Some(next) = cur.get_mut(name.as_str()) else {
            return;
        };
        cur = next;
        for i in idx {
            let Some(next) = cur.get_mut(*i) else { return };
            cur = next;
        }
    }
    if last_idx.is_empty() {
        if let Some(m) = cur.as_object_mut() {
            m.remove(&last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_nested_paths() {
        let mut v = json!({"spec": {"containers": [{"name": "a", "foo": 1}], "bar": 2}});
        remove_path(&mut v, "spec.containers[0].foo");
        remove_path(&mut v, "spec.bar");
        assert_eq!(v, json!({"spec": {"containers": [{"name": "a"}]}}));
    }

    #[test]
    fn yaml_and_json_parse() {
        assert_eq!(parse("application/yaml", b"a: 1\n").unwrap(), json!({"a": 1}));
        assert_eq!(parse("application/json", b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(parse("application/json", b"{").unwrap_err().code, 400);
    }
}
