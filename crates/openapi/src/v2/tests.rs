use std::collections::HashMap;

use prost::Message;
use serde_json::{json, Value};
use skiff_api::resources::RESOURCES;

use crate::gnostic::{AdditionalProperties, Document, Schema};
use crate::{defs, v2_protobuf};

/// The served bytes, decoded back.
fn decoded() -> Document {
    Document::decode(v2_protobuf()).expect("the /openapi/v2 body decodes")
}

fn definitions(doc: &Document) -> HashMap<&str, &Schema> {
    doc.definitions
        .iter()
        .flat_map(|d| &d.additional_properties)
        .filter_map(|n| n.value.as_ref().map(|v| (n.name.as_str(), v)))
        .collect()
}

fn extension(schema: &Schema, name: &str) -> Option<Value> {
    schema
        .vendor_extension
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.as_ref())
        .map(|v| serde_json::from_str(&v.yaml).expect("extension values are JSON"))
}

fn property<'a>(schema: &'a Schema, name: &str) -> &'a Schema {
    schema
        .properties
        .iter()
        .flat_map(|p| &p.additional_properties)
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_ref())
        .unwrap_or_else(|| panic!("property {name} missing"))
}

fn types(schema: &Schema) -> &[String] {
    schema.r#type.as_ref().map_or(&[], |t| t.value.as_slice())
}

#[test]
fn decodes_with_pod_and_container() {
    let doc = decoded();
    assert_eq!(doc.swagger, "2.0");
    let defs = definitions(&doc);
    let pod = defs["io.k8s.api.core.v1.Pod"];
    assert_eq!(extension(pod, crate::extensions::GVK), Some(json!([{"group": "", "kind": "Pod", "version": "v1"}])));
    assert!(types(pod).is_empty(), "structs carry no type");
    assert!(!pod.required.contains(&"metadata".to_string()));
    let spec = property(pod, "spec");
    assert_eq!(spec.xref, "#/definitions/io.k8s.api.core.v1.PodSpec");
    assert!(!spec.description.is_empty());

    let containers = property(defs["io.k8s.api.core.v1.PodSpec"], "containers");
    assert_eq!(types(containers), ["array"]);
    assert_eq!(extension(containers, "x-kubernetes-patch-merge-key"), Some(json!("name")));
    assert_eq!(extension(containers, "x-kubernetes-patch-strategy"), Some(json!("merge")));
    let item = containers.items.as_ref().map(|i| i.schema.as_slice());
    assert!(matches!(item, Some([one]) if one.xref == "#/definitions/io.k8s.api.core.v1.Container"));

    let container = defs["io.k8s.api.core.v1.Container"];
    assert_eq!(container.required, ["name"]);
    assert_eq!(types(property(container, "image")), ["string"]);

    let deployment = defs["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        extension(deployment, crate::extensions::GVK),
        Some(json!([{"group": "apps", "kind": "Deployment", "version": "v1"}]))
    );
    let int_or_string = defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(types(int_or_string), ["string"]);
    assert_eq!(int_or_string.format, "int-or-string");
    assert_eq!(types(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]), ["string"]);
    let labels = property(defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"], "labels");
    assert_eq!(types(labels), ["object"]);
    assert!(matches!(
        labels.additional_properties.as_ref().and_then(|a| a.oneof.as_ref()),
        Some(AdditionalProperties::Schema(s)) if types(s) == ["string"]
    ));
}

#[test]
fn every_resource_has_a_v2_kind() {
    let doc = decoded();
    let defs = definitions(&doc);
    for r in RESOURCES {
        for (name, kind) in [(r.definition.to_string(), r.kind), (defs::list_name(r), r.list_kind)] {
            let def = defs.get(name.as_str()).unwrap_or_else(|| panic!("{name} missing"));
            let want = json!({"group": r.group, "kind": kind, "version": r.version});
            let gvks = extension(def, crate::extensions::GVK).unwrap_or_default();
            assert!(gvks.as_array().is_some_and(|l| l.contains(&want)), "{name} lacks {want}");
        }
    }
}

/// The rules of kube-openapi's `pkg/util/proto` parser (old and new), which rejects the whole
/// document on the first violation.
fn check(schema: &Schema, path: &str, defs: &HashMap<&str, &Schema>) {
    let t = types(schema);
    assert!(t.len() <= 1, "{path}: several types");
    if !schema.xref.is_empty() {
        let name = schema.xref.strip_prefix("#/definitions/");
        assert!(name.is_some_and(|n| defs.contains_key(n)), "{path}: dangling {}", schema.xref);
        assert!(t.is_empty() && schema.properties.is_none(), "{path}: ref with siblings");
        return;
    }
    match t.first().map(String::as_str) {
        Some("object") => {
            assert!(schema.properties.is_none(), "{path}: typed struct");
            match schema.additional_properties.as_ref().and_then(|a| a.oneof.as_ref()) {
                Some(AdditionalProperties::Schema(s)) => check(s, &format!("{path}{{}}"), defs),
                _ => panic!("{path}: map without a value schema"),
            }
        }
        Some("array") => {
            let items = schema.items.as_ref().map(|i| i.schema.as_slice());
            match items {
                Some([one]) => check(one, &format!("{path}[]"), defs),
                _ => panic!("{path}: array without exactly one item schema"),
            }
        }
        Some("string" | "integer" | "number" | "boolean") | None => {}
        Some(other) => panic!("{path}: unknown type {other}"),
    }
    for p in schema.properties.iter().flat_map(|p| &p.additional_properties) {
        let value = p.value.as_ref().unwrap_or_else(|| panic!("{path}.{}: no schema", p.name));
        check(value, &format!("{path}.{}", p.name), defs);
    }
}

#[test]
fn every_schema_has_a_shape_kubectl_parses() {
    let doc = decoded();
    let defs = definitions(&doc);
    assert_eq!(defs.len(), crate::registry().definition_names().count());
    for (name, schema) in &defs {
        check(schema, name, &defs);
    }
}
