//! Claiming dependents (client-go's `ControllerRefManager`): of the candidates in the owner's
//! namespace, keep those it controls and still selects, adopt selected orphans (a controller
//! reference patched in, bound to the dependent's uid), and release controlled dependents
//! the selector no longer matches. An owner being deleted adopts nothing and releases nothing.
//! Before its first adoption the owner is read again from the API (client-go's
//! `RecheckDeletionTimestamp`): a cache that has not yet seen the owner's deletion must not adopt
//! what the garbage collector has just orphaned.

use std::sync::Arc;

use serde_json::json;

use super::writer::{Kind, PatchBody, WriteError, Writer};
use crate::podutil::{controller_of, controller_ref, labels};
use crate::ControllerError;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use skiff_api::selector::LabelSelector;

/// Who claims, and what.
pub struct Claim<'a> {
    pub writer: &'a dyn Writer,
    /// The owner's kind and metadata.
    pub owner_kind: Kind,
    pub owner: &'a ObjectMeta,
    pub selector: &'a LabelSelector,
    /// The kind of the candidates.
    pub kind: Kind,
}

impl Claim<'_> {
    /// The candidates the owner controls after adopting and releasing.
    pub async fn run<K: kube::Resource>(&self, candidates: Vec<Arc<K>>) -> Result<Vec<Arc<K>>, ControllerError> {
        let ns = self.owner.namespace.as_deref().unwrap_or("");
        let uid = self.owner.uid.as_deref().unwrap_or("");
        let deleting = self.owner.deletion_timestamp.is_some();
        let mut owned = Vec::new();
        let mut rechecked = false;
        for obj in candidates {
            let meta = obj.meta();
            let matches = !self.selector.is_empty() && self.selector.matches(labels(meta));
            let obj_uid = meta.uid.clone().unwrap_or_default();
            let name = meta.name.clone().unwrap_or_default();
            match controller_of(meta) {
                Some(r) if r.uid != uid => {}
                Some(_) if matches => owned.push(obj),
                Some(_) if deleting => {}
                Some(_) => {
                    let patch = json!({"metadata": {"uid": obj_uid,
                        "ownerReferences": [{"$patch": "delete", "uid": uid}]}});
                    let r = self.writer.patch(self.kind, ns, &name, false, PatchBody::Strategic(patch)).await;
                    ignore_not_found(r.map(drop))?;
                }
                None if deleting || !matches || meta.deletion_timestamp.is_some() => {}
                None => {
                    if !rechecked {
                        self.can_adopt().await?;
                        rechecked = true;
                    }
                    let patch = json!({"metadata": {"uid": obj_uid,
                        "ownerReferences": [controller_ref(self.owner_kind, self.owner)]}});
                    let r = self.writer.patch(self.kind, ns, &name, false, PatchBody::Strategic(patch)).await;
                    if ignore_not_found(r.map(drop))? {
                        owned.push(obj);
                    }
                }
            }
        }
        Ok(owned)
    }

    /// Whether the owner, read afresh, is still the one the cache holds and not being deleted.
    async fn can_adopt(&self) -> Result<(), ControllerError> {
        let ns = self.owner.namespace.as_deref().unwrap_or("");
        let name = self.owner.name.as_deref().unwrap_or("");
        let want = self.owner.uid.as_deref().unwrap_or("");
        let fresh = self.writer.get(self.owner_kind, ns, name).await?;
        let meta = fresh.as_ref().map(|o| &o["metadata"]);
        let uid = meta.and_then(|m| m["uid"].as_str()).unwrap_or("");
        if uid != want {
            return Err(ControllerError::CannotAdopt(format!(
                "original {} {ns}/{name} is gone: got uid {uid:?}, wanted {want:?}",
                self.owner_kind.kind
            )));
        }
        if let Some(at) = meta.and_then(|m| m["deletionTimestamp"].as_str()) {
            return Err(ControllerError::CannotAdopt(format!(
                "{} {ns}/{name} has just been deleted at {at}",
                self.owner_kind.kind
            )));
        }
        Ok(())
    }
}

/// Ok(true) when the write happened, Ok(false) when the object was gone.
pub fn ignore_not_found(r: Result<(), WriteError>) -> Result<bool, ControllerError> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(ControllerError::Write(e)),
    }
}
