//! A minimal HTTPS client for benchmarks: one HTTP/1.1 connection per worker, authenticated
//! with the admin client certificate from the kubeconfig.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// Errors of the benchmark client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("request: {0}")]
    Request(#[from] http::Error),
    #[error("status {0}: {1}")]
    Status(u16, String),
}

/// Where the server is and how to authenticate.
#[derive(Clone)]
pub struct Target {
    pub addr: String,
    tls: Arc<rustls::ClientConfig>,
}

fn field<'a>(kubeconfig: &'a str, key: &str) -> Result<&'a str, ClientError> {
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .map(str::trim)
        .ok_or_else(|| ClientError::Kubeconfig(format!("no {key}")))
}

fn pem(kubeconfig: &str, key: &str) -> Result<Vec<u8>, ClientError> {
    base64::engine::general_purpose::STANDARD
        .decode(field(kubeconfig, key)?)
        .map_err(|e| ClientError::Kubeconfig(e.to_string()))
}

impl Target {
    /// Reads the server URL and credentials from a skiff admin kubeconfig.
    pub fn from_kubeconfig(text: &str) -> Result<Target, ClientError> {
        let server = field(text, "server:")?;
        let addr = server.trim_start_matches("https://").to_string();
        let ca = pem(text, "certificate-authority-data:")?;
        let cert = pem(text, "client-certificate-data:")?;
        let key = pem(text, "client-key-data:")?;
        let bad = |e: std::io::Error| ClientError::Kubeconfig(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut ca.as_slice()) {
            roots.add(c.map_err(bad)?)?;
        }
        let chain = rustls_pemfile::certs(&mut cert.as_slice()).collect::<Result<Vec<_>, _>>().map_err(bad)?;
        let key = rustls_pemfile::private_key(&mut key.as_slice())
            .map_err(bad)?
            .ok_or_else(|| ClientError::Kubeconfig("no client key".into()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(Target { addr, tls: Arc::new(tls) })
    }

    /// Opens one connection.
    pub async fn connect(&self) -> Result<Conn, ClientError> {
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("127.0.0.1").map_err(|e| ClientError::Kubeconfig(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { send, host: self.addr.clone() })
    }
}

/// One HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    /// Sends a request and reads the whole body; non-2xx statuses are errors.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<Bytes>) -> Result<Bytes, ClientError> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Full::new(body.unwrap_or_default()))?;
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(ClientError::Status(status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()));
        }
        Ok(bytes)
    }

    /// Sends a request and returns the streaming response (for watches).
    pub async fn stream(&mut self, path: &str) -> Result<hyper::body::Incoming, ClientError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("host", &self.host)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))?;
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        Ok(resp.into_body())
    }
}

/// What the benchmarks read of a Pod watch event. Only these fields are built; the rest of
/// each event is parsed over, so that the watching benchmark takes as little CPU as it can
/// from the cluster it measures.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PodEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub object: PodFacts,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PodFacts {
    pub metadata: PodName,
    pub spec: PodNode,
    pub status: PodPhase,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PodName {
    pub name: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodNode {
    pub node_name: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PodPhase {
    pub phase: String,
}

/// Watches `path` on a connection of its own, calling `on_event` with each event (decoded as
/// `T`) until the stream ends.
pub async fn watch<T: serde::de::DeserializeOwned>(
    target: &Target,
    path: &str,
    mut on_event: impl FnMut(T) + Send + 'static,
) -> Result<(), ClientError> {
    use http_body_util::BodyExt as _;
    let mut conn = target.connect().await?;
    let mut body = conn.stream(path).await?;
    tokio::spawn(async move {
        let _conn = conn;
        let mut buf = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            buf.extend_from_slice(&data);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                if let Ok(ev) = serde_json::from_slice(&line) {
                    on_event(ev);
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::PodEvent;

    #[test]
    fn pod_events_keep_what_the_benchmarks_read() {
        let line = r#"{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"p","managedFields":[{"a":1}]},
            "spec":{"containers":[{"name":"c"}],"nodeName":"n-1"},"status":{"phase":"Running","conditions":[]}}}"#;
        let ev: PodEvent = serde_json::from_str(line).unwrap();
        assert_eq!((ev.kind.as_str(), ev.object.metadata.name.as_str()), ("MODIFIED", "p"));
        assert_eq!((ev.object.spec.node_name.as_str(), ev.object.status.phase.as_str()), ("n-1", "Running"));
        let unbound: PodEvent = serde_json::from_str(r#"{"type":"ADDED","object":{"metadata":{"name":"q"}}}"#).unwrap();
        assert!(unbound.object.spec.node_name.is_empty());
    }
}
