//! The controller manager `skiff server` runs in-process: its client, authenticated by a
//! client certificate for `system:kube-controller-manager` that the server's CA signs.

use std::path::Path;

use anyhow::Context;
use skiff_client::{Connection, Credentials};

pub fn client(data_dir: &Path, running: &skiff_apiserver::Running) -> anyhow::Result<kube::Client> {
    let (cert_pem, key_pem) =
        skiff_apiserver::pki::issue_client_cert(&data_dir.join("server/tls"), "system:kube-controller-manager", &[])
            .context("issuing the controller manager's client certificate")?;
    let connection = Connection {
        url: running.url.clone(),
        ca_pem: running.pki.ca_cert_pem.clone(),
        credentials: Credentials::Certificate { cert_pem, key_pem },
    };
    Ok(connection.client()?)
}
