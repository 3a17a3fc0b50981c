//! Taking over an HTTP connection for a stream protocol: WebSocket (with a subprotocol) or
//! SPDY/3.1 (with `X-Stream-Protocol-Version`), as Kubernetes' streaming clients ask for them.

use std::future::Future;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use hyper_util::rt::TokioIo;

use super::spdy::Session;

/// The connection once upgraded.
pub enum Upgraded {
    WebSocket(Box<WebSocket>),
    Spdy(Session),
}

const PROTOCOL_HEADER: &str = "x-stream-protocol-version";

/// The first of the client's protocols that the server supports (the client's order, as
/// Kubernetes' handshake does).
pub fn negotiate(client: &[String], server: &[&str]) -> Option<String> {
    client.iter().find(|c| server.contains(&c.as_str())).cloned()
}

/// Upgrades `req` to WebSocket (offering `websocket`) or SPDY (offering `spdy`) and runs
/// `then` on the connection; anything else is answered 400, no common protocol 403.
pub async fn accept<F, Fut>(req: Request, websocket: &'static [&'static str], spdy: &[&str], then: F) -> Response
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let upgrade =
        req.headers().get(header::UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    if upgrade.contains("websocket") {
        let upgrade = match WebSocketUpgrade::from_request(req, &()).await {
            Ok(u) => u,
            Err(rejection) => return rejection.into_response(),
        };
        return upgrade
            .protocols(websocket.iter().copied())
            .on_upgrade(|socket| then(Upgraded::WebSocket(Box::new(socket))));
    }
    if !upgrade.contains("spdy/3.1") {
        return (StatusCode::BAD_REQUEST, "Upgrade request required").into_response();
    }
    let offered: Vec<String> = req
        .headers()
        .get_all(PROTOCOL_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    let Some(protocol) = negotiate(&offered, spdy) else {
        let message = format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports {spdy:?}"
        );
        return (StatusCode::FORBIDDEN, message).into_response();
    };
    let mut req = req;
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(io) => then(Upgraded::Spdy(Session::start(TokioIo::new(io)))).await,
            Err(e) => tracing::warn!(error = %e, "SPDY upgrade failed"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    if let Ok(v) = HeaderValue::from_str(&protocol) {
        headers.insert(PROTOCOL_HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_order_wins() {
        let client = vec!["v4.channel.k8s.io".to_string(), "v3.channel.k8s.io".to_string()];
        assert_eq!(
            negotiate(&client, &["v3.channel.k8s.io", "v4.channel.k8s.io"]).as_deref(),
            Some("v4.channel.k8s.io")
        );
        assert_eq!(negotiate(&client, &["portforward.k8s.io"]), None);
    }
}
