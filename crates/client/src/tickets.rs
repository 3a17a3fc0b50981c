//! TLS session tickets for the components' clients. Over HTTP/1.1 a client holds one connection
//! per request in flight, so a controller that sends a burst of 256 creates opens about as many
//! connections at once. Each new connection can resume a session, skipping the certificate
//! signatures and their checks, with a ticket from the connections before it; rustls' own
//! cache keeps only 8 tickets per server, which a burst uses up at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;
use rustls::NamedGroup;

/// Tickets kept per server (the server sends two per full handshake).
const MAX_TICKETS_PER_SERVER: usize = 1024;
/// Servers remembered; more start the memory over.
const MAX_SERVERS: usize = 16;

#[derive(Default)]
struct Server {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: VecDeque<Tls13ClientSessionValue>,
}

/// A [`ClientSessionStore`] that keeps many TLS 1.3 tickets per server.
#[derive(Default)]
pub struct Tickets {
    servers: Mutex<HashMap<ServerName<'static>, Server>>,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tickets")
    }
}

impl Tickets {
    pub fn new() -> Arc<Tickets> {
        Arc::new(Tickets::default())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ServerName<'static>, Server>> {
        self.servers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_server(&self, name: ServerName<'static>, f: impl FnOnce(&mut Server)) {
        let mut servers = self.lock();
        if !servers.contains_key(&name) && servers.len() >= MAX_SERVERS {
            servers.clear();
        }
        f(servers.entry(name).or_default());
    }
}

impl ClientSessionStore for Tickets {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.with_server(server_name, |s| s.kx_hint = Some(group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.lock().get(server_name).and_then(|s| s.kx_hint)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.with_server(server_name, |s| s.tls12 = Some(value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.lock().get(server_name).and_then(|s| s.tls12.clone())
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        if let Some(s) = self.lock().get_mut(server_name) {
            s.tls12 = None;
        }
    }

    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.with_server(server_name, |s| {
            if s.tls13.len() >= MAX_TICKETS_PER_SERVER {
                s.tls13.pop_front();
            }
            s.tls13.push_back(value);
        });
    }

    /// The newest ticket, each at most once.
    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.lock().get_mut(server_name).and_then(|s| s.tls13.pop_back())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ClientConfig, ClientConnection, HandshakeKind, RootCertStore, ServerConfig, ServerConnection};

    fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let der = CertificateDer::from(cert.der().to_vec());
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
            .expect("server config");
        server.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
        let mut roots = RootCertStore::empty();
        roots.add(der).expect("root");
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.resumption = rustls::client::Resumption::store(Tickets::new());
        (Arc::new(server), Arc::new(client))
    }

    /// Moves TLS records between the two ends until neither has anything to say.
    fn pump(c: &mut ClientConnection, s: &mut ServerConnection) {
        loop {
            let mut moved = false;
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).expect("client write");
            }
            if !buf.is_empty() {
                moved = true;
                s.read_tls(&mut buf.as_slice()).expect("server read");
                s.process_new_packets().expect("server process");
            }
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).expect("server write");
            }
            if !buf.is_empty() {
                moved = true;
                c.read_tls(&mut buf.as_slice()).expect("client read");
                c.process_new_packets().expect("client process");
            }
            if !moved {
                return;
            }
        }
    }

    fn connect(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> (ClientConnection, ServerConnection) {
        let name = ServerName::try_from("localhost").expect("name");
        let c = ClientConnection::new(client.clone(), name).expect("client");
        let s = ServerConnection::new(server.clone()).expect("server");
        (c, s)
    }

    #[test]
    fn a_burst_of_new_connections_resumes_sessions() {
        let (server, client) = configs();
        // Ten connections one after another: the first is a full handshake, each leaves tickets.
        for i in 0..10 {
            let (mut c, mut s) = connect(&server, &client);
            pump(&mut c, &mut s);
            assert!(!c.is_handshaking());
            let want = if i == 0 { HandshakeKind::Full } else { HandshakeKind::Resumed };
            assert_eq!(c.handshake_kind(), Some(want), "connection {i}");
        }
        // Those left 11 tickets (two from each, one used by each resumption). Then ten
        // connections at once (each starts before any finishes): more than rustls' own cache
        // keeps, and every one resumes.
        let mut burst: Vec<_> = (0..10).map(|_| connect(&server, &client)).collect();
        for (c, s) in &mut burst {
            pump(c, s);
            assert_eq!(c.handshake_kind(), Some(HandshakeKind::Resumed));
        }
    }
}
