//! Debian's docker-registry on a free loopback port, anonymous or behind a token server that
//! issues Docker Hub style bearer tokens (ES256 JWTs with an `x5c` certificate) to clients
//! presenting the right basic credentials.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running registry; killed on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Registry {
    /// Serves `data` anonymously.
    pub fn start(data: &Path) -> Registry {
        Registry::with_auth(data, "")
    }

    /// Serves `data` with `auth` (a YAML `auth:` section, indented by two spaces).
    pub fn with_auth(data: &Path, auth: &str) -> Registry {
        let port = free_port();
        let config = data.join(format!("config-{port}.yml"));
        fs::create_dir_all(data).unwrap();
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                data.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (run scripts/setup-test-deps.sh)");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry { child, port }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token server on a free loopback port (a thread serving until the test ends).
pub struct TokenServer {
    pub port: u16,
    /// The signing certificate (PEM), the registry's `rootcertbundle`.
    pub cert_pem: String,
}

impl TokenServer {
    /// Issues tokens granting pull and push on any repository to `user:password`.
    pub fn start(user: &str, password: &str) -> TokenServer {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["token-issuer".to_string()]).unwrap().self_signed(&key).unwrap();
        let x5c = STANDARD.encode(cert.der());
        let rng = ring::rand::SystemRandom::new();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &expected, &x5c, &signer, &rng);
            }
        });
        TokenServer { port, cert_pem: cert.pem() }
    }

    /// The registry's `auth:` section for this token server.
    pub fn auth_config(&self, dir: &Path) -> String {
        let bundle = dir.join("token-issuer.pem");
        fs::write(&bundle, &self.cert_pem).unwrap();
        format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: skiff-test\n    issuer: skiff-test-issuer\n    rootcertbundle: {}\n",
            self.port,
            bundle.display()
        )
    }
}

/// One request: a token for the requested scope with the right credentials, else 401.
fn answer(
    stream: TcpStream,
    expected: &str,
    x5c: &str,
    signer: &ring::signature::EcdsaKeyPair,
    rng: &ring::rand::SystemRandom,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            authorized |= name.eq_ignore_ascii_case("authorization") && value.trim() == expected;
        }
    }
    let mut out = stream;
    if !authorized {
        return out.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    // scope=repository:NAME:pull,push
    let query = request.split_whitespace().nth(1).and_then(|t| t.split_once('?')).map(|(_, q)| q).unwrap_or("");
    let access: Vec<serde_json::Value> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope=").map(percent_decode))
        .filter_map(|scope| {
            let mut parts = scope.split(':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
    let claims = serde_json::json!({"iss": "skiff-test-issuer", "sub": "tester", "aud": "skiff-test",
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}"), "access": access});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = signer.sign(rng, signing_input.as_bytes()).map_err(|_| std::io::Error::other("sign"))?;
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
