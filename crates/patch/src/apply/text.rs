//! A managedFields list as JSON text, the form an object's entries are kept in beside its tree
//! (the API server's): read without building the entries' `fieldsV1` trees, each kept as text
//! until a write meets its fields, and written back byte for byte as an object's
//! `managedFields` are written (keys in order, compact).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::fieldset::{write_str, FieldSet};
use super::managed::{self, Entry, Fields};

/// One entry as text holds it: strings, and `fieldsV1` left unread.
#[derive(Deserialize)]
struct TextEntry<'a> {
    manager: Option<String>,
    operation: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    time: Option<String>,
    #[serde(rename = "fieldsType")]
    fields_type: Option<String>,
    subresource: Option<String>,
    #[serde(rename = "fieldsV1", borrow)]
    fields_v1: Option<&'a RawValue>,
}

/// The entries of a list written by [`encode`], each `fieldsV1` unread until
/// [`Entry::parse`]. A list in any other shape is read as an object's `managedFields` are
/// (None when malformed).
pub(crate) fn decode_lazy(text: &[u8]) -> Option<Vec<Entry>> {
    if text == b"[{}]" {
        // The "reset" form, as from a tree.
        return Some(Vec::new());
    }
    // Checked for UTF-8 once, whole: serde_json checks a byte slice's strings one by one.
    let text = std::str::from_utf8(text).ok()?;
    let Ok(list) = serde_json::from_str::<Vec<TextEntry>>(text) else {
        return managed::decode_owned(serde_json::from_str::<Value>(text).ok()?);
    };
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        if e.fields_type.as_deref().is_some_and(|t| t != "FieldsV1") {
            return None;
        }
        let fields = e.fields_v1.map(|f| f.get());
        if fields.is_some_and(|f| !f.starts_with('{')) {
            return None;
        }
        // Sets without a field are read at once, as from a tree.
        let unparsed = fields.is_some_and(|f| f != "{}" && f != r#"{".":{}}"#);
        out.push(Entry {
            manager: e.manager.unwrap_or_default(),
            operation: e.operation.unwrap_or_default(),
            api_version: e.api_version.unwrap_or_default(),
            time: e.time,
            subresource: e.subresource.filter(|s| !s.is_empty()),
            set: FieldSet::new(),
            raw: e.fields_v1.map(|f| Fields::Text(f.to_owned())),
            unparsed,
        });
    }
    Some(out)
}

/// Writes `entries` in Kubernetes' order as the JSON text of a managedFields list, exactly as
/// the same entries in an object's `managedFields` are written; None when there are none.
pub(crate) fn encode(mut entries: Vec<Entry>) -> Option<Vec<u8>> {
    if entries.is_empty() {
        return None;
    }
    managed::sort(&mut entries);
    let mut out = Vec::with_capacity(256 * entries.len());
    out.push(b'[');
    for (i, e) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // An object's keys, in the order its map writes them.
        let member = |out: &mut Vec<u8>, key: &str, first: bool| {
            if !first {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        };
        out.push(b'{');
        member(&mut out, "apiVersion", true);
        write_str(&mut out, &e.api_version);
        member(&mut out, "fieldsType", false);
        out.extend_from_slice(b"\"FieldsV1\"");
        member(&mut out, "fieldsV1", false);
        match e.raw {
            Some(Fields::Text(t)) => out.extend_from_slice(t.get().as_bytes()),
            Some(Fields::Tree(v)) => {
                let _ = serde_json::to_writer(&mut out, &v);
            }
            None => {
                e.set.write_fields_v1(&mut out);
            }
        }
        member(&mut out, "manager", false);
        write_str(&mut out, &e.manager);
        member(&mut out, "operation", false);
        write_str(&mut out, &e.operation);
        if let Some(s) = &e.subresource {
            member(&mut out, "subresource", false);
            write_str(&mut out, s);
        }
        if let Some(t) = &e.time {
            member(&mut out, "time", false);
            write_str(&mut out, t);
        }
        out.push(b'}');
    }
    out.push(b']');
    Some(out)
}
