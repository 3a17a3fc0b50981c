//! The agent's own HTTPS server (the kubelet's port, 10250): the API server proxies
//! `kubectl logs`, `exec` and `port-forward` to it. It serves a certificate of its
//! own and accepts only clients with a certificate from the cluster CA (the API server's
//! kubelet client).

pub mod exec;
pub mod logs;
pub mod portforward;
pub mod spdy;
pub mod upgrade;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pods::model::PodRuntime;
use crate::AgentError;

/// TLS for the kubelet port: a fresh self-signed certificate for the node's names, clients
/// verified against the cluster CA.
pub fn tls_config(ca_pem: &str, names: &[String]) -> Result<Arc<rustls::ServerConfig>, AgentError> {
    let tls = |e: &dyn std::fmt::Display| AgentError::Config(format!("kubelet TLS: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rcgen::KeyPair::generate().map_err(|e| tls(&e))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| tls(&e))?;
    for n in names {
        params.subject_alt_names.push(match n.parse::<std::net::IpAddr>() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName(n.clone().try_into().map_err(|e| tls(&e))?),
        });
    }
    let cert = params.self_signed(&key).map_err(|e| tls(&e))?;
    let certs = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| tls(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(ca.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A `metav1.Status` error response.
pub fn error(code: StatusCode, reason: &str, message: String) -> Response {
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()
    });
    (code, [("content-type", "application/json")], status.to_string()).into_response()
}

/// A WebSocket close frame with code 1000: clients read the end of their streams as EOF
/// only after a normal closure.
pub fn normal_close() -> axum::extract::ws::Message {
    axum::extract::ws::Message::Close(Some(axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::NORMAL,
        reason: "".into(),
    }))
}

/// Runs a blocking runtime lookup; its failure as an error response.
async fn lookup<T: Send + 'static>(
    runtime: &Arc<dyn PodRuntime>,
    f: impl FnOnce(&dyn PodRuntime) -> Result<Option<T>, crate::pods::model::RuntimeFailure> + Send + 'static,
    missing: String,
) -> Result<T, Response> {
    let runtime = runtime.clone();
    match tokio::task::spawn_blocking(move || f(runtime.as_ref())).await {
        Ok(Ok(Some(found))) => Ok(found),
        Ok(Ok(None)) => Err(error(StatusCode::NOT_FOUND, "NotFound", missing)),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.message)),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.to_string())),
    }
}

/// `/exec/{namespace}/{pod}/{container}` and `/attach/…`: the running container, then the
/// upgrade.
async fn stream_handler(
    State(runtime): State<Arc<dyn PodRuntime>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let attach = req.uri().path().starts_with("/attach/");
    let request = exec::ExecRequest::parse(req.uri().query().unwrap_or_default());
    if request.command.is_empty() && !attach {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "you must specify at least 1 command".into());
    }
    let missing = format!("container not found (\"{container}\")");
    let found = lookup(
        &runtime,
        move |r| Ok(r.find_container(&namespace, &pod, &container, false)?.filter(|c| r.is_running(&c.id))),
        missing,
    )
    .await;
    let (id, target) = match found {
        Ok(c) if attach => (c.id, exec::Target::Attach { log: c.path }),
        Ok(c) => (c.id, exec::Target::Exec),
        Err(response) => return response,
    };
    upgrade::accept(req, &["v5.channel.k8s.io", "v4.channel.k8s.io"], &["v4.channel.k8s.io"], move |conn| async move {
        match conn {
            upgrade::Upgraded::WebSocket(socket) => exec::over_websocket(*socket, target, runtime, id, request).await,
            upgrade::Upgraded::Spdy(session) => exec::over_spdy(session, target, runtime, id, request).await,
        }
    })
    .await
}

/// `/portForward/{namespace}/{pod}`.
async fn port_forward_handler(
    State(runtime): State<Arc<dyn PodRuntime>>,
    Path((namespace, pod)): Path<(String, String)>,
    req: Request,
) -> Response {
    let name = format!("{namespace}/{pod}");
    let missing = format!("pod {name} has no running sandbox");
    let netns = match lookup(&runtime, move |r| r.pod_netns(&namespace, &pod), missing).await {
        Ok(n) => n,
        Err(response) => return response,
    };
    upgrade::accept(req, &["SPDY/3.1+portforward.k8s.io"], &["portforward.k8s.io"], move |conn| async move {
        let session = match conn {
            upgrade::Upgraded::WebSocket(socket) => spdy::Session::start(portforward::tunnel(*socket)),
            upgrade::Upgraded::Spdy(session) => session,
        };
        portforward::serve(session, netns, name).await
    })
    .await
}

/// The routes.
pub fn router(runtime: Arc<dyn PodRuntime>) -> Router {
    Router::new()
        .route("/containerLogs/{namespace}/{pod}/{container}", get(logs::container_logs))
        .route("/exec/{namespace}/{pod}/{container}", get(stream_handler).post(stream_handler))
        .route("/attach/{namespace}/{pod}/{container}", get(stream_handler).post(stream_handler))
        .route("/portForward/{namespace}/{pod}", get(port_forward_handler).post(port_forward_handler))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(runtime)
}

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, router: Router) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "kubelet port: accept failed");
                continue;
            }
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let service = TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
