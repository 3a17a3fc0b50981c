//! skiff-openapi: the OpenAPI documents kubectl reads (`/openapi/v3/...`, `/openapi/v2`) and the
//! field metadata patches need, generated from k8s-openapi's type definitions.
//!
//! * [`registry`] builds (once) every definition reachable from the served resources
//!   ([`skiff_api::resources::RESOURCES`]) with Kubernetes' definition names and `x-kubernetes-*`
//!   extensions, one OpenAPI 3.0 document per group-version, and the `/openapi/v3` root.
//! * [`Registry`] implements [`skiff_patch::PatchMeta`] over those definitions.
//! * [`v2_protobuf`] is the `/openapi/v2` body: the same definitions as a Swagger 2.0 document in
//!   gnostic's protobuf encoding ([`gnostic`]).

mod defs;
mod docs;
pub mod extensions;
pub mod gnostic;
mod meta;
mod paths;
mod v2;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use skiff_api::resources::group_versions;

pub use paths::PATCH_CONTENT_TYPES;

/// Content type of the `/openapi/v2` protobuf body (the dotted form kubectl accepts).
pub const V2_PROTOBUF_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Errors building the registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document could not be serialized (not expected: all keys are strings).
    #[error("serializing OpenAPI document: {0}")]
    Json(#[from] serde_json::Error),
}

/// One served group-version document.
#[derive(Debug)]
struct Document {
    bytes: Vec<u8>,
    hash: String,
}

/// All definitions, the per-group-version v3 documents and the v3 root, pre-serialized.
#[derive(Debug)]
pub struct Registry {
    definitions: Map<String, Value>,
    documents: HashMap<String, Document>,
    root: Vec<u8>,
    fields: meta::FieldTable,
}

/// The process-wide registry, built on first use.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::build().expect("serializing JSON values with string keys cannot fail"))
}

/// The `/openapi/v2` body (served with [`V2_PROTOBUF_CONTENT_TYPE`]): every definition of the
/// [`registry`] as a Swagger 2.0 `openapi_v2.Document`, built and encoded once. kubectl up to 1.26
/// reads kinds for `explain`, client-side validation and client-side `apply` only from this
/// document; 1.27+ load it too before turning to v3.
pub fn v2_protobuf() -> &'static [u8] {
    v2::protobuf()
}

/// The `/openapi/v2` document before encoding (what [`v2_protobuf`] encodes).
pub fn v2_document() -> gnostic::Document {
    v2::document()
}

/// `api/v1` or `apis/apps/v1`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// kube-apiserver's ETag/`?hash=`: the upper-case hex SHA-256 of the document (kube-apiserver uses
/// SHA-512; clients treat it as opaque, and SHA-256 has hardware support on x86).
fn hash(bytes: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(bytes))
}

impl Registry {
    /// Builds the registry. Prefer [`registry`], which builds it once.
    pub fn build() -> Result<Registry, Error> {
        let definitions = defs::generate();
        let serialized = docs::Serialized::new(&definitions)?;
        let mut documents = HashMap::new();
        let mut root_paths = Map::new();
        for (group, version) in group_versions() {
            let bytes = serialized.document(group, version)?;
            let hash = hash(&bytes);
            let path = gv_path(group, version);
            root_paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}));
            documents.insert(path, Document { bytes, hash });
        }
        drop(serialized);
        let root = serde_json::to_vec(&json!({ "paths": root_paths }))?;
        let mut registry = Registry { definitions, documents, root, fields: Default::default() };
        registry.fields = registry.field_table();
        Ok(registry)
    }

    /// The `/openapi/v3` root: `{"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=<H>"},...}}`.
    pub fn v3_root(&self) -> &[u8] {
        &self.root
    }

    /// The document for `api/v1`, `apis/apps/v1`, ... (a leading `/` or `openapi/v3/` is
    /// tolerated): its JSON bytes and its hash (for `ETag` and `?hash=`).
    pub fn v3_document(&self, path: &str) -> Option<(&[u8], &str)> {
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("openapi/v3/").unwrap_or(path);
        self.documents.get(path).map(|d| (d.bytes.as_slice(), d.hash.as_str()))
    }

    /// The paths of the served v3 documents (`api/v1`, `apis/apps/v1`, ...), unordered.
    pub fn v3_paths(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().map(String::as_str)
    }

    /// A definition's schema by Kubernetes name (`io.k8s.api.core.v1.Pod`).
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    /// The names of all definitions, sorted.
    pub fn definition_names(&self) -> impl Iterator<Item = &str> {
        self.definitions.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
