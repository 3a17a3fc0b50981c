//! Resource handlers: one function per verb, over the registry.

pub(crate) mod body;
pub(crate) mod memo;
mod node;
mod partial;
mod read;
mod sub;
mod table;
mod watch;
mod write;

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use skiff_api::ApiError;

use crate::auth::User;
use crate::request::{Query, ResourceRequest, Verb};
use crate::response::Body;
use crate::server::ApiServer;

/// Dispatches a resource request by verb and subresource.
pub async fn resource(
    server: &Arc<ApiServer>,
    user: &User,
    req: Request<Incoming>,
    r: ResourceRequest,
    query: Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    let _ = user;
    if r.resource.namespaced && r.namespace.is_none() && !matches!(r.verb, Verb::List | Verb::Watch) {
        return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
    }
    if let Some(sub) = &r.subresource {
        if r.resource.subresource(sub).is_none() {
            return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
        }
    }
    let sub = r.subresource.as_deref();
    match (r.verb, sub) {
        (Verb::Get, None | Some("status")) => read::get(server, &r, &query, accept).await,
        (Verb::List, None) => read::list(server, &r, &query, accept).await,
        (Verb::Watch, None) => watch::watch(server, &r, &query, accept).await,
        (Verb::Create, None) => write::create(server, req, &r, &query).await,
        (Verb::Update, None | Some("status")) => write::update(server, req, &r, &query).await,
        (Verb::Patch, None | Some("status")) => write::patch(server, req, &r, &query).await,
        (Verb::Delete, None) => write::delete(server, req, &r, &query).await,
        (Verb::DeleteCollection, None) => write::delete_collection(server, req, &r, &query).await,
        (Verb::Get | Verb::Update | Verb::Patch, Some("scale")) => sub::scale(server, req, &r, &query).await,
        (Verb::Create, Some("binding")) => sub::binding(server, req, &r, &query).await,
        (Verb::Create, Some("eviction")) => sub::eviction(server, req, &r).await,
        (Verb::Get, Some("log")) => node::log(server, &r, &query).await,
        (Verb::Get | Verb::Create, Some("exec" | "attach" | "portforward")) => node::connect(server, req, &r).await,
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({:?} {})",
            r.verb,
            sub.unwrap_or(r.resource.plural)
        ))),
    }
}
