//! What a request asks for: the API path parsed as kube-apiserver's RequestInfoFactory does,
//! and the query parameters of the REST verbs.

use std::collections::HashMap;

use http::Method;
use skiff_api::resources::{self, ResourceInfo};
use skiff_api::ApiError;

use crate::registry::UpdateKind;

/// The verb of a resource request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

/// A request for a resource (as opposed to discovery and other non-resource paths).
#[derive(Debug, Clone)]
pub struct ResourceRequest {
    pub resource: &'static ResourceInfo,
    pub verb: Verb,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl ResourceRequest {
    /// The update kind a request's subresource implies.
    pub fn kind(&self) -> UpdateKind {
        if self.subresource.as_deref() == Some("status") {
            UpdateKind::Status
        } else {
            UpdateKind::Main
        }
    }
}

/// What a path names.
#[derive(Debug, Clone)]
pub enum Target {
    /// `/api`, `/apis`.
    Root {
        legacy: bool,
    },
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1`, `/apis/<g>/<v>`.
    GroupVersion {
        group: String,
        version: String,
    },
    Resource(ResourceRequest),
    /// Anything else under /api or /apis that names no known resource.
    NotFound,
}

/// Parses an `/api` or `/apis` path (without query).
pub fn parse_target(method: &Method, path: &str, query: &Query) -> Target {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Target::Root { legacy: true },
        ["apis"] => return Target::Root { legacy: false },
        ["apis", g] => return Target::Group(g.to_string()),
        ["api", v] => return Target::GroupVersion { group: String::new(), version: v.to_string() },
        ["apis", g, v] => return Target::GroupVersion { group: g.to_string(), version: v.to_string() },
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Target::NotFound,
    };
    let mut rest: Vec<&str> = rest.to_vec();
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest.drain(..2);
        }
    }
    let Some(resource) = resources::lookup(group, version, rest[0]) else {
        return Target::NotFound;
    };
    let name = rest.get(1).map(|s| s.to_string());
    let subresource = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 {
        return Target::NotFound;
    }
    if !resource.namespaced {
        // `/api/v1/namespaces/foo` names the namespace foo itself.
        namespace = None;
    }
    let verb = match *method {
        Method::GET | Method::HEAD if name.is_some() => Verb::Get,
        Method::GET | Method::HEAD if query.watch() => Verb::Watch,
        Method::GET | Method::HEAD => Verb::List,
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE if name.is_some() => Verb::Delete,
        Method::DELETE => Verb::DeleteCollection,
        _ => Verb::Get,
    };
    Target::Resource(ResourceRequest { resource, verb, namespace, name, subresource })
}

/// Query parameters, decoded.
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut m = HashMap::new();
        if let Some(q) = raw {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Query(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// A boolean parameter ([`skiff_api::parse_bool`]).
    pub fn bool(&self, k: &str) -> bool {
        self.0.get(k).is_some_and(|v| skiff_api::parse_bool(v))
    }

    pub fn watch(&self) -> bool {
        self.bool("watch")
    }

    /// `dryRun=All`; any other value is a 400 as in Kubernetes.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => {
                Err(ApiError::bad_request(format!("Invalid dry run value: {other:?}: supported values: \"All\"")))
            }
        }
    }

    /// `fieldValidation`: Strict, Warn (default) or Ignore.
    pub fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.get("fieldValidation") {
            None | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }

    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {k}: {v:?}: not an integer"))),
        }
    }
}

/// How to treat fields the type does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(m: Method, p: &str, q: &str) -> ResourceRequest {
        match parse_target(&m, p, &Query::parse(Some(q))) {
            Target::Resource(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_parse_like_kube_apiserver() {
        let r = target(Method::GET, "/api/v1/namespaces/default/pods/web", "");
        assert_eq!(
            (r.resource.plural, r.namespace.as_deref(), r.name.as_deref(), r.verb),
            ("pods", Some("default"), Some("web"), Verb::Get)
        );
        let r = target(Method::GET, "/api/v1/pods", "watch=true");
        assert_eq!((r.verb, r.namespace), (Verb::Watch, None));
        let r = target(Method::GET, "/api/v1/namespaces/kube-system", "");
        assert_eq!((r.resource.plural, r.name.as_deref(), r.namespace), ("namespaces", Some("kube-system"), None));
        let r = target(Method::PUT, "/api/v1/namespaces/x/status", "");
        assert_eq!(
            (r.resource.plural, r.name.as_deref(), r.subresource.as_deref()),
            ("namespaces", Some("x"), Some("status"))
        );
        let r = target(Method::PATCH, "/apis/apps/v1/namespaces/a/deployments/d/scale", "");
        assert_eq!((r.resource.plural, r.subresource.as_deref(), r.verb), ("deployments", Some("scale"), Verb::Patch));
        let r = target(Method::DELETE, "/api/v1/namespaces/a/pods", "");
        assert_eq!(r.verb, Verb::DeleteCollection);
        assert!(matches!(parse_target(&Method::GET, "/api/v1/namespaces/a/nope", &Query::default()), Target::NotFound));
    }
}
