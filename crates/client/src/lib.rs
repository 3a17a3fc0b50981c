//! skiff-client: how skiff's own components (the node agent, the controllers) reach the API
//! server. They use `kube` (kube-rs) clients and its watchers/reflectors over HTTPS, exactly as
//! any other Kubernetes client does; this crate turns skiff's credentials (the cluster CA and
//! a bearer token or a client certificate) into such a client. [`events`] records Events as
//! client-go's recorder does; [`raw`] sends writes whose answer is not needed; [`trimmed`]
//! decodes watched objects without their managedFields.

pub mod events;
pub mod raw;
mod tickets;
pub mod trimmed;

use base64::Engine;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::ConfigExt;
use kube::config::AuthInfo;
use tower::retry::RetryLayer;
use tower::BoxError;

/// Errors building a client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error("client: {0}")]
    Client(#[from] kube::Error),
}

/// How to authenticate.
#[derive(Clone)]
pub enum Credentials {
    /// A bearer token.
    Token(String),
    /// A client certificate and its key (PEM).
    Certificate { cert_pem: String, key_pem: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(…)"),
            Credentials::Certificate { .. } => f.write_str("Certificate(…)"),
        }
    }
}

/// Where the API server is and who we are.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `https://127.0.0.1:6443`
    pub url: String,
    /// The cluster CA (PEM) that signed the serving certificate.
    pub ca_pem: String,
    pub credentials: Credentials,
}

impl Connection {
    /// The kube-rs configuration of this connection.
    pub fn config(&self) -> Result<kube::Config, ClientError> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let url = self.url.parse().map_err(|e| ClientError::Invalid(format!("server URL {}: {e}", self.url)))?;
        let mut config = kube::Config::new(url);
        let roots: Vec<Vec<u8>> = rustls_pemfile::certs(&mut self.ca_pem.as_bytes())
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| ClientError::Invalid(format!("CA certificate: {e}")))?;
        if roots.is_empty() {
            return Err(ClientError::Invalid("CA certificate: no PEM certificate".into()));
        }
        config.root_cert = Some(roots);
        let mut auth = AuthInfo::default();
        match &self.credentials {
            Credentials::Token(t) => auth.token = Some(t.clone().into()),
            Credentials::Certificate { cert_pem, key_pem } => {
                auth.client_certificate_data = Some(b64(cert_pem));
                auth.client_key_data = Some(b64(key_pem).into());
            }
        }
        config.auth_info = auth;
        config.read_timeout = None;
        Ok(config)
    }

    /// A kube-rs client for this connection.
    pub fn client(&self) -> Result<kube::Client, ClientError> {
        // Two TLS providers are linked (ring, ours; aws-lc-rs, a dependency's): choose ring for
        // clients that ask for the process default. Already chosen is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = self.config()?;
        // kube-rs' own stack (`Client::try_from`), with the TLS sessions resumed from a store
        // that holds enough tickets for a burst of new connections.
        let mut tls = config.rustls_client_config()?;
        tls.resumption = rustls::client::Resumption::store(tickets::Tickets::new());
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // kube-rs' timeouts: connect, read (none: watches), write.
        let mut timed = hyper_timeout::TimeoutConnector::new(https);
        timed.set_connect_timeout(config.connect_timeout);
        timed.set_read_timeout(config.read_timeout);
        timed.set_write_timeout(config.write_timeout);
        let client: LegacyClient<_, kube::client::Body> = LegacyClient::builder(TokioExecutor::new()).build(timed);
        let service = tower::ServiceBuilder::new()
            .layer(config.base_uri_layer())
            .option_layer(config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry())))
            .option_layer(config.auth_layer()?)
            .layer(config.extra_headers_layer()?)
            .map_err(BoxError::from)
            .service(client);
        Ok(kube::Client::new(service, config.default_namespace))
    }
}
