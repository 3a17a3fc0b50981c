//! create, update, patch, delete and deletecollection.

use std::borrow::Cow;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};
use skiff_api::{ApiError, At, ResourceInfo};

use super::body;
use super::read::selectors;
use crate::registry::{self, DeleteOptions, ListOptions, WriteOptions};
use crate::request::{Query, ResourceRequest};
use crate::response::{self, Body};
use crate::server::ApiServer;
use crate::{apply, objects};

fn write_options(query: &Query, default_manager: &str) -> Result<WriteOptions, ApiError> {
    Ok(WriteOptions {
        dry_run: query.dry_run()?,
        field_manager: query.get("fieldManager").unwrap_or(default_manager).to_string(),
        validation: query.field_validation()?,
        apply: false,
    })
}

/// The field manager Kubernetes derives from the User-Agent when none is given.
fn default_manager(parts: &http::request::Parts) -> String {
    parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .chars()
        .take(128)
        .collect()
}

pub async fn create(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (parts, bytes) = body::read(req).await?;
    let opts = write_options(query, &default_manager(&parts))?;
    let (obj, warnings) = body::decode_object(r.resource, &body::content_type(&parts), &bytes, opts.validation)?;
    let w = server.registry.create(r.resource, r.namespace.as_deref(), obj, &opts).await?;
    Ok(response::written(StatusCode::CREATED, &w, &warnings))
}

pub async fn update(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (parts, bytes) = body::read(req).await?;
    let opts = write_options(query, &default_manager(&parts))?;
    let (obj, warnings) = body::decode_object(r.resource, &body::content_type(&parts), &bytes, opts.validation)?;
    let name = r.name.as_deref().unwrap_or_default();
    let w = server
        .registry
        .guaranteed_update(r.resource, r.namespace.as_deref(), name, r.kind(), &opts, |_, _| Ok(obj.clone()))
        .await?;
    Ok(response::written(StatusCode::OK, &w, &warnings))
}

/// The four patch types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Result<PatchType, ApiError> {
        match ct {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// kube-apiserver's message for a patch that cannot be applied to the object
/// (`NewGenericServerResponse(422, …)`).
const UNPROCESSABLE_PATCH: &str = "the server rejected our request due to an error in our request";

/// Applies a non-apply patch to `old`.
pub fn apply_patch(res: &ResourceInfo, pt: PatchType, old: &Value, patch: &Value) -> Result<Value, ApiError> {
    let meta = skiff_openapi::registry();
    let result = match pt {
        PatchType::Json => skiff_patch::json_patch(old, patch),
        PatchType::Merge => Ok(skiff_patch::json_merge(old, patch)),
        PatchType::Strategic => skiff_patch::strategic_merge(old, patch, res.definition, meta),
        PatchType::Apply => unreachable!("apply patches go through server-side apply"),
    };
    result.map_err(|e| {
        let code = e.http_status();
        if code == 422 {
            // kube-apiserver answers these (a failed JSON patch operation, a list of lists in a
            // strategic merge patch) with a generic 422 that leaves out what went wrong.
            tracing::debug!(error = %e, "patch not applicable");
            ApiError { details: Some(Box::default()), ..ApiError::new(422, "Invalid", UNPROCESSABLE_PATCH) }
        } else {
            ApiError::new(code, if code == 409 { "Conflict" } else { "BadRequest" }, e.to_string())
        }
    })
}

pub async fn patch(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (parts, bytes) = body::read(req).await?;
    let ct = body::content_type(&parts);
    let pt = PatchType::from_content_type(&ct)?;
    let name = r.name.as_deref().unwrap_or_default().to_string();
    if pt == PatchType::Apply {
        return apply::server_side_apply(server, r, &name, &bytes, query).await;
    }
    let opts = write_options(query, &default_manager(&parts))?;
    let patch = body::parse("application/json", &bytes)?;
    if pt != PatchType::Json && !patch.is_object() {
        return Err(ApiError::bad_request("the body of the request was in an unknown format - must be a JSON object"));
    }
    let res = r.resource;
    // The stored object was checked when written: a clean merge patch cannot make it unclean.
    let clean = pt != PatchType::Json && skiff_api::validation::patch_is_clean(res, &patch);
    let whole = meets_managed_fields(pt, &patch);
    let mut warnings = Vec::new();
    let w = server
        .registry
        .guaranteed_update(res, r.namespace.as_deref(), &name, r.kind(), &opts, |old, rev| {
            let mut current = if whole { Cow::Owned(old.to_value()) } else { Cow::Borrowed(old.tree()) };
            // A JSON patch may test or replace /metadata/resourceVersion: it sees it.
            if pt == PatchType::Json {
                objects::set_resource_version(current.to_mut(), rev);
            }
            let mut new = apply_patch(res, pt, &current, &patch)?;
            body::check_type(res, &new)?;
            if !clean {
                warnings = body::check_fields(res, &mut new, opts.validation)?;
            }
            // A patch pins the resourceVersion only when it sets one explicitly.
            let pinned = patch_sets_rv(pt, &patch);
            if !pinned {
                objects::metadata_mut(&mut new).remove("resourceVersion");
            }
            Ok(new)
        })
        .await?;
    Ok(response::written(StatusCode::OK, &w, &warnings))
}

/// Whether a patch may read or write `metadata.managedFields`, which the registry keeps beside
/// an object's tree: such a patch is applied to the whole object (others need not see them:
/// managedFields left out of the result are kept, as when a patch leaves them alone).
fn meets_managed_fields(pt: PatchType, patch: &Value) -> bool {
    let path = |p: &str| p.is_empty() || p == "/metadata" || p.starts_with("/metadata/managedFields");
    match pt {
        PatchType::Json => patch.as_array().is_some_and(|ops| {
            ops.iter().any(|op| ["path", "from"].iter().any(|k| op.get(*k).and_then(Value::as_str).is_some_and(path)))
        }),
        _ => patch
            .get("metadata")
            .and_then(Value::as_object)
            .is_some_and(|m| m.keys().any(|k| k == "managedFields" || k.starts_with('$'))),
    }
}

fn patch_sets_rv(pt: PatchType, patch: &Value) -> bool {
    match pt {
        PatchType::Json => patch.as_array().is_some_and(|ops| {
            ops.iter().any(|op| {
                op.get("path").and_then(Value::as_str) == Some("/metadata/resourceVersion")
                    && op.get("op").and_then(Value::as_str) != Some("test")
            })
        }),
        _ => patch.at("/metadata/resourceVersion").is_some_and(Value::is_string),
    }
}

fn delete_options(bytes: &[u8], query: &Query) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions::from_body(bytes)?;
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation_policy = Some(p.to_string());
    }
    if query.dry_run()? {
        opts.dry_run = true;
    }
    Ok(opts)
}

pub async fn delete(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (_, bytes) = body::read(req).await?;
    let opts = delete_options(&bytes, query)?;
    let name = r.name.as_deref().unwrap_or_default();
    registry::check_delete(r.resource, name)?;
    let d = server.registry.delete(r.resource, r.namespace.as_deref(), name, &opts).await?;
    if r.resource.kind == "Namespace" && !d.gone && !opts.dry_run {
        server.registry.spawn_namespace_finalizer(name.to_string());
    }
    Ok(response::json(StatusCode::OK, &d.object))
}

pub async fn delete_collection(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (_, bytes) = body::read(req).await?;
    let opts = delete_options(&bytes, query)?;
    let (labels, fields) = selectors(r, query)?;
    let list = server
        .registry
        .list(r.resource, r.namespace.as_deref(), &ListOptions { labels, fields, limit: 0, continue_token: None })
        .await?;
    let mut items = Vec::new();
    for obj in list.items {
        let (Some(name), ns) = (objects::name(&obj), objects::namespace(&obj)) else {
            continue;
        };
        match server.registry.delete(r.resource, ns, name, &opts).await {
            Ok(d) => items.push(d.object),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let out = json!({
        "kind": r.resource.list_kind, "apiVersion": r.resource.api_version(),
        "metadata": {"resourceVersion": list.resource_version.to_string()}, "items": items,
    });
    Ok(response::json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::{apply_patch, PatchType};
    use serde_json::json;

    #[test]
    fn an_inapplicable_patch_is_answered_as_kube_apiserver_does() {
        let pods = skiff_api::resources::lookup("", "v1", "pods").unwrap();
        let pod = json!({"metadata": {"name": "p", "resourceVersion": "7"}});
        let stale = json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "6"}]);
        let status = apply_patch(pods, PatchType::Json, &pod, &stale).unwrap_err().to_status();
        assert_eq!(status["code"], 422);
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(status["message"], "the server rejected our request due to an error in our request");
        assert_eq!(status["details"], json!({}));
        let current = json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "7"}]);
        assert_eq!(apply_patch(pods, PatchType::Json, &pod, &current).unwrap(), pod);
    }
}
