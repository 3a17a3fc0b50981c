//! An object as the registry holds it between writes: its tree without
//! `metadata.managedFields`, and those as the JSON text they are stored as. They are about half
//! of a running Pod's JSON and of its tree, and few writes read them: a binding keeps them as
//! they are, a status update adds or changes one entry and copies the text of the others
//! (`skiff_patch::track_update_text`). So copying, comparing and dropping a Pod's tree, as
//! every update does, costs half as much, and decoding a stored object skips their parse.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use skiff_api::ApiError;
use skiff_store::KeyValue;

use crate::{json, objects};

/// An object's tree (read through `Deref`) and its managedFields' text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    tree: Value,
    managed: Option<Bytes>,
}

impl Deref for Object {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.tree
    }
}

impl From<Value> for Object {
    /// Splits a whole object.
    fn from(mut tree: Value) -> Object {
        let managed = take_managed_fields(&mut tree).map(|list| text(&list));
        Object { tree, managed }
    }
}

impl Object {
    /// `tree` (without managedFields) and the text of its managedFields list.
    pub fn new(tree: Value, managed: Option<Bytes>) -> Object {
        Object { tree, managed }
    }

    pub fn tree(&self) -> &Value {
        &self.tree
    }

    pub fn tree_mut(&mut self) -> &mut Value {
        &mut self.tree
    }

    /// The text of the managedFields list.
    pub fn managed(&self) -> Option<&Bytes> {
        self.managed.as_ref()
    }

    /// The whole object, managedFields in place.
    pub fn to_value(&self) -> Value {
        join(self.tree.clone(), self.managed.as_deref())
    }

    pub fn into_value(self) -> Value {
        join(self.tree, self.managed.as_deref())
    }

    /// The stored form ([`objects::encode`] of the whole object).
    pub fn encode(&self) -> Bytes {
        objects::encode_with_managed(&self.tree, self.managed.as_deref())
    }

    /// Decodes a stored object with its resourceVersion: its managedFields' text is a slice of
    /// the stored bytes, not parsed further than to find its end.
    pub fn decode(kv: &KeyValue) -> Result<Object, ApiError> {
        let mut obj = match split_decode(&kv.value) {
            Some((tree, managed)) => Object { tree, managed },
            None => Object::from(objects::decode(kv)?),
        };
        objects::set_resource_version(&mut obj.tree, kv.mod_revision);
        Ok(obj)
    }
}

/// `metadata.managedFields` taken out of `obj`.
pub fn take_managed_fields(obj: &mut Value) -> Option<Value> {
    obj.get_mut("metadata")?.as_object_mut()?.remove("managedFields")
}

/// A managedFields list as the text an [`Object`] holds.
pub fn text(list: &Value) -> Bytes {
    Bytes::from(json::to_vec(list))
}

fn join(mut tree: Value, managed: Option<&[u8]>) -> Value {
    if let Some(list) = managed.and_then(|text| json::from_bytes::<Value>(text).ok()) {
        if let Some(meta) = tree.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("managedFields".into(), list);
        }
    }
    tree
}

/// The tree of the JSON object `bytes` without `metadata.managedFields`, and their text (a
/// slice of `bytes`); None when `bytes` is not an object with an object as its metadata.
fn split_decode(bytes: &Bytes) -> Option<(Value, Option<Bytes>)> {
    // Checked for UTF-8 once, whole, rather than string by string (see json::from_bytes).
    let mut de = serde_json::Deserializer::from_str(std::str::from_utf8(bytes).ok()?);
    let (tree, managed) = Level::Root.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some((Value::Object(tree), managed.map(|raw| bytes.slice_ref(raw.get().as_bytes()))))
}

/// Where [`split_decode`] is: at the top level, or in `metadata`, whose `managedFields` it
/// keeps as text.
#[derive(Clone, Copy)]
enum Level {
    Root,
    Metadata,
}

impl<'de> DeserializeSeed<'de> for Level {
    type Value = (Map<String, Value>, Option<&'de RawValue>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Level {
    type Value = (Map<String, Value>, Option<&'de RawValue>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut managed = None;
        while let Some(key) = map.next_key::<String>()? {
            match (self, key.as_str()) {
                (Level::Root, "metadata") => {
                    let (meta, list) = map.next_value_seed(Level::Metadata)?;
                    managed = list;
                    out.insert(key, Value::Object(meta));
                }
                (Level::Metadata, "managedFields") => managed = Some(map.next_value::<&'de RawValue>()?),
                _ => {
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
            }
        }
        Ok((out, managed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"},
            "managedFields": [{"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:x": {}}},
                "manager": "m", "operation": "Update", "time": "2024-01-01T00:00:00Z"}],
            "namespace": "d", "uid": "u"}, "spec": {"x": 1}})
    }

    fn kv(value: Bytes) -> KeyValue {
        KeyValue { key: "/k".into(), value, create_revision: 1, mod_revision: 7 }
    }

    #[test]
    fn split_objects_are_stored_byte_for_byte_as_whole_ones() {
        let whole = pod();
        let split = Object::from(whole.clone());
        assert!(split.tree()["metadata"].get("managedFields").is_none());
        assert_eq!(split.encode(), objects::encode(&whole));
        assert_eq!(split.to_value(), whole);
        // managedFields first or last among the metadata's keys.
        for meta in [json!({"a": 1, "managedFields": [1]}), json!({"managedFields": [1], "z": 1})] {
            let whole = json!({"apiVersion": "v1", "kind": "X", "metadata": meta});
            assert_eq!(Object::from(whole.clone()).encode(), objects::encode(&whole));
        }
        let none = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}});
        assert_eq!(Object::from(none.clone()).encode(), objects::encode(&none));
    }

    #[test]
    fn decoding_keeps_the_stored_text() {
        let stored = objects::encode(&pod());
        let obj = Object::decode(&kv(stored.clone())).unwrap();
        let text = obj.managed().unwrap();
        let within = stored.as_ptr() as usize..stored.as_ptr() as usize + stored.len();
        assert!(within.contains(&(text.as_ptr() as usize)), "a slice of the stored bytes");
        assert_eq!(objects::resource_version(&obj), Some("7"));
        let mut whole = pod();
        objects::set_resource_version(&mut whole, 7);
        assert_eq!(obj.to_value(), whole);
        assert_eq!(obj.into_value(), objects::decode(&kv(stored)).unwrap());
    }

    #[test]
    fn odd_objects_decode_whole_and_split() {
        for odd in [json!({"metadata": null, "spec": 1}), json!({"metadata": [1]}), json!({"kind": "X"})] {
            let obj = Object::decode(&kv(Bytes::from(serde_json::to_vec(&odd).unwrap()))).unwrap();
            assert!(obj.managed().is_none());
            assert_eq!(obj.tree()["kind"], odd["kind"]);
        }
    }
}
