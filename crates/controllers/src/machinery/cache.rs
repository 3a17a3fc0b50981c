//! Objects of one type by namespace and name (an informer's indexer with the namespace
//! index): every controller reads the same `Arc`s.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::writer::Kind;

/// Objects by namespace, then name.
type ByNamespace<K> = HashMap<String, BTreeMap<String, Arc<K>>>;

/// A shared, cheaply cloned view of the objects of one type.
pub struct Cache<K> {
    inner: Arc<RwLock<ByNamespace<K>>>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache { inner: self.inner.clone() }
    }
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache { inner: Arc::default() }
    }
}

impl<K: kube::Resource> Cache<K> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, ByNamespace<K>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ByNamespace<K>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read().get(namespace).and_then(|m| m.get(name)).cloned()
    }

    /// Every object of a namespace ("" for cluster-scoped objects).
    pub fn list(&self, namespace: &str) -> Vec<Arc<K>> {
        self.read().get(namespace).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Every object.
    pub fn list_all(&self) -> Vec<Arc<K>> {
        self.read().values().flat_map(|m| m.values().cloned()).collect()
    }

    pub fn len(&self) -> usize {
        self.read().values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached object of `kind` an owner reference points to (same name and uid).
    pub fn owner(&self, ns: &str, r: &OwnerReference, kind: Kind) -> Option<Arc<K>> {
        let group = r.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if r.kind != kind.kind || group != kind.group {
            return None;
        }
        self.get(ns, &r.name).filter(|o| o.meta().uid.as_deref() == Some(r.uid.as_str()))
    }

    /// The key of the cached object of `kind` that controls the object with `meta`.
    pub fn controller_key(&self, meta: &ObjectMeta, kind: Kind) -> Option<String> {
        let r = crate::podutil::controller_of(meta)?;
        let owner = self.owner(meta.namespace.as_deref().unwrap_or(""), r, kind)?;
        Some(super::key_of(owner.as_ref()))
    }

    /// Adds or replaces an object; returns the one it replaced.
    pub fn insert(&self, obj: Arc<K>) -> Option<Arc<K>> {
        let m = obj.meta();
        let ns = m.namespace.clone().unwrap_or_default();
        let name = m.name.clone().unwrap_or_default();
        self.write().entry(ns).or_default().insert(name, obj)
    }

    /// Removes an object; returns it.
    pub fn remove(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let mut inner = self.write();
        let m = inner.get_mut(namespace)?;
        let old = m.remove(name);
        if m.is_empty() {
            inner.remove(namespace);
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(ns: &str, name: &str) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.namespace = Some(ns.into());
        p.metadata.name = Some(name.into());
        Arc::new(p)
    }

    #[test]
    fn objects_are_found_by_namespace_and_name() {
        let c = Cache::default();
        assert!(c.insert(pod("a", "x")).is_none());
        c.insert(pod("a", "y"));
        c.insert(pod("b", "x"));
        assert!(c.insert(pod("a", "x")).is_some(), "a replace returns the old object");
        assert_eq!(c.list("a").len(), 2);
        assert_eq!(c.list("c").len(), 0);
        assert_eq!(c.len(), 3);
        assert!(c.remove("b", "x").is_some());
        assert!(c.get("b", "x").is_none());
        assert_eq!(c.list_all().len(), 2);
    }
}
