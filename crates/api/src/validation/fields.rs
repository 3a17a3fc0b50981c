//! Decode-time checks, as kube-apiserver's JSON decoder does them: values of the wrong JSON
//! type (400 `cannot be handled as a Pod: json: cannot unmarshal ...`), malformed quantities,
//! times and base64, and fields that are not part of the type (reported for
//! `fieldValidation=Strict/Warn` as `unknown field "spec.foo"`).
//!
//! The walk is driven by the OpenAPI schemas of the k8s-openapi types (via `schemars`), built
//! once per kind and cached.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

use k8s_openapi::api::{apps, batch, coordination, core, events, scheduling};
use schemars::{generate::SchemaSettings, JsonSchema};
use serde_json::{Map, Value};

use crate::defaults::quantity::{Quantity, QUANTITY_ERROR};
use crate::{ApiError, ResourceInfo};

const QUANTITY_DEF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12().into_generator().root_schema_for::<T>().to_value()
}

/// The cached root schema (with its `$defs`) of a served kind, keyed by OpenAPI definition name.
fn schema(definition: &str) -> Option<&'static Value> {
    static SCHEMAS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            let mut m = HashMap::new();
            macro_rules! add {
                ($($name:literal => $ty:ty),* $(,)?) => { $( m.insert($name, schema_for::<$ty>()); )* };
            }
            add! {
                "io.k8s.api.core.v1.Namespace" => core::v1::Namespace,
                "io.k8s.api.core.v1.Pod" => core::v1::Pod,
                "io.k8s.api.core.v1.Node" => core::v1::Node,
                "io.k8s.api.core.v1.Event" => core::v1::Event,
                "io.k8s.api.core.v1.ConfigMap" => core::v1::ConfigMap,
                "io.k8s.api.core.v1.Secret" => core::v1::Secret,
                "io.k8s.api.core.v1.Service" => core::v1::Service,
                "io.k8s.api.core.v1.Endpoints" => core::v1::Endpoints,
                "io.k8s.api.core.v1.ServiceAccount" => core::v1::ServiceAccount,
                "io.k8s.api.apps.v1.Deployment" => apps::v1::Deployment,
                "io.k8s.api.apps.v1.ReplicaSet" => apps::v1::ReplicaSet,
                "io.k8s.api.apps.v1.ControllerRevision" => apps::v1::ControllerRevision,
                "io.k8s.api.core.v1.ReplicationController" => core::v1::ReplicationController,
                "io.k8s.api.apps.v1.StatefulSet" => apps::v1::StatefulSet,
                "io.k8s.api.apps.v1.DaemonSet" => apps::v1::DaemonSet,
                "io.k8s.api.batch.v1.Job" => batch::v1::Job,
                "io.k8s.api.batch.v1.CronJob" => batch::v1::CronJob,
                "io.k8s.api.coordination.v1.Lease" => coordination::v1::Lease,
                "io.k8s.api.scheduling.v1.PriorityClass" => scheduling::v1::PriorityClass,
                "io.k8s.api.events.v1.Event" => events::v1::Event,
            }
            m
        })
        .get(definition)
}

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
    let Some(root) = schema(resource.definition) else {
        return Ok(Vec::new());
    };
    let defs = root.get("$defs").and_then(Value::as_object);
    let struct_name = short_name(resource.definition);
    let mut walker = Walker { defs, unknown: Vec::new(), go_path: Vec::new(), patch };
    let root_type = go_type_of_def(resource.definition);
    walker.walk(root, obj, &mut String::new(), struct_name, GoType::Named(&root_type))?;
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

struct Walker<'s, 'v> {
    defs: Option<&'s Map<String, Value>>,
    unknown: Vec<String>,
    /// JSON field names from the root, without indices (Go's error `Field`).
    go_path: Vec<&'v str>,
    /// Walking a patch: `$` directive keys are not fields.
    patch: bool,
}

impl<'s, 'v> Walker<'s, 'v> {
    /// Follows `$ref`s: the schema and, if it was a named definition, its name.
    fn resolve(&self, mut schema: &'s Value) -> (&'s Value, Option<&'s str>) {
        let mut name = None;
        for _ in 0..8 {
            let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let key = r.trim_start_matches("#/$defs/").trim_start_matches("#/definitions/");
            match self.defs.and_then(|d| d.get_key_value(key)) {
                Some((k, s)) => {
                    name = Some(k.as_str());
                    schema = s;
                }
                None => break,
            }
        }
        (schema, name)
    }

    /// The Go type name of a schema, for error messages.
    fn go_type(&self, schema: &'s Value) -> String {
        let (schema, name) = self.resolve(schema);
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

    fn type_error(&self, value: &Value, struct_name: &str, go_type: GoType<'s, '_>) -> String {
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
        schema: &'s Value,
        value: &'v Value,
        path: &mut String,
        struct_name: &'s str,
        go_type: GoType<'s, '_>,
    ) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let (schema, def_name) = self.resolve(schema);
        if def_name == Some(QUANTITY_DEF) {
            return match value {
                Value::String(_) | Value::Number(_) if Quantity::from_value(value).is_some() => Ok(()),
                Value::String(_) | Value::Number(_) => Err(QUANTITY_ERROR.to_string()),
                _ => Err(self.type_error(value, struct_name, GoType::Named("resource.Quantity"))),
            };
        }
        if schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            return match value {
                Value::String(_) => Ok(()),
                Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => Ok(()),
                _ => Err(self.type_error(value, struct_name, GoType::Named("int32"))),
            };
        }
        let ty = schema.get("type").and_then(Value::as_str);
        match (ty, value) {
            (None, _) => Ok(()),
            (Some("string"), Value::String(s)) => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                    Err(format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {s:?} as \"2006\""))
                }
                Some("byte") => match base64_error(s) {
                    Some(at) => Err(format!("illegal base64 data at input byte {at}")),
                    None => Ok(()),
                },
                _ => Ok(()),
            },
            (Some("integer"), Value::Number(n)) => {
                let fits = match schema.get("format").and_then(Value::as_str) {
                    Some("int32") => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                    _ => n.as_i64().is_some(),
                };
                if fits {
                    Ok(())
                } else {
                    Err(self.type_error(value, struct_name, go_type))
                }
            }
            (Some("number"), Value::Number(_)) | (Some("boolean"), Value::Bool(_)) => Ok(()),
            (Some("array"), Value::Array(items)) => {
                let item_schema = schema.get("items").unwrap_or(&Value::Null);
                let base = path.len();
                for (i, item) in items.iter().enumerate() {
                    let _ = write!(path, "[{i}]");
                    let r = self.walk(item_schema, item, path, struct_name, GoType::Schema(item_schema));
                    path.truncate(base);
                    r?;
                }
                Ok(())
            }
            (Some("object"), Value::Object(map)) => {
                let own_struct = def_name.map(short_name).unwrap_or(struct_name);
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    self.walk_struct(props, map, path, own_struct)
                } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                    let base = path.len();
                    for (k, v) in map {
                        let _ = write!(path, "[{k}]");
                        let r = self.walk(ap, v, path, own_struct, GoType::Schema(ap));
                        path.truncate(base);
                        r?;
                    }
                    Ok(())
                } else {
                    Ok(())
                }
            }
            _ => Err(self.type_error(value, struct_name, go_type)),
        }
    }

    fn walk_struct(
        &mut self,
        props: &'s Map<String, Value>,
        map: &'v Map<String, Value>,
        path: &mut String,
        struct_name: &'s str,
    ) -> Result<(), String> {
        let base = path.len();
        for (k, v) in map {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            match props.get(k) {
                Some(field_schema) => {
                    self.go_path.push(k);
                    let r = self.walk(field_schema, v, path, struct_name, GoType::Schema(field_schema));
                    self.go_path.pop();
                    if let Err(e) = r {
                        path.truncate(base);
                        return Err(e);
                    }
                }
                None if self.patch && k.starts_with('$') => {}
                None if !v.is_null() => self.unknown.push(format!("unknown field {path:?}")),
                None => {}
            }
            path.truncate(base);
        }
        Ok(())
    }
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
