//! `imagePullSecrets`: the registry credentials of a Pod's pull secrets
//! (`kubernetes.io/dockerconfigjson` with its `.dockerconfigjson`, or the older
//! `kubernetes.io/dockercfg` with `.dockercfg`), looked up for an image as the kubelet's
//! keyring does: keys without scheme, `/v1/` or `/v2/` meaning the host, host parts matched
//! as globs (`*.example.com`), ports equal, the key's path a prefix of the repository's, and
//! the most specific key first.

use base64::Engine;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::sources::PodSources;

/// One set of registry credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

/// A keyring: credentials by key (`host[:port][/path]`), most specific key first.
pub type Keyring = Vec<(String, Credential)>;

/// Docker Hub's many names are one registry.
fn host_alias(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        h => h,
    }
}

/// A docker config key as the keyring indexes it: no scheme, `/v1/` and `/v2/` dropped.
pub fn key(location: &str) -> String {
    let rest = location.strip_prefix("https://").or_else(|| location.strip_prefix("http://")).unwrap_or(location);
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, String::new()));
    let path = path
        .strip_prefix("/v2")
        .or_else(|| path.strip_prefix("/v1"))
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .unwrap_or(path);
    let host = host_alias(host);
    match path.trim_end_matches('/') {
        "" => host.to_string(),
        p => format!("{host}{p}"),
    }
}

/// A config entry's credentials: `auth` (base64 `user:password`) wins over the fields.
fn entry(v: &Value) -> Option<Credential> {
    if let Some(auth) = v["auth"].as_str().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth).ok()?;
        let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
        return Some(Credential { username: user.to_string(), password: password.to_string() });
    }
    Some(Credential { username: v["username"].as_str()?.to_string(), password: v["password"].as_str()?.to_string() })
}

/// The keyring of the Pod's pull secrets (those it names and that exist in `sources`).
pub fn keyring(pod: &Pod, sources: &PodSources) -> Keyring {
    let mut ring = vec![];
    let names = pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()).map(|r| r.name.as_str());
    for name in names {
        let Some(secret) = sources.secrets.get(name) else { continue };
        let auths = if let Some(json) = secret.get(".dockerconfigjson") {
            serde_json::from_slice::<Value>(json).ok().map(|v| v["auths"].clone())
        } else {
            secret.get(".dockercfg").and_then(|json| serde_json::from_slice::<Value>(json).ok())
        };
        for (location, v) in auths.iter().filter_map(Value::as_object).flatten() {
            if let Some(c) = entry(v) {
                ring.push((key(location), c));
            }
        }
    }
    // Most specific first (reverse order of keys, as the kubelet sorts); stable for equal keys.
    ring.sort_by(|a, b| b.0.cmp(&a.0));
    ring
}

/// `filepath.Match` for one host part, with `*` and `?`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Whether the keyring key matches the image's registry (`domain`, with port) and path.
pub fn matches(key: &str, domain: &str, path: &str) -> bool {
    let (key_host, key_path) = key.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((key, String::new()));
    let split = |h: &str| {
        h.rsplit_once(':').map(|(h, p)| (h.to_string(), p.to_string())).unwrap_or((h.to_string(), String::new()))
    };
    let ((kh, kp), (th, tp)) = (split(key_host), split(host_alias(domain)));
    let (kparts, tparts): (Vec<&str>, Vec<&str>) = (kh.split('.').collect(), th.split('.').collect());
    kp == tp
        && kparts.len() == tparts.len()
        && kparts.iter().zip(&tparts).all(|(k, t)| glob(k.as_bytes(), t.as_bytes()))
        && format!("/{path}").starts_with(&key_path)
}

/// The credentials to try for an image of `domain`/`path`, in order.
pub fn lookup(ring: &Keyring, domain: &str, path: &str) -> Vec<Credential> {
    ring.iter().filter(|(k, _)| matches(k, domain, path)).map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cred(u: &str) -> Credential {
        Credential { username: u.into(), password: format!("{u}-pw") }
    }

    #[test]
    fn keys_lose_scheme_and_api_version() {
        assert_eq!(key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(key("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(key("quay.io/coreos/"), "quay.io/coreos");
        assert_eq!(key("registry.example.com/v2/team"), "registry.example.com/team");
    }

    #[test]
    fn hosts_match_as_globs_with_equal_ports_and_path_prefixes() {
        assert!(matches("127.0.0.1:5000", "127.0.0.1:5000", "busybox"));
        assert!(!matches("127.0.0.1:5000", "127.0.0.1:5001", "busybox"));
        assert!(!matches("127.0.0.1", "127.0.0.1:5000", "busybox"));
        assert!(matches("*.example.com", "eu.example.com", "a/b"));
        assert!(!matches("*.example.com", "example.com", "a/b"));
        assert!(matches("quay.io/coreos", "quay.io", "coreos/etcd"));
        assert!(!matches("quay.io/coreos", "quay.io", "other/etcd"));
        assert!(matches("docker.io", "docker.io", "library/busybox"));
    }

    #[test]
    fn the_keyring_comes_from_the_named_secrets_most_specific_first() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [],
            "imagePullSecrets": [{"name": "new"}, {"name": "old"}, {"name": "missing"}]}}))
        .unwrap();
        let mut sources = PodSources::default();
        let new = json!({"auths": {
            "quay.io": {"username": "broad", "password": "broad-pw"},
            "https://quay.io/v1/coreos": {"auth": base64::engine::general_purpose::STANDARD.encode("narrow:narrow-pw")}}});
        sources.secrets.insert("new".into(), [(".dockerconfigjson".to_string(), new.to_string().into_bytes())].into());
        let old = json!({"127.0.0.1:5000": {"username": "old", "password": "old-pw"}});
        sources.secrets.insert("old".into(), [(".dockercfg".to_string(), old.to_string().into_bytes())].into());
        let ring = keyring(&pod, &sources);
        assert_eq!(lookup(&ring, "quay.io", "coreos/etcd"), [cred("narrow"), cred("broad")]);
        assert_eq!(lookup(&ring, "quay.io", "other/x"), [cred("broad")]);
        assert_eq!(lookup(&ring, "127.0.0.1:5000", "busybox"), [cred("old")]);
        assert!(lookup(&ring, "docker.io", "library/busybox").is_empty());
    }
}
