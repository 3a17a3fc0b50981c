//! skiff-proto: decodes Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`) into the JSON objects kube-apiserver
//! would see.
//!
//! A body is the `k8s\0` magic followed by a `runtime.Unknown` envelope: `typeMeta` (apiVersion,
//! kind), `raw` (the object's message bytes), `contentEncoding` and `contentType`. The object's
//! message type is found from apiVersion/kind and decoded with a table that `build.rs` generates
//! from k8s-pb's prost types (field numbers, kinds) and k8s-openapi's definitions (JSON names).
//!
//! JSON forms follow Kubernetes: `Time` → RFC 3339, `MicroTime` → RFC 3339 with microseconds,
//! `Quantity` → string, `IntOrString` → number or string, `RawExtension`/`FieldsV1` → embedded
//! JSON, `Duration` → Go duration string, bytes → base64, maps → objects, repeated → arrays.
//!
//! Go's marshallers write every non-pointer field, set or not, so singular zero scalars (`""`,
//! `0`, `false`) and zero times are dropped — they mean "unset" once decoded into Go structs —
//! except for the pointer fields listed in `build/keep_zero.rs`, where an explicit zero matters
//! (`replicas: 0`, `gracePeriodSeconds: 0`). Embedded messages are always kept (`status: {}`).

mod decode;
mod schema;
mod special;
mod wire;

use serde_json::{Map, Value};

use crate::decode::Failure;
use crate::wire::WireValue;

/// The prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8] = b"k8s\0";

/// The content type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be decoded; every variant describes a client error (400).
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The body does not start with `k8s\0`.
    #[error("protobuf body does not start with the Kubernetes \"k8s\\x00\" prefix")]
    MissingMagic,
    /// The envelope lacks `typeMeta.apiVersion` or `typeMeta.kind`.
    #[error("protobuf envelope has no apiVersion or kind")]
    MissingTypeMeta,
    /// The envelope's `contentEncoding` is set (kube-apiserver supports none).
    #[error("unsupported protobuf contentEncoding {0:?}")]
    UnsupportedEncoding(String),
    /// The envelope's `contentType` is neither protobuf nor JSON.
    #[error("unsupported embedded contentType {0:?}")]
    UnsupportedContentType(String),
    /// No protobuf message is known for the object's apiVersion and kind.
    #[error("no protobuf schema for kind {kind:?} in {api_version:?}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// The bytes are not a valid encoding of the message.
    #[error("invalid protobuf body{}: {reason}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
    Malformed {
        /// Dotted JSON path of the field being decoded (empty at the top level).
        path: String,
        /// What was wrong.
        reason: String,
    },
}

impl From<Failure> for ProtoError {
    fn from(f: Failure) -> Self {
        ProtoError::Malformed { path: f.path_string(), reason: f.reason }
    }
}

/// Decodes a Kubernetes protobuf body (`k8s\0` magic + `runtime.Unknown` envelope) into the JSON
/// object kube-apiserver would see, with `"apiVersion"` and `"kind"` set (first).
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    envelope(body, 0)
}

/// [`decode`] at a nesting depth (objects embedded in `RawExtension`s nest).
pub(crate) fn envelope(body: &[u8], depth: usize) -> Result<Value, ProtoError> {
    let rest = body.strip_prefix(MAGIC).ok_or(ProtoError::MissingMagic)?;
    let unknown =
        schema::unknown().ok_or_else(|| ProtoError::from(Failure::new("runtime.Unknown missing from the table")))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    let mut encoding = String::new();
    let mut content_type = String::new();
    for (tag, value) in wire::fields(rest).map_err(Failure::from)? {
        let Some(field) = unknown.field(tag) else {
            continue;
        };
        let bytes = match value {
            WireValue::Len(b) => b,
            other => {
                return Err(
                    Failure::new(format!("envelope field {} has a {} value", field.name, other.type_name())).into()
                )
            }
        };
        match field.name {
            "type_meta" => (api_version, kind) = type_meta(field, bytes)?,
            "raw" => raw = bytes,
            "content_encoding" => encoding = utf8(bytes)?,
            "content_type" => content_type = utf8(bytes)?,
            _ => {}
        }
    }
    if api_version.is_empty() || kind.is_empty() {
        return Err(ProtoError::MissingTypeMeta);
    }
    if !encoding.is_empty() {
        return Err(ProtoError::UnsupportedEncoding(encoding));
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    let decoded = match media {
        "" | CONTENT_TYPE => {
            let index = schema::find_kind(&api_version, &kind)
                .ok_or_else(|| ProtoError::UnknownKind { api_version: api_version.clone(), kind: kind.clone() })?;
            let def = decode::def(index)?;
            decode::message(def, raw, depth)?
        }
        "application/json" => serde_json::from_slice(raw)
            .map_err(|e| ProtoError::from(Failure::new(format!("embedded JSON is invalid: {e}"))))?,
        _ => return Err(ProtoError::UnsupportedContentType(content_type)),
    };
    let Value::Object(fields) = decoded else {
        return Err(Failure::new(format!("{kind} did not decode to an object")).into());
    };
    let mut out = Map::with_capacity(fields.len() + 2);
    out.insert("apiVersion".into(), Value::String(api_version));
    out.insert("kind".into(), Value::String(kind));
    for (k, v) in fields {
        if k != "apiVersion" && k != "kind" {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}

fn utf8(bytes: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Failure::new("envelope string is not valid UTF-8").into())
}

/// The envelope's `runtime.TypeMeta`: (apiVersion, kind).
fn type_meta(field: &schema::Field, bytes: &[u8]) -> Result<(String, String), ProtoError> {
    let schema::Kind::Message(index) = field.kind else {
        return Err(Failure::new("runtime.Unknown.typeMeta is not a message").into());
    };
    let def = decode::def(index)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    for (tag, value) in wire::fields(bytes).map_err(Failure::from)? {
        let (Some(field), WireValue::Len(b)) = (def.field(tag), value) else {
            continue;
        };
        match field.name {
            "api_version" => api_version = utf8(b)?,
            "kind" => kind = utf8(b)?,
            _ => {}
        }
    }
    Ok((api_version, kind))
}

#[cfg(test)]
mod tests;
