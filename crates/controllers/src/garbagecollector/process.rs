//! The collector's workers (`attemptToDeleteItem`, `attemptToOrphanWorker`): decide from the
//! live object and its owners whether to delete it, drop dangling references, finish a
//! foreground deletion, or orphan an owner's dependents.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{json, Value};

use super::graph::{Identity, Node, FOREGROUND, ORPHAN};
use super::GarbageCollector;
use crate::machinery::claim::ignore_not_found;
use crate::machinery::writer::{Delete, PatchBody};
use crate::ControllerError;

/// A virtual owner that exists is looked at again after this, by when its watch has seen it.
const VIRTUAL_RECHECK: Duration = Duration::from_secs(5);

/// An object as the API has it now.
enum Live {
    /// Absent, or another object (another uid) under the name.
    Gone,
    Found(Value),
    /// Of a kind the collector does not know: left alone.
    Unknown,
}

/// How an owner reference stands.
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    Solid,
    Dangling,
    /// Being deleted in the foreground, waiting for its dependents.
    Waiting,
}

fn meta_of(obj: &Value) -> ObjectMeta {
    obj.get("metadata").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default()
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers.as_ref().is_some_and(|fs| fs.iter().any(|x| x == f))
}

impl GarbageCollector {
    async fn live(&self, id: &Identity) -> Result<Live, ControllerError> {
        let Some((kind, namespaced)) = self.resources.lookup(id) else { return Ok(Live::Unknown) };
        let ns = if namespaced { id.namespace.as_str() } else { "" };
        match self.writer.get(kind, ns, &id.name).await? {
            Some(obj) if obj.pointer("/metadata/uid").and_then(Value::as_str) == Some(id.uid.as_str()) => {
                Ok(Live::Found(obj))
            }
            _ => Ok(Live::Gone),
        }
    }

    /// The object is gone: forget it, and let its dependents and owners look again.
    fn gone(&self, uid: &str) {
        let actions = self.graph().forget(uid);
        self.dispatch(actions);
    }

    pub(crate) async fn attempt_to_delete(&self, uid: &str) -> Result<Option<Duration>, ControllerError> {
        let Some(node) = self.graph().get(uid).cloned() else { return Ok(None) };
        if !node.observed {
            return match self.live(&node.id).await? {
                Live::Gone => {
                    self.gone(uid);
                    Ok(None)
                }
                Live::Found(_) => Ok(Some(VIRTUAL_RECHECK)),
                Live::Unknown => Ok(None),
            };
        }
        if node.being_deleted && !node.deleting_dependents {
            return Ok(None);
        }
        let latest = match self.live(&node.id).await? {
            Live::Found(v) => v,
            Live::Gone => {
                self.gone(uid);
                return Ok(None);
            }
            Live::Unknown => return Ok(None),
        };
        let meta = meta_of(&latest);
        if meta.deletion_timestamp.is_some() && has_finalizer(&meta, FOREGROUND) {
            return self.finish_foreground(&node, &latest).await.map(|()| None);
        }
        let owners = meta.owner_references.clone().unwrap_or_default();
        if owners.is_empty() {
            return Ok(None);
        }
        let mut solid = Vec::new();
        let mut dangling = Vec::new();
        let mut waiting = Vec::new();
        for o in owners {
            match self.classify(&node.id, &o).await? {
                Owner::Solid => solid.push(o),
                Owner::Dangling => dangling.push(o),
                Owner::Waiting => waiting.push(o),
            }
        }
        if !solid.is_empty() {
            // Kept by a live owner: only the references to gone or leaving owners go.
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(None);
            }
            let drop: Vec<Value> =
                dangling.iter().chain(&waiting).map(|o| json!({"$patch": "delete", "uid": o.uid})).collect();
            self.patch_owners(&node.id, drop).await?;
            return Ok(None);
        }
        let policy = if !waiting.is_empty() && !node.dependents.is_empty() {
            // An owner waits for us in the foreground: our own dependents go first, unless
            // one of them already waits for us (a cycle), which we stop blocking.
            let cycle = {
                let g = self.graph();
                node.dependents.iter().any(|d| g.get(d).is_some_and(|d| d.deleting_dependents))
            };
            if cycle {
                let unblock: Vec<Value> = meta
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|o| o.block_owner_deletion == Some(true))
                    .map(|o| json!({"uid": o.uid, "blockOwnerDeletion": false}))
                    .collect();
                self.patch_owners(&node.id, unblock).await?;
            }
            "Foreground"
        } else if has_finalizer(&meta, ORPHAN) {
            "Orphan"
        } else if has_finalizer(&meta, FOREGROUND) {
            "Foreground"
        } else {
            "Background"
        };
        tracing::debug!(kind = %node.id.kind, name = %node.id.name, policy, "collecting");
        self.delete(&node.id, policy).await?;
        Ok(None)
    }

    async fn classify(&self, dependent: &Identity, o: &OwnerReference) -> Result<Owner, ControllerError> {
        {
            let g = self.graph();
            if g.is_absent(&o.uid) {
                return Ok(Owner::Dangling);
            }
            if let Some(n) = g.get(&o.uid).filter(|n| n.observed) {
                return Ok(if n.deleting_dependents { Owner::Waiting } else { Owner::Solid });
            }
        }
        Ok(match self.live(&Identity::owner(o, &dependent.namespace)).await? {
            Live::Gone => {
                self.graph().mark_absent(&o.uid);
                Owner::Dangling
            }
            Live::Found(v) => {
                let m = meta_of(&v);
                if m.deletion_timestamp.is_some() && has_finalizer(&m, FOREGROUND) {
                    Owner::Waiting
                } else {
                    Owner::Solid
                }
            }
            Live::Unknown => Owner::Solid,
        })
    }

    /// A foreground deletion ends once no dependent blocks it: the finalizer goes.
    async fn finish_foreground(&self, node: &Node, latest: &Value) -> Result<(), ControllerError> {
        let blocking: Vec<(String, bool)> = {
            let g = self.graph();
            let b = g.blocking_dependents(&node.id.uid);
            b.iter().map(|d| (d.id.uid.clone(), d.deleting_dependents)).collect()
        };
        if blocking.is_empty() {
            return self.remove_finalizer(&node.id, latest, FOREGROUND).await;
        }
        for (uid, deleting) in blocking {
            if !deleting {
                self.deletes.add(uid);
            }
        }
        Ok(())
    }

    /// Takes the owner's dependents off it, then its orphan finalizer (`orphanDependents`).
    pub(crate) async fn attempt_to_orphan(&self, uid: &str) -> Result<(), ControllerError> {
        let (owner, dependents): (Identity, Vec<Identity>) = {
            let g = self.graph();
            let Some(n) = g.get(uid) else { return Ok(()) };
            let deps = n.dependents.iter().filter_map(|d| g.get(d)).map(|d| d.id.clone()).collect();
            (n.id.clone(), deps)
        };
        for d in &dependents {
            self.patch_owners(d, vec![json!({"$patch": "delete", "uid": uid})]).await?;
        }
        match self.live(&owner).await? {
            Live::Found(latest) => self.remove_finalizer(&owner, &latest, ORPHAN).await,
            Live::Gone | Live::Unknown => Ok(()),
        }
    }

    /// A strategic merge patch of `ownerReferences` (merged by uid), bound to the object's uid.
    async fn patch_owners(&self, id: &Identity, refs: Vec<Value>) -> Result<(), ControllerError> {
        let Some((kind, namespaced)) = self.resources.lookup(id) else { return Ok(()) };
        let ns = if namespaced { id.namespace.as_str() } else { "" };
        let patch = json!({"metadata": {"uid": id.uid, "ownerReferences": refs}});
        let r = self.writer.patch(kind, ns, &id.name, false, PatchBody::Strategic(patch)).await;
        ignore_not_found(r.map(drop)).map(drop)
    }

    async fn remove_finalizer(&self, id: &Identity, latest: &Value, finalizer: &str) -> Result<(), ControllerError> {
        let Some((kind, namespaced)) = self.resources.lookup(id) else { return Ok(()) };
        let ns = if namespaced { id.namespace.as_str() } else { "" };
        let meta = meta_of(latest);
        let rest: Vec<String> = meta.finalizers.unwrap_or_default().into_iter().filter(|f| f != finalizer).collect();
        let patch = json!({"metadata": {"resourceVersion": meta.resource_version,
            "finalizers": if rest.is_empty() { Value::Null } else { json!(rest) }}});
        let r = self.writer.patch(kind, ns, &id.name, false, PatchBody::Merge(patch)).await;
        ignore_not_found(r.map(drop)).map(drop)
    }

    async fn delete(&self, id: &Identity, policy: &'static str) -> Result<(), ControllerError> {
        let Some((kind, namespaced)) = self.resources.lookup(id) else { return Ok(()) };
        let ns = if namespaced { id.namespace.as_str() } else { "" };
        let opts = Delete { uid: Some(id.uid.clone()), propagation: Some(policy), grace_seconds: None };
        ignore_not_found(self.writer.delete(kind, ns, &id.name, opts).await).map(drop)
    }
}
