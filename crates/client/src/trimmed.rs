//! Objects decoded without `metadata.managedFields`. Informers of kube-controller-manager and
//! kube-scheduler drop it (their `WithTransform(trim)`): no controller reads it, and it is
//! often the largest part of an object. Dropping it after decoding still pays for decoding it
//! (every `fieldsV1` is a tree of JSON maps); [`Trimmed`] skips it while decoding instead.
//!
//! `Trimmed<K>` decodes as `K` does, through a deserializer that passes every entry of the
//! object and of its `metadata` on, except `metadata.managedFields`, which it parses over.

use std::borrow::Cow;
use std::fmt;

use futures::TryStreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher as kw;
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::DeserializeOwned;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A `K` whose `metadata.managedFields` was skipped while decoding (and is `None`).
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Trimmed<K>(pub K);

impl<'de, K: Deserialize<'de>> Deserialize<'de> for Trimmed<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        K::deserialize(Level { inner: d, at: At::Root }).map(Trimmed)
    }
}

impl<K: kube::Resource> kube::Resource for Trimmed<K> {
    type DynamicType = K::DynamicType;
    /// Any: [`watcher`] builds its `Api` with `all_with` or `namespaced_with`.
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn metadata_api() -> bool {
        K::metadata_api()
    }
    fn meta(&self) -> &ObjectMeta {
        self.0.meta()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.meta_mut()
    }
}

/// kube-runtime's watcher of what `api` lists (a resource of type `dt`), its objects decoded
/// without managedFields.
pub fn watcher<K>(
    api: kube::Api<K>,
    dt: &K::DynamicType,
    config: kw::Config,
) -> impl futures::Stream<Item = kw::Result<kw::Event<K>>> + Send
where
    K: kube::Resource + Clone + fmt::Debug + DeserializeOwned + Send + 'static,
{
    let ns = api.namespace().map(str::to_string);
    let client = api.into_client();
    let api: kube::Api<Trimmed<K>> = match ns {
        Some(ns) => kube::Api::namespaced_with(client, &ns, dt),
        None => kube::Api::all_with(client, dt),
    };
    kw::watcher(api, config).map_ok(|ev| match ev {
        kw::Event::Apply(Trimmed(o)) => kw::Event::Apply(o),
        kw::Event::Delete(Trimmed(o)) => kw::Event::Delete(o),
        kw::Event::Init => kw::Event::Init,
        kw::Event::InitApply(Trimmed(o)) => kw::Event::InitApply(o),
        kw::Event::InitDone => kw::Event::InitDone,
    })
}

/// Which map the deserializer is in.
#[derive(Clone, Copy, PartialEq)]
enum At {
    /// The object: its `metadata` value is read at [`At::Metadata`].
    Root,
    /// The object's metadata: `managedFields` is skipped.
    Metadata,
}

/// A deserializer that hands the maps it reads to [`Entries`].
struct Level<D> {
    inner: D,
    at: At,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Level<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Wrap { inner: v, at: self.at })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(name, fields, Wrap { inner: v, at: self.at })
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(Wrap { inner: v, at: self.at })
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_option(Wrap { inner: v, at: self.at })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

/// A visitor that reads maps through [`Entries`] and passes everything else on.
struct Wrap<V> {
    inner: V,
    at: At,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Entries { map, at: self.at, metadata_next: false })
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Level { inner: d, at: self.at })
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.inner.visit_bool(v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.inner.visit_i64(v)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.inner.visit_u64(v)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.inner.visit_f64(v)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.inner.visit_str(v)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.inner.visit_borrowed_str(v)
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<V::Value, E> {
        self.inner.visit_string(v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }
}

/// A map's entries, less `managedFields` at [`At::Metadata`]; at [`At::Root`], the value of
/// `metadata` is read at [`At::Metadata`].
struct Entries<A> {
    map: A,
    at: At,
    metadata_next: bool,
}

/// A key, borrowed from the input when it can be.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            let name = match &key {
                Key::Borrowed(s) => *s,
                Key::Owned(s) => s.as_str(),
            };
            match self.at {
                At::Metadata if name == "managedFields" => {
                    self.map.next_value::<IgnoredAny>()?;
                    continue;
                }
                At::Root => self.metadata_next = name == "metadata",
                At::Metadata => {}
            }
            return match key {
                Key::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)).map(Some),
                Key::Owned(s) => seed.deserialize(StringDeserializer::new(s)).map(Some),
            };
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        if std::mem::take(&mut self.metadata_next) {
            self.map.next_value_seed(MetadataSeed(seed))
        } else {
            self.map.next_value_seed(seed)
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Reads the value of `metadata` at [`At::Metadata`].
struct MetadataSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for MetadataSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Level { inner: d, at: At::Metadata })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod};
    use kube::core::{DynamicObject, PartialObjectMeta};
    use serde_json::json;

    fn managed() -> serde_json::Value {
        json!([{"manager": "m", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {}}}}])
    }

    #[test]
    fn a_pod_decodes_as_before_less_its_managed_fields() {
        let doc = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "d", "labels": {"app": "x", "managedFields": "kept"},
                "managedFields": managed(), "annotations": {"a\"b": "c"}},
            "spec": {"containers": [{"name": "c", "image": "i"}], "nodeName": "n"},
            "status": {"phase": "Running"}});
        let text = serde_json::to_string(&doc).unwrap();
        let Trimmed(pod) = serde_json::from_str::<Trimmed<Pod>>(&text).unwrap();
        let mut full: Pod = serde_json::from_str(&text).unwrap();
        assert!(full.metadata.managed_fields.is_some());
        full.metadata.managed_fields = None;
        assert_eq!(pod, full);
        assert_eq!(pod.metadata.labels.unwrap()["managedFields"], "kept");
        assert_eq!(pod.metadata.annotations.unwrap()["a\"b"], "c", "escaped keys are read too");
    }

    #[test]
    fn only_the_metadata_loses_managed_fields() {
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "managedFields": managed()},
            "data": {"managedFields": "a value"}});
        let Trimmed(cm) = serde_json::from_value::<Trimmed<ConfigMap>>(doc).unwrap();
        assert!(cm.metadata.managed_fields.is_none());
        assert_eq!(cm.data.unwrap()["managedFields"], "a value");
    }

    #[test]
    fn json_values_are_trimmed_too() {
        let mut doc = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "managedFields": managed(), "labels": {"managedFields": "kept"}},
            "spec": {"nodeName": "n"}, "status": {"managedFields": [1]}});
        let text = serde_json::to_string(&doc).unwrap();
        let Trimmed(value) = serde_json::from_str::<Trimmed<serde_json::Value>>(&text).unwrap();
        doc["metadata"].as_object_mut().unwrap().remove("managedFields");
        assert_eq!(value, doc);
    }

    #[test]
    fn watch_events_and_partial_metadata_are_trimmed() {
        let ev = json!({"type": "ADDED", "object": {"apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata", "metadata": {"name": "x", "uid": "u", "managedFields": managed()}}});
        let text = serde_json::to_string(&ev).unwrap();
        let parsed: kube::core::WatchEvent<Trimmed<PartialObjectMeta<DynamicObject>>> =
            serde_json::from_str(&text).unwrap();
        let kube::core::WatchEvent::Added(Trimmed(obj)) = parsed else { panic!("not ADDED") };
        assert_eq!(obj.metadata.name.as_deref(), Some("x"));
        assert_eq!(obj.metadata.uid.as_deref(), Some("u"));
        assert!(obj.metadata.managed_fields.is_none());
    }

    #[test]
    fn malformed_objects_are_still_errors() {
        assert!(serde_json::from_str::<Trimmed<Pod>>(r#"{"metadata": {"managedFields": [}"#).is_err());
        assert!(serde_json::from_str::<Trimmed<Pod>>(r#"{"metadata": 3}"#).is_err());
        assert!(serde_json::from_str::<Trimmed<Pod>>("[1]").is_err());
    }
}
