//! get and list.

use std::sync::Arc;

use http::{Response, StatusCode};
use serde_json::{json, Value};
use skiff_api::selector::{FieldSelector, LabelSelector};
use skiff_api::{ApiError, At};

use super::{partial, table};
use crate::objects;
use crate::registry::ListOptions;
use crate::request::{Query, ResourceRequest};
use crate::response::{self, Body};
use crate::server::ApiServer;

pub async fn get(
    server: &Arc<ApiServer>,
    r: &ResourceRequest,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let name = r.name.as_deref().unwrap_or_default();
    if partial::wanted(accept) {
        let obj = server.registry.get(r.resource, r.namespace.as_deref(), name).await?;
        return Ok(response::json(StatusCode::OK, &partial::object(&obj)));
    }
    if !table::wanted(accept) {
        let kv = server.registry.get_raw(r.resource, r.namespace.as_deref(), name).await?;
        return Ok(response::json_bytes(StatusCode::OK, objects::raw_with_rv(&kv)?));
    }
    let obj = server.registry.get(r.resource, r.namespace.as_deref(), name).await?;
    let include = table::Include::parse(query.get("includeObject"));
    let rv = obj.at("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
    let t = table::build(r.resource, std::slice::from_ref(&obj), include, true, json!({"resourceVersion": rv}));
    Ok(response::json(StatusCode::OK, &t))
}

/// Label and field selectors from the query, checked against the resource.
pub fn selectors(r: &ResourceRequest, query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = match query.get("labelSelector") {
        Some(s) => LabelSelector::parse(s)?,
        None => LabelSelector::everything(),
    };
    let fields = match query.get("fieldSelector") {
        Some(s) => FieldSelector::parse(s)?,
        None => FieldSelector::everything(),
    };
    fields.validate_for(r.resource)?;
    Ok((labels, fields))
}

pub async fn list(
    server: &Arc<ApiServer>,
    r: &ResourceRequest,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(r, query)?;
    let limit = query.int("limit")?.unwrap_or(0).max(0) as usize;
    let opts = ListOptions { labels, fields, limit, continue_token: query.get("continue").map(String::from) };
    let out = server.registry.list_raw(r.resource, r.namespace.as_deref(), &opts).await?;
    let mut meta = json!({"resourceVersion": out.resource_version.to_string()});
    if let Some(c) = &out.continue_token {
        meta["continue"] = json!(c);
    }
    if partial::wanted(accept) {
        let items: Vec<Value> = out.items.iter().map(objects::decode).collect::<Result<_, _>>()?;
        return Ok(response::json(StatusCode::OK, &partial::list(&items, meta)));
    }
    if table::wanted(accept) {
        let include = table::Include::parse(query.get("includeObject"));
        let items: Vec<Value> = out.items.iter().map(objects::decode).collect::<Result<_, _>>()?;
        return Ok(response::json(StatusCode::OK, &table::build(r.resource, &items, include, true, meta)));
    }
    // Items are spliced in as stored: no parse and re-encode per object.
    let head = json!({"kind": r.resource.list_kind, "apiVersion": r.resource.api_version(), "metadata": meta});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let size = head.len() + out.items.iter().map(|kv| kv.value.len() + 32).sum::<usize>() + 16;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(&head[..head.len() - 1]);
    body.extend_from_slice(b",\"items\":[");
    for (i, kv) in out.items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&objects::raw_with_rv(kv)?);
    }
    body.extend_from_slice(b"]}");
    Ok(response::json_bytes(StatusCode::OK, body))
}
