//! Reads k8s-openapi's generated sources for the JSON property names of every definition (the
//! keys its `Deserialize` impls match: `"podIPs" => Field::Key_pod_ips`) and its resource kinds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// What k8s-openapi tells us.
#[derive(Debug, Default)]
pub struct Definitions {
    /// Normalized definition key (see [`def_key`]) → JSON property names (union over all
    /// Kubernetes versions the crate ships).
    pub properties: BTreeMap<String, BTreeSet<String>>,
    /// (apiVersion, kind, normalized definition key) of every `impl crate::Resource`.
    pub resources: BTreeSet<(String, String, String)>,
}

/// `io.k8s.api.apps.v1.Deployment` → `api.apps.v1.deployment`, comparable with a k8s-pb message's
/// lower-cased dotted path (`-` becomes `_` like k8s-pb's module names).
pub fn def_key(definition: &str) -> String {
    definition.strip_prefix("io.k8s.").unwrap_or(definition).replace('-', "_").to_lowercase()
}

/// Parses every `src/v1_*/**.rs`.
pub fn parse(src: &Path) -> Definitions {
    let mut defs = Definitions::default();
    let Ok(entries) = fs::read_dir(src) else {
        return defs;
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("v1_")) {
            collect(&path, &mut files);
        }
    }
    files.sort();
    for file in files {
        if let Ok(text) = fs::read_to_string(&file) {
            parse_file(&text, &mut defs);
        }
    }
    defs
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn parse_file(text: &str, defs: &mut Definitions) {
    let mut lines = text.lines();
    let Some(definition) = lines.next().and_then(|l| l.strip_prefix("// Generated from definition ")) else {
        return;
    };
    let key = def_key(definition.trim());
    let props = defs.properties.entry(key.clone()).or_default();
    let mut api_version = None;
    let mut kind = None;
    for line in lines {
        let t = line.trim();
        if t.contains("=> Field::Key_") {
            if let Some(name) = t.strip_prefix('"').and_then(|r| r.split_once('"')) {
                props.insert(name.0.to_string());
            }
        } else if let Some(v) = const_str(t, "API_VERSION") {
            api_version = Some(v);
        } else if let Some(v) = const_str(t, "KIND") {
            kind = Some(v);
        }
    }
    if let (Some(api_version), Some(kind)) = (api_version, kind) {
        defs.resources.insert((api_version, kind, key));
    }
}

fn const_str(line: &str, name: &str) -> Option<String> {
    let rest = line.strip_prefix("const ")?.strip_prefix(name)?;
    let rest = rest.strip_prefix(':')?;
    let (_, value) = rest.split_once('=')?;
    Some(value.trim().trim_end_matches(';').trim_matches('"').to_string())
}
