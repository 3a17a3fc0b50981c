//! Field selectors: `fields.ParseSelector` syntax, the per-kind field label conversions of
//! kube-apiserver (which labels a resource accepts, and the 400 message otherwise) and the
//! per-kind selectable field values (`ToSelectableFields`), read from the stored JSON.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::go_quote;
use crate::resources::ResourceInfo;
use crate::status::ApiError;

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field label as the client sent it (`spec.nodeName`).
    pub field: String,
    /// The unescaped value.
    pub value: String,
    /// `!=` rather than `=`/`==`.
    pub negate: bool,
}

/// A parsed field selector: an AND of terms (sorted as Kubernetes sorts them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// The selector matching everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// `fields.OneTermEqualSelector`: `field=value`.
    pub fn one_term_equal(field: &str, value: &str) -> Self {
        FieldSelector { terms: vec![FieldTerm { field: field.into(), value: value.into(), negate: false }] }
    }

    /// Parses the `fieldSelector` query syntax as `fields.ParseSelector` does (`a=b`, `a==b`,
    /// `a!=b`, comma-separated, `\,` `\=` `\\` escapes in values). Errors are 400 BadRequest.
    pub fn parse(selector: &str) -> Result<FieldSelector, ApiError> {
        parse(selector).map_err(ApiError::bad_request)
    }

    /// The terms.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// Whether the selector places no restriction.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `RequiresExactMatch`: the value an `=` term on `field` demands, if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms.iter().find(|t| !t.negate && t.field == field).map(|t| t.value.as_str())
    }

    /// Checks every field label against the labels kube-apiserver accepts for the resource
    /// (its field label conversion func). Unsupported → 400 BadRequest with the upstream message,
    /// e.g. `field label not supported: foo` or
    /// `"foo" is not a known field selector: only "metadata.name", "metadata.namespace"`.
    pub fn validate_for(&self, resource: &ResourceInfo) -> Result<(), ApiError> {
        let kind = Kind::of(resource);
        for t in &self.terms {
            convert(kind, &t.field).map_err(ApiError::bad_request)?;
        }
        Ok(())
    }

    /// Whether the object (stored JSON of `resource`) satisfies every term. Field values follow
    /// Kubernetes: absent strings are `""`, `spec.hostNetwork`/`spec.unschedulable` are
    /// `"true"`/`"false"`, `status.successful` is a decimal count; an unsupported label reads `""`.
    pub fn matches(&self, obj: &Value, resource: &ResourceInfo) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let kind = Kind::of(resource);
        self.terms.iter().all(|t| {
            let value = match convert(kind, &t.field) {
                Ok(canonical) => field_value(kind, canonical, obj),
                Err(_) => Cow::Borrowed(""),
            };
            (value == t.value.as_str()) != t.negate
        })
    }
}

impl fmt::Display for FieldSelector {
    /// `field=value,field!=value` with values escaped, as `Selector.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.negate { "!=" } else { "=" };
            write!(f, "{}{op}{}", t.field, escape_value(&t.value))?;
        }
        Ok(())
    }
}

/// `fields.EscapeValue`.
fn escape_value(s: &str) -> Cow<'_, str> {
    if !s.contains(['\\', ',', '=']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// `fields.UnescapeValue`.
fn unescape_value(s: &str) -> Result<Cow<'_, str>, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => return Err(format!("invalid field selector: invalid escape sequence: \\{c}")),
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(format!("invalid field selector: unescaped character in value: {}", c as u32)),
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(Cow::Owned(out))
}

/// `splitTerms`: split on unescaped commas.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::with_capacity(1);
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// `splitTerm`: the first `!=`, `==` or `=` (in that preference at each position).
fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn parse(selector: &str) -> Result<FieldSelector, String> {
    let mut parts = split_terms(selector);
    parts.sort_unstable();
    let mut terms = Vec::with_capacity(parts.len());
    for part in parts {
        if part.is_empty() {
            continue;
        }
        let Some((lhs, op, rhs)) = split_term(part) else {
            return Err(format!("invalid selector: '{selector}'; can't understand '{part}'"));
        };
        let value = unescape_value(rhs)?.into_owned();
        terms.push(FieldTerm { field: lhs.to_string(), value, negate: op == "!=" });
    }
    Ok(FieldSelector { terms })
}

// ---------------------------------------------------------------------------------------------
// Per-kind field labels

/// Which field label conversion and selectable-field set a resource uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    Node,
    Namespace,
    Secret,
    Service,
    ReplicationController,
    Event,
    EventsV1,
    Job,
    /// `runtime.DefaultMetaV1FieldSelectorConversion`: name and namespace only.
    Default,
}

impl Kind {
    fn of(r: &ResourceInfo) -> Kind {
        match (r.group, r.plural) {
            ("", "pods") => Kind::Pod,
            ("", "nodes") => Kind::Node,
            ("", "namespaces") => Kind::Namespace,
            ("", "secrets") => Kind::Secret,
            ("", "services") => Kind::Service,
            ("", "replicationcontrollers") => Kind::ReplicationController,
            ("", "events") => Kind::Event,
            ("events.k8s.io", "events") => Kind::EventsV1,
            ("batch", "jobs") => Kind::Job,
            _ => Kind::Default,
        }
    }
}

/// The kind's field label conversion func: the canonical label, or the error message.
fn convert(kind: Kind, label: &str) -> Result<&'static str, String> {
    let canonical: Option<&'static str> = match kind {
        Kind::Pod => match label {
            "spec.host" => Some("spec.nodeName"),
            _ => static_of(
                label,
                &[
                    "metadata.name",
                    "metadata.namespace",
                    "spec.nodeName",
                    "spec.restartPolicy",
                    "spec.schedulerName",
                    "spec.serviceAccountName",
                    "spec.hostNetwork",
                    "status.phase",
                    "status.podIP",
                    "status.podIPs",
                    "status.nominatedNodeName",
                ],
            ),
        },
        Kind::Node => static_of(label, &["metadata.name", "spec.unschedulable"]),
        Kind::Namespace => static_of(label, &["status.phase", "metadata.name"]),
        Kind::Secret => static_of(label, &["type", "metadata.namespace", "metadata.name"]),
        Kind::Service => static_of(label, &["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"]),
        Kind::ReplicationController => static_of(label, &["metadata.name", "metadata.namespace", "status.replicas"]),
        Kind::Event => static_of(
            label,
            &[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
                "metadata.namespace",
                "metadata.name",
            ],
        ),
        Kind::EventsV1 => match label {
            "regarding.kind" => Some("involvedObject.kind"),
            "regarding.namespace" => Some("involvedObject.namespace"),
            "regarding.name" => Some("involvedObject.name"),
            "regarding.uid" => Some("involvedObject.uid"),
            "regarding.apiVersion" => Some("involvedObject.apiVersion"),
            "regarding.resourceVersion" => Some("involvedObject.resourceVersion"),
            "regarding.fieldPath" => Some("involvedObject.fieldPath"),
            "reportingController" => Some("reportingComponent"),
            _ => static_of(label, &["reason", "source", "type", "metadata.namespace", "metadata.name"]),
        },
        Kind::Job => static_of(label, &["metadata.name", "metadata.namespace", "status.successful"]),
        Kind::Default => static_of(label, &["metadata.name", "metadata.namespace"]),
    };
    canonical.ok_or_else(|| match kind {
        Kind::Job => format!("field label {} not supported for batchv1.Job", go_quote(label)),
        Kind::Default => {
            format!("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", go_quote(label))
        }
        _ => format!("field label not supported: {label}"),
    })
}

fn static_of(label: &str, accepted: &[&'static str]) -> Option<&'static str> {
    accepted.iter().copied().find(|a| *a == label)
}

/// String at a dotted path; `""` when absent or not a string.
fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    let mut v = obj;
    for p in path {
        match v.get(p) {
            Some(next) => v = next,
            None => return "",
        }
    }
    v.as_str().unwrap_or("")
}

fn bool_str(v: Option<&Value>) -> Cow<'static, str> {
    Cow::Borrowed(if v.and_then(Value::as_bool).unwrap_or(false) { "true" } else { "false" })
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// The value of a canonical field label for the object (`ToSelectableFields`).
fn field_value<'a>(kind: Kind, canonical: &str, obj: &'a Value) -> Cow<'a, str> {
    let s = |path: &[&str]| Cow::Borrowed(str_at(obj, path));
    match (kind, canonical) {
        (_, "metadata.name") => s(&["metadata", "name"]),
        (_, "metadata.namespace") => s(&["metadata", "namespace"]),
        (Kind::Pod, "spec.hostNetwork") => bool_str(obj.get("spec").and_then(|v| v.get("hostNetwork"))),
        (Kind::Pod, "status.podIP") => {
            let first = obj
                .get("status")
                .and_then(|st| st.get("podIPs"))
                .and_then(Value::as_array)
                .and_then(|ips| ips.first())
                .map(|ip| str_at(ip, &["ip"]));
            Cow::Borrowed(first.unwrap_or_else(|| str_at(obj, &["status", "podIP"])))
        }
        // Accepted by the conversion func but never set by PodToSelectableFields.
        (Kind::Pod, "status.podIPs") => Cow::Borrowed(""),
        (Kind::Node, "spec.unschedulable") => bool_str(obj.get("spec").and_then(|v| v.get("unschedulable"))),
        (Kind::Job, "status.successful") => {
            let n = obj.get("status").and_then(|st| st.get("succeeded")).and_then(Value::as_i64).unwrap_or(0);
            Cow::Owned(n.to_string())
        }
        (Kind::ReplicationController, "status.replicas") => {
            let n = obj.get("status").and_then(|st| st.get("replicas")).and_then(Value::as_i64).unwrap_or(0);
            Cow::Owned(n.to_string())
        }
        (Kind::Event, "source") => {
            Cow::Borrowed(first_non_empty(str_at(obj, &["source", "component"]), str_at(obj, &["reportingComponent"])))
        }
        (Kind::EventsV1, "source") => Cow::Borrowed(first_non_empty(
            str_at(obj, &["deprecatedSource", "component"]),
            str_at(obj, &["reportingController"]),
        )),
        (Kind::EventsV1, "reportingComponent") => s(&["reportingController"]),
        (Kind::EventsV1, other) if other.starts_with("involvedObject.") => {
            s(&["regarding", other.trim_start_matches("involvedObject.")])
        }
        (_, other) => {
            // Plain dotted paths: spec.nodeName, status.phase, type, reason, involvedObject.name, ...
            let mut v = obj;
            for p in other.split('.') {
                match v.get(p) {
                    Some(next) => v = next,
                    None => return Cow::Borrowed(""),
                }
            }
            Cow::Borrowed(v.as_str().unwrap_or(""))
        }
    }
}

#[cfg(test)]
#[path = "field_tests.rs"]
mod tests;
