//! ControllerRevisions (`pkg/controller/history`): the templates a StatefulSet or DaemonSet
//! has had, one object each, named `<owner>-<hash>`, numbered by `revision` (the newest is the
//! highest), labelled like the template and controlled by the owner. `kubectl rollout
//! history|undo` reads them; old ones beyond `revisionHistoryLimit` that no Pod runs go.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};
use skiff_api::selector::LabelSelector;

use super::cache::Cache;
use super::claim::ignore_not_found;
use super::writer::{Delete, Kind, PatchBody, Writer, CONTROLLERREVISIONS};
use crate::podutil::{controller_of, controller_ref};
use crate::ControllerError;

/// The label that names a Pod's (or a revision's) template hash.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// One owner's revisions.
pub struct History<'a> {
    pub writer: &'a dyn Writer,
    pub revisions: &'a Cache<ControllerRevision>,
    pub owner_kind: Kind,
    pub owner: &'a ObjectMeta,
    pub selector: &'a LabelSelector,
}

/// The revision data of a template: a strategic merge patch that puts it back
/// (`getPatch`): `{"spec": {"template": {…, "$patch": "replace"}}}`.
fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

impl History<'_> {
    /// The owner's revisions, oldest first.
    fn list(&self) -> Vec<Arc<ControllerRevision>> {
        let ns = self.owner.namespace.as_deref().unwrap_or("");
        let mut list: Vec<Arc<ControllerRevision>> = self
            .revisions
            .list(ns)
            .into_iter()
            .filter(|r| controller_of(&r.metadata).is_some_and(|c| Some(&c.uid) == self.owner.uid.as_ref()))
            .filter(|r| self.selector.matches(crate::podutil::labels(&r.metadata)))
            .collect();
        list.sort_by(|a, b| a.revision.cmp(&b.revision).then_with(|| a.metadata.name.cmp(&b.metadata.name)));
        list
    }

    /// Makes `name` (the revision of `template`, whose hash is `hash`) the newest revision,
    /// then deletes the oldest ones not named in `live` beyond `limit` (default 10). The
    /// template is serialized only when a revision is written.
    pub async fn settle(
        &self,
        name: &str,
        hash: &str,
        template: &PodTemplateSpec,
        live: &HashSet<String>,
        limit: Option<i32>,
    ) -> Result<(), ControllerError> {
        self.record(name, hash, template).await?;
        self.truncate(live, limit.unwrap_or(10).max(0) as usize).await
    }

    /// Makes `name` the newest revision: created if missing, renumbered if an older one (a
    /// rollback); returns its number.
    async fn record(&self, name: &str, hash: &str, template: &PodTemplateSpec) -> Result<i64, ControllerError> {
        let list = self.list();
        let newest = list.last().map_or(0, |r| r.revision);
        let ns = self.owner.namespace.as_deref().unwrap_or("");
        if let Some(existing) = list.iter().find(|r| r.metadata.name.as_deref() == Some(name)) {
            if existing.revision == newest {
                return Ok(newest);
            }
            let patch = json!({"revision": newest + 1});
            self.writer.patch(CONTROLLERREVISIONS, ns, name, false, PatchBody::Merge(patch)).await?;
            return Ok(newest + 1);
        }
        let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        labels.insert(REVISION_HASH_LABEL.into(), hash.into());
        let body = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": self.owner.annotations.clone().unwrap_or_default(),
                "ownerReferences": [controller_ref(self.owner_kind, self.owner)],
            },
            "data": template_patch(template),
            "revision": newest + 1,
        });
        match self.writer.create(CONTROLLERREVISIONS, ns, body).await {
            Ok(_) => Ok(newest + 1),
            // Made meanwhile (our cache is behind): it is there.
            Err(e) if e.code == 409 => Ok(newest + 1),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the oldest revisions not named in `live` beyond `limit` of them (`truncateHistory`).
    async fn truncate(&self, live: &HashSet<String>, limit: usize) -> Result<(), ControllerError> {
        let ns = self.owner.namespace.as_deref().unwrap_or("");
        let old: Vec<Arc<ControllerRevision>> =
            self.list().into_iter().filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or(""))).collect();
        for r in old.iter().take(old.len().saturating_sub(limit)) {
            let name = r.metadata.name.as_deref().unwrap_or("");
            let opts = Delete { uid: r.metadata.uid.clone(), ..Delete::default() };
            ignore_not_found(self.writer.delete(CONTROLLERREVISIONS, ns, name, opts).await)?;
        }
        Ok(())
    }
}
