//! The request entry point: health and version endpoints, authentication, then discovery,
//! OpenAPI or a resource handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;
use skiff_api::ApiError;
use tracing::Instrument;

use crate::auth::{Authenticator, User};
use crate::discovery::{Discovery, Format};
use crate::handlers;
use crate::registry::Registry;
use crate::request::{parse_target, Query, Target};
use crate::response::{self, Body};

/// The Kubernetes version skiff's API corresponds to.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";
pub const GIT_VERSION: &str = concat!("v1.33.0+skiff-", env!("CARGO_PKG_VERSION"));

/// Shared state of the API server.
pub struct ApiServer {
    pub(crate) registry: Registry,
    pub(crate) auth: Authenticator,
    pub(crate) discovery: Discovery,
    pub(crate) kubelet: crate::kubelet::KubeletClient,
    /// Decoded and encoded forms of recent store events, shared by all watchers.
    pub(crate) watch_memo: crate::handlers::memo::Memo,
    ready: AtomicBool,
}

impl ApiServer {
    pub fn new(
        registry: Registry,
        auth: Authenticator,
        server_address: &str,
        kubelet: crate::kubelet::KubeletClient,
    ) -> Self {
        ApiServer {
            registry,
            auth,
            discovery: Discovery::build(server_address),
            kubelet,
            watch_memo: Default::default(),
            ready: AtomicBool::new(false),
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    /// Handles one request.
    pub async fn handle(self: &Arc<Self>, cert_user: Option<&User>, req: Request<Incoming>) -> Response<Body> {
        let span = tracing::debug_span!("request", method = %req.method(), path = %req.uri().path());
        async move {
            let resp = self.route(cert_user, req).await;
            tracing::debug!(status = resp.status().as_u16(), "response");
            resp
        }
        .instrument(span)
        .await
    }

    async fn route(self: &Arc<Self>, cert_user: Option<&User>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        match path.as_str() {
            "/healthz" | "/livez" | "/healthz/ping" | "/livez/ping" => {
                return response::typed(StatusCode::OK, "text/plain; charset=utf-8", "ok")
            }
            "/readyz" | "/readyz/ping" => {
                return if self.ready.load(Ordering::SeqCst) {
                    response::typed(StatusCode::OK, "text/plain; charset=utf-8", "ok")
                } else {
                    response::typed(StatusCode::SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", "not ready")
                };
            }
            "/version" => return response::json(StatusCode::OK, &version()),
            _ => {}
        }
        let Some(user) = self.auth.authenticate(cert_user, req.headers()) else {
            return response::error(&ApiError::unauthorized());
        };
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let query = Query::parse(req.uri().query());
        if path.starts_with("/openapi/") {
            return crate::openapi::serve(&path, &query, &accept);
        }
        if !(path == "/api" || path.starts_with("/api/") || path == "/apis" || path.starts_with("/apis/")) {
            return response::error(&ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
        let target = parse_target(req.method(), &path, &query);
        let result = match target {
            Target::Root { legacy } => {
                let format = Format::negotiate(&accept);
                let mut r = response::typed(
                    StatusCode::OK,
                    format.content_type(),
                    self.discovery.root(legacy, format).to_vec(),
                );
                r.headers_mut().insert(header::VARY, http::HeaderValue::from_static("Accept"));
                Ok(r)
            }
            Target::Group(g) => match self.discovery.group(&g) {
                Some(b) => Ok(response::json_bytes(StatusCode::OK, b.to_vec())),
                None => Err(not_found()),
            },
            Target::GroupVersion { group, version } => match self.discovery.resource_list(&group, &version) {
                Some(b) => Ok(response::json_bytes(StatusCode::OK, b.to_vec())),
                None => Err(not_found()),
            },
            Target::Resource(r) => {
                if *req.method() == Method::OPTIONS {
                    Err(ApiError::method_not_allowed("OPTIONS is not supported"))
                } else {
                    handlers::resource(self, &user, req, r, query, &accept).await
                }
            }
            Target::NotFound => Err(not_found()),
        };
        result.unwrap_or_else(|e| response::error(&e))
    }
}

fn not_found() -> ApiError {
    ApiError::new(404, "NotFound", "the server could not find the requested resource")
}

/// The `/version` document.
pub fn version() -> serde_json::Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "unknown",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", a => a }),
    })
}
