//! Subresources beyond status: scale, binding and eviction.

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};
use skiff_api::selector::LabelSelector;
use skiff_api::status::success_status;
use skiff_api::ApiError;
use skiff_api::ResourceInfo;

use super::body;
use super::write::{apply_patch, PatchType};
use skiff_api::At;

use crate::objects;
use crate::registry::{DeleteOptions, UpdateKind, WriteOptions};
use crate::request::{Query, ResourceRequest};
use crate::response::{self, Body};
use crate::server::ApiServer;

/// The autoscaling/v1 Scale of a scalable object of resource `res`.
fn scale_of(res: &ResourceInfo, obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut m = serde_json::Map::new();
    for f in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = meta.get(f) {
            m.insert(f.into(), v.clone());
        }
    }
    // A ReplicationController's selector is a map of labels, not a LabelSelector.
    let map_selector = res.kind == "ReplicationController";
    let selector = obj
        .at("/spec/selector")
        .map(|s| if map_selector { json!({"matchLabels": s}) } else { s.clone() })
        .and_then(|s| LabelSelector::from_label_selector(&s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": m,
        "spec": {"replicas": obj.at("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": obj.at("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}

pub async fn scale(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    let ns = r.namespace.as_deref();
    if *req.method() == Method::GET {
        let obj = server.registry.get(r.resource, ns, name).await?;
        return Ok(response::json(StatusCode::OK, &scale_of(r.resource, &obj)));
    }
    let method = req.method().clone();
    let (parts, bytes) = body::read(req).await?;
    let ct = body::content_type(&parts);
    let input = if method == Method::PATCH {
        let pt = PatchType::from_content_type(&ct)?;
        if pt == PatchType::Apply {
            return Err(ApiError::unsupported_media_type(&ct));
        }
        Some((pt, body::parse("application/json", &bytes)?))
    } else {
        None
    };
    let put = if input.is_none() { Some(body::parse(&ct, &bytes)?) } else { None };
    let opts = WriteOptions {
        dry_run: query.dry_run()?,
        field_manager: query.get("fieldManager").unwrap_or("kubectl").to_string(),
        validation: query.field_validation()?,
        apply: false,
    };
    let scale_res = skiff_api::resources::lookup("", "v1", "pods").expect("pods are served");
    let w = server
        .registry
        .guaranteed_update(r.resource, ns, name, UpdateKind::Main, &opts, |old, rev| {
            let mut current = scale_of(r.resource, old);
            objects::set_resource_version(&mut current, rev);
            let new_scale = match (&input, &put) {
                (Some((pt, patch)), _) => apply_patch(scale_res, *pt, &current, patch)?,
                (None, Some(body)) => body.clone(),
                (None, None) => current.clone(),
            };
            let replicas = new_scale.at("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    vec![skiff_api::Cause::invalid(
                        "spec.replicas",
                        &json!(replicas),
                        "must be greater than or equal to 0",
                    )],
                ));
            }
            let mut new = old.tree().clone();
            new["spec"]["replicas"] = json!(replicas);
            match objects::resource_version(&new_scale) {
                Some(rv) => objects::metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv)),
                None => objects::metadata_mut(&mut new).remove("resourceVersion"),
            };
            Ok(new)
        })
        .await?;
    Ok(response::json(StatusCode::OK, &scale_of(r.resource, &w.object_with_rv())))
}

/// `pods/binding`: assigns a Pod to a node (what the scheduler does).
pub async fn binding(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (parts, bytes) = body::read(req).await?;
    let binding = body::parse(&body::content_type(&parts), &bytes)?;
    let name = r.name.as_deref().unwrap_or_default();
    let node = binding.at("/target/name").and_then(Value::as_str).unwrap_or("").to_string();
    if node.is_empty() {
        return Err(ApiError::invalid("", "Binding", name, vec![skiff_api::Cause::required("target.name")]));
    }
    let opts = WriteOptions { dry_run: query.dry_run()?, ..WriteOptions::default() };
    server
        .registry
        .guaranteed_update(r.resource, r.namespace.as_deref(), name, UpdateKind::System, &opts, |old, _| {
            if old.at("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::conflict("", "pods", name, "pod is being deleted, cannot be assigned to a host"));
            }
            match old.at("/spec/nodeName").and_then(Value::as_str) {
                Some(n) if !n.is_empty() => {
                    return Err(ApiError::conflict(
                        "",
                        "pods",
                        name,
                        &format!("pod {name} is already assigned to node {n:?}"),
                    ))
                }
                _ => {}
            }
            let mut new = old.tree().clone();
            new["spec"]["nodeName"] = json!(node);
            set_condition(
                &mut new,
                json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                                           "lastTransitionTime": objects::now_rfc3339()}),
            );
            objects::metadata_mut(&mut new).remove("resourceVersion");
            Ok(new)
        })
        .await?;
    Ok(response::json(StatusCode::CREATED, &success_status("", "pods", name, None)))
}

fn set_condition(pod: &mut Value, cond: Value) {
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let conds = pod["status"].as_object_mut().expect("status is an object").entry("conditions").or_insert(json!([]));
    if let Some(list) = conds.as_array_mut() {
        list.retain(|c| c.get("type") != cond.get("type"));
        list.push(cond);
    }
}

/// `pods/eviction`: deletes the Pod with the eviction's delete options.
pub async fn eviction(
    server: &Arc<ApiServer>,
    req: Request<Incoming>,
    r: &ResourceRequest,
) -> Result<Response<Body>, ApiError> {
    let (parts, bytes) = body::read(req).await?;
    let ev = body::parse(&body::content_type(&parts), &bytes)?;
    let opts = match ev.get("deleteOptions") {
        Some(d) => DeleteOptions::from_body(d.to_string().as_bytes())?,
        None => DeleteOptions::default(),
    };
    let name = r.name.as_deref().unwrap_or_default();
    server.registry.delete(r.resource, r.namespace.as_deref(), name, &opts).await?;
    Ok(response::json(StatusCode::CREATED, &success_status("policy", "Eviction", name, None)))
}
