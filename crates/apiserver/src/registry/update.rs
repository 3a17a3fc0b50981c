//! Update: compare-and-swap with retries (kube-apiserver's GuaranteedUpdate), status split,
//! generation, no-op detection, and deletion once the last finalizer is gone.

use std::sync::Arc;

use serde_json::{Map, Value};
use skiff_api::{defaults, validation, ApiError, At, ResourceInfo};
use skiff_store::{Revision, StoreError};

use super::{store_error, Registry, WriteOptions, Written};
use crate::object::{self, Object};
use crate::{managed, objects};

/// Which part of the object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// The main resource: everything but the status.
    Main,
    /// The status subresource: only the status.
    Status,
    /// A write by the server itself (a binding): no strategy, no validation.
    System,
}

/// Most retries of an unconditional update that keeps meeting concurrent writes.
const MAX_RETRIES: usize = 16;

const SYSTEM_FIELDS: [&str; 5] =
    ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"];

impl Registry {
    /// Computes the new object from the current one with `mutate` and writes it with
    /// compare-and-swap; a conflict with a concurrent writer runs `mutate` again on the fresh
    /// object. A resourceVersion in the new object is a precondition: 409 when it is not the
    /// current one (a version `mutate` pinned rather than carried over fails on the rerun).
    /// `mutate` is given the current object, which may lack its resourceVersion (as `recent`
    /// keeps it), and its revision, which is that. It returns the whole new object: managedFields
    /// in it replace the live ones (an apply computed them; other writes sent them), and
    /// without them the live ones are kept.
    pub async fn guaranteed_update<F>(
        &self,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        kind: UpdateKind,
        opts: &WriteOptions,
        mut mutate: F,
    ) -> Result<Written, ApiError>
    where
        F: FnMut(&Object, Revision) -> Result<Value, ApiError>,
    {
        let key = res.key(ns, name);
        for _ in 0..MAX_RETRIES {
            let Some(cur) = self.store.get(&key).await.map_err(store_error)? else {
                return Err(ApiError::not_found(res.group, res.plural, name));
            };
            let old = match self.recent.get(&key, cur.mod_revision) {
                Some(old) => old,
                None => Arc::new(Object::decode(&cur)?),
            };
            let mut new = mutate(&old, cur.mod_revision)?;
            // A resourceVersion that is not the current one is a failed precondition. One that
            // is (an update sent against the latest version, a JSON patch that kept it) is not:
            // when another write comes first, `mutate` runs again on what that write left, and
            // only a resourceVersion it does not carry over fails there.
            if objects::resource_version(&new).is_some_and(|rv| objects::parse_rv(rv).ok() != Some(cur.mod_revision)) {
                return Err(ApiError::conflict(
                    res.group,
                    res.plural,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            self.prepare_update(res, name, &mut new, &old, kind)?;
            if kind != UpdateKind::System {
                self.validate_admission(res, &new, Some(&old)).await?;
            }
            let sent = object::take_managed_fields(&mut new);
            // Nothing changed: no write, no new resourceVersion; the answer is what is stored.
            let no_op = || Ok(Written { object: old.clone(), created: false, stored: Some(cur.clone()) });
            let same_tree = unchanged(&new, &old);
            if same_tree && sent.is_none() && !opts.apply {
                return no_op();
            }
            let managed = if opts.apply {
                // An apply computed them; absent, there are none.
                sent.as_ref().map(object::text)
            } else if kind == UpdateKind::System {
                // A write by the server itself is nobody's.
                sent.as_ref().map_or_else(|| old.managed().cloned(), |list| Some(object::text(list)))
            } else {
                let sub = (kind == UpdateKind::Status).then_some("status");
                managed::track(res, Some(&old), &new, sent, &opts.field_manager, sub)
            };
            // managedFields that change alone (sent, or an apply's ownership) are a change.
            if same_tree && managed.as_ref() == old.managed() {
                return no_op();
            }
            let new = Object::new(new, managed);
            if opts.dry_run {
                return Ok(Written { object: Arc::new(new), created: false, stored: None });
            }
            let delete_now = objects::finalizers(&new).is_empty()
                && old.at("/metadata/deletionTimestamp").is_some()
                && old.at("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0) == 0;
            let new = Arc::new(new);
            let (result, staged) = if delete_now {
                (self.store.delete(&key, cur.mod_revision).await, None)
            } else {
                let bytes = new.encode();
                self.recent.stage(&key, &bytes, new.clone());
                (self.store.update(&key, bytes.clone(), cur.mod_revision).await, Some(bytes))
            };
            let outcome = result.map(|kv| {
                if delete_now {
                    // Gone from the store: the object carries the revision of its deletion.
                    let mut last = Arc::unwrap_or_clone(new);
                    objects::set_resource_version(last.tree_mut(), kv.mod_revision);
                    return Written { object: Arc::new(last), created: false, stored: None };
                }
                self.recent.put(&key, kv.mod_revision, new.clone());
                Written { object: new, created: false, stored: Some(kv) }
            });
            // Unstaged only once the written object is in `recent` (or the write failed).
            if let Some(bytes) = &staged {
                self.recent.unstage(&key, bytes);
            }
            match outcome {
                Ok(written) => return Ok(written),
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound(_)) => return Err(ApiError::not_found(res.group, res.plural, name)),
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(ApiError::conflict(res.group, res.plural, name, "too many concurrent updates; please try again"))
    }

    fn prepare_update(
        &self,
        res: &ResourceInfo,
        name: &str,
        new: &mut Value,
        old: &Value,
        kind: UpdateKind,
    ) -> Result<(), ApiError> {
        objects::set_type(new, res);
        if kind == UpdateKind::System {
            return Ok(());
        }
        match objects::name(new) {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )))
            }
            _ => {}
        }
        if let (Some(a), Some(b)) = (objects::uid(new), objects::uid(old)) {
            if a != b {
                return Err(ApiError::conflict(
                    res.group,
                    res.plural,
                    name,
                    &format!("Precondition failed: UID in precondition: {a}, UID in object meta: {b}"),
                ));
            }
        }
        let no_meta = Map::new();
        let old_meta = old.get("metadata").and_then(Value::as_object).unwrap_or(&no_meta);
        let meta = objects::metadata_mut(new);
        meta.insert("name".into(), Value::String(name.to_string()));
        for f in SYSTEM_FIELDS {
            match old_meta.get(f) {
                Some(v) => meta.insert(f.into(), v.clone()),
                None => meta.remove(f),
            };
        }
        if let Some(g) = old_meta.get("generation") {
            meta.insert("generation".into(), g.clone());
        }
        meta.remove("resourceVersion");
        match kind {
            UpdateKind::Status | UpdateKind::System => defaults::apply_defaults_keeping_spec(res, new),
            UpdateKind::Main => defaults::apply_defaults(res, new),
        }
        let causes = match kind {
            UpdateKind::Main => {
                self.admit_update(res, new, old);
                defaults::prepare_for_update(res, new, old);
                validation::validate_update(res, new, old)
            }
            UpdateKind::Status => {
                defaults::prepare_for_status_update(res, new, old);
                validation::validate_status_update(res, new, old)
            }
            UpdateKind::System => Vec::new(),
        };
        if !causes.is_empty() {
            return Err(ApiError::invalid(res.group, res.kind, name, causes));
        }
        Ok(())
    }
}

/// True when `new` differs from `old` in nothing but resourceVersion (and managedFields,
/// which neither holds as a rule).
fn unchanged(new: &Value, old: &Value) -> bool {
    let (Some(n), Some(o)) = (new.as_object(), old.as_object()) else { return new == old };
    let empty = Map::new();
    let (nm, om) = (
        n.get("metadata").and_then(Value::as_object).unwrap_or(&empty),
        o.get("metadata").and_then(Value::as_object).unwrap_or(&empty),
    );
    same_entries(n, o, |k| k == "metadata") && same_entries(nm, om, |k| k == "resourceVersion" || k == "managedFields")
}

/// Whether two maps hold the same entries, leaving out the keys `skip` names (without
/// copying either: updates compare whole Pods this way).
fn same_entries(a: &Map<String, Value>, b: &Map<String, Value>, skip: impl Fn(&str) -> bool) -> bool {
    let kept = |m: &Map<String, Value>| m.keys().filter(|k| !skip(k)).count();
    kept(a) == kept(b) && a.iter().filter(|(k, _)| !skip(k)).all(|(k, v)| b.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{unchanged, UpdateKind};
    use crate::objects;
    use crate::registry::{Registry, WriteOptions};
    use serde_json::json;
    use skiff_store::MemoryStore;

    /// A registry holding ConfigMap `default/c` with `data.a: "1"`, and that write.
    async fn with_configmap() -> (Registry, &'static skiff_api::ResourceInfo, crate::registry::Written) {
        let r = Registry::new(Arc::new(MemoryStore::new()));
        crate::bootstrap::namespaces(&r).await.unwrap();
        let res = skiff_api::resources::lookup("", "v1", "configmaps").unwrap();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let created = r.create(res, Some("default"), cm, &WriteOptions::default()).await.unwrap();
        (r, res, created)
    }

    #[tokio::test]
    async fn mutate_is_told_the_revision_and_the_written_object_gets_it_on_the_way_out() {
        let (r, res, created) = with_configmap().await;
        let rev = created.stored.as_ref().unwrap().mod_revision;
        assert_eq!(objects::resource_version(&created.object_with_rv()), Some(rev.to_string().as_str()));
        let opts = WriteOptions::default();
        let mut seen = None;
        let updated = r
            .guaranteed_update(res, Some("default"), "c", UpdateKind::Main, &opts, |old, at| {
                seen = Some(at);
                let mut new = old.tree().clone();
                new["data"]["a"] = json!("2");
                Ok(new)
            })
            .await
            .unwrap();
        assert_eq!(seen, Some(rev), "the current object's revision");
        let now = updated.stored.as_ref().unwrap().mod_revision;
        assert!(now > rev);
        let out = updated.object_with_rv();
        assert_eq!((out["data"]["a"].as_str(), objects::resource_version(&out)), (Some("2"), Some(&*now.to_string())));
    }

    /// A write that lost the race to another runs again on what the other left, unless it
    /// pinned a resourceVersion of its own.
    #[tokio::test]
    async fn a_write_beaten_by_another_is_retried_unless_its_version_was_pinned() {
        let (r, res, _) = with_configmap().await;
        let opts = WriteOptions::default();
        let other = |r: &Registry, key: &'static str| {
            futures::executor::block_on(r.guaranteed_update(
                res,
                Some("default"),
                "c",
                UpdateKind::Main,
                &opts,
                |old, _| {
                    let mut new = old.tree().clone();
                    new["data"][key] = json!("other");
                    Ok(new)
                },
            ))
            .unwrap();
        };
        // As a JSON patch does: the current resourceVersion kept in the new object.
        let mut runs = Vec::new();
        let w = r
            .guaranteed_update(res, Some("default"), "c", UpdateKind::Main, &opts, |old, rev| {
                if runs.is_empty() {
                    other(&r, "b");
                }
                runs.push(rev);
                let mut new = old.tree().clone();
                objects::set_resource_version(&mut new, rev);
                new["data"]["a"] = json!("2");
                Ok(new)
            })
            .await
            .unwrap();
        assert!(runs.len() == 2 && runs[1] > runs[0], "run again on the newer object: {runs:?}");
        assert_eq!((w.object["data"]["a"].as_str(), w.object["data"]["b"].as_str()), (Some("2"), Some("other")));
        // As an update sent with the version it read: the same object every run, 409.
        let mut first = None;
        let e = r
            .guaranteed_update(res, Some("default"), "c", UpdateKind::Main, &opts, |old, rev| {
                let sent = first.get_or_insert_with(|| {
                    other(&r, "d");
                    let mut sent = old.tree().clone();
                    objects::set_resource_version(&mut sent, rev);
                    sent["data"]["e"] = json!("mine");
                    sent
                });
                Ok(sent.clone())
            })
            .await
            .unwrap_err();
        assert_eq!(e.code, 409);
    }

    #[tokio::test]
    async fn managed_fields_are_kept_as_text_and_change_only_where_written() {
        let r = Registry::new(Arc::new(MemoryStore::new()));
        crate::bootstrap::namespaces(&r).await.unwrap();
        let pods = skiff_api::resources::lookup("", "v1", "pods").unwrap();
        let opts = |m: &str| WriteOptions { field_manager: m.into(), ..WriteOptions::default() };
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let created = r.create(pods, Some("default"), pod, &opts("creator")).await.unwrap();
        let creator = created.object.managed().unwrap().clone();
        let update = |kind, manager: &'static str, change: fn(&mut serde_json::Value)| {
            let r = r.clone();
            async move {
                r.guaranteed_update(pods, Some("default"), "p", kind, &opts(manager), |old, _| {
                    let mut new = old.to_value();
                    change(&mut new);
                    Ok(new)
                })
                .await
                .unwrap()
            }
        };
        let bound = update(UpdateKind::System, "scheduler", |p| p["spec"]["nodeName"] = json!("n")).await;
        assert_eq!(bound.object.managed(), Some(&creator), "a binding leaves them as they are");
        let running = update(UpdateKind::Status, "kubelet", |p| p["status"]["phase"] = json!("Running")).await;
        let whole = running.object_with_rv();
        let managers: Vec<_> =
            whole["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| &e["manager"]).collect();
        assert_eq!(managers, ["creator", "kubelet"]);
        let (text, before) = (running.object.managed().unwrap(), &creator[1..creator.len() - 1]);
        assert!(text.windows(before.len()).any(|w| w == before), "the creator's entry, copied");
        let stored = r.get_raw(pods, Some("default"), "p").await.unwrap();
        assert_eq!(objects::decode(&stored).unwrap(), whole);

        // Sent back as they are, they change nothing; the reset form `[{}]` clears them.
        let same = update(UpdateKind::Main, "editor", |_| {}).await;
        assert_eq!(same.stored.unwrap().mod_revision, stored.mod_revision);
        let cleared = update(UpdateKind::Main, "editor", |p| p["metadata"]["managedFields"] = json!([{}])).await;
        assert!(cleared.object.managed().is_none());
        assert!(cleared.stored.unwrap().mod_revision > stored.mod_revision, "written");
    }

    #[test]
    fn an_update_that_changes_only_bookkeeping_changes_nothing() {
        let old = json!({"metadata": {"name": "p", "resourceVersion": "5", "managedFields": [{"manager": "a"}]},
                         "spec": {"x": 1}});
        let same = json!({"spec": {"x": 1}, "metadata": {"managedFields": [{"manager": "b"}], "name": "p"}});
        assert!(unchanged(&same, &old));
        assert!(!unchanged(&json!({"metadata": {"name": "p"}, "spec": {"x": 2}}), &old));
        assert!(!unchanged(&json!({"metadata": {"name": "p", "labels": {}}, "spec": {"x": 1}}), &old));
        assert!(!unchanged(&json!({"metadata": {"name": "p"}, "spec": {"x": 1}, "status": {}}), &old));
    }
}
