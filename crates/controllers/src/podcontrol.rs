//! How controllers create and delete Pods for an owner (client-go's `PodControl`): each create
//! and delete is recorded as an Event on the owner (`SuccessfulCreate` "Created pod: web-x",
//! `FailedCreate`, `SuccessfulDelete`, `FailedDelete`; StatefulSets word theirs as
//! "create Pod web-0 in StatefulSet web successful").

use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::machinery::expectations::Expectations;
use crate::machinery::writer::{Delete, Event, EventType, Kind, WriteError, WriteResult, Writer, PODS, STATEFULSETS};
use crate::machinery::{key_of, slow_start_batch};

/// How a controller words its Pod Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// client-go's PodControl (ReplicaSets, DaemonSets, Jobs).
    PodControl,
    /// The StatefulSet controller's own.
    StatefulSet,
}

/// The owner Pods are made for, and the controller that makes them (the Events' source).
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub component: &'static str,
    pub kind: Kind,
    pub meta: &'a ObjectMeta,
    pub wording: Wording,
}

impl<'a> Owner<'a> {
    /// An owner whose controller words its Events as client-go's PodControl does.
    pub fn new(component: &'static str, kind: Kind, meta: &'a ObjectMeta) -> Self {
        Owner { component, kind, meta, wording: Wording::PodControl }
    }

    /// A StatefulSet, as the StatefulSet controller words its Events.
    pub fn stateful_set(meta: &'a ObjectMeta) -> Self {
        Owner { component: "statefulset-controller", kind: STATEFULSETS, meta, wording: Wording::StatefulSet }
    }

    /// Records an Event about the owner.
    pub fn event(&self, writer: &dyn Writer, type_: EventType, reason: &'static str, message: impl Into<String>) {
        writer.event(Event::about(self.component, self.kind, self.meta, type_, reason, message));
    }

    /// Records the outcome of `verb` ("create" or "delete") on the Pod `pod`.
    fn outcome(&self, writer: &dyn Writer, verb: &str, pod: &str, err: Option<&WriteError>) {
        let owner = self.meta.name.as_deref().unwrap_or_default();
        let (success, failure) = match verb {
            "create" => ("SuccessfulCreate", "FailedCreate"),
            _ => ("SuccessfulDelete", "FailedDelete"),
        };
        let (type_, reason, message) = match (self.wording, err) {
            (Wording::PodControl, None) => {
                let done = if verb == "create" { "Created" } else { "Deleted" };
                (EventType::Normal, success, format!("{done} pod: {pod}"))
            }
            (Wording::PodControl, Some(e)) => {
                let doing = if verb == "create" { "creating" } else { "deleting" };
                (EventType::Warning, failure, format!("Error {doing}: {}", e.message))
            }
            (Wording::StatefulSet, None) => {
                (EventType::Normal, success, format!("{verb} Pod {pod} in StatefulSet {owner} successful"))
            }
            (Wording::StatefulSet, Some(e)) => (
                EventType::Warning,
                failure,
                format!("{verb} Pod {pod} in StatefulSet {owner} failed error: {}", e.message),
            ),
        };
        self.event(writer, type_, reason, message);
    }
}

/// Creates one Pod for `owner` and records the outcome; returns the new Pod's metadata.
pub async fn create_pod(writer: &dyn Writer, owner: Owner<'_>, ns: &str, body: Value) -> WriteResult<Value> {
    let asked = body["metadata"]["name"].as_str().or(body["metadata"]["generateName"].as_str()).unwrap_or("");
    let asked = asked.to_string();
    let result = writer.create_metadata(PODS, ns, body).await;
    match &result {
        Ok(pod) => owner.outcome(writer, "create", pod["metadata"]["name"].as_str().unwrap_or(&asked), None),
        // A StatefulSet Pod that exists already is no failure to report.
        Err(e) if e.code == 409 && owner.wording == Wording::StatefulSet => {}
        Err(e) => owner.outcome(writer, "create", &asked, Some(e)),
    }
    result
}

/// Creates `n` Pods for `owner` (the i-th from `body(i)`) in slow-start batches: returns how
/// many were made and the first failure, which stops the batches.
pub async fn create_pods(
    writer: &dyn Writer,
    owner: Owner<'_>,
    ns: &str,
    n: usize,
    body: impl Fn(usize) -> Value,
) -> (usize, Option<WriteError>) {
    let body = &body;
    slow_start_batch(n, |i| create_pod(writer, owner, ns, body(i))).await
}

/// Deletes `victims` (each bound to its uid), expecting their deletions under `key`; a delete
/// that fails is no longer expected. Returns the first failure other than "not found".
pub async fn delete_pods(
    writer: &dyn Writer,
    expectations: &Expectations,
    key: &str,
    owner: Owner<'_>,
    victims: &[Arc<Pod>],
) -> Result<(), WriteError> {
    expectations.expect_deletions(key, victims.iter().map(|p| key_of(p.as_ref())));
    let deletes = victims.iter().map(|p| async move {
        let ns = p.metadata.namespace.as_deref().unwrap_or("");
        let name = p.metadata.name.as_deref().unwrap_or("");
        let opts = Delete { uid: p.metadata.uid.clone(), propagation: None, grace_seconds: None };
        let r = writer.delete(PODS, ns, name, opts).await;
        match &r {
            Ok(()) => owner.outcome(writer, "delete", name, None),
            Err(e) => {
                expectations.deletion_observed(key, &key_of(p.as_ref()));
                if !e.is_not_found() {
                    owner.outcome(writer, "delete", name, Some(e));
                }
            }
        }
        r
    });
    match join_all(deletes).await.into_iter().filter_map(Result::err).find(|e| !e.is_not_found()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
