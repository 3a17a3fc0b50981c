//! Untrusted input: every malformed body is an error, never a panic.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message as _;

use super::{body, go_meta};
use crate::{decode, ProtoError};

fn malformed(b: &[u8]) -> String {
    match decode(b) {
        Err(e @ ProtoError::Malformed { .. }) => e.to_string(),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn deployment_body() -> Vec<u8> {
    let meta = meta::ObjectMeta { labels: [("app".to_string(), "x".to_string())].into(), ..go_meta("x") };
    body("apps/v1", "Deployment", super::deployment(2, meta).encode_to_vec())
}

#[test]
fn envelope_errors() {
    assert!(matches!(decode(b""), Err(ProtoError::MissingMagic)));
    assert!(matches!(decode(b"{\"kind\":\"Pod\"}"), Err(ProtoError::MissingMagic)));
    assert!(matches!(decode(b"k8s\0"), Err(ProtoError::MissingTypeMeta)));
    assert!(matches!(decode(&body("v1", "NoSuchKind", vec![])), Err(ProtoError::UnknownKind { .. })));
    let with = |encoding: &str, content_type: &str| {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: Some("v1".into()), kind: Some("ConfigMap".into()) }),
            raw: Some(vec![]),
            content_encoding: Some(encoding.into()),
            content_type: Some(content_type.into()),
        };
        let mut b = crate::MAGIC.to_vec();
        b.extend(unknown.encode_to_vec());
        decode(&b)
    };
    assert!(matches!(with("gzip", ""), Err(ProtoError::UnsupportedEncoding(_))));
    assert!(matches!(with("", "application/yaml"), Err(ProtoError::UnsupportedContentType(_))));
    assert!(with("", "application/vnd.kubernetes.protobuf").is_ok());
}

#[test]
fn wire_errors_name_the_field() {
    // metadata (a message) sent as a varint.
    let meta_key =
        core::ConfigMap { metadata: Some(meta::ObjectMeta::default()), ..Default::default() }.encode_to_vec()[0];
    let msg = malformed(&body("v1", "ConfigMap", vec![meta_key & !7, 1]));
    assert!(msg.contains("at metadata"), "{msg}");
    // A truncated varint, a length past the end, a group, a zero field number.
    assert!(malformed(&body("v1", "ConfigMap", vec![0x80])).contains("truncated"));
    assert!(malformed(&body("v1", "ConfigMap", vec![meta_key, 50, 1])).contains("length"));
    assert!(malformed(&body("v1", "ConfigMap", vec![0x0b])).contains("wire type"));
    assert!(malformed(&body("v1", "ConfigMap", vec![0x00, 0])).contains("field number"));
    assert!(malformed(&body("v1", "ConfigMap", vec![0xff; 11])).contains("varint"));
    // Invalid UTF-8 inside metadata.name.
    let mut name = meta::ObjectMeta { name: Some("ab".into()), ..Default::default() }.encode_to_vec();
    let last = name.len() - 1;
    name[last] = 0xff;
    let mut cm = vec![meta_key, name.len() as u8];
    cm.extend(name);
    let msg = malformed(&body("v1", "ConfigMap", cm));
    assert!(msg.contains("metadata.name") && msg.contains("UTF-8"), "{msg}");
}

#[test]
fn embedded_json_must_be_valid() {
    let cm = apps::ControllerRevision {
        data: Some(k8s_pb::apimachinery::pkg::runtime::RawExtension { raw: Some(b"{not json".to_vec()) }),
        ..Default::default()
    };
    let msg = malformed(&body("apps/v1", "ControllerRevision", cm.encode_to_vec()));
    assert!(msg.contains("at data"), "{msg}");
}

#[test]
fn unknown_fields_are_skipped() {
    let mut raw = core::Namespace { metadata: Some(go_meta("n")), ..Default::default() }.encode_to_vec();
    // field 1000: varint, fixed64, length-delimited, fixed32.
    raw.extend([0xc0, 0x3e, 0x05]);
    raw.extend([0xc1, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8]);
    raw.extend([0xc2, 0x3e, 2, b'h', b'i']);
    raw.extend([0xc5, 0x3e, 1, 2, 3, 4]);
    let got = decode(&body("v1", "Namespace", raw)).unwrap();
    assert_eq!(got["metadata"]["name"], "n");
}

#[test]
fn deep_nesting_is_rejected() {
    let mut schema = ext::JsonSchemaProps::default();
    for _ in 0..150 {
        schema = ext::JsonSchemaProps { not: Some(Box::new(schema)), ..Default::default() };
    }
    let crd = ext::CustomResourceDefinition {
        spec: Some(ext::CustomResourceDefinitionSpec {
            versions: vec![ext::CustomResourceDefinitionVersion {
                schema: Some(ext::CustomResourceValidation { open_apiv3_schema: Some(schema) }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let msg = malformed(&body("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd.encode_to_vec()));
    assert!(msg.contains("nested deeper"), "{msg}");
}

#[test]
fn truncations_and_corruptions_never_panic() {
    let b = deployment_body();
    assert!(decode(&b).is_ok());
    for len in 0..b.len() {
        let _ = decode(&b[..len]);
    }
    // Flip every byte to a few values; decoding may succeed or fail but must not panic.
    for i in 4..b.len() {
        for v in [0x00, 0x02, 0x07, 0x7f, 0x80, 0xff] {
            let mut c = b.clone();
            c[i] = v;
            let _ = decode(&c);
        }
    }
    // Pseudo-random garbage after the magic.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2_000 {
        let mut c = crate::MAGIC.to_vec();
        for _ in 0..(seed % 64) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            c.push(seed as u8);
        }
        let _ = decode(&c);
    }
}
