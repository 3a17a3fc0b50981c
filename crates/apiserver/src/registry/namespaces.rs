//! Namespace deletion: a terminating namespace is emptied (every namespaced object deleted),
//! then its `kubernetes` finalizer is removed and it goes away, as Kubernetes' namespace
//! controller does.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::resources::{self, RESOURCES};
use skiff_api::{ApiError, At};

use super::{DeleteOptions, ListOptions, Registry, UpdateKind, WriteOptions};
use crate::objects;

impl Registry {
    /// Empties namespace `ns` and removes it; retries until what it holds is gone (Pods on
    /// nodes terminate gracefully first).
    pub async fn finalize_namespace(&self, ns: &str) -> Result<(), ApiError> {
        let opts = DeleteOptions { propagation_policy: Some("Background".into()), ..Default::default() };
        loop {
            let mut remaining = 0;
            for res in RESOURCES.iter().filter(|r| r.namespaced) {
                let list = self.list(res, Some(ns), &ListOptions::default()).await?;
                for obj in &list.items {
                    remaining += 1;
                    if obj.at("/metadata/deletionTimestamp").is_some() {
                        continue;
                    }
                    if let Some(name) = objects::name(obj) {
                        match self.delete(res, Some(ns), name, &opts).await {
                            Ok(_) => {}
                            Err(e) if e.code == 404 => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            if remaining == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let ns_res = resources::lookup("", "v1", "namespaces").expect("namespaces are served");
        let wopts = WriteOptions { field_manager: "skiff-namespace-controller".into(), ..WriteOptions::default() };
        match self
            .guaranteed_update(ns_res, None, ns, UpdateKind::System, &wopts, |old, _| {
                let mut new = old.tree().clone();
                if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("finalizers".into(), json!([]));
                }
                objects::metadata_mut(&mut new).remove("resourceVersion");
                Ok(new)
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Resumes the deletion of every namespace left terminating (after a restart).
    pub async fn resume_namespace_deletions(&self) -> Result<(), ApiError> {
        let ns_res = resources::lookup("", "v1", "namespaces").expect("namespaces are served");
        for ns in self.list(ns_res, None, &ListOptions::default()).await?.items {
            if ns.at("/metadata/deletionTimestamp").is_some() {
                if let Some(name) = objects::name(&ns) {
                    self.spawn_namespace_finalizer(name.to_string());
                }
            }
        }
        Ok(())
    }

    /// Runs [`Registry::finalize_namespace`] in the background.
    pub fn spawn_namespace_finalizer(&self, ns: String) {
        let registry = self.clone();
        tokio::spawn(async move {
            if let Err(e) = registry.finalize_namespace(&ns).await {
                tracing::warn!(namespace = %ns, error = %e, "namespace deletion failed");
            }
        });
    }
}
