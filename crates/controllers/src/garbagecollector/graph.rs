//! The owner graph (`graph.go`, `graph_builder.go`): every object seen by uid, with its
//! owner references and the uids of its dependents. Owners referenced but not (yet) seen are
//! virtual nodes, checked against the API. Each change says which nodes to look at next.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// What an object is and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl Identity {
    /// The owner a reference names; a namespaced owner lives in its dependent's namespace.
    pub fn owner(r: &OwnerReference, dependent_namespace: &str) -> Identity {
        Identity {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: dependent_namespace.to_string(),
            name: r.name.clone(),
            uid: r.uid.clone(),
        }
    }

    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: Identity,
    pub owners: Vec<OwnerReference>,
    pub dependents: HashSet<String>,
    /// Seen through a watch (false: only named by a dependent's owner reference).
    pub observed: bool,
    pub being_deleted: bool,
    /// Being deleted with the `orphan` finalizer.
    pub orphaning: bool,
    /// Being deleted in the foreground: waits for its blocking dependents.
    pub deleting_dependents: bool,
}

/// What to look at after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check whether the node (by uid) must be deleted, or finish its foreground deletion.
    Delete(String),
    /// Take the node's dependents off it, then its orphan finalizer.
    Orphan(String),
}

/// Owners known to be gone, so their dependents need no lookup (`absentOwnerCache`).
const ABSENT_CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    absent: HashSet<String>,
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers.as_ref().is_some_and(|fs| fs.iter().any(|x| x == f))
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn is_absent(&self, uid: &str) -> bool {
        self.absent.contains(uid)
    }

    pub fn mark_absent(&mut self, uid: &str) {
        if self.absent.len() >= ABSENT_CAPACITY {
            self.absent.clear();
        }
        self.absent.insert(uid.to_string());
    }

    /// Links `dependent` to each owner, making virtual owners (to be checked) as needed.
    fn link(&mut self, dependent: &Identity, owners: &[OwnerReference], out: &mut Vec<Action>) {
        for o in owners {
            match self.nodes.get_mut(&o.uid) {
                Some(n) => {
                    n.dependents.insert(dependent.uid.clone());
                }
                None => {
                    let node = Node {
                        id: Identity::owner(o, &dependent.namespace),
                        owners: Vec::new(),
                        dependents: HashSet::from([dependent.uid.clone()]),
                        observed: false,
                        being_deleted: false,
                        orphaning: false,
                        deleting_dependents: false,
                    };
                    self.nodes.insert(o.uid.clone(), node);
                    out.push(Action::Delete(o.uid.clone()));
                }
            }
        }
    }

    /// Unlinks `dependent` from owners; an owner deleting its dependents looks again.
    fn unlink(&mut self, dependent: &str, owners: &[OwnerReference], out: &mut Vec<Action>) {
        for o in owners {
            if let Some(n) = self.nodes.get_mut(&o.uid) {
                n.dependents.remove(dependent);
                if n.deleting_dependents {
                    out.push(Action::Delete(o.uid.clone()));
                }
            }
        }
    }

    /// An object was added or changed (`processGraphChanges` for add and update events).
    pub fn observe(&mut self, id: Identity, meta: &ObjectMeta) -> Vec<Action> {
        let mut out = Vec::new();
        let owners = meta.owner_references.clone().unwrap_or_default();
        let uid = id.uid.clone();
        let (was_orphaning, was_deleting_dependents, old_owners) = match self.nodes.get_mut(&uid) {
            Some(n) => {
                let before = (n.orphaning && n.observed, n.deleting_dependents, std::mem::take(&mut n.owners));
                n.id = id.clone();
                n.observed = true;
                before
            }
            None => {
                let node = Node {
                    id: id.clone(),
                    owners: Vec::new(),
                    dependents: HashSet::new(),
                    observed: true,
                    being_deleted: false,
                    orphaning: false,
                    deleting_dependents: false,
                };
                self.nodes.insert(uid.clone(), node);
                (false, false, Vec::new())
            }
        };
        // Owner changes: new owners get this dependent, removed ones lose it, and an owner
        // deleting in the foreground looks again when a dependent stops blocking it.
        let added: Vec<OwnerReference> =
            owners.iter().filter(|o| !old_owners.iter().any(|p| p.uid == o.uid)).cloned().collect();
        let removed: Vec<OwnerReference> =
            old_owners.iter().filter(|p| !owners.iter().any(|o| o.uid == p.uid)).cloned().collect();
        self.link(&id, &added, &mut out);
        self.unlink(&uid, &removed, &mut out);
        for o in &owners {
            let unblocked = old_owners.iter().any(|p| {
                p.uid == o.uid && p.block_owner_deletion == Some(true) && o.block_owner_deletion != Some(true)
            });
            if unblocked && self.nodes.get(&o.uid).is_some_and(|n| n.deleting_dependents) {
                out.push(Action::Delete(o.uid.clone()));
            }
        }
        let deleting = meta.deletion_timestamp.is_some();
        let node = self.nodes.get_mut(&uid).expect("inserted above");
        node.owners = owners;
        node.being_deleted = deleting;
        // Orphaning starts when the orphan finalizer first shows on an object being deleted,
        // whether or not it was already being deleted (upstream's deletionStartsWithFinalizer).
        node.orphaning = deleting && has_finalizer(meta, ORPHAN);
        if node.orphaning && !was_orphaning {
            out.push(Action::Orphan(uid.clone()));
        }
        if deleting && has_finalizer(meta, FOREGROUND) {
            node.deleting_dependents = true;
            if !was_deleting_dependents {
                out.extend(node.dependents.iter().map(|d| Action::Delete(d.clone())));
                out.push(Action::Delete(uid.clone()));
            }
        }
        out
    }

    /// An object is gone (a delete event, or a virtual node the API does not have): its
    /// dependents look at their owners again, and so do its owners deleting in the foreground.
    pub fn forget(&mut self, uid: &str) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(node) = self.nodes.remove(uid) else { return out };
        self.mark_absent(uid);
        out.extend(node.dependents.iter().map(|d| Action::Delete(d.clone())));
        self.unlink(uid, &node.owners, &mut out);
        out
    }

    /// Dependents whose reference to `uid` blocks its foreground deletion.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<&Node> {
        let Some(n) = self.nodes.get(uid) else { return Vec::new() };
        n.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| d.owners.iter().any(|o| o.uid == uid && o.block_owner_deletion == Some(true)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(kind: &str, name: &str, uid: &str) -> Identity {
        Identity {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: name.into(),
            uid: uid.into(),
        }
    }

    fn meta(v: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    fn owned_by(uid: &str, block: bool) -> serde_json::Value {
        json!({"ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": uid,
            "controller": true, "blockOwnerDeletion": block}]})
    }

    #[test]
    fn unseen_owners_become_virtual_nodes_to_check() {
        let mut g = Graph::default();
        let out = g.observe(id("ReplicaSet", "rs", "r1"), &meta(owned_by("d1", true)));
        assert_eq!(out, vec![Action::Delete("d1".into())]);
        assert!(!g.get("d1").unwrap().observed);
        assert!(g.observe(id("Deployment", "d", "d1"), &meta(json!({}))).is_empty());
        let d = g.get("d1").unwrap();
        assert!(d.observed && d.dependents.contains("r1"));
    }

    #[test]
    fn a_deleted_owner_sends_its_dependents_to_be_checked() {
        let mut g = Graph::default();
        g.observe(id("Deployment", "d", "d1"), &meta(json!({})));
        g.observe(id("ReplicaSet", "rs", "r1"), &meta(owned_by("d1", true)));
        assert_eq!(g.forget("d1"), vec![Action::Delete("r1".into())]);
        assert!(g.is_absent("d1"));
        assert!(g.forget("d1").is_empty(), "twice is nothing");
    }

    #[test]
    fn finalizers_start_orphaning_or_foreground_deletion_once() {
        let mut g = Graph::default();
        g.observe(id("Deployment", "d", "d1"), &meta(json!({})));
        g.observe(id("ReplicaSet", "rs", "r1"), &meta(owned_by("d1", true)));
        let deleting = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["foregroundDeletion"]});
        let out = g.observe(id("Deployment", "d", "d1"), &meta(deleting.clone()));
        assert_eq!(out, vec![Action::Delete("r1".into()), Action::Delete("d1".into())]);
        assert!(g.observe(id("Deployment", "d", "d1"), &meta(deleting)).is_empty());
        assert_eq!(g.blocking_dependents("d1").len(), 1);
        // The dependent stops blocking: the owner looks again.
        let out = g.observe(id("ReplicaSet", "rs", "r1"), &meta(owned_by("d1", false)));
        assert_eq!(out, vec![Action::Delete("d1".into())]);
        assert!(g.blocking_dependents("d1").is_empty());

        let mut g = Graph::default();
        let orphaning = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["orphan"]});
        g.observe(id("Deployment", "d", "d2"), &meta(json!({})));
        assert_eq!(g.observe(id("Deployment", "d", "d2"), &meta(orphaning)), vec![Action::Orphan("d2".into())]);

        // Already being deleted (another finalizer holds it), then asked to orphan.
        let mut g = Graph::default();
        let held = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["example.com/hold"]});
        let both = json!({"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["example.com/hold", "orphan"]});
        assert!(g.observe(id("Deployment", "d", "d3"), &meta(held)).is_empty());
        assert_eq!(g.observe(id("Deployment", "d", "d3"), &meta(both.clone())), vec![Action::Orphan("d3".into())]);
        assert!(g.observe(id("Deployment", "d", "d3"), &meta(both)).is_empty());
    }

    #[test]
    fn a_removed_owner_reference_unlinks_the_dependent() {
        let mut g = Graph::default();
        g.observe(id("Deployment", "d", "d1"), &meta(json!({})));
        g.observe(id("ReplicaSet", "rs", "r1"), &meta(owned_by("d1", true)));
        g.observe(id("ReplicaSet", "rs", "r1"), &meta(json!({})));
        assert!(g.get("d1").unwrap().dependents.is_empty());
    }
}
