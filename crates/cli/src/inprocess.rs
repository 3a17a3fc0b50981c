//! Clients of the components `skiff server` runs in-process (its agent, its controllers):
//! authenticated by a client certificate the server's CA signs, over HTTPS like any client.

use std::path::Path;

use anyhow::Context;
use skiff_client::{Connection, Credentials};

/// A kube-rs client for `user` in `groups`.
pub fn client(
    data_dir: &Path,
    running: &skiff_apiserver::Running,
    user: &str,
    groups: &[&str],
) -> anyhow::Result<kube::Client> {
    let (cert_pem, key_pem) = skiff_apiserver::pki::issue_client_cert(&data_dir.join("server/tls"), user, groups)
        .with_context(|| format!("issuing the client certificate of {user}"))?;
    let connection = Connection {
        url: running.url.clone(),
        ca_pem: running.pki.ca_cert_pem.clone(),
        credentials: Credentials::Certificate { cert_pem, key_pem },
    };
    Ok(connection.client()?)
}
