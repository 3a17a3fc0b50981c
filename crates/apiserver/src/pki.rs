//! The cluster's certificates and credentials: a CA made on first start, a serving certificate
//! signed by it (remade at every start, for the current addresses), an admin client
//! certificate and bearer token, and the admin kubeconfig.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Errors making or loading credentials.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io { path: path.to_path_buf(), source }
}

/// PEM material the server and its clients use.
#[derive(Clone)]
pub struct Pki {
    pub ca_cert_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
    /// The client certificate the server presents to node agents.
    pub kubelet_client_cert_pem: String,
    pub kubelet_client_key_pem: String,
    /// The admin bearer token.
    pub admin_token: String,
    /// The token agents join with (`skiff agent --token`).
    pub node_token: String,
}

fn write_private(path: &Path, contents: &str) -> Result<(), PkiError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io(&tmp))?;
    f.write_all(contents.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn read_or<F>(path: &Path, make: F) -> Result<String, PkiError>
where
    F: FnOnce() -> Result<String, PkiError>,
{
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let s = make()?;
            write_private(path, &s)?;
            Ok(s)
        }
        Err(e) => Err(io(path)(e)),
    }
}

fn ca_params() -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "skiff-server-ca");
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(p)
}

/// A client certificate for `user` in `groups`, signed by the CA at `dir`.
pub fn issue_client_cert(dir: &Path, user: &str, groups: &[&str]) -> Result<(String, String), PkiError> {
    let ca_key_pem = std::fs::read_to_string(dir.join("ca.key")).map_err(io(&dir.join("ca.key")))?;
    let ca_key = KeyPair::from_pem(&ca_key_pem)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    client_cert(&issuer, user, groups)
}

fn client_cert(issuer: &Issuer<'_, KeyPair>, user: &str, groups: &[&str]) -> Result<(String, String), PkiError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    for g in groups {
        dn.push(DnType::OrganizationName, *g);
    }
    dn.push(DnType::CommonName, user);
    p.distinguished_name = dn;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let key = KeyPair::generate()?;
    let cert = p.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

impl Pki {
    /// Loads the credentials under `dir`, making whatever is missing; the serving certificate
    /// is made fresh for `sans` (host names and addresses) every time.
    pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<Pki, PkiError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let ca_key_pem = read_or(&dir.join("ca.key"), || Ok(KeyPair::generate()?.serialize_pem()))?;
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let ca_cert_pem = read_or(&dir.join("ca.crt"), || Ok(ca_params()?.self_signed(&ca_key)?.pem()))?;
        let issuer = Issuer::new(ca_params()?, ca_key);

        let mut p = CertificateParams::new(Vec::<String>::new())?;
        for s in sans {
            let san = match s.parse::<IpAddr>() {
                Ok(ip) => rcgen::SanType::IpAddress(ip),
                Err(_) => rcgen::SanType::DnsName(s.clone().try_into()?),
            };
            if !p.subject_alt_names.contains(&san) {
                p.subject_alt_names.push(san);
            }
        }
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "skiff-apiserver");
        p.distinguished_name = dn;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        p.not_before = rcgen::date_time_ymd(2024, 1, 1);
        p.not_after = rcgen::date_time_ymd(2124, 1, 1);
        let serving_key = KeyPair::generate()?;
        let serving = p.signed_by(&serving_key, &issuer)?;
        let serving_cert_pem = serving.pem();
        let serving_key_pem = serving_key.serialize_pem();
        write_private(&dir.join("serving.crt"), &serving_cert_pem)?;
        write_private(&dir.join("serving.key"), &serving_key_pem)?;

        let client = |file: &str, user: &str| -> Result<(String, String), PkiError> {
            let (cert_path, key_path) = (dir.join(format!("{file}.crt")), dir.join(format!("{file}.key")));
            match (std::fs::read_to_string(&cert_path), std::fs::read_to_string(&key_path)) {
                (Ok(c), Ok(k)) => Ok((c, k)),
                _ => {
                    let (c, k) = client_cert(&issuer, user, &["system:masters"])?;
                    write_private(&cert_path, &c)?;
                    write_private(&key_path, &k)?;
                    Ok((c, k))
                }
            }
        };
        let (admin_cert_pem, admin_key_pem) = client("admin", "admin")?;
        let (kubelet_client_cert_pem, kubelet_client_key_pem) =
            client("apiserver-kubelet-client", "kube-apiserver-kubelet-client")?;
        let token = |name: &str| -> Result<String, PkiError> {
            let t = read_or(&dir.join(name), || {
                let mut b = [0u8; 24];
                rand::rng().fill_bytes(&mut b);
                Ok(hex::encode(b))
            })?;
            Ok(t.trim().to_string())
        };
        let (admin_token, node_token) = (token("admin.token")?, token("node.token")?);
        Ok(Pki {
            ca_cert_pem,
            serving_cert_pem,
            serving_key_pem,
            admin_cert_pem,
            admin_key_pem,
            kubelet_client_cert_pem,
            kubelet_client_key_pem,
            admin_token,
            node_token,
        })
    }

    /// The admin kubeconfig for a server at `url` (`https://127.0.0.1:6443`).
    pub fn admin_kubeconfig(&self, url: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {url}\n  name: skiff\ncontexts:\n- context:\n    cluster: skiff\n    user: skiff-admin\n  name: skiff\ncurrent-context: skiff\npreferences: {{}}\nusers:\n- name: skiff-admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
            ca = b64(&self.ca_cert_pem),
            cert = b64(&self.admin_cert_pem),
            key = b64(&self.admin_key_pem),
        )
    }
}

/// Writes a kubeconfig readable only by its owner.
pub fn write_kubeconfig(path: &Path, contents: &str) -> Result<(), PkiError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
    }
    write_private(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_reuses_ca_and_admin() {
        let dir = tempfile::tempdir().unwrap();
        let sans = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let a = Pki::load_or_create(dir.path(), &sans).unwrap();
        let b = Pki::load_or_create(dir.path(), &sans).unwrap();
        assert_eq!(a.ca_cert_pem, b.ca_cert_pem);
        assert_eq!(a.admin_token, b.admin_token);
        assert_eq!(a.admin_cert_pem, b.admin_cert_pem);
        assert!(a.admin_kubeconfig("https://127.0.0.1:6443").contains("client-certificate-data"));
    }
}
