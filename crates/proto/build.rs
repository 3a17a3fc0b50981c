//! Generates `$OUT_DIR/table.rs`: every k8s-pb message with its fields (tag, JSON name, kind),
//! plus the (apiVersion, kind) → message index.
//!
//! Field numbers and kinds come from k8s-pb's prost attributes (`#[prost(string, optional, tag =
//! "2")] pub generate_name`); JSON names from k8s-openapi's definitions, matched by snake-casing
//! each property the way prost does (heck); both crates' sources are located with `cargo
//! metadata`.

#[path = "build/keep_zero.rs"]
mod keep_zero;
#[path = "build/openapi.rs"]
mod openapi;
#[path = "build/pb.rs"]
mod pb;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use heck::{ToLowerCamelCase, ToSnakeCase};
use pb::{PbKind, PbMessage};

struct Sources {
    k8s_pb: PathBuf,
    k8s_openapi: Option<PathBuf>,
    lockfile: Option<PathBuf>,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    let sources = locate();
    if let Some(lock) = &sources.lockfile {
        println!("cargo:rerun-if-changed={}", lock.display());
    }
    let parsed = pb::parse(&sources.k8s_pb.join("src"));
    let defs = match &sources.k8s_openapi {
        Some(dir) => openapi::parse(&dir.join("src")),
        None => {
            println!("cargo:warning=k8s-openapi source not found; JSON names fall back to lowerCamelCase");
            openapi::Definitions::default()
        }
    };
    let (code, report) = generate(&parsed, &defs);
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    fs::write(out.join("table.rs"), code).expect("writing table.rs");
    fs::write(out.join("json_names_report.txt"), report).expect("writing report");
}

/// Finds k8s-pb and k8s-openapi through `cargo metadata`, falling back to the registry cache.
fn locate() -> Sources {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1", "--offline"])
        .arg("--manifest-path")
        .arg(manifest_dir.join("Cargo.toml"));
    if let Ok(target) = env::var("TARGET") {
        cmd.args(["--filter-platform", &target]);
    }
    if let Some(sources) = cmd
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|meta| from_metadata(&meta))
    {
        return sources;
    }
    from_registry()
        .unwrap_or_else(|| panic!("cannot locate the k8s-pb 0.9 source (cargo metadata and the registry cache failed)"))
}

fn from_metadata(meta: &serde_json::Value) -> Option<Sources> {
    let packages = meta.get("packages")?.as_array()?;
    let dir_of = |name: &str, version_prefix: &str| {
        packages
            .iter()
            .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
            .filter(|p| p.get("version").and_then(|v| v.as_str()).is_some_and(|v| v.starts_with(version_prefix)))
            .filter_map(|p| p.get("manifest_path")?.as_str())
            .filter_map(|m| Path::new(m).parent().map(Path::to_path_buf))
            .max()
    };
    let lockfile = meta.get("workspace_root").and_then(|r| r.as_str()).map(|r| Path::new(r).join("Cargo.lock"));
    Some(Sources { k8s_pb: dir_of("k8s-pb", "0.9")?, k8s_openapi: dir_of("k8s-openapi", ""), lockfile })
}

fn from_registry() -> Option<Sources> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut pb = Vec::new();
    let mut oa = Vec::new();
    for index in fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for dir in fs::read_dir(index.path()).into_iter().flatten().flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            if name.starts_with("k8s-pb-0.9.") {
                pb.push(dir.path());
            } else if name.starts_with("k8s-openapi-") {
                oa.push(dir.path());
            }
        }
    }
    Some(Sources { k8s_pb: pb.into_iter().max()?, k8s_openapi: oa.into_iter().max(), lockfile: None })
}

/// Special JSON forms, by full message name; each with the prost field names it reads.
fn special_of(msg: &PbMessage) -> (&'static str, &'static [&'static str]) {
    let full = msg.full_name();
    let name = msg.name.as_str();
    match full.as_str() {
        "apimachinery.pkg.apis.meta.v1.Time" => ("Time", &["seconds", "nanos"]),
        "apimachinery.pkg.apis.meta.v1.MicroTime" => ("MicroTime", &["seconds", "nanos"]),
        "apimachinery.pkg.apis.meta.v1.Duration" => ("Duration", &["duration"]),
        "apimachinery.pkg.apis.meta.v1.FieldsV1" | "apimachinery.pkg.runtime.RawExtension" => ("RawJson", &["raw"]),
        "apimachinery.pkg.api.resource.Quantity" | "apimachinery.pkg.api.resource.QuantityValue" => {
            ("Quantity", &["string"])
        }
        "apimachinery.pkg.util.intstr.IntOrString" => ("IntOrString", &["type", "int_val", "str_val"]),
        _ if full.starts_with("apiextensions_apiserver.") => match name {
            "Json" => ("RawJson", &["raw"]),
            "JsonSchemaPropsOrArray" => ("SchemaOrArray", &["schema", "j_son_schemas"]),
            "JsonSchemaPropsOrBool" => ("SchemaOrBool", &["allows", "schema"]),
            "JsonSchemaPropsOrStringArray" => ("SchemaOrStringArray", &["schema", "property"]),
            _ => ("None", &[]),
        },
        _ if matches!(name, "ExtraValue" | "Verbs") => ("StringList", &["items"]),
        _ => ("None", &[]),
    }
}

fn scalar(name: &str) -> &'static str {
    match name {
        "string" => "String",
        "bytes" => "Bytes",
        "bool" => "Bool",
        "int32" => "Int32",
        "int64" => "Int64",
        "uint32" => "Uint32",
        "uint64" => "Uint64",
        "sint32" => "Sint32",
        "sint64" => "Sint64",
        "fixed32" => "Fixed32",
        "fixed64" => "Fixed64",
        "sfixed32" => "Sfixed32",
        "sfixed64" => "Sfixed64",
        "float" => "Float",
        "double" => "Double",
        other => panic!("unknown prost scalar type {other:?}"),
    }
}

fn alnum_lower(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The JSON property names for each message, and which of its fields are inlined.
///
/// Properties come from the message's own definition; a message without one (`VolumeSource`,
/// `ProbeHandler`: Go embedded structs) takes those of the definitions that inline it, else those
/// of the same-named definition in another version of its group (old beta versions k8s-openapi no
/// longer ships). A message field its own definition has no property for is a Go embedded struct
/// (`json:",inline"`): its fields belong to the enclosing object.
#[allow(clippy::type_complexity)]
fn properties(
    parsed: &pb::Parsed,
    defs: &openapi::Definitions,
    index: &HashMap<String, usize>,
) -> (Vec<Option<BTreeSet<String>>>, Vec<Vec<bool>>) {
    let own: Vec<Option<&BTreeSet<String>>> =
        parsed.messages.iter().map(|m| defs.properties.get(&m.full_name().to_lowercase())).collect();
    let mut inherited: Vec<Option<BTreeSet<String>>> = vec![None; parsed.messages.len()];
    let mut inline_of = Vec::with_capacity(parsed.messages.len());
    for (i, msg) in parsed.messages.iter().enumerate() {
        let special = special_of(msg).0 != "None";
        let flags: Vec<bool> = msg
            .fields
            .iter()
            .map(|f| {
                let (Some(props), PbKind::Message(child)) = (own[i], &f.kind) else {
                    return false;
                };
                let inline = !special && !f.repeated && !props.iter().any(|p| alnum_lower(p) == alnum_lower(&f.name));
                if inline {
                    if let Some(&c) = index.get(child) {
                        inherited[c].get_or_insert_with(BTreeSet::new).extend(props.iter().cloned());
                    }
                }
                inline
            })
            .collect();
        inline_of.push(flags);
    }
    // Same-named definitions in other versions: (module without version, lower-case name).
    let mut siblings: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (key, props) in &defs.properties {
        let segs: Vec<&str> = key.split('.').collect();
        if let [prefix @ .., _version, name] = segs.as_slice() {
            siblings.entry(format!("{}.{name}", prefix.join("."))).or_default().extend(props.iter().cloned());
        }
    }
    let props = parsed
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            own[i].cloned().or_else(|| inherited[i].clone()).or_else(|| {
                let prefix = m.module.split_last().map(|(_, p)| p.join(".")).unwrap_or_default();
                siblings.get(&format!("{prefix}.{}", m.name.to_lowercase())).cloned()
            })
        })
        .collect();
    (props, inline_of)
}

fn generate(parsed: &pb::Parsed, defs: &openapi::Definitions) -> (String, String) {
    let index: HashMap<String, usize> = parsed.messages.iter().enumerate().map(|(i, m)| (m.full_name(), i)).collect();
    let by_key: HashMap<String, usize> =
        parsed.messages.iter().enumerate().map(|(i, m)| (m.full_name().to_lowercase(), i)).collect();
    let msg_ref =
        |name: &str| -> usize { *index.get(name).unwrap_or_else(|| panic!("unresolved message type {name}")) };
    let mut report = String::new();
    let mut code = String::from("pub(crate) static MESSAGES: &[Message] = &[\n");
    let (props_of, inline_of) = properties(parsed, defs, &index);
    for (i, msg) in parsed.messages.iter().enumerate() {
        let (special, needs) = special_of(msg);
        for need in needs {
            assert!(msg.fields.iter().any(|f| f.name == *need), "{} lacks field {need}", msg.full_name());
        }
        let props = props_of[i].as_ref();
        if props.is_none() && special == "None" {
            let _ = writeln!(report, "no definition for {}", msg.full_name());
        }
        let keep: &[&str] = keep_zero::KEEP_ZERO
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&msg.name))
            .map(|(_, f)| *f)
            .unwrap_or(&[]);
        let _ = write!(code, "    Message {{ name: {:?}, special: Special::{special}, fields: &[", msg.full_name());
        for (j, f) in msg.fields.iter().enumerate() {
            let inline = inline_of[i][j];
            let json = props
                .and_then(|p| {
                    p.iter()
                        .find(|p| p.to_snake_case() == f.name)
                        .or_else(|| p.iter().find(|p| alnum_lower(p) == alnum_lower(&f.name)))
                })
                .cloned()
                .unwrap_or_else(|| {
                    if props.is_some() && !inline {
                        let _ = writeln!(report, "no property for {}.{}", msg.full_name(), f.name);
                    }
                    f.name.to_lower_camel_case()
                });
            let kind = match &f.kind {
                PbKind::Scalar(s) => format!("Kind::Scalar(Scalar::{})", scalar(s)),
                PbKind::Message(m) => format!("Kind::Message({})", msg_ref(m)),
                PbKind::Map(k, v) => {
                    let value = match v.as_ref() {
                        PbKind::Scalar(s) => format!("MapValue::Scalar(Scalar::{})", scalar(s)),
                        PbKind::Message(m) => format!("MapValue::Message({})", msg_ref(m)),
                        PbKind::Map(..) => panic!("nested map in {}", msg.full_name()),
                    };
                    format!("Kind::Map(Scalar::{}, {value})", scalar(k))
                }
            };
            let _ = write!(
                code,
                "Field {{ tag: {}, name: {:?}, json: {:?}, kind: {kind}, repeated: {}, keep_zero: {}, inline: {inline} }}, ",
                f.tag,
                f.name,
                json,
                f.repeated,
                keep.contains(&json.as_str())
            );
        }
        code.push_str("] },\n");
    }
    code.push_str("];\n");

    // (apiVersion, kind) → message.
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut groups: HashMap<Vec<String>, String> = HashMap::new();
    let mut learn = |module: &[String], api_version: &str| {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        if let Some((_, prefix)) = module.split_last() {
            groups.entry(prefix.to_vec()).or_insert_with(|| group.to_string());
        }
    };
    for r in &parsed.resources {
        let name = format!("{}.{}", r.module.join("."), r.name);
        if let Some(&i) = index.get(&name) {
            kinds.entry((r.api_version.clone(), r.kind.clone())).or_insert(i);
            learn(&r.module, &r.api_version);
        }
    }
    for (api_version, kind, key) in &defs.resources {
        if let Some(&i) = by_key.get(key) {
            kinds.entry((api_version.clone(), kind.clone())).or_insert(i);
            learn(&parsed.messages[i].module, api_version);
        }
    }
    let meta: Vec<String> = ["apimachinery", "pkg", "apis", "meta"].map(String::from).to_vec();
    groups.insert(meta, "meta.k8s.io".into());
    for (i, msg) in parsed.messages.iter().enumerate() {
        let Some((version, prefix)) = msg.module.split_last() else {
            continue;
        };
        let Some(group) = groups.get(prefix) else {
            continue;
        };
        let api_version = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
        let taken = kinds.keys().any(|(av, k)| *av == api_version && k.eq_ignore_ascii_case(&msg.name));
        if !taken {
            kinds.insert((api_version, msg.name.clone()), i);
        }
    }
    code.push_str("pub(crate) static KINDS: &[(&str, &str, u16)] = &[\n");
    for ((api_version, kind), i) in &kinds {
        let _ = writeln!(code, "    ({api_version:?}, {kind:?}, {i}),");
    }
    code.push_str("];\n");
    let unknown = msg_ref("apimachinery.pkg.runtime.Unknown");
    let _ = writeln!(code, "pub(crate) const UNKNOWN: u16 = {unknown};");
    assert!(parsed.messages.len() < usize::from(u16::MAX), "too many messages");
    (code, report)
}
