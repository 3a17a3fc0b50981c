//! The part of a stored object that label and field selectors read, decoded without the rest:
//! `metadata.name`, `namespace` and `labels`; the scalar fields of `spec` and `status` (and
//! `status.podIPs`); every other top-level field whole (an Event's `involvedObject`, a
//! Secret's `type`). Every field selector Kubernetes offers reads one of these, so a watcher
//! with selectors needs no more to tell whether an event is its own, and skipping a Pod's
//! containers, volumes and managedFields is most of the cost of decoding it.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Decodes what selectors read of the JSON object `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    // Checked for UTF-8 once, whole, rather than string by string (see json::from_bytes).
    match std::str::from_utf8(bytes) {
        Ok(text) => decode_from(serde_json::Deserializer::from_str(text)),
        Err(_) => decode_from(serde_json::Deserializer::from_slice(bytes)),
    }
}

fn decode_from<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Value, serde_json::Error> {
    let v = Part::Root.deserialize(&mut de)?;
    de.end()?;
    Ok(v.unwrap_or(Value::Null))
}

/// Which part of a value is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The object: metadata, spec and status by their rules, other fields whole.
    Root,
    /// name, namespace and labels.
    Metadata,
    /// Scalar fields (and `podIPs`).
    Scalars,
    /// The value if it is a scalar; objects and arrays are skipped.
    ScalarOnly,
}

impl Part {
    fn child(self, key: &str) -> Option<Child> {
        match (self, key) {
            (Part::Root, "metadata") => Some(Child::Part(Part::Metadata)),
            (Part::Root, "spec" | "status") => Some(Child::Part(Part::Scalars)),
            (Part::Root, _) => Some(Child::Whole),
            (Part::Metadata, "name" | "namespace" | "labels") => Some(Child::Whole),
            (Part::Metadata, _) => None,
            (Part::Scalars, "podIPs") => Some(Child::Whole),
            (Part::Scalars, _) => Some(Child::Part(Part::ScalarOnly)),
            (Part::ScalarOnly, _) => None,
        }
    }
}

enum Child {
    Whole,
    Part(Part),
}

impl<'de> DeserializeSeed<'de> for Part {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Part {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        if self == Part::ScalarOnly {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match self.child(&key) {
                Some(Child::Whole) => Some(map.next_value::<Value>()?),
                Some(Child::Part(part)) => map.next_value_seed(part)?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
            };
            if let Some(v) = value {
                out.insert(key, v);
            }
        }
        Ok(Some(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_selectors_read_and_nothing_else() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "d", "labels": {"app": "x"}, "uid": "u",
                         "managedFields": [{"manager": "m"}], "annotations": {"a": "b"}},
            "spec": {"nodeName": "n", "hostNetwork": true, "priority": 5,
                     "containers": [{"name": "c"}], "affinity": {"nodeAffinity": {}}},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}], "conditions": [{"type": "Ready"}]}});
        let got = decode(&serde_json::to_vec(&pod).unwrap()).unwrap();
        assert_eq!(
            got,
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "d", "labels": {"app": "x"}},
                "spec": {"nodeName": "n", "hostNetwork": true, "priority": 5},
                "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}})
        );
        let event = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                           "source": {"component": "kubelet"}, "reason": "Started", "count": 2});
        assert_eq!(decode(&serde_json::to_vec(&event).unwrap()).unwrap(), event);
        assert!(decode(b"{\"metadata\": ").is_err());
    }
}
