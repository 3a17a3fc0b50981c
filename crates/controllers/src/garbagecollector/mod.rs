//! The garbage collector (`pkg/controller/garbagecollector`): metadata-only informers on
//! every resource that can be listed, watched and deleted feed the owner [`graph`]; workers
//! then delete dependents whose owners are gone (background), finish foreground deletions
//! (the `foregroundDeletion` finalizer waits for dependents with `blockOwnerDeletion`), and
//! orphan dependents of owners deleted with the `orphan` finalizer ([`process`]).

pub mod graph;
mod process;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::{verbs, ApiResource, Discovery, Scope};

use self::graph::{Action, Graph, Identity};
use crate::machinery::informer::{wait_synced, Informer};
use crate::machinery::queue::WorkQueue;
use crate::machinery::runner::{self, Reconcile};
use crate::machinery::writer::{Kind, Writer};
use crate::ControllerError;

/// Workers on each queue (`--concurrent-gc-syncs` is 20 upstream; this machine is small).
const WORKERS: usize = 5;

/// The resources the collector knows, by (group, kind), and whether they are namespaced.
#[derive(Default)]
pub struct Resources {
    by_kind: HashMap<(String, String), (Kind, bool)>,
}

impl Resources {
    pub fn insert(&mut self, kind: Kind, namespaced: bool) {
        self.by_kind.insert((kind.group.to_string(), kind.kind.to_string()), (kind, namespaced));
    }

    /// The kind of an object, and whether it is namespaced.
    pub fn lookup(&self, id: &Identity) -> Option<(Kind, bool)> {
        self.by_kind.get(&(id.group().to_string(), id.kind.clone())).copied()
    }

    fn kind_of(ar: &ApiResource) -> Kind {
        // Discovered once at start: a few dozen short strings live as long as the process.
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        Kind { group: leak(&ar.group), version: leak(&ar.version), kind: leak(&ar.kind), plural: leak(&ar.plural) }
    }
}

pub struct GarbageCollector {
    pub(crate) graph: Mutex<Graph>,
    pub(crate) resources: Resources,
    pub(crate) writer: Arc<dyn Writer>,
    pub(crate) deletes: Arc<WorkQueue>,
    pub(crate) orphans: Arc<WorkQueue>,
}

impl GarbageCollector {
    pub fn new(resources: Resources, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(GarbageCollector {
            graph: Mutex::default(),
            resources,
            writer,
            deletes: WorkQueue::new(),
            orphans: WorkQueue::new(),
        })
    }

    pub(crate) fn graph(&self) -> std::sync::MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn dispatch(&self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Delete(uid) => self.deletes.add(uid),
                Action::Orphan(uid) => self.orphans.add(uid),
            }
        }
    }

    /// An informer event for an object of `kind`.
    pub fn on_change(
        &self,
        kind: Kind,
        old: Option<&PartialObjectMeta<DynamicObject>>,
        new: Option<&PartialObjectMeta<DynamicObject>>,
    ) {
        let actions = match (old, new) {
            (_, Some(obj)) => {
                let m = &obj.metadata;
                let id = Identity {
                    api_version: kind.api_version(),
                    kind: kind.kind.to_string(),
                    namespace: m.namespace.clone().unwrap_or_default(),
                    name: m.name.clone().unwrap_or_default(),
                    uid: m.uid.clone().unwrap_or_default(),
                };
                self.graph().observe(id, m)
            }
            (Some(obj), None) => self.graph().forget(obj.metadata.uid.as_deref().unwrap_or("")),
            (None, None) => Vec::new(),
        };
        self.dispatch(actions);
    }
}

struct Deleter(Arc<GarbageCollector>);
struct Orphaner(Arc<GarbageCollector>);

impl Reconcile for Deleter {
    fn name(&self) -> &'static str {
        "garbagecollector"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.0.deletes
    }

    async fn reconcile(&self, uid: &str) -> Result<Option<std::time::Duration>, ControllerError> {
        self.0.attempt_to_delete(uid).await
    }
}

impl Reconcile for Orphaner {
    fn name(&self) -> &'static str {
        "garbagecollector-orphan"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.0.orphans
    }

    async fn reconcile(&self, uid: &str) -> Result<Option<std::time::Duration>, ControllerError> {
        self.0.attempt_to_orphan(uid).await.map(|()| None)
    }
}

/// Resources a collector watches: listable, watchable and deletable, but not Events.
fn collectable(discovery: &Discovery) -> Vec<(ApiResource, bool)> {
    let mut out = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            let ops = [verbs::LIST, verbs::WATCH, verbs::DELETE];
            if !ops.iter().all(|v| caps.supports_operation(v)) || ar.plural == "events" {
                continue;
            }
            out.push((ar, caps.scope == Scope::Namespaced));
        }
    }
    out
}

/// Discovers the resources, starts one metadata informer each, and runs the workers once
/// they have all listed.
pub async fn run(client: kube::Client, writer: Arc<dyn Writer>) -> Result<(), ControllerError> {
    let discovery = loop {
        match Discovery::new(client.clone()).run().await {
            Ok(d) => break d,
            Err(e) => {
                tracing::warn!(error = %e, "garbage collector: discovery failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    };
    let found: Vec<(ApiResource, Kind, bool)> =
        collectable(&discovery).into_iter().map(|(ar, ns)| (ar.clone(), Resources::kind_of(&ar), ns)).collect();
    let mut resources = Resources::default();
    for (_, kind, namespaced) in &found {
        resources.insert(*kind, *namespaced);
    }
    let gc = GarbageCollector::new(resources, writer);
    let mut synced = Vec::new();
    for (ar, kind, _) in &found {
        let kind = *kind;
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client.clone(), ar);
        let mut informer = Informer::new_with(api, ar.clone());
        let g = gc.clone();
        informer.on_change(move |old, new| g.on_change(kind, old.map(|o| o.as_ref()), new.map(|n| n.as_ref())));
        synced.push(informer.synced());
        tokio::spawn(informer.run());
    }
    wait_synced(&mut synced).await;
    tracing::info!(resources = found.len(), objects = gc.graph().len(), "garbage collector started");
    tokio::join!(
        runner::run(Arc::new(Deleter(gc.clone())), WORKERS),
        runner::run(Arc::new(Orphaner(gc.clone())), WORKERS),
    );
    Ok(())
}
