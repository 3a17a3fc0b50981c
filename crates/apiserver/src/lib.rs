//! skiff-apiserver: the Kubernetes API over HTTPS, as kube-apiserver serves it to kubectl and
//! client libraries: discovery, OpenAPI, the REST verbs with Kubernetes' semantics, watch,
//! tables, authentication by client certificate or bearer token.
//!
//! Request path: [`listener`] (TLS, HTTP/1.1) → [`server::ApiServer::handle`] (health,
//! authentication, routing) → a handler per verb → [`registry::Registry`] (naming, defaulting,
//! validation, compare-and-swap, graceful deletion) → a `skiff_store::Store` (the watch cache
//! over SQLite by default).

mod apply;
pub mod auth;
mod bootstrap;
pub mod discovery;
mod handlers;
mod json;
pub mod kubelet;
pub mod listener;
pub mod managed;
pub mod object;
pub mod objects;
mod openapi;
pub mod pki;
pub mod registry;
pub mod request;
pub mod response;
mod selectable;
pub mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use skiff_store::{SqliteOptions, SqliteStore, Store, StoreError, WatchCache};

pub use auth::User;
pub use server::ApiServer;

/// How to run the API server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database, certificates and credentials live.
    pub data_dir: PathBuf,
    pub bind_address: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Where to write the admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// Extra names and addresses for the serving certificate.
    pub tls_sans: Vec<String>,
    /// How often history is compacted (to the revision of one interval before).
    pub compact_interval: Duration,
    /// Events the watch cache keeps for resuming watches.
    pub watch_cache_events: usize,
    /// Admission plugin settings.
    pub admission: registry::AdmissionConfig,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        let kubeconfig = data_dir.join("admin.kubeconfig");
        Config {
            data_dir,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 6443,
            kubeconfig,
            tls_sans: Vec::new(),
            compact_interval: Duration::from_secs(300),
            watch_cache_events: 50_000,
            admission: registry::AdmissionConfig::default(),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("credentials: {0}")]
    Pki(#[from] pki::PkiError),
    #[error("{0}")]
    Tls(#[from] listener::TlsError),
    #[error("listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("bootstrap: {0}")]
    Bootstrap(skiff_api::ApiError),
}

/// A running API server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The URL clients on this machine use.
    pub url: String,
    pub kubeconfig: PathBuf,
    pub server: Arc<ApiServer>,
    pub pki: pki::Pki,
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

/// Opens the store, makes credentials, bootstraps the namespaces and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let server_dir = config.data_dir.join("server");
    let sqlite = SqliteStore::open(SqliteOptions::new(server_dir.join("db").join("state.db")))?;
    let store: Arc<dyn Store> = Arc::new(WatchCache::new(Arc::new(sqlite), config.watch_cache_events).await?);
    skiff_store::spawn_compactor(store.clone(), config.compact_interval);

    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
    ];
    if !config.bind_address.is_unspecified() {
        sans.push(config.bind_address.to_string());
    }
    sans.extend(hostname());
    sans.extend(config.tls_sans.iter().cloned());
    let pki = pki::Pki::load_or_create(&server_dir.join("tls"), &sans)?;
    let tls = listener::tls_config(&pki)?;

    let addr = SocketAddr::new(config.bind_address, config.port);
    let tcp = tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
    let addr = tcp.local_addr().map_err(|source| StartError::Listen { addr, source })?;
    let host = if config.bind_address.is_unspecified() || config.bind_address.is_loopback() {
        "127.0.0.1".to_string()
    } else {
        match config.bind_address {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    };
    let url = format!("https://{host}:{}", addr.port());

    let registry = registry::Registry::with_admission(store, config.admission);
    bootstrap::namespaces(&registry).await.map_err(StartError::Bootstrap)?;
    bootstrap::priority_classes(&registry).await.map_err(StartError::Bootstrap)?;
    let auth = auth::Authenticator::new();
    auth.add_token(&pki.admin_token, User { name: "admin".into(), groups: vec!["system:masters".into()] });
    auth.add_token(&pki.node_token, User { name: "system:node".into(), groups: vec!["system:nodes".into()] });
    let kubelet = kubelet::KubeletClient::new(&pki.kubelet_client_cert_pem, &pki.kubelet_client_key_pem)?;
    let server = Arc::new(ApiServer::new(registry, auth, &format!("{host}:{}", addr.port()), kubelet));
    tokio::spawn(listener::serve(tcp, tls, server.clone()));
    pki::write_kubeconfig(&config.kubeconfig, &pki.admin_kubeconfig(&url))?;
    server.set_ready(true);
    Ok(Running { addr, url, kubeconfig: config.kubeconfig, server, pki })
}
