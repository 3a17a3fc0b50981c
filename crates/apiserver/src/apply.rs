//! Server-side apply (`application/apply-patch+yaml`): merge the applied configuration into
//! the live object under the field manager, create the object when missing, report conflicts
//! with other managers as 409.

use std::sync::Arc;

use http::{Response, StatusCode};
use serde_json::{json, Value};
use skiff_api::{ApiError, At, Cause, ResourceInfo};

use crate::handlers::body;
use crate::objects;
use crate::registry::WriteOptions;
use crate::request::{Query, ResourceRequest};
use crate::response::{self, Body};
use crate::server::ApiServer;

fn conflict(res: &ResourceInfo, name: &str, e: skiff_patch::ApplyError) -> ApiError {
    match e {
        skiff_patch::ApplyError::Conflicts(conflicts) => {
            let message = skiff_patch::ApplyError::Conflicts(conflicts.clone()).to_string();
            let causes = conflicts
                .iter()
                .map(|c| Cause::new("FieldManagerConflict", c.field.clone(), c.cause_message()))
                .collect();
            ApiError::new(409, "Conflict", message).with_details(res.group, res.plural, name).with_causes(causes)
        }
        other => ApiError::bad_request(other.to_string()),
    }
}

pub async fn server_side_apply(
    server: &Arc<ApiServer>,
    r: &ResourceRequest,
    name: &str,
    bytes: &[u8],
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let res = r.resource;
    let Some(manager) = query.get("fieldManager").map(String::from) else {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![Cause::required("fieldManager").with_message("Required value: is required for apply patch")],
        ));
    };
    let force = query.bool("force");
    let opts = WriteOptions {
        dry_run: query.dry_run()?,
        field_manager: manager.clone(),
        validation: query.field_validation()?,
        apply: true,
    };
    let mut applied = body::parse("application/yaml", bytes)?;
    body::check_type(res, &applied)?;
    let warnings = body::check_fields(res, &mut applied, opts.validation)?;
    match objects::name(&applied) {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )))
        }
        _ => {}
    }
    let meta = skiff_openapi::registry();
    loop {
        let live = match server.registry.get(res, r.namespace.as_deref(), name).await {
            Ok(v) => Some(v),
            Err(e) if e.code == 404 => None,
            Err(e) => return Err(e),
        };
        let Some(_) = live else {
            let now = objects::now_rfc3339();
            let mut obj = skiff_patch::apply(None, &applied, &manager, force, res.definition, meta, &now)
                .map_err(|e| conflict(res, name, e))?;
            objects::metadata_mut(&mut obj).insert("name".into(), json!(name));
            match server.registry.create(res, r.namespace.as_deref(), obj, &opts).await {
                Ok(w) => {
                    return Ok(response::written(StatusCode::CREATED, &w, &warnings));
                }
                Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                Err(e) => return Err(e),
            }
        };
        let result = server
            .registry
            .guaranteed_update(res, r.namespace.as_deref(), name, r.kind(), &opts, |old, _| {
                let now = objects::now_rfc3339();
                // Apply reads and writes the managedFields: it is given the whole object.
                let old = old.to_value();
                let mut new = skiff_patch::apply(Some(&old), &applied, &manager, force, res.definition, meta, &now)
                    .map_err(|e| conflict(res, name, e))?;
                let pinned = applied.at("/metadata/resourceVersion").and_then(Value::as_str).map(String::from);
                match pinned {
                    Some(rv) => objects::metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv)),
                    None => objects::metadata_mut(&mut new).remove("resourceVersion"),
                };
                Ok(new)
            })
            .await;
        match result {
            Ok(w) => {
                return Ok(response::written(StatusCode::OK, &w, &warnings));
            }
            // Deleted between the get and the update: apply creates it.
            Err(e) if e.code == 404 => continue,
            Err(e) => return Err(e),
        }
    }
}
