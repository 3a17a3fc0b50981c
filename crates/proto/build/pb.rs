//! Parses k8s-pb's prost-generated sources: every `#[prost(...)]` field (tag, scalar/message/map
//! kind, label) of every message, and the `impl crate::Resource` kinds.

use std::fs;
use std::path::Path;

/// A field's value kind as written in the prost attribute.
#[derive(Debug, Clone)]
pub enum PbKind {
    /// A prost scalar type name (`string`, `int32`, `bytes`, ...).
    Scalar(String),
    /// A message, by full dotted k8s-pb path (`api.apps.v1.DeploymentSpec`).
    Message(String),
    /// A map with a scalar key and a scalar or message value.
    Map(String, Box<PbKind>),
}

/// One prost field.
#[derive(Debug, Clone)]
pub struct PbField {
    /// Rust field name without `r#`.
    pub name: String,
    pub tag: u32,
    pub kind: PbKind,
    pub repeated: bool,
}

/// One prost message.
#[derive(Debug)]
pub struct PbMessage {
    /// Module path (`["api", "apps", "v1"]`).
    pub module: Vec<String>,
    /// Struct name (`Deployment`).
    pub name: String,
    pub fields: Vec<PbField>,
}

impl PbMessage {
    /// `api.apps.v1.Deployment`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.module.join("."), self.name)
    }
}

/// `impl crate::Resource for X { API_VERSION, KIND }`: (module, struct, apiVersion, kind).
#[derive(Debug)]
pub struct PbResource {
    pub module: Vec<String>,
    pub name: String,
    pub api_version: String,
    pub kind: String,
}

/// Everything parsed from k8s-pb.
#[derive(Debug, Default)]
pub struct Parsed {
    pub messages: Vec<PbMessage>,
    pub resources: Vec<PbResource>,
}

/// Parses every `mod.rs` under `src`.
pub fn parse(src: &Path) -> Parsed {
    let mut parsed = Parsed::default();
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(src).expect("walked below src");
        let module: Vec<String> = rel
            .parent()
            .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        if module.is_empty() {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        parse_file(&module, &text, &mut parsed);
    }
    parsed
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.file_name().is_some_and(|n| n == "mod.rs") {
            out.push(path);
        }
    }
}

fn parse_file(module: &[String], text: &str, parsed: &mut Parsed) {
    let mut current: Option<PbMessage> = None;
    let mut attr: Option<String> = None;
    let mut field_text: Option<String> = None;
    let mut resource: Option<(String, Option<String>, Option<String>)> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(text) = field_text.as_mut() {
            text.push_str(t);
            if field_complete(text) {
                let text = field_text.take().unwrap_or_default();
                let attr = attr.take().unwrap_or_default();
                if let Some(msg) = current.as_mut() {
                    msg.fields.push(parse_field(module, &attr, &text));
                }
            }
            continue;
        }
        if let Some((_, api_version, kind)) = resource.as_mut() {
            if let Some(v) = const_str(t, "API_VERSION") {
                *api_version = Some(v);
            } else if let Some(v) = const_str(t, "KIND") {
                *kind = Some(v);
            } else if t == "}" {
                if let Some((name, Some(api_version), Some(kind))) = resource.take() {
                    parsed.resources.push(PbResource { module: module.to_vec(), name, api_version, kind });
                }
                resource = None;
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix("impl crate::Resource for ") {
            let name = rest.trim_end_matches('{').trim().to_string();
            resource = Some((name, None, None));
        } else if let Some(rest) = t.strip_prefix("pub struct ") {
            let (name, body) = rest.split_once(' ').unwrap_or((rest, ""));
            let msg = PbMessage { module: module.to_vec(), name: name.to_string(), fields: Vec::new() };
            if body.trim() == "{}" {
                parsed.messages.push(msg);
            } else {
                current = Some(msg);
            }
        } else if current.is_some() {
            if let Some(rest) = t.strip_prefix("#[prost(") {
                attr = Some(rest.trim_end_matches(")]").to_string());
            } else if t.starts_with("pub ") && attr.is_some() {
                let text = t.to_string();
                if field_complete(&text) {
                    let attr = attr.take().unwrap_or_default();
                    if let Some(msg) = current.as_mut() {
                        msg.fields.push(parse_field(module, &attr, &text));
                    }
                } else {
                    field_text = Some(text);
                }
            } else if t == "}" {
                if let Some(mut msg) = current.take() {
                    msg.fields.sort_by_key(|f| f.tag);
                    parsed.messages.push(msg);
                }
            }
        }
    }
}

/// `const KIND: &'static str = "Eviction";` → `Eviction`.
fn const_str(line: &str, name: &str) -> Option<String> {
    let rest = line.strip_prefix("const ")?.strip_prefix(name)?;
    let rest = rest.strip_prefix(':')?;
    let (_, value) = rest.split_once('=')?;
    Some(value.trim().trim_end_matches(';').trim_matches('"').to_string())
}

fn field_complete(text: &str) -> bool {
    let opens = text.matches('<').count();
    let closes = text.matches('>').count();
    text.ends_with(',') && opens == closes
}

/// Splits a prost attribute body on commas outside quotes.
fn attr_items(attr: &str) -> Vec<(String, Option<String>)> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in attr.chars().chain(std::iter::once(',')) {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => {
                let item = cur.trim();
                if !item.is_empty() {
                    let (k, v) = match item.split_once('=') {
                        Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"').to_string())),
                        None => (item, None),
                    };
                    items.push((k.to_string(), v));
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    items
}

fn parse_field(module: &[String], attr: &str, text: &str) -> PbField {
    let decl = text.strip_prefix("pub ").unwrap_or(text);
    let (name, ty) = decl.split_once(':').unwrap_or_else(|| panic!("unparsable prost field {text:?}"));
    let name = name.trim().trim_start_matches("r#").to_string();
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    let items = attr_items(attr);
    let mut tag = None;
    let mut repeated = false;
    let mut kind = None;
    for (k, v) in &items {
        match (k.as_str(), v) {
            ("tag", Some(v)) => tag = v.parse().ok(),
            ("repeated", None) => repeated = true,
            ("optional" | "required" | "boxed" | "packed", _) => {}
            ("message", None) => kind = Some(PbKind::Message(resolve(module, inner_type(&ty)))),
            ("bytes", _) => kind = Some(PbKind::Scalar("bytes".into())),
            ("enumeration", _) => kind = Some(PbKind::Scalar("int32".into())),
            ("map" | "btree_map" | "hash_map", Some(v)) => {
                let (key, value) = v.split_once(',').unwrap_or_else(|| panic!("bad map attribute {v:?}"));
                let value = value.trim();
                let value = if value == "message" {
                    PbKind::Message(resolve(module, map_value_type(&ty)))
                } else if value.starts_with("enumeration") {
                    PbKind::Scalar("int32".into())
                } else {
                    PbKind::Scalar(value.to_string())
                };
                kind = Some(PbKind::Map(key.trim().to_string(), Box::new(value)));
            }
            (scalar, None) => kind = Some(PbKind::Scalar(scalar.to_string())),
            other => panic!("unknown prost attribute item {other:?} in {attr:?}"),
        }
    }
    PbField {
        name,
        tag: tag.unwrap_or_else(|| panic!("no tag in {attr:?}")),
        kind: kind.unwrap_or_else(|| panic!("no type in {attr:?}")),
        repeated,
    }
}

/// Strips `Option<`, `Vec<`, `Box<` wrappers (whitespace already removed).
fn inner_type(ty: &str) -> &str {
    let mut t = ty.trim_end_matches(',');
    loop {
        let stripped = ["::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"]
            .iter()
            .find_map(|p| t.strip_prefix(p));
        match stripped {
            Some(rest) => t = rest.strip_suffix('>').unwrap_or(rest).trim_end_matches(','),
            None => return t,
        }
    }
}

/// The value type of `BTreeMap<String, V>`.
fn map_value_type(ty: &str) -> &str {
    let t = ty.trim_end_matches(',');
    let t = t.strip_suffix('>').unwrap_or(t).trim_end_matches(',');
    t.split_once(',').map(|(_, v)| v).unwrap_or(t)
}

/// Resolves a Rust type path relative to `module` to a dotted full name.
fn resolve(module: &[String], path: &str) -> String {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = module.to_vec();
    if segs.first() == Some(&"crate") {
        base.clear();
        segs.remove(0);
    }
    for seg in segs {
        if seg == "super" {
            base.pop();
        } else {
            base.push(seg.to_string());
        }
    }
    base.join(".")
}
