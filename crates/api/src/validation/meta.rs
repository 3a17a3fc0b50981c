//! ObjectMeta validation and the name/label syntax checks of
//! `k8s.io/apimachinery/pkg/util/validation`, with Kubernetes' exact messages.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::{Cause, ResourceInfo};

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";

/// Total size limit of `metadata.annotations` (256 KiB).
pub(crate) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn full_match(pattern: &'static str, value: &str) -> bool {
    static CACHE: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        [
            DNS1123_LABEL_FMT,
            DNS1123_SUBDOMAIN_FMT,
            DNS1035_LABEL_FMT,
            QUALIFIED_NAME_FMT,
            LABEL_VALUE_FMT,
            CONFIG_KEY_FMT,
        ]
        .into_iter()
        .filter_map(|p| Regex::new(&format!("^(?:{p})$")).ok().map(|r| (p, r)))
        .collect()
    });
    cache.iter().find(|(p, _)| *p == pattern).is_some_and(|(_, r)| r.is_match(value))
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}'")).collect();
    if ex.is_empty() {
        format!("{msg} (regex used for validation is '{fmt}')")
    } else {
        format!("{msg} (e.g. {}, regex used for validation is '{fmt}')", ex.join(",  or "))
    }
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !full_match(DNS1123_LABEL_FMT, value) {
        errs.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !full_match(DNS1123_SUBDOMAIN_FMT, value) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label`.
pub(crate) fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !full_match(DNS1035_LABEL_FMT, value) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `IsQualifiedName`: `[prefix/]name`.
pub(crate) fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for msg in dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {msg}"));
                }
            }
            name
        }
        _ => {
            errs.push(
                regex_error(
                    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"],
                ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
            );
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !full_match(QUALIFIED_NAME_FMT, name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"],
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`.
pub(crate) fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !full_match(LABEL_VALUE_FMT, value) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `IsConfigMapKey`.
pub(crate) fn config_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !full_match(CONFIG_KEY_FMT, value) {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errs.push("must not be '.'".into());
    } else if value == ".." {
        errs.push("must not be '..'".into());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

/// `IsValidPortName` (IANA_SVC_NAME).
pub(crate) fn port_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 15 {
        errs.push(max_len_error(15));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !value.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if value.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if value.starts_with('-') || value.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// `IsValidPortNum` on any JSON number.
pub(crate) fn port_num(value: i64) -> Vec<String> {
    if (1..=65535).contains(&value) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".into()]
    }
}

/// Which name rule a kind uses for `metadata.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    Subdomain,
    Label,
    Dns1035,
}

impl NameRule {
    /// The rule for a resource (`ValidateXName`).
    pub(crate) fn for_resource(r: &ResourceInfo) -> NameRule {
        match (r.group, r.kind) {
            ("", "Namespace") => NameRule::Label,
            ("", "Service") => NameRule::Dns1035,
            _ => NameRule::Subdomain,
        }
    }

    /// Validates a name, or a generateName prefix (`prefix`: a trailing `-` is allowed).
    pub(crate) fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let name = if prefix { name.strip_suffix('-').unwrap_or(name) } else { name };
        match self {
            NameRule::Subdomain => dns1123_subdomain(name),
            NameRule::Label => dns1123_label(name),
            NameRule::Dns1035 => dns1035_label(name),
        }
    }
}

/// Renders a string map as Go's `%#v` does (`map[string]string{"a":"b"}`, keys sorted).
pub(crate) fn go_string_map(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".into(),
        Some(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> =
                entries.iter().map(|(k, v)| format!("{:?}:{:?}", k, v.as_str().unwrap_or_default())).collect();
            format!("map[string]string{{{}}}", body.join(", "))
        }
    }
}

/// `field.Invalid` with a value pre-rendered in Go syntax.
pub(crate) fn invalid_raw(field: impl Into<String>, rendered: &str, detail: &str) -> Cause {
    Cause::new("FieldValueInvalid", field, format!("Invalid value: {rendered}: {detail}"))
}

/// `field.Required` with a detail.
pub(crate) fn required_detail(field: impl Into<String>, detail: &str) -> Cause {
    Cause::new("FieldValueRequired", field, format!("Required value: {detail}"))
}

/// `field.TooLong`.
pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Cause {
    Cause::new("FieldValueTooLong", field, format!("Too long: may not be more than {max} bytes"))
}

/// `ValidateLabels`.
pub(crate) fn validate_labels(labels: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(map) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        for msg in qualified_name(k) {
            out.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        let value = v.as_str().unwrap_or_default();
        for msg in label_value(value) {
            out.push(Cause::invalid(path, v, &msg));
        }
    }
}

/// `ValidateAnnotations`.
pub(crate) fn validate_annotations(annotations: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    let Some(map) = annotations.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0usize;
    for (k, v) in map {
        for msg in qualified_name(&k.to_lowercase()) {
            out.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        out.push(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

/// `ValidateObjectMeta` for an object of `resource` (`path` is `metadata` or a template's).
pub(crate) fn validate_object_meta(resource: &ResourceInfo, meta: Option<&Value>, out: &mut Vec<Cause>) {
    let empty = Map::new();
    let meta = meta.and_then(Value::as_object).unwrap_or(&empty);
    let rule = NameRule::for_resource(resource);
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    let generate = meta.get("generateName").and_then(Value::as_str).unwrap_or("");
    if !generate.is_empty() {
        for msg in rule.check(generate, true) {
            out.push(Cause::invalid("metadata.generateName", &Value::from(generate), &msg));
        }
    }
    if name.is_empty() {
        out.push(required_detail("metadata.name", "name or generateName is required"));
    } else {
        for msg in rule.check(name, false) {
            out.push(Cause::invalid("metadata.name", &Value::from(name), &msg));
        }
    }
    let ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
    if resource.namespaced {
        if ns.is_empty() {
            out.push(Cause::required("metadata.namespace"));
        } else {
            for msg in dns1123_label(ns) {
                out.push(Cause::invalid("metadata.namespace", &Value::from(ns), &msg));
            }
        }
    } else if !ns.is_empty() {
        out.push(Cause::forbidden("metadata.namespace", "not allowed on this type"));
    }
    if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
        if g < 0 {
            out.push(Cause::invalid("metadata.generation", &Value::from(g), "must be greater than or equal to 0"));
        }
    }
    validate_labels(meta.get("labels"), "metadata.labels", out);
    validate_annotations(meta.get("annotations"), "metadata.annotations", out);
    validate_owner_references(meta.get("ownerReferences"), out);
    if let Some(fins) = meta.get("finalizers").and_then(Value::as_array) {
        for f in fins {
            let s = f.as_str().unwrap_or_default();
            for msg in qualified_name(s) {
                out.push(Cause::invalid("metadata.finalizers", f, &msg));
            }
        }
    }
}

fn validate_owner_references(refs: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(refs) = refs.and_then(Value::as_array) else {
        return;
    };
    let mut controllers = 0;
    for r in refs {
        let get = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
        if get("apiVersion").is_empty() {
            out.push(Cause::invalid(
                "metadata.ownerReferences.apiVersion",
                &Value::from(""),
                "version must not be empty",
            ));
        }
        if get("kind").is_empty() {
            out.push(Cause::invalid("metadata.ownerReferences.kind", &Value::from(""), "must not be empty"));
        }
        if get("name").is_empty() {
            out.push(Cause::invalid("metadata.ownerReferences.name", &Value::from(""), "must not be empty"));
        }
        if get("uid").is_empty() {
            out.push(Cause::invalid("metadata.ownerReferences.uid", &Value::from(""), "must not be empty"));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            controllers += 1;
        }
    }
    if controllers > 1 {
        out.push(Cause::invalid(
            "metadata.ownerReferences",
            &Value::Array(refs.clone()),
            "Only one reference can have Controller set to true",
        ));
    }
}

/// `ValidateObjectMetaUpdate`: name, namespace, uid and creationTimestamp are immutable
/// (resourceVersion rules are enforced by the server, not here).
pub(crate) fn validate_object_meta_update(new: Option<&Value>, old: Option<&Value>, out: &mut Vec<Cause>) {
    for key in ["name", "namespace", "uid", "creationTimestamp"] {
        let n = new.and_then(|m| m.get(key)).filter(|v| !v.is_null());
        let o = old.and_then(|m| m.get(key)).filter(|v| !v.is_null());
        // An omitted uid/creationTimestamp in the request is filled from the old object.
        if n.is_none() && matches!(key, "uid" | "creationTimestamp") {
            continue;
        }
        if n != o {
            out.push(Cause::invalid(format!("metadata.{key}"), n.unwrap_or(&Value::from("")), "field is immutable"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_message_matches_kubernetes() {
        assert_eq!(
            dns1123_subdomain("My_Pod"),
            vec!["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]
        );
        assert!(dns1123_subdomain("a.b-c").is_empty());
        assert_eq!(dns1123_subdomain(&"a".repeat(254))[0], "must be no more than 253 characters");
    }

    #[test]
    fn label_message_has_two_examples() {
        assert_eq!(
            dns1123_label("-x")[0],
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        );
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(qualified_name("app").is_empty());
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(qualified_name("Bad_Prefix/x")[0].starts_with("prefix part a lowercase RFC 1123 subdomain"));
        assert_eq!(qualified_name("-x")[0], "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    }

    #[test]
    fn port_names() {
        assert!(port_name("http").is_empty());
        assert_eq!(port_name("a--b"), vec!["must not contain consecutive hyphens"]);
        assert_eq!(port_name("80"), vec!["must contain at least one letter (a-z)"]);
    }

    #[test]
    fn go_map_rendering() {
        let v = serde_json::json!({"b": "2", "a": "1"});
        assert_eq!(go_string_map(Some(&v)), "map[string]string{\"a\":\"1\", \"b\":\"2\"}");
        assert_eq!(go_string_map(None), "map[string]string(nil)");
    }
}
