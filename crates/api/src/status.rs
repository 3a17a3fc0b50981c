//! API errors as Kubernetes reports them: `metav1.Status` with code, reason and field causes.

use serde::Serialize;
use serde_json::{json, Value};

/// One field error, as in `status.details.causes[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueDuplicate`, `FieldValueNotSupported`,
    /// `FieldValueForbidden`, `FieldValueTooLong`, `FieldValueNotFound`, `FieldValueTypeInvalid`.
    pub reason: String,
    pub message: String,
    /// Dotted path with indices: `spec.containers[0].image`.
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Cause { reason: reason.to_string(), field: field.into(), message: message.into() }
    }
    /// `field: Required value`.
    pub fn required(field: impl Into<String>) -> Self {
        Cause::new("FieldValueRequired", field, "Required value")
    }
    /// `field: Invalid value: "v": detail` (the value is rendered as Kubernetes does).
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Cause::new("FieldValueInvalid", field, format!("Invalid value: {}: {}", render_value(value), detail))
    }
    /// `field: Duplicate value: "v"`.
    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        Cause::new("FieldValueDuplicate", field, format!("Duplicate value: {}", render_value(value)))
    }
    /// `field: Unsupported value: "v": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Cause::new(
            "FieldValueNotSupported",
            field,
            format!("Unsupported value: {}: supported values: {}", render_value(value), list.join(", ")),
        )
    }
    /// `field: Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Cause::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
    }
    /// `field: Not found: "v"`.
    pub fn not_found(field: impl Into<String>, value: &Value) -> Self {
        Cause::new("FieldValueNotFound", field, format!("Not found: {}", render_value(value)))
    }
    /// The same cause with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    /// The `field: message` line kubectl prints.
    pub fn line(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `status.details` of an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// `details.name`, `details.group`, `details.kind`.
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`.
    pub retry_after: Option<u32>,
}

/// An API error: rendered as a `metav1.Status` body with the HTTP status `code`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed to keep `Result<_, ApiError>` small.
    pub details: Option<Box<Details>>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }
    /// The details, created empty when missing.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Default::default)
    }
    /// The field causes.
    pub fn causes(&self) -> &[Cause] {
        self.details.as_ref().map(|d| d.causes.as_slice()).unwrap_or(&[])
    }
    pub fn retry_after(&self) -> Option<u32> {
        self.details.as_ref().and_then(|d| d.retry_after)
    }
    /// Sets `details.retryAfterSeconds`.
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.details_mut().retry_after = Some(secs);
        self
    }
    /// Sets `details.causes`.
    pub fn with_causes(mut self, causes: Vec<Cause>) -> Self {
        self.details_mut().causes = causes;
        self
    }
    /// Sets `details.group`, `details.kind` and `details.name`.
    pub fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        let d = self.details_mut();
        d.group = (!group.is_empty()).then(|| group.to_string());
        d.kind = Some(kind.to_string());
        d.name = Some(name.to_string());
        self
    }
    /// 404: `pods "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", qualified(group, plural)))
            .with_details(group, plural, name)
    }
    /// 409: `pods "x" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", qualified(group, plural)))
            .with_details(group, plural, name)
    }
    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(group: &str, plural: &str, name: &str, detail: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {detail}", qualified(group, plural)),
        )
        .with_details(group, plural, name)
    }
    /// 422 with field causes: `Pod "x" is invalid: [a: ..., b: ...]`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let lines: Vec<String> = causes.iter().map(Cause::line).collect();
        let body = if lines.len() == 1 { lines[0].clone() } else { format!("[{}]", lines.join(", ")) };
        ApiError::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {body}"))
            .with_details(group, kind, name)
            .with_causes(causes)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }
    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, "Forbidden", message)
    }
    /// 403 about one object (`errors.NewForbidden`): `pods "x" is forbidden: <reason>`.
    pub fn forbidden_object(group: &str, plural: &str, name: &str, reason: &str) -> Self {
        ApiError::forbidden(format!("{} \"{name}\" is forbidden: {reason}", qualified(group, plural)))
            .with_details(group, plural, name)
    }
    /// 410 Gone for a compacted resourceVersion.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(413, "RequestEntityTooLarge", message)
    }
    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"))
    }
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        ApiError::new(406, "NotAcceptable", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalError", message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        ApiError::new(504, "Timeout", message)
    }
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        ApiError::new(429, "TooManyRequests", message)
    }

    /// The `metav1.Status` JSON body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = serde_json::Map::new();
            if let Some(n) = &d.name {
                details.insert("name".into(), json!(n));
            }
            if let Some(g) = &d.group {
                details.insert("group".into(), json!(g));
            }
            if let Some(k) = &d.kind {
                details.insert("kind".into(), json!(k));
            }
            if !d.causes.is_empty() {
                details.insert("causes".into(), serde_json::to_value(&d.causes).unwrap_or(Value::Null));
            }
            if let Some(r) = d.retry_after {
                details.insert("retryAfterSeconds".into(), json!(r));
            }
            status["details"] = Value::Object(details);
        }
        status
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// A success `metav1.Status` (returned by some deletes).
pub fn success_status(group: &str, kind: &str, name: &str, uid: Option<&str>) -> Value {
    let mut details = json!({"name": name, "kind": kind});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    if let Some(u) = uid {
        details["uid"] = json!(u);
    }
    json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":details})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_renders_like_kubernetes() {
        let e = ApiError::invalid(
            "",
            "Pod",
            "x",
            vec![Cause::required("spec.containers[0].image"), Cause::duplicate("spec.containers[1].name", &json!("a"))],
        );
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "Pod \"x\" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: \"a\"]"
        );
        let s = e.to_status();
        assert_eq!(s["details"]["causes"][0]["field"], "spec.containers[0].image");
        assert_eq!(s["details"]["kind"], "Pod");
    }

    #[test]
    fn not_found_names_group() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        assert_eq!(e.to_status()["details"]["group"], "apps");
    }
}
