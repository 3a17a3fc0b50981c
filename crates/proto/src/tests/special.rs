//! Special JSON forms: times, durations, embedded JSON, CRD schemas, envelopes.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::events::v1 as events;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use prost::Message as _;
use serde_json::json;

use super::{body, go_meta, roundtrip};
use crate::special::{go_duration, rfc3339};

#[test]
fn time_formats() {
    assert_eq!(rfc3339(0, 0, false).unwrap(), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_704_067_200, 0, false).unwrap(), "2024-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400, 0, false).unwrap(), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(-1, 0, false).unwrap(), "1969-12-31T23:59:59Z");
    // Time drops sub-second precision; MicroTime keeps microseconds.
    assert_eq!(rfc3339(1_704_067_200, 123_456_789, false).unwrap(), "2024-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_704_067_200, 123_456_789, true).unwrap(), "2024-01-01T00:00:00.123456Z");
    assert_eq!(rfc3339(1_704_067_200, 0, true).unwrap(), "2024-01-01T00:00:00.000000Z");
    assert_eq!(rfc3339(253_402_300_799, 0, false).unwrap(), "9999-12-31T23:59:59Z");
    assert!(rfc3339(253_402_300_800, 0, false).is_err());
    assert!(rfc3339(i64::MAX, i64::MAX, false).is_err());
    assert!(rfc3339(i64::MIN, 0, false).is_err());
}

#[test]
fn durations_like_go() {
    for (ns, s) in [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (300_000_000, "300ms"),
        (1_500_000_000, "1.5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (-5_000_000_000, "-5s"),
        (3_723_000_000_001, "1h2m3.000000001s"),
    ] {
        assert_eq!(go_duration(ns), s, "{ns}");
    }
    assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
}

#[test]
fn micro_time_and_zero_times() {
    let event = events::Event {
        metadata: Some(go_meta("e")),
        event_time: Some(meta::MicroTime { seconds: Some(1_704_067_200), nanos: Some(5_000) }),
        reason: Some("Started".into()),
        deprecated_first_timestamp: Some(meta::Time::default()),
        deprecated_last_timestamp: Some(meta::Time { seconds: Some(-62_135_596_800), nanos: Some(0) }),
        deprecated_count: Some(0),
        ..Default::default()
    };
    assert_eq!(
        roundtrip("events.k8s.io/v1", "Event", &event),
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "e"},
            "eventTime": "2024-01-01T00:00:00.000005Z",
            "reason": "Started"
        })
    );
}

#[test]
fn raw_extension_and_managed_fields() {
    let rev = apps::ControllerRevision {
        metadata: Some(meta::ObjectMeta {
            managed_fields: vec![meta::ManagedFieldsEntry {
                manager: Some("kubectl".into()),
                operation: Some("Update".into()),
                api_version: Some("apps/v1".into()),
                time: Some(meta::Time { seconds: Some(1), nanos: None }),
                fields_type: Some("FieldsV1".into()),
                fields_v1: Some(meta::FieldsV1 { raw: Some(br#"{"f:data":{}}"#.to_vec()) }),
                subresource: Some(String::new()),
            }],
            ..go_meta("rev")
        }),
        data: Some(RawExtension { raw: Some(br#"{"spec":{"template":{"a":[1,2]}}}"#.to_vec()) }),
        revision: Some(3),
    };
    assert_eq!(
        roundtrip("apps/v1", "ControllerRevision", &rev),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": "rev",
                "managedFields": [{
                    "manager": "kubectl",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "1970-01-01T00:00:01Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {}}
                }]
            },
            "data": {"spec": {"template": {"a": [1, 2]}}},
            "revision": 3
        })
    );
}

#[test]
fn raw_extension_holding_a_protobuf_object() {
    let cm = core::ConfigMap {
        metadata: Some(go_meta("inner")),
        data: [("k".to_string(), "v".to_string())].into(),
        ..Default::default()
    };
    let rev = apps::ControllerRevision {
        metadata: Some(go_meta("rev")),
        data: Some(RawExtension { raw: Some(body("v1", "ConfigMap", cm.encode_to_vec())) }),
        revision: Some(1),
    };
    assert_eq!(
        roundtrip("apps/v1", "ControllerRevision", &rev)["data"],
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inner"}, "data": {"k": "v"}})
    );
}

fn props(pairs: Vec<(&str, ext::JsonSchemaProps)>) -> std::collections::BTreeMap<String, ext::JsonSchemaProps> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn crd_schema_unions() {
    let string = ext::JsonSchemaProps { r#type: Some("string".into()), ..Default::default() };
    let schema = ext::JsonSchemaProps {
        r#type: Some("object".into()),
        properties: props(vec![
            (
                "tags",
                ext::JsonSchemaProps {
                    r#type: Some("array".into()),
                    items: Some(Box::new(ext::JsonSchemaPropsOrArray {
                        schema: Some(Box::new(string.clone())),
                        j_son_schemas: vec![],
                    })),
                    ..Default::default()
                },
            ),
            (
                "labels",
                ext::JsonSchemaProps {
                    r#type: Some("object".into()),
                    additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool {
                        allows: Some(true),
                        schema: Some(Box::new(string.clone())),
                    })),
                    ..Default::default()
                },
            ),
            (
                "free",
                ext::JsonSchemaProps {
                    x_kubernetes_preserve_unknown_fields: Some(true),
                    additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool {
                        allows: Some(false),
                        schema: None,
                    })),
                    default: Some(ext::Json { raw: Some(br#"{"x":1}"#.to_vec()) }),
                    ..Default::default()
                },
            ),
            ("ref", ext::JsonSchemaProps { r#ref: Some("#/defs/x".into()), ..Default::default() }),
        ]),
        ..Default::default()
    };
    let crd = ext::CustomResourceDefinition {
        metadata: Some(go_meta("widgets.example.com")),
        spec: Some(ext::CustomResourceDefinitionSpec {
            group: Some("example.com".into()),
            names: Some(ext::CustomResourceDefinitionNames {
                plural: Some("widgets".into()),
                kind: Some("Widget".into()),
                short_names: vec!["wd".into()],
                ..Default::default()
            }),
            scope: Some("Namespaced".into()),
            versions: vec![ext::CustomResourceDefinitionVersion {
                name: Some("v1".into()),
                served: Some(true),
                storage: Some(true),
                schema: Some(ext::CustomResourceValidation { open_apiv3_schema: Some(schema) }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    let got = roundtrip("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd);
    assert_eq!(
        got["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        json!({
            "type": "object",
            "properties": {
                "free": {
                    "default": {"x": 1},
                    "additionalProperties": false,
                    "x-kubernetes-preserve-unknown-fields": true
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "ref": {"$ref": "#/defs/x"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        })
    );
    assert_eq!(got["spec"]["names"]["shortNames"], json!(["wd"]));
}

#[test]
fn json_content_type_in_envelope() {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: Some("v1".into()), kind: Some("ConfigMap".into()) }),
        raw: Some(br#"{"metadata":{"name":"j"}}"#.to_vec()),
        content_encoding: None,
        content_type: Some("application/json".into()),
    };
    let mut b = crate::MAGIC.to_vec();
    b.extend(unknown.encode_to_vec());
    assert_eq!(crate::decode(&b).unwrap(), json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}));
}

#[test]
fn output_starts_with_api_version_and_kind() {
    let got = roundtrip("v1", "Namespace", &core::Namespace { metadata: Some(go_meta("n")), ..Default::default() });
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata"]);
}

#[test]
fn a_deployment_decodes() {
    let b = body("apps/v1", "Deployment", super::deployment(3, go_meta("x")).encode_to_vec());
    let decoded = crate::decode(&b).unwrap();
    assert_eq!(decoded["spec"]["replicas"], 3);
    assert_eq!(decoded["spec"]["template"]["spec"]["containers"][0]["image"], "busybox");
}
