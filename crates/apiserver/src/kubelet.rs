//! The API server's client of node agents (the kubelet port): finds a node's address and port
//! from its Node object and sends requests (or hands upgraded stream connections through) with
//! the server's kubelet client certificate. Like
//! kube-apiserver without `--kubelet-certificate-authority`, it does not verify the agents'
//! self-signed serving certificates; the agents verify ours against the cluster CA.

use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use skiff_api::{ApiError, At};

use crate::listener::TlsError;
use crate::response::Body;

#[derive(Debug)]
struct AnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// HTTPS to node agents.
pub struct KubeletClient {
    http: reqwest::Client,
    /// The same TLS for connections taken over by stream protocols.
    tls: Arc<rustls::ClientConfig>,
}

impl KubeletClient {
    /// A client presenting `cert_pem`/`key_pem`.
    pub fn new(cert_pem: &str, key_pem: &str) -> Result<KubeletClient, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?
            .ok_or_else(|| TlsError::Pem("no private key".into()))?;
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)))
            .with_client_auth_cert(certs, key)?;
        let tls = Arc::new(config.clone());
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .map_err(|e| TlsError::Pem(format!("kubelet client: {e}")))?;
        Ok(KubeletClient { http, tls })
    }

    /// Hands an upgrade request (exec, attach, port-forward) through to the node agent at
    /// `path`, as kube-apiserver's upgrade-aware proxy does: the client's headers go to the
    /// agent (not its credentials: the agent knows this server by its client certificate);
    /// on `101 Switching Protocols` both connections are joined byte for byte, otherwise the
    /// agent's answer is returned as it is.
    pub async fn upgrade(
        &self,
        node: &Value,
        path: &str,
        mut req: Request<Incoming>,
    ) -> Result<Response<Body>, ApiError> {
        let (host, port) = address(node)?;
        let base = format!("https://{}:{port}", bracketed(&host));
        let dial = |e: &dyn std::fmt::Display| {
            ApiError::new(500, "InternalError", format!("error dialing the node agent at {base}: {e}"))
        };
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| dial(&e))?;
        let name = ServerName::try_from(host.clone()).map_err(|e| dial(&e))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp).await.map_err(|e| dial(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| dial(&e))?;
        tokio::spawn(conn.with_upgrades());
        let mut out = Request::builder().method(req.method().clone()).uri(path);
        for (k, v) in req.headers() {
            if k != header::AUTHORIZATION && k != header::HOST && k != header::CONTENT_LENGTH {
                out = out.header(k, v);
            }
        }
        let out = out
            .header(header::HOST, format!("{}:{port}", bracketed(&host)))
            .body(Empty::<Bytes>::new())
            .map_err(|e| dial(&e))?;
        let client_side = hyper::upgrade::on(&mut req);
        let mut answer = sender.send_request(out).await.map_err(|e| dial(&e))?;
        let mut ours = Response::builder().status(answer.status());
        for (k, v) in answer.headers() {
            ours = ours.header(k, v);
        }
        if answer.status() != StatusCode::SWITCHING_PROTOCOLS {
            let body = answer.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            return ours.body(Full::new(body).map_err(|never| match never {}).boxed()).map_err(|e| dial(&e));
        }
        let agent_side = hyper::upgrade::on(&mut answer);
        tokio::spawn(async move {
            let (client, agent) = match (client_side.await, agent_side.await) {
                (Ok(c), Ok(a)) => (c, a),
                (Err(e), _) | (_, Err(e)) => return tracing::warn!(error = %e, "stream upgrade failed"),
            };
            let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(agent)).await;
        });
        ours.body(Empty::new().map_err(|never| match never {}).boxed()).map_err(|e| dial(&e))
    }

    /// `GET https://<node>:<port><path>`.
    pub async fn get(&self, node: &Value, path: &str) -> Result<reqwest::Response, ApiError> {
        let base = endpoint(node)?;
        self.http
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| ApiError::new(500, "InternalError", format!("error dialing the node agent at {base}: {e}")))
    }
}

/// `https://<InternalIP>:<kubelet port>` of a Node object.
pub fn endpoint(node: &Value) -> Result<String, ApiError> {
    let (host, port) = address(node)?;
    Ok(format!("https://{}:{port}", bracketed(&host)))
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The address and kubelet port of a Node object.
fn address(node: &Value) -> Result<(String, u16), ApiError> {
    let name = node.at("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let addresses = node.at("/status/addresses").and_then(Value::as_array).cloned().unwrap_or_default();
    let address = ["InternalIP", "ExternalIP", "Hostname"]
        .iter()
        .find_map(|kind| {
            addresses.iter().find(|a| a["type"] == *kind).and_then(|a| a["address"].as_str()).map(str::to_string)
        })
        .ok_or_else(|| ApiError::new(500, "InternalError", format!("node {name:?} has no address")))?;
    let port = node.at("/status/daemonEndpoints/kubeletEndpoint/Port").and_then(Value::as_i64).unwrap_or(10250);
    let port = u16::try_from(port)
        .map_err(|_| ApiError::new(500, "InternalError", format!("node {name:?} has kubelet port {port}")))?;
    Ok((address, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_endpoints_come_from_the_status() {
        let node = serde_json::json!({"metadata": {"name": "a"}, "status": {
            "addresses": [{"type": "Hostname", "address": "a"}, {"type": "InternalIP", "address": "10.0.0.2"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 4321}}
        }});
        assert_eq!(endpoint(&node).unwrap(), "https://10.0.0.2:4321");
        assert!(endpoint(&serde_json::json!({"status": {}})).is_err());
    }
}
