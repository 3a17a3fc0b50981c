//! The ServiceAccount controller (`pkg/controller/serviceaccount`): every active Namespace
//! has a `default` ServiceAccount; one that is deleted is made again.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use serde_json::json;

use crate::machinery::cache::Cache;
use crate::machinery::informer::Informer;
use crate::machinery::queue::WorkQueue;
use crate::machinery::writer::{Writer, SERVICEACCOUNTS};
use crate::ControllerError;

/// The ServiceAccounts every Namespace gets.
pub const DEFAULT_ACCOUNTS: &[&str] = &["default"];

pub struct ServiceAccountController {
    pub(crate) namespaces: Cache<Namespace>,
    pub(crate) accounts: Cache<ServiceAccount>,
    pub(crate) writer: Arc<dyn Writer>,
    /// Namespace names.
    pub(crate) queue: Arc<WorkQueue>,
}

impl ServiceAccountController {
    pub fn new(namespaces: Cache<Namespace>, accounts: Cache<ServiceAccount>, writer: Arc<dyn Writer>) -> Arc<Self> {
        Arc::new(ServiceAccountController { namespaces, accounts, writer, queue: WorkQueue::new() })
    }

    /// Registers the controller's handlers: a Namespace added or changed, or one of the
    /// default ServiceAccounts deleted, queues the Namespace.
    pub fn watch(self: &Arc<Self>, namespaces: &mut Informer<Namespace>, accounts: &mut Informer<ServiceAccount>) {
        let c = self.clone();
        namespaces.on_change(move |_, new| {
            if let Some(name) = new.and_then(|ns| ns.metadata.name.clone()) {
                c.queue.add(name);
            }
        });
        let c = self.clone();
        accounts.on_change(move |old, new| {
            if let (Some(sa), None) = (old, new) {
                if DEFAULT_ACCOUNTS.contains(&sa.metadata.name.as_deref().unwrap_or("")) {
                    c.queue.add(sa.metadata.namespace.clone().unwrap_or_default());
                }
            }
        });
    }

    /// Makes the missing default ServiceAccounts of Namespace `name` (`syncNamespace`).
    pub(crate) async fn sync(&self, name: &str) -> Result<Option<Duration>, ControllerError> {
        let Some(ns) = self.namespaces.get("", name) else { return Ok(None) };
        let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref());
        if ns.metadata.deletion_timestamp.is_some() || phase == Some("Terminating") {
            return Ok(None);
        }
        for sa in DEFAULT_ACCOUNTS {
            if self.accounts.get(name, sa).is_some() {
                continue;
            }
            let body = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}});
            match self.writer.create(SERVICEACCOUNTS, name, body).await {
                Ok(_) => tracing::debug!(namespace = name, account = sa, "created service account"),
                // Made meanwhile, or the Namespace is going away.
                Err(e) if e.code == 409 || e.code == 403 || e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}

crate::machinery::runner::reconcile_by_sync!(ServiceAccountController, "serviceaccount");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machinery::writer::fake::FakeWriter;

    fn ns(name: &str, terminating: bool) -> Arc<Namespace> {
        let phase = if terminating { "Terminating" } else { "Active" };
        Arc::new(serde_json::from_value(json!({"metadata": {"name": name}, "status": {"phase": phase}})).unwrap())
    }

    #[tokio::test]
    async fn active_namespaces_get_a_default_account_once() {
        let namespaces = Cache::default();
        namespaces.insert(ns("team", false));
        namespaces.insert(ns("old", true));
        let accounts: Cache<ServiceAccount> = Cache::default();
        let w = Arc::new(FakeWriter::default());
        let c = ServiceAccountController::new(namespaces, accounts.clone(), w.clone());
        c.sync("team").await.unwrap();
        c.sync("old").await.unwrap();
        let created = w.created();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["metadata"]["name"], "default");
        let sa = json!({"metadata": {"name": "default", "namespace": "team"}});
        accounts.insert(Arc::new(serde_json::from_value(sa).unwrap()));
        c.sync("team").await.unwrap();
        assert_eq!(w.created().len(), 1, "an existing account is left alone");
    }
}
