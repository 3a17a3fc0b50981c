//! Assembly of the per-group-version OpenAPI 3.0 documents.
//!
//! Each definition is serialized once and its bytes are spliced into every document that needs
//! it, which keeps building all documents cheap.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};
use skiff_api::resources::RESOURCES;

use crate::defs::{self, META_DELETE_OPTIONS, META_PATCH, META_STATUS, META_WATCH_EVENT};
use crate::{paths, Error};

/// Definitions pre-serialized, with the definitions each one references.
pub(crate) struct Serialized<'a> {
    defs: HashMap<&'a str, (Vec<u8>, Vec<&'a str>)>,
}

impl<'a> Serialized<'a> {
    pub(crate) fn new(definitions: &'a Map<String, Value>) -> Result<Self, Error> {
        let mut defs = HashMap::with_capacity(definitions.len());
        for (name, def) in definitions {
            let mut refs = Vec::new();
            defs::refs_in(def, &mut refs);
            defs.insert(name.as_str(), (serde_json::to_vec(def)?, refs));
        }
        Ok(Serialized { defs })
    }

    /// The OpenAPI 3.0 document of one group-version: its paths and every schema they reach.
    pub(crate) fn document(&self, group: &str, version: &str) -> Result<Vec<u8>, Error> {
        let paths = Value::Object(paths::paths(group, version, |d| self.defs.contains_key(d)));
        let mut wanted: Vec<&str> = Vec::new();
        defs::refs_in(&paths, &mut wanted);
        // Kinds are also looked up by x-kubernetes-group-version-kind, so include them directly.
        for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
            wanted.push(r.definition);
        }
        wanted.extend([META_STATUS, META_DELETE_OPTIONS, META_WATCH_EVENT, META_PATCH]);
        let mut names: BTreeSet<&str> = BTreeSet::new();
        while let Some(name) = wanted.pop() {
            if names.contains(name) {
                continue;
            }
            if let Some((name, (_, refs))) = self.defs.get_key_value(name) {
                names.insert(name);
                wanted.extend(refs.iter().copied());
            }
        }

        let head = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.33.0"},
            "paths": paths,
        });
        let tail = json!({
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        });
        let mut out = serde_json::to_vec(&head)?;
        // Reopen the object: `{...}` -> `{...,"components":{"schemas":{...},<tail>},"security":...}`.
        out.pop();
        out.extend_from_slice(br#","components":{"schemas":{"#);
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, name)?;
            out.push(b':');
            if let Some((bytes, _)) = self.defs.get(name) {
                out.extend_from_slice(bytes);
            }
        }
        out.extend_from_slice(b"},");
        let tail = serde_json::to_vec(&tail)?;
        out.extend_from_slice(tail.get(1..).unwrap_or_default());
        out.extend_from_slice(br#","security":[{"BearerToken":[]}]}"#);
        Ok(out)
    }
}
