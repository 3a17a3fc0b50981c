//! The `/openapi/v2` body: the registry's definitions as a Swagger 2.0 document, encoded as
//! gnostic's `openapi.v2.Document` protobuf.
//!
//! kubectl up to 1.26 (and 1.27/1.28 for some commands) read Kubernetes types only from this
//! document, through kube-openapi's `pkg/util/proto` (`NewOpenAPIData`): `explain`, client-side
//! validation and the strategic-merge-patch metadata of client-side `apply`. That parser is
//! strict, so the v3 schemas are reshaped into the forms it accepts:
//!
//! * a reference is `{$ref: "#/definitions/<name>"}` with at most a description and vendor
//!   extensions beside it (v3's `allOf: [{$ref}]` wrappers are unwrapped), and it must name an
//!   existing definition (unknown ones become arbitrary values);
//! * a struct carries `properties` and no `type` (older parsers read `type: object` as a map and
//!   then require `additionalProperties`); a map carries `type: object` and an
//!   `additionalProperties` schema; an object with neither is an arbitrary value;
//! * an array has `type: array` and exactly one `items` schema;
//! * `IntOrString` and `Quantity` (v3 `oneOf`) are strings, as in kube-apiserver's v2 document;
//! * `x-*` keys become vendor extensions whose value is YAML (JSON text is valid YAML).
//!
//! Paths are left out: explain and validation look kinds up by `x-kubernetes-group-version-kind`
//! on the definitions, and newer kubectl versions learn about field validation from `/openapi/v3`.

use std::collections::HashSet;
use std::sync::OnceLock;

use prost::Message;
use serde_json::{Map, Value};

use crate::defs::REF_PREFIX;
use crate::gnostic::{
    AdditionalProperties, AdditionalPropertiesItem, Any, Definitions, Document, Info, ItemsItem, NamedAny, NamedSchema,
    Properties, Schema, TypeItem,
};
use crate::registry;

/// Prefix of a Swagger 2.0 local reference.
const V2_REF_PREFIX: &str = "#/definitions/";

/// Required fields that k8s-openapi marks required (its field types are not `Option`) although
/// Kubernetes' documents do not: the `name` of the `LocalObjectReference` family (defaulted to
/// `""`) and the `metadata` of kinds. Client-side validation rejects objects missing a required
/// field, so these are dropped from the v2 document.
const NOT_REQUIRED: &[(&str, &str)] = &[
    ("io.k8s.api.core.v1.LocalObjectReference", "name"),
    ("io.k8s.api.core.v1.ConfigMapKeySelector", "name"),
    ("io.k8s.api.core.v1.SecretKeySelector", "name"),
    ("io.k8s.api.core.v1.ConfigMapEnvSource", "name"),
    ("io.k8s.api.core.v1.SecretEnvSource", "name"),
    ("io.k8s.api.core.v1.ConfigMapVolumeSource", "name"),
    ("io.k8s.api.core.v1.ConfigMapProjection", "name"),
    ("io.k8s.api.core.v1.SecretProjection", "name"),
];

/// The encoded document, built on first use.
pub(crate) fn protobuf() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| document().encode_to_vec())
}

/// The Swagger 2.0 document of every registry definition.
pub(crate) fn document() -> Document {
    let reg = registry();
    let known: HashSet<&str> = reg.definition_names().collect();
    let conv = Converter { known: &known };
    let additional_properties = reg
        .definition_names()
        .filter_map(|name| {
            reg.definition(name)
                .map(|def| NamedSchema { name: name.to_string(), value: Some(conv.definition(name, def)) })
        })
        .collect();
    Document {
        swagger: "2.0".into(),
        info: Some(Info { title: "Kubernetes".into(), version: "v1.33.0".into() }),
        definitions: Some(Definitions { additional_properties }),
    }
}

/// Converts v3 schemas, knowing which definitions exist.
struct Converter<'a> {
    known: &'a HashSet<&'a str>,
}

impl Converter<'_> {
    /// A top-level definition: [`Self::schema`] with the [`NOT_REQUIRED`] fields dropped.
    fn definition(&self, name: &str, def: &Value) -> Schema {
        let mut schema = self.schema(def);
        schema.required.retain(|field| field != "metadata" && !NOT_REQUIRED.contains(&(name, field.as_str())));
        schema
    }

    /// Converts one v3 schema (see the module documentation for the shapes produced).
    fn schema(&self, value: &Value) -> Schema {
        let Some(obj) = value.as_object() else {
            // `true`/`false` schemas: an arbitrary value.
            return Schema::default();
        };
        let mut out =
            Schema { description: str_of(obj, "description"), vendor_extension: extensions(obj), ..Schema::default() };
        if let Some(target) = reference(obj) {
            if let Some(name) = target.strip_prefix(REF_PREFIX) {
                if self.known.contains(name) {
                    out.xref = format!("{V2_REF_PREFIX}{name}");
                }
            }
            return out;
        }
        let format = str_of(obj, "format");
        match obj.get("type").and_then(Value::as_str) {
            Some("object") => self.object(obj, &mut out),
            Some("array") => {
                let items = obj.get("items").map(|i| self.schema(i)).unwrap_or_default();
                out.r#type = type_item("array");
                out.items = Some(ItemsItem { schema: vec![items] });
            }
            Some(t @ ("string" | "integer" | "number" | "boolean")) => {
                out.r#type = type_item(t);
                out.format = format;
            }
            Some(_) => {}
            None if obj.contains_key("properties") => self.object(obj, &mut out),
            None => {
                // `oneOf` scalars (IntOrString, Quantity): kube-apiserver's v2 calls them strings.
                let alternatives = obj.get("oneOf").and_then(Value::as_array);
                let stringy =
                    alternatives.is_some_and(|alts| alts.iter().any(|a| a["type"].as_str() == Some("string")));
                if stringy {
                    out.r#type = type_item("string");
                    out.format = format;
                }
            }
        }
        out
    }

    /// A struct (properties, no type), a map (type object, additionalProperties) or, with
    /// neither, an arbitrary value.
    fn object(&self, obj: &Map<String, Value>, out: &mut Schema) {
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            out.properties = Some(Properties {
                additional_properties: props
                    .iter()
                    .map(|(name, schema)| NamedSchema { name: name.clone(), value: Some(self.schema(schema)) })
                    .collect(),
            });
            out.required = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            return;
        }
        let values = match obj.get("additionalProperties") {
            Some(Value::Bool(false)) | None => return,
            Some(schema) => self.schema(schema),
        };
        out.r#type = type_item("object");
        out.additional_properties =
            Some(Box::new(AdditionalPropertiesItem { oneof: Some(AdditionalProperties::Schema(Box::new(values))) }));
    }
}

/// The target of `$ref`, or of the single `$ref` in an `allOf` wrapper.
fn reference(obj: &Map<String, Value>) -> Option<&str> {
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        return Some(target);
    }
    match obj.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => only.get("$ref").and_then(Value::as_str),
        _ => None,
    }
}

fn str_of(obj: &Map<String, Value>, key: &str) -> String {
    obj.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn type_item(t: &str) -> Option<TypeItem> {
    Some(TypeItem { value: vec![t.to_string()] })
}

/// The `x-*` keys as vendor extensions, their values written as JSON (valid YAML).
fn extensions(obj: &Map<String, Value>) -> Vec<NamedAny> {
    obj.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| NamedAny { name: k.clone(), value: Some(Any { yaml: v.to_string() }) })
        .collect()
}

#[cfg(test)]
mod tests;
