//! The registries config (YAML, in the spirit of k3s' `registries.yaml`): mirrors per
//! registry, and per host plain HTTP and credentials.
//!
//! ```yaml
//! mirrors:
//!   docker.io:
//!     endpoints: ["127.0.0.1:5000"]
//! configs:
//!   "127.0.0.1:5000":
//!     plain_http: true
//!     auth: {username: me, password: secret}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Errors reading the config.
#[derive(Debug, thiserror::Error)]
#[error("registries config {path}: {message}")]
pub struct RegistriesError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Mirror {
    #[serde(default)]
    pub endpoints: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Auth {
    pub username: String,
    pub password: String,
}

/// Settings for one registry host.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct HostConfig {
    /// Talk plain HTTP to this host (never assumed: only where configured).
    #[serde(default)]
    pub plain_http: bool,
    #[serde(default)]
    pub auth: Option<Auth>,
}

/// Mirrors and host settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct RegistriesConfig {
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
    #[serde(default)]
    pub configs: BTreeMap<String, HostConfig>,
}

impl RegistriesConfig {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<RegistriesConfig, RegistriesError> {
        let err = |m: String| RegistriesError { path: path.display().to_string(), message: m };
        match std::fs::read_to_string(path) {
            Ok(s) => serde_yaml::from_str(&s).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistriesConfig::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The hosts to try for images of `registry`: its mirrors, then itself.
    pub fn endpoints(&self, registry: &str) -> Vec<String> {
        let mut out: Vec<String> = self.mirrors.get(registry).map(|m| m.endpoints.clone()).unwrap_or_default();
        out.push(registry.to_string());
        out
    }

    /// Hosts configured for plain HTTP.
    pub fn plain_http_hosts(&self) -> Vec<String> {
        self.configs.iter().filter(|(_, c)| c.plain_http).map(|(h, _)| h.clone()).collect()
    }

    pub fn host(&self, host: &str) -> Option<&HostConfig> {
        self.configs.get(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mirrors_and_hosts() {
        let c: RegistriesConfig = serde_yaml::from_str(
            "mirrors:\n  docker.io:\n    endpoints: [\"127.0.0.1:5000\"]\nconfigs:\n  \"127.0.0.1:5000\":\n    plain_http: true\n    auth: {username: u, password: p}\n",
        )
        .unwrap();
        assert_eq!(c.endpoints("docker.io"), ["127.0.0.1:5000", "docker.io"]);
        assert_eq!(c.endpoints("quay.io"), ["quay.io"]);
        assert_eq!(c.plain_http_hosts(), ["127.0.0.1:5000"]);
        assert_eq!(c.host("127.0.0.1:5000").unwrap().auth.as_ref().unwrap().username, "u");
    }
}
