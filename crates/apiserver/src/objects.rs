//! Objects as the API server handles them: `serde_json::Value`s, stored as JSON bytes without
//! `resourceVersion` (the store's revision is the resourceVersion, set on the way out).

use bytes::Bytes;
use serde_json::{json, Map, Value};
use skiff_api::{ApiError, ResourceInfo};
use skiff_store::KeyValue;

use crate::json;

/// Decodes a stored object and sets its resourceVersion from the store revision.
pub fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut v: Value = json::from_bytes(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    set_resource_version(&mut v, kv.mod_revision);
    Ok(v)
}

/// A stored object as PartialObjectMetadata JSON (kind, apiVersion and its metadata with its
/// resourceVersion): the metadata's bytes are copied, the rest is parsed over, nothing is built
/// (metadata-only watchers, as the garbage collector's, need no more).
pub fn raw_metadata_only(kv: &KeyValue) -> Result<Bytes, ApiError> {
    const HEAD: &[u8] = b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{";
    let raw = &kv.value[..];
    let members = metadata_members(raw).and_then(|at| {
        // The metadata object starts at the brace before `at`; find where it ends.
        let mut values = serde_json::Deserializer::from_slice(&raw[at - 1..]).into_iter::<serde::de::IgnoredAny>();
        values.next()?.ok()?;
        Some(&raw[at..at - 1 + values.byte_offset()])
    });
    let Some(members) = members else {
        let obj = decode(kv)?;
        return Ok(Bytes::from(json::to_vec(&partial_object(&obj))));
    };
    let rv = kv.mod_revision.to_string();
    let mut out = Vec::with_capacity(HEAD.len() + members.len() + rv.len() + 24);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(b"\"resourceVersion\":\"");
    out.extend_from_slice(rv.as_bytes());
    out.push(b'"');
    if members.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(members);
    out.push(b'}');
    Ok(Bytes::from(out))
}

/// An object reduced to PartialObjectMetadata: its kind, apiVersion and metadata.
pub fn partial_object(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The stored form of an object: `apiVersion`, `kind` and `metadata` first (so that
/// [`raw_with_rv`] can splice the resourceVersion in without parsing), without
/// resourceVersion. Written in place, without copying the object, into a buffer each thread
/// keeps, then copied out at its exact size (the stores and caches hold these bytes).
pub fn encode(obj: &Value) -> Bytes {
    encode_with_managed(obj, None)
}

/// [`encode`] of `obj` with `managed`, the JSON text of its managedFields list, written in
/// place as `metadata.managedFields` (an object without metadata has nowhere to hold them).
pub fn encode_with_managed(obj: &Value, managed: Option<&[u8]>) -> Bytes {
    let Some(map) = obj.as_object() else {
        return Bytes::from(json::to_vec(obj));
    };
    SCRATCH.with(|scratch| {
        let buf = scratch.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default();
        let written = encode_map(map, managed, buf);
        let bytes = Bytes::copy_from_slice(&written);
        // A huge object's buffer is not kept.
        if written.capacity() <= MAX_SCRATCH {
            if let Ok(mut b) = scratch.try_borrow_mut() {
                *b = written;
            }
        }
        bytes
    })
}

/// The largest encoding buffer a thread keeps between objects.
const MAX_SCRATCH: usize = 256 * 1024;

thread_local! {
    /// The buffer [`encode`] writes into on this thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn encode_map(map: &Map<String, Value>, managed: Option<&[u8]>, mut out: Vec<u8>) -> Vec<u8> {
    out.clear();
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, k: &str, v: &Value| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        json::write_str(out, k);
        out.push(b':');
        match (k, v.as_object()) {
            ("metadata", Some(meta)) => {
                out.push(b'{');
                let mut inner_first = true;
                let mut managed = managed;
                let mut raw = |out: &mut Vec<u8>, k: &str, v: &[u8]| {
                    if !std::mem::take(&mut inner_first) {
                        out.push(b',');
                    }
                    json::write_str(out, k);
                    out.push(b':');
                    out.extend_from_slice(v);
                };
                let spliced = managed.is_some();
                let skip = |mk: &str| mk == "resourceVersion" || (spliced && mk == "managedFields");
                for (mk, mv) in meta.iter().filter(|(mk, _)| !skip(mk)) {
                    // The text goes where the map would have put its key.
                    if mk.as_str() > "managedFields" {
                        if let Some(text) = managed.take() {
                            raw(out, "managedFields", text);
                        }
                    }
                    raw(out, mk, b"");
                    json::write_value(out, mv);
                }
                if let Some(text) = managed {
                    raw(out, "managedFields", text);
                }
                out.push(b'}');
            }
            _ => json::write_value(out, v),
        }
    };
    for k in ["apiVersion", "kind", "metadata"] {
        if let Some(v) = map.get(k) {
            member(&mut out, k, v);
        }
    }
    for (k, v) in map.iter().filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata")) {
        member(&mut out, k, v);
    }
    out.push(b'}');
    out
}

/// Where the members of the top-level `metadata` object start in a stored object laid out by
/// [`encode`] (`{"apiVersion":"…","kind":"…","metadata":{` → the offset after the brace).
fn metadata_members(raw: &[u8]) -> Option<usize> {
    fn string_at(raw: &[u8], mut i: usize) -> Option<usize> {
        // `raw[i]` is the opening quote of a string without escapes; returns the index after it.
        if raw.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        while let Some(&c) = raw.get(i) {
            match c {
                b'"' => return Some(i + 1),
                b'\\' => return None,
                _ => i += 1,
            }
        }
        None
    }
    let mut i = 0;
    for (prefix, value) in
        [(&b"{\"apiVersion\":"[..], true), (&b",\"kind\":"[..], true), (&b",\"metadata\":{"[..], false)]
    {
        if !raw.get(i..)?.starts_with(prefix) {
            return None;
        }
        i += prefix.len();
        if value {
            i = string_at(raw, i)?;
        }
    }
    Some(i)
}

/// The stored object with its resourceVersion, as response bytes, without a JSON round trip
/// when the layout allows (falls back to decode + encode otherwise).
pub fn raw_with_rv(kv: &KeyValue) -> Result<Bytes, ApiError> {
    let raw = &kv.value[..];
    if let Some(at) = metadata_members(raw) {
        let rv = kv.mod_revision.to_string();
        let mut out = Vec::with_capacity(raw.len() + rv.len() + 24);
        out.extend_from_slice(&raw[..at]);
        out.extend_from_slice(b"\"resourceVersion\":\"");
        out.extend_from_slice(rv.as_bytes());
        out.push(b'"');
        if raw.get(at) != Some(&b'}') {
            out.push(b',');
        }
        out.extend_from_slice(&raw[at..]);
        return Ok(Bytes::from(out));
    }
    Ok(Bytes::from(json::to_vec(&decode(kv)?)))
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    metadata_mut(obj).insert("resourceVersion".into(), Value::String(rev.to_string()));
}

/// `metadata` as a mutable map, created if missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let root = obj.as_object_mut().expect("object ensured above");
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().expect("object ensured above")
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str().filter(|s| !s.is_empty())
}

pub fn name(obj: &Value) -> Option<&str> {
    meta_str(obj, "name")
}

pub fn namespace(obj: &Value) -> Option<&str> {
    meta_str(obj, "namespace")
}

pub fn resource_version(obj: &Value) -> Option<&str> {
    meta_str(obj, "resourceVersion")
}

pub fn uid(obj: &Value) -> Option<&str> {
    meta_str(obj, "uid")
}

/// Parses a resourceVersion string; anything but a non-negative integer is a 400... or, for
/// preconditions in a body, a 409 Conflict as kube-apiserver reports.
pub fn parse_rv(rv: &str) -> Result<i64, ApiError> {
    rv.parse::<i64>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.get("labels")?.as_object()
}

/// Sets `apiVersion` and `kind` of the resource (responses always carry them).
pub fn set_type(obj: &mut Value, res: &ResourceInfo) {
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), Value::String(res.api_version()));
        o.insert("kind".into(), Value::String(res.kind.to_string()));
    }
}

/// The current time to the second, in UTC, as Kubernetes writes `metav1.Time`. Formatted
/// once a second per thread: every write stamps its managedFields entry, and chrono's
/// formatter costs more than the rest of the stamp.
pub fn now_rfc3339() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let now = chrono::Utc::now();
    let second = now.timestamp();
    LAST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else { return format_rfc3339(now) };
        if last.0 != second {
            *last = (second, format_rfc3339(now));
        }
        last.1.clone()
    })
}

fn format_rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_a_buffer_and_hands_out_exact_sizes() {
        let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "3"},
                         "data": {"k": "x".repeat(10_000)}});
        let small = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "b"}});
        let first = encode(&big);
        let kept = SCRATCH.with(|b| b.borrow().capacity());
        assert!(kept >= first.len(), "the buffer is kept for the next object: {kept}");
        let second = encode(&small);
        assert_eq!(&second[..], br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}"#);
        assert_eq!(
            decode(&skiff_store::KeyValue { key: "k".into(), value: first, create_revision: 1, mod_revision: 3 })
                .unwrap(),
            big
        );
    }

    #[test]
    fn now_is_the_current_second() {
        let before = format_rfc3339(chrono::Utc::now());
        let now = now_rfc3339();
        let after = format_rfc3339(chrono::Utc::now());
        assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
        assert_eq!(now.len(), "2024-01-01T00:00:00Z".len());
    }

    #[test]
    fn round_trip_strips_and_restores_resource_version() {
        let obj = json!({"metadata": {"name": "a", "resourceVersion": "5"}});
        let bytes = encode(&obj);
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let kv = KeyValue { key: "/k".into(), value: bytes, create_revision: 1, mod_revision: 9 };
        assert_eq!(resource_version(&decode(&kv).unwrap()), Some("9"));
    }

    #[test]
    fn raw_splice_matches_decode() {
        for obj in [
            json!({"kind": "Pod", "spec": {"a": 1}, "apiVersion": "v1", "metadata": {"name": "a", "resourceVersion": "1"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}),
            json!({"metadata": {"name": "no-type"}}),
        ] {
            let kv = KeyValue { key: "/k".into(), value: encode(&obj), create_revision: 1, mod_revision: 42 };
            let spliced: Value = serde_json::from_slice(&raw_with_rv(&kv).unwrap()).unwrap();
            assert_eq!(spliced, decode(&kv).unwrap());
            assert_eq!(resource_version(&spliced), Some("42"));
        }
    }

    #[test]
    fn metadata_only_matches_the_decoded_metadata() {
        for obj in [
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "}{\""}},
                "spec": {"containers": [{"name": "c"}]}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}, "spec": {}}),
            json!({"metadata": {"name": "no-type"}, "spec": 1}),
        ] {
            let kv = KeyValue { key: "/k".into(), value: encode(&obj), create_revision: 1, mod_revision: 42 };
            let partial: Value = serde_json::from_slice(&raw_metadata_only(&kv).unwrap()).unwrap();
            assert_eq!(partial, partial_object(&decode(&kv).unwrap()));
            assert_eq!(partial["kind"], "PartialObjectMetadata");
            assert_eq!(resource_version(&partial), Some("42"));
        }
    }
}
