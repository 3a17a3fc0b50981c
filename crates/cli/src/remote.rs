//! Flags of commands that talk to a running server with a token (`skiff hollow-nodes`,
//! `skiff scheduler`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use skiff_client::{Connection, Credentials};

#[derive(Args, Debug)]
pub struct RemoteArgs {
    /// The server's URL (https://HOST:6443)
    #[arg(long, env = "SKIFF_URL")]
    server: String,
    /// A bearer token of the server (<data-dir>/server/tls/node.token or admin.token)
    #[arg(long, env = "SKIFF_TOKEN")]
    token: String,
    /// The server's CA certificate [default: <data-dir>/server/tls/ca.crt of a local server]
    #[arg(long, env = "SKIFF_CA_FILE")]
    ca_file: Option<PathBuf>,
}

impl RemoteArgs {
    /// The connection (reads the CA file).
    pub fn connection(&self) -> anyhow::Result<Connection> {
        let ca_file =
            self.ca_file.clone().unwrap_or_else(|| crate::server::default_data_dir().join("server/tls/ca.crt"));
        let ca_pem = std::fs::read_to_string(&ca_file).with_context(|| format!("reading {}", ca_file.display()))?;
        Ok(Connection { url: self.server.clone(), ca_pem, credentials: Credentials::Token(self.token.clone()) })
    }
}
