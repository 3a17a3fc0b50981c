//! An informer: kube-runtime's watcher (list, then watch; re-list after 410 Gone or a broken
//! watch) feeding a [`Cache`], and handlers told of each change as (old, new): `(None, Some)`
//! an add, `(Some, Some)` an update, `(Some, None)` a delete. After a re-list, objects that
//! were not listed again are deleted. Objects are decoded without their `managedFields`
//! (`skiff_client::trimmed`), as kube-controller-manager's informers drop them.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::cache::Cache;

/// Called with (old, new) for every change.
pub type Handler<K> = Arc<dyn Fn(Option<&Arc<K>>, Option<&Arc<K>>) + Send + Sync>;

/// One type's list + watch, its cache and its handlers.
pub struct Informer<K: kube::Resource> {
    api: Api<K>,
    dt: K::DynamicType,
    config: watcher::Config,
    cache: Cache<K>,
    handlers: Vec<Handler<K>>,
    synced: watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: kube::Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    /// An informer of what `api` lists (a type whose dynamic type is known statically).
    pub fn new(api: Api<K>) -> Self
    where
        K::DynamicType: Default,
    {
        Self::new_with(api, K::DynamicType::default())
    }

    /// An informer of what `api` lists, a resource of type `dt`.
    pub fn new_with(api: Api<K>, dt: K::DynamicType) -> Self {
        Informer {
            api,
            dt,
            config: watcher::Config::default(),
            cache: Cache::default(),
            handlers: Vec::new(),
            synced: watch::channel(false).0,
        }
    }

    /// The cache this informer fills.
    pub fn cache(&self) -> Cache<K> {
        self.cache.clone()
    }

    /// Registers a handler (before [`Informer::run`]).
    pub fn on_change(&mut self, h: impl Fn(Option<&Arc<K>>, Option<&Arc<K>>) + Send + Sync + 'static) {
        self.handlers.push(Arc::new(h));
    }

    /// Becomes true once the first list is in the cache.
    pub fn synced(&self) -> watch::Receiver<bool> {
        self.synced.subscribe()
    }

    fn tell(&self, old: Option<&Arc<K>>, new: Option<&Arc<K>>) {
        for h in &self.handlers {
            h(old, new);
        }
    }

    fn apply(&self, obj: K) -> (String, String) {
        let m = obj.meta();
        let id = (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
        let new = Arc::new(obj);
        let old = self.cache.insert(new.clone());
        self.tell(old.as_ref(), Some(&new));
        id
    }

    /// Lists and watches until the process ends.
    pub async fn run(self) {
        let mut events =
            skiff_client::trimmed::watcher(self.api.clone(), &self.dt, self.config.clone()).default_backoff().boxed();
        let mut listed: HashSet<(String, String)> = HashSet::new();
        while let Some(ev) = events.next().await {
            match ev {
                Ok(Event::Init) => listed.clear(),
                Ok(Event::InitApply(obj)) => {
                    listed.insert(self.apply(obj));
                }
                Ok(Event::InitDone) => {
                    for old in self.cache.list_all() {
                        let m = old.meta();
                        let id = (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
                        if !listed.contains(&id) {
                            self.cache.remove(&id.0, &id.1);
                            self.tell(Some(&old), None);
                        }
                    }
                    listed.clear();
                    let _ = self.synced.send(true);
                }
                Ok(Event::Apply(obj)) => {
                    self.apply(obj);
                }
                Ok(Event::Delete(obj)) => {
                    let m = obj.meta();
                    let ns = m.namespace.clone().unwrap_or_default();
                    let name = m.name.clone().unwrap_or_default();
                    let last = self.cache.remove(&ns, &name).unwrap_or_else(|| Arc::new(obj));
                    self.tell(Some(&last), None);
                }
                Err(e) => tracing::debug!(error = %e, resource = self.api.resource_url(), "watch"),
            }
        }
    }
}

/// Waits until every informer behind `synced` has listed once.
pub async fn wait_synced(synced: &mut [watch::Receiver<bool>]) {
    for rx in synced {
        let _ = rx.wait_for(|s| *s).await;
    }
}
