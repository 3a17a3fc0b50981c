//! Decode-time checks, as kube-apiserver's JSON decoder does them: values of the wrong JSON
//! type (400 `cannot be handled as a Pod: json: cannot unmarshal ...`), malformed quantities,
//! times and base64, and fields that are not part of the type (reported for
//! `fieldValidation=Strict/Warn` as `unknown field "spec.foo"`).
//!
//! The walk follows each kind's schema as [`super::schema`] compiled it; the path to a value
//! is written out only for an unknown field.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::schema::{compiled, resolve, Compiled, Kind, StringFormat};
use crate::defaults::quantity::{Quantity, QUANTITY_ERROR};
use crate::{ApiError, ResourceInfo};

/// Decode-time check of an object of `resource`.
///
/// Returns the unknown fields as kube-apiserver's strict decoder words them
/// (`unknown field "spec.containers[0].imagePullPolicyy"`), for the caller to reject
/// (`fieldValidation=Strict`) or turn into warnings (`Warn`). A value of the wrong type, a
/// malformed quantity, time or base64 string is a 400 BadRequest, whatever the field
/// validation directive.
// The Err type is the crate-wide `ApiError`, as the server expects it.
pub fn check_fields(resource: &ResourceInfo, obj: &Value) -> Result<Vec<String>, ApiError> {
    walk_root(resource, obj, false).map_err(|e| {
        ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {e}",
            kind = resource.kind,
            version = resource.version
        ))
    })
}

/// Whether a merge or strategic merge patch of `resource` is free of unknown fields and
/// wrongly typed values (its `$` directives aside). Such a patch of a stored object, which
/// was checked when written, yields an object that [`check_fields`] would pass, so the
/// server checks the patched object only when this says no.
pub fn patch_is_clean(resource: &ResourceInfo, patch: &Value) -> bool {
    walk_root(resource, patch, true).is_ok_and(|unknown| unknown.is_empty())
}

fn walk_root(resource: &ResourceInfo, obj: &Value, patch: bool) -> Result<Vec<String>, String> {
    let Some(schema) = compiled(resource.definition) else {
        return Ok(Vec::new());
    };
    let struct_name = short_name(resource.definition);
    let mut walker = Walker { schema, unknown: Vec::new(), go_path: Vec::new(), patch };
    let root_type = go_type_of_def(resource.definition);
    walker.walk(0, obj, &mut Vec::new(), struct_name, GoType::Named(&root_type))?;
    Ok(walker.unknown)
}

/// `io.k8s.api.core.v1.PodSpec` → `PodSpec`.
fn short_name(def: &str) -> &str {
    def.rsplit('.').next().unwrap_or(def)
}

/// `io.k8s.api.core.v1.PodSpec` → `v1.PodSpec` (Go's `reflect.Type.String()`).
fn go_type_of_def(def: &str) -> String {
    let mut parts = def.rsplit('.');
    let name = parts.next().unwrap_or(def);
    match parts.next() {
        Some(pkg) => format!("{pkg}.{name}"),
        None => name.to_string(),
    }
}

/// The Go type a value decodes into, named only when an error needs it.
#[derive(Clone, Copy)]
enum GoType<'s, 'n> {
    Schema(&'s Value),
    Named(&'n str),
}

struct Walker<'v> {
    schema: &'static Compiled,
    unknown: Vec<String>,
    /// JSON field names from the root, without indices (Go's error `Field`).
    go_path: Vec<&'v str>,
    /// Walking a patch: `$` directive keys are not fields.
    patch: bool,
}

impl<'v> Walker<'v> {
    /// The Go type name of a schema, for error messages.
    fn go_type(&self, schema: &Value) -> String {
        let (schema, name) = resolve(self.schema.defs, schema);
        if let Some(n) = name {
            return go_type_of_def(n);
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => {
                if schema.get("format").and_then(Value::as_str) == Some("byte") {
                    "[]uint8".into()
                } else {
                    "string".into()
                }
            }
            Some("integer") => match schema.get("format").and_then(Value::as_str) {
                Some("int32") => "int32".into(),
                _ => "int64".into(),
            },
            Some("number") => "float64".into(),
            Some("boolean") => "bool".into(),
            Some("array") => format!("[]{}", schema.get("items").map_or("interface {}".into(), |i| self.go_type(i))),
            Some("object") => match schema.get("additionalProperties") {
                Some(ap) if ap.is_object() => format!("map[string]{}", self.go_type(ap)),
                _ => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }

    fn type_error(&self, value: &Value, struct_name: &str, go_type: GoType<'_, '_>) -> String {
        let go_type = match go_type {
            GoType::Schema(s) => self.go_type(s),
            GoType::Named(n) => n.to_string(),
        };
        let what = match value {
            Value::String(_) => "string".to_string(),
            Value::Number(n) => format!("number {n}"),
            Value::Bool(_) => "bool".to_string(),
            Value::Array(_) => "array".to_string(),
            Value::Object(_) => "object".to_string(),
            Value::Null => "null".to_string(),
        };
        let what = if matches!(value, Value::Number(_)) && !go_type.starts_with("int") && !go_type.starts_with("uint") {
            "number".to_string()
        } else {
            what
        };
        if self.go_path.is_empty() {
            format!("json: cannot unmarshal {what} into Go value of type {go_type}")
        } else {
            format!(
                "json: cannot unmarshal {what} into Go struct field {struct_name}.{} of type {go_type}",
                self.go_path.join(".")
            )
        }
    }

    fn walk(
        &mut self,
        id: usize,
        value: &'v Value,
        path: &mut Vec<Step<'v>>,
        struct_name: &'static str,
        go_type: GoType<'static, '_>,
    ) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let schema = self.schema;
        let node = &schema.nodes[id];
        match (&node.kind, value) {
            (Kind::Quantity, Value::String(_) | Value::Number(_)) => match Quantity::from_value(value) {
                Some(_) => Ok(()),
                None => Err(QUANTITY_ERROR.to_string()),
            },
            (Kind::Quantity, _) => Err(self.type_error(value, struct_name, GoType::Named("resource.Quantity"))),
            (Kind::IntOrString, Value::String(_)) => Ok(()),
            (Kind::IntOrString, Value::Number(n)) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Ok(()),
            (Kind::IntOrString, _) => Err(self.type_error(value, struct_name, GoType::Named("int32"))),
            (Kind::Any, _) => Ok(()),
            (Kind::String(format), Value::String(s)) => match format {
                StringFormat::DateTime if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                    Err(format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {s:?} as \"2006\""))
                }
                StringFormat::Byte => match base64_error(s) {
                    Some(at) => Err(format!("illegal base64 data at input byte {at}")),
                    None => Ok(()),
                },
                _ => Ok(()),
            },
            (Kind::Integer { int32 }, Value::Number(n)) => {
                let fits =
                    if *int32 { n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) } else { n.as_i64().is_some() };
                if fits {
                    Ok(())
                } else {
                    Err(self.type_error(value, struct_name, go_type))
                }
            }
            (Kind::Number, Value::Number(_)) | (Kind::Boolean, Value::Bool(_)) => Ok(()),
            (Kind::Array(item), Value::Array(items)) => {
                let item_schema = GoType::Schema(schema.nodes[*item].schema);
                for (i, v) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    let r = self.walk(*item, v, path, struct_name, item_schema);
                    path.pop();
                    r?;
                }
                Ok(())
            }
            (Kind::Struct(fields), Value::Object(map)) => {
                self.walk_struct(fields, map, path, node.short.unwrap_or(struct_name))
            }
            (Kind::Map(elem), Value::Object(map)) => {
                let own_struct = node.short.unwrap_or(struct_name);
                let elem_schema = GoType::Schema(schema.nodes[*elem].schema);
                for (k, v) in map {
                    path.push(Step::Key(k));
                    let r = self.walk(*elem, v, path, own_struct, elem_schema);
                    path.pop();
                    r?;
                }
                Ok(())
            }
            (Kind::Object, Value::Object(_)) => Ok(()),
            _ => Err(self.type_error(value, struct_name, go_type)),
        }
    }

    fn walk_struct(
        &mut self,
        fields: &'static rustc_hash::FxHashMap<&'static str, usize>,
        map: &'v Map<String, Value>,
        path: &mut Vec<Step<'v>>,
        struct_name: &'static str,
    ) -> Result<(), String> {
        for (k, v) in map {
            path.push(Step::Field(k));
            match fields.get(k.as_str()) {
                Some(id) => {
                    self.go_path.push(k);
                    let r = self.walk(*id, v, path, struct_name, GoType::Schema(self.schema.nodes[*id].schema));
                    self.go_path.pop();
                    if let Err(e) = r {
                        path.pop();
                        return Err(e);
                    }
                }
                None if self.patch && k.starts_with('$') => {}
                None if !v.is_null() => self.unknown.push(format!("unknown field {:?}", path_string(path))),
                None => {}
            }
            path.pop();
        }
        Ok(())
    }
}

/// One step from the root to a value: written out (`spec.containers[0].image`, a map's
/// `[key]`) only for an unknown field.
#[derive(Clone, Copy)]
enum Step<'v> {
    Field(&'v str),
    Index(usize),
    Key(&'v str),
}

fn path_string(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Step::Key(k) => {
                let _ = write!(out, "[{k}]");
            }
        }
    }
    out
}

/// Position of the first byte that makes `s` invalid standard base64 (Go's
/// `base64.StdEncoding`), or `None` when valid.
fn base64_error(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let is_alpha = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\r' || b == b'\n' {
            i += 1;
            continue;
        }
        if b == b'=' {
            // Padding must complete the final quantum.
            let data: usize = bytes[..i].iter().filter(|c| is_alpha(**c)).count();
            let pad = bytes[i..].iter().filter(|c| **c == b'=').count();
            let rest_ok = bytes[i..].iter().all(|c| *c == b'=' || *c == b'\r' || *c == b'\n');
            if !rest_ok || (data % 4) + pad != 4 || data % 4 < 2 {
                return Some(i);
            }
            return None;
        }
        if !is_alpha(b) {
            return Some(i);
        }
        i += 1;
    }
    let data = bytes.iter().filter(|c| is_alpha(**c)).count();
    if data % 4 != 0 {
        return Some(bytes.len());
    }
    None
}
