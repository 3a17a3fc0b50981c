//! Delete: preconditions, graceful deletion of Pods, finalizers and deletionTimestamp,
//! propagation policies (the garbage collector acts on the finalizers they add).

use serde_json::{json, Value};
use skiff_api::{ApiError, At, ResourceInfo};
use skiff_store::StoreError;

use super::{store_error, Registry};
use crate::objects;

/// `metav1.DeleteOptions`, merged from the body and the query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// `Orphan`, `Background` or `Foreground`.
    pub propagation_policy: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads a DeleteOptions body (empty is fine).
    pub fn from_body(body: &[u8]) -> Result<DeleteOptions, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(DeleteOptions::default());
        }
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions body: {e}")))?;
        let mut o = DeleteOptions {
            grace_period_seconds: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            propagation_policy: v.get("propagationPolicy").and_then(Value::as_str).map(String::from),
            precondition_uid: v.at("/preconditions/uid").and_then(Value::as_str).map(String::from),
            precondition_rv: v.at("/preconditions/resourceVersion").and_then(Value::as_str).map(String::from),
            dry_run: v.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == "All")),
        };
        if o.propagation_policy.is_none() {
            match v.get("orphanDependents").and_then(Value::as_bool) {
                Some(true) => o.propagation_policy = Some("Orphan".into()),
                Some(false) => o.propagation_policy = Some("Background".into()),
                None => {}
            }
        }
        Ok(o)
    }

    fn validate(&self) -> Result<(), ApiError> {
        if let Some(p) = &self.propagation_policy {
            if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
                let cause = skiff_api::Cause::not_supported(
                    "propagationPolicy",
                    &json!(p),
                    &["Foreground", "Background", "Orphan"],
                );
                return Err(ApiError::invalid("", "DeleteOptions", "", vec![cause]));
            }
        }
        Ok(())
    }
}

/// The outcome of a delete.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The object as deleted, or as now terminating.
    pub object: Value,
    /// False when the object remains (graceful deletion or finalizers pending).
    pub gone: bool,
}

impl Registry {
    /// Deletes one object per `opts`.
    pub async fn delete(
        &self,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        opts.validate()?;
        let key = res.key(ns, name);
        loop {
            let Some(cur) = self.store.get(&key).await.map_err(store_error)? else {
                return Err(ApiError::not_found(res.group, res.plural, name));
            };
            let obj = objects::decode(&cur)?;
            if let Some(uid) = &opts.precondition_uid {
                if objects::uid(&obj) != Some(uid.as_str()) {
                    return Err(ApiError::conflict(
                        res.group,
                        res.plural,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                            objects::uid(&obj).unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_rv {
                if objects::parse_rv(rv).ok() != Some(cur.mod_revision) {
                    return Err(ApiError::conflict(
                        res.group,
                        res.plural,
                        name,
                        &format!(
                            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                            cur.mod_revision
                        ),
                    ));
                }
            }
            let (next, gone) = plan(res, &obj, opts);
            if opts.dry_run {
                return Ok(Deleted { object: next.unwrap_or(obj), gone });
            }
            let result = match &next {
                None => self.store.delete(&key, cur.mod_revision).await,
                Some(n) if n == &obj => return Ok(Deleted { object: obj, gone: false }),
                Some(n) => self.store.update(&key, objects::encode(n), cur.mod_revision).await,
            };
            match result {
                Ok(kv) => {
                    let mut out = next.unwrap_or(obj);
                    objects::set_resource_version(&mut out, kv.mod_revision);
                    return Ok(Deleted { object: out, gone });
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound(_)) => return Err(ApiError::not_found(res.group, res.plural, name)),
                Err(e) => return Err(store_error(e)),
            }
        }
    }
}

/// What a delete does to `obj`: `(None, true)` removes it now; `(Some(updated), false)` marks
/// it terminating (deletionTimestamp, grace period, propagation finalizers).
fn plan(res: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> (Option<Value>, bool) {
    let mut next = obj.clone();
    let mut finalizers = objects::finalizers(obj);
    let policy = opts.propagation_policy.as_deref();
    let terminating = obj.at("/metadata/deletionTimestamp").is_some();
    if !terminating {
        match policy {
            Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => finalizers.push("orphan".into()),
            Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
                finalizers.push("foregroundDeletion".into())
            }
            _ => {}
        }
    }
    let grace = grace_period(res, obj, opts);
    if is_namespace(res) && has_spec_finalizers(obj) {
        // The namespace finalizer empties it first (see `namespaces.rs`).
        let meta = objects::metadata_mut(&mut next);
        if !terminating {
            meta.insert("deletionTimestamp".into(), json!(objects::now_rfc3339()));
        }
        if !finalizers.is_empty() {
            meta.insert("finalizers".into(), json!(finalizers));
        }
        next["status"] = json!({"phase": "Terminating"});
        return (Some(next), false);
    }
    if finalizers.is_empty() && grace == 0 {
        return (None, true);
    }
    let meta = objects::metadata_mut(&mut next);
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), json!(finalizers));
    }
    let now = chrono::Utc::now();
    let current_grace = meta.get("deletionGracePeriodSeconds").and_then(Value::as_i64);
    // A shorter grace period replaces a longer one; a longer one never extends it.
    if !terminating || current_grace.is_some_and(|g| grace < g) {
        let at = now + chrono::Duration::seconds(grace);
        meta.insert("deletionTimestamp".into(), json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
            if grace > 0 {
                meta.insert("generation".into(), json!(g + 1));
            }
        }
    }
    if grace == 0 && finalizers.is_empty() {
        return (None, true);
    }
    (Some(next), false)
}

fn is_namespace(res: &ResourceInfo) -> bool {
    res.group.is_empty() && res.kind == "Namespace"
}

fn has_spec_finalizers(obj: &Value) -> bool {
    obj.at("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
}

/// Only Pods that run on a node get a grace period; everything else is deleted at once.
fn grace_period(res: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
    if !(res.group.is_empty() && res.kind == "Pod") {
        return 0;
    }
    let unscheduled = obj.at("/spec/nodeName").and_then(Value::as_str).is_none_or(str::is_empty);
    let phase = obj.at("/status/phase").and_then(Value::as_str).unwrap_or("");
    if unscheduled || matches!(phase, "Succeeded" | "Failed") {
        return 0;
    }
    let spec_grace = obj.at("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    let g = opts.grace_period_seconds.unwrap_or(spec_grace);
    // Kubernetes turns negative and (with --force) zero into immediate deletion; 0 stays 0.
    g.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> &'static ResourceInfo {
        skiff_api::resources::lookup("", "v1", "pods").unwrap()
    }

    #[test]
    fn unscheduled_pod_goes_at_once() {
        let pod = json!({"metadata": {"name": "a"}, "spec": {}});
        assert_eq!(plan(pods(), &pod, &DeleteOptions::default()), (None, true));
    }

    #[test]
    fn scheduled_pod_terminates_gracefully() {
        let pod = json!({"metadata": {"name": "a"}, "spec": {"nodeName": "n", "terminationGracePeriodSeconds": 30}});
        let (next, gone) = plan(pods(), &pod, &DeleteOptions::default());
        let next = next.unwrap();
        assert!(!gone);
        assert_eq!(next["metadata"]["deletionGracePeriodSeconds"], 30);
        let forced = DeleteOptions { grace_period_seconds: Some(0), ..Default::default() };
        assert_eq!(plan(pods(), &next, &forced), (None, true));
    }

    #[test]
    fn finalizers_keep_the_object() {
        let cm = skiff_api::resources::lookup("", "v1", "configmaps").unwrap();
        let obj = json!({"metadata": {"name": "a", "finalizers": ["x"]}});
        let (next, gone) = plan(cm, &obj, &DeleteOptions::default());
        assert!(!gone);
        assert!(next.unwrap()["metadata"]["deletionTimestamp"].is_string());
        let fg = DeleteOptions { propagation_policy: Some("Foreground".into()), ..Default::default() };
        let (next, _) = plan(cm, &json!({"metadata": {"name": "a"}}), &fg);
        assert_eq!(next.unwrap()["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    }
}
