//! The API server's client of node agents (the kubelet port): finds a node's address and port
//! from its Node object and sends requests with the server's kubelet client certificate. Like
//! kube-apiserver without `--kubelet-certificate-authority`, it does not verify the agents'
//! self-signed serving certificates; the agents verify ours against the cluster CA.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use skiff_api::ApiError;

use crate::listener::TlsError;

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
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .map_err(|e| TlsError::Pem(format!("kubelet client: {e}")))?;
        Ok(KubeletClient { http })
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
    let name = node.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let addresses = node.pointer("/status/addresses").and_then(Value::as_array).cloned().unwrap_or_default();
    let address = ["InternalIP", "ExternalIP", "Hostname"]
        .iter()
        .find_map(|kind| {
            addresses.iter().find(|a| a["type"] == *kind).and_then(|a| a["address"].as_str()).map(str::to_string)
        })
        .ok_or_else(|| ApiError::new(500, "InternalError", format!("node {name:?} has no address")))?;
    let port = node.pointer("/status/daemonEndpoints/kubeletEndpoint/Port").and_then(Value::as_i64).unwrap_or(10250);
    let host = if address.contains(':') { format!("[{address}]") } else { address };
    Ok(format!("https://{host}:{port}"))
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
