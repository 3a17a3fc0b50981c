//! Authentication: client certificates (verified by TLS against the cluster CA; CN is the
//! user, O the groups) and bearer tokens.

use std::collections::HashMap;
use std::sync::RwLock;

use http::HeaderMap;

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

/// Known bearer tokens.
#[derive(Default)]
pub struct Authenticator {
    tokens: RwLock<HashMap<String, User>>,
}

impl Authenticator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `token` as `user` from now on.
    pub fn add_token(&self, token: &str, user: User) {
        self.tokens.write().unwrap_or_else(|p| p.into_inner()).insert(token.to_string(), user);
    }

    /// The user of a request: its client certificate's, else its bearer token's.
    pub fn authenticate(&self, cert_user: Option<&User>, headers: &HeaderMap) -> Option<User> {
        if let Some(u) = cert_user {
            return Some(u.clone());
        }
        let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
        let tokens = self.tokens.read().unwrap_or_else(|p| p.into_inner());
        // Constant-time comparison against every known token.
        let mut found = None;
        for (t, u) in tokens.iter() {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(u.clone());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user named by a verified client certificate (DER).
pub fn user_from_cert(der: &[u8]) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(String::from)).collect();
    Some(User { name, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_authenticate() {
        let a = Authenticator::new();
        a.add_token("s3cret", User { name: "admin".into(), groups: vec!["system:masters".into()] });
        let mut h = HeaderMap::new();
        assert_eq!(a.authenticate(None, &h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(a.authenticate(None, &h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert_eq!(a.authenticate(None, &h).unwrap().name, "admin");
    }
}
