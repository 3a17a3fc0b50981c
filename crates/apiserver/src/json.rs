//! Compact JSON out of a `serde_json::Value`, byte for byte what `serde_json::to_writer`
//! writes, without going through serde's `Serializer`: every stored write and every object
//! answered is written here, and serde_json checks a string's bytes one at a time for the
//! ones to escape, where this checks eight at a time.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Appends `v` to `out`.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Numbers are few in objects; serde_json writes them (itoa, ryu) as it always has.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for item in items {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            for (k, v) in map {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// Decodes the JSON document `bytes`. serde_json checks each string of a byte slice for UTF-8
/// on its own; a `&str` it takes as checked, so the bytes are checked once, whole, first (and
/// decoded as bytes only to have serde_json name the error when they are not UTF-8).
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// `v` as compact JSON.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v);
    out
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes in `w` is a control character, `"` or `\`. Exact: a
/// borrow can only set a flag above a byte that already set one.
#[inline]
fn needs_escape(w: u64) -> bool {
    let zero = |x: u64| x.wrapping_sub(LOW) & !x & HIGH;
    let control = w.wrapping_sub(LOW * 0x20) & !w & HIGH;
    (control | zero(w ^ (LOW * b'"' as u64)) | zero(w ^ (LOW * b'\\' as u64))) != 0
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if clean(bytes) {
        out.extend_from_slice(bytes);
    } else {
        write_escaped(out, bytes);
    }
    out.push(b'"');
}

/// Whether no byte of `bytes` needs an escape, eight at a time (the last few padded with a
/// byte that needs none).
#[inline]
fn clean(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        if needs_escape(u64::from_le_bytes(word)) {
            return false;
        }
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return true;
    }
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    !needs_escape(u64::from_le_bytes(word))
}

/// The slow path: byte by byte, with runs that need no escape copied whole.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::{from_bytes, needs_escape, to_vec};
    use serde_json::{json, Value};

    #[test]
    fn bytes_decode_as_serde_json_decodes_them() {
        let doc = "{\"a\":[\"é\",\"\\u00e9\",1.5,null],\"b\":{}}";
        assert_eq!(from_bytes::<Value>(doc.as_bytes()).unwrap(), serde_json::from_str::<Value>(doc).unwrap());
        let bad = b"{\"a\":\"\xff\"}";
        let (ours, theirs) = (from_bytes::<Value>(bad).unwrap_err(), serde_json::from_slice::<Value>(bad).unwrap_err());
        assert_eq!(ours.to_string(), theirs.to_string(), "the same error for bytes that are not UTF-8");
        assert!(from_bytes::<Value>(b"{\"a\":").is_err());
    }

    fn same(v: &Value) {
        assert_eq!(
            String::from_utf8(to_vec(v)).unwrap(),
            serde_json::to_string(v).unwrap(),
            "differs from serde_json for {v:?}"
        );
    }

    #[test]
    fn writes_what_serde_json_writes() {
        same(&json!(null));
        same(&json!({"a": [1, -2, 3.5, 1e300, 0.1, u64::MAX, i64::MIN], "b": {"c": true, "d": false, "e": null}}));
        same(&json!({"": "", "k\"ey": "va\\lue", "emptyArr": [], "emptyObj": {}}));
        same(&json!("ünïcödé ✓ 𝄞 and an escape\" after them"));
        // Every byte that must be escaped, at every offset within and across 8-byte words.
        for b in (0u8..0x20).chain([b'"', b'\\', 0x7f, b'/', b' ']) {
            for pre in 0..18 {
                let s = format!("{}{}{}", "x".repeat(pre), b as char, "y".repeat(pre % 5));
                same(&Value::String(s));
            }
        }
    }

    #[test]
    fn a_stored_pod_is_written_as_serde_json_writes_it() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\"}\n"},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}}}}}}]},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", "echo\t\"hi\"\r\n"],
                "resources": {"requests": {"cpu": "100m"}}}], "terminationGracePeriodSeconds": 30},
        });
        same(&pod);
    }

    #[test]
    fn the_word_check_is_exact() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut w = [b'a'; 8];
                w[pos] = b;
                let want = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(u64::from_le_bytes(w)), want, "byte {b:#x} at {pos}");
            }
        }
        // Several at once, and high bytes next to low ones (borrows).
        assert!(needs_escape(u64::from_le_bytes([0xff, 0x00, 0xff, 0x22, 0x80, 0x5c, 0x01, 0x7f])));
        assert!(!needs_escape(u64::from_le_bytes([0xff, 0x20, 0xff, 0x23, 0x80, 0x5d, 0x21, 0x7f])));
    }
}
