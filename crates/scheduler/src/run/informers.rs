//! Watches that keep the cache and the queue current: Pods (all but finished ones), Nodes,
//! Namespaces (labels for namespaceSelectors), and the Services, ReplicaSets and
//! StatefulSets whose selectors drive the default spreading.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use skiff_api::selector::LabelSelector;
use tokio::sync::watch;

use super::Shared;
use crate::framework::PodInfo;
use crate::queue::ClusterEvent;

fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

/// Applies one Pod from a watch.
fn on_pod(shared: &Shared, pod: Pod) {
    let info = Arc::new(PodInfo::new(Arc::new(pod)));
    let uid = info.uid.clone();
    if !info.node_name().is_empty() {
        shared.queue.delete(&uid);
        let event = {
            let mut cache = shared.lock_cache();
            if is_terminal(&info.pod) {
                cache.remove_pod(&uid);
                ClusterEvent::AssignedPodDelete
            } else {
                let known = cache.pod_node(&uid).is_some() && !cache.is_assumed(&uid);
                cache.set_pod(info);
                if known {
                    ClusterEvent::AssignedPodUpdate
                } else {
                    ClusterEvent::AssignedPodAdd
                }
            }
        };
        shared.queue.move_on(event);
        return;
    }
    let ours = info
        .pod
        .spec
        .as_ref()
        .is_some_and(|s| shared.profiles.contains(s.scheduler_name.as_deref().unwrap_or("default-scheduler")));
    if !ours || is_terminal(&info.pod) || info.pod.metadata.deletion_timestamp.is_some() {
        shared.queue.delete(&uid);
        return;
    }
    if shared.lock_cache().is_assumed(&uid) {
        return;
    }
    shared.queue.add_or_update(info);
}

fn on_pod_deleted(shared: &Shared, uid: &str) {
    shared.queue.delete(uid);
    let was_bound = {
        let mut cache = shared.lock_cache();
        let bound = cache.pod_node(uid).is_some();
        cache.remove_pod(uid);
        bound
    };
    if was_bound {
        shared.queue.move_on(ClusterEvent::AssignedPodDelete);
    }
}

/// Watches Pods; signals `synced` after the first full list.
pub async fn pods(client: kube::Client, shared: Arc<Shared>, synced: watch::Sender<bool>) {
    let api: Api<Pod> = Api::all(client);
    let config = watcher::Config::default().fields("status.phase!=Succeeded,status.phase!=Failed");
    let mut events = skiff_client::trimmed::watcher(api, &(), config).default_backoff().boxed();
    let mut listed: HashSet<String> = HashSet::new();
    while let Some(ev) = events.next().await {
        match ev {
            Ok(Event::Init) => listed.clear(),
            Ok(Event::InitApply(pod)) => {
                listed.insert(pod.metadata.uid.clone().unwrap_or_default());
                on_pod(&shared, pod);
            }
            Ok(Event::InitDone) => {
                let stale: Vec<String> = {
                    let cache = shared.lock_cache();
                    cache.pod_uids().into_iter().chain(shared.queue.uids()).filter(|u| !listed.contains(u)).collect()
                };
                for uid in stale {
                    on_pod_deleted(&shared, &uid);
                }
                let _ = synced.send(true);
            }
            Ok(Event::Apply(pod)) => on_pod(&shared, pod),
            Ok(Event::Delete(pod)) => on_pod_deleted(&shared, pod.metadata.uid.as_deref().unwrap_or("")),
            Err(e) => tracing::debug!(error = %e, "pod watch"),
        }
    }
}

/// Whether a Node change could let Pods fit (not just a heartbeat).
fn node_changed(old: Option<&Node>, new: &Node) -> bool {
    let Some(old) = old else { return true };
    let alloc = |n: &Node| n.status.as_ref().and_then(|s| s.allocatable.clone());
    let images = |n: &Node| n.status.as_ref().and_then(|s| s.images.as_ref().map(Vec::len));
    old.spec != new.spec
        || old.metadata.labels != new.metadata.labels
        || alloc(old) != alloc(new)
        || images(old) != images(new)
}

/// Watches Nodes; signals `synced` after the first full list.
pub async fn nodes(client: kube::Client, shared: Arc<Shared>, synced: watch::Sender<bool>) {
    let api: Api<Node> = Api::all(client);
    let mut events = skiff_client::trimmed::watcher(api, &(), watcher::Config::default()).default_backoff().boxed();
    let mut listed: HashSet<String> = HashSet::new();
    // The Node objects the cache holds (shared), to tell real changes from heartbeats.
    let mut known: std::collections::HashMap<String, Arc<Node>> = std::collections::HashMap::new();
    while let Some(ev) = events.next().await {
        let (node, initial) = match ev {
            Ok(Event::Init) => {
                listed.clear();
                continue;
            }
            Ok(Event::InitApply(n)) => (n, true),
            Ok(Event::Apply(n)) => (n, false),
            Ok(Event::InitDone) => {
                let gone: Vec<String> = known.keys().filter(|n| !listed.contains(*n)).cloned().collect();
                for name in gone {
                    known.remove(&name);
                    shared.lock_cache().remove_node(&name);
                }
                let _ = synced.send(true);
                continue;
            }
            Ok(Event::Delete(n)) => {
                let name = n.metadata.name.clone().unwrap_or_default();
                known.remove(&name);
                shared.lock_cache().remove_node(&name);
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "node watch");
                continue;
            }
        };
        let name = node.metadata.name.clone().unwrap_or_default();
        if initial {
            listed.insert(name.clone());
        }
        let old = known.get(&name);
        if !node_changed(old.map(|n| n.as_ref()), &node) {
            continue;
        }
        let event = if old.is_none() { ClusterEvent::NodeAdd } else { ClusterEvent::NodeUpdate };
        let node = Arc::new(node);
        shared.lock_cache().set_node(node.clone());
        shared.queue.move_on(event);
        known.insert(name, node);
    }
}

/// Watches Namespaces for their labels.
pub async fn namespaces(client: kube::Client, shared: Arc<Shared>) {
    let api: Api<Namespace> = Api::all(client);
    let mut events = skiff_client::trimmed::watcher(api, &(), watcher::Config::default()).default_backoff().boxed();
    while let Some(ev) = events.next().await {
        match ev {
            Ok(Event::InitApply(ns)) | Ok(Event::Apply(ns)) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                shared.lock_cache().set_namespace(&name, ns.metadata.labels.unwrap_or_default());
            }
            Ok(Event::Delete(ns)) => shared.lock_cache().remove_namespace(ns.metadata.name.as_deref().unwrap_or("")),
            _ => {}
        }
    }
}

/// Watches one kind of workload for its selector.
async fn workload<K>(client: kube::Client, shared: Arc<Shared>, kind: &str, selector: fn(&K) -> Option<LabelSelector>)
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    let api: Api<K> = Api::all(client);
    let mut events = skiff_client::trimmed::watcher(api, &(), watcher::Config::default()).default_backoff().boxed();
    while let Some(ev) = events.next().await {
        let (obj, deleted) = match ev {
            Ok(Event::InitApply(o)) | Ok(Event::Apply(o)) => (o, false),
            Ok(Event::Delete(o)) => (o, true),
            _ => continue,
        };
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        let key = format!("{kind}/{ns}/{}", obj.meta().name.as_deref().unwrap_or(""));
        let sel = if deleted { None } else { selector(&obj) };
        shared.lock_cache().set_workload(&key, &ns, sel);
    }
}

/// Watches Services, ReplicaSets and StatefulSets.
pub async fn workloads(client: kube::Client, shared: Arc<Shared>) {
    let services = workload::<Service>(client.clone(), shared.clone(), "Service", |s| {
        let map = s.spec.as_ref()?.selector.as_ref()?;
        let text: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
        LabelSelector::parse(&text.join(",")).ok()
    });
    let replicasets = workload::<ReplicaSet>(client.clone(), shared.clone(), "ReplicaSet", |r| {
        Some(LabelSelector::from_meta(Some(&r.spec.as_ref()?.selector)))
    });
    let statefulsets = workload::<StatefulSet>(client, shared, "StatefulSet", |s| {
        Some(LabelSelector::from_meta(Some(&s.spec.as_ref()?.selector)))
    });
    tokio::join!(services, replicasets, statefulsets);
}
