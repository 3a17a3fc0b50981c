//! Import of images without a registry: OCI image layouts (directories with `index.json`) and
//! `docker save` archives. Every blob is verified (OCI) or hashed (docker) on its way into the
//! content store; the image index is updated only after all of an image's blobs are stored.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageManifest, MediaType};
use serde::Deserialize;
use serde_json::json;

use super::digest::{Digest, DigestError};
use super::index::{ImageIndex, ImageRecord};
use super::platform;
use super::reference::{Reference, ReferenceError};
use super::store::{ContentStore, StoreError};

/// Errors importing an image.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("no image for platform {0} in the index")]
    NoPlatform(String),
}

fn invalid(what: &str, message: impl ToString) -> ImportError {
    ImportError::Invalid { what: what.to_string(), message: message.to_string() }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_path_buf(), source }
}

fn digest_of(desc: &Descriptor) -> Result<Digest, ImportError> {
    Ok(desc.digest().to_string().parse()?)
}

/// Copies one blob of an OCI layout into the store, verifying digest and size.
fn copy_blob(layout: &Path, desc: &Descriptor, store: &ContentStore) -> Result<Digest, ImportError> {
    let digest = digest_of(desc)?;
    let path = layout.join("blobs").join(digest.algorithm()).join(digest.hex());
    let mut f = File::open(&path).map_err(io_err(&path))?;
    store.ingest(&mut f, Some(&digest), Some(desc.size()))?;
    Ok(digest)
}

/// Stores a manifest's config and layers (already in `store`) and returns the image record.
fn record_for(store: &ContentStore, manifest_digest: &Digest) -> Result<ImageRecord, ImportError> {
    let bytes = store.read(manifest_digest)?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(|e| invalid("image manifest", e))?;
    let size = manifest.config().size() + manifest.layers().iter().map(|l| l.size()).sum::<u64>();
    Ok(ImageRecord {
        manifest: manifest_digest.to_string(),
        config: manifest.config().digest().to_string(),
        layers: manifest.layers().iter().map(|l| l.digest().to_string()).collect(),
        size,
    })
}

/// Resolves a manifest descriptor of the layout (following nested indexes to this platform)
/// and copies everything it references.
fn import_manifest(
    layout: &Path,
    desc: &Descriptor,
    store: &ContentStore,
    depth: usize,
) -> Result<Digest, ImportError> {
    if depth > 4 {
        return Err(invalid("image index", "nested too deeply"));
    }
    let digest = copy_blob(layout, desc, store)?;
    match desc.media_type() {
        MediaType::ImageIndex => {
            let index: oci_spec::image::ImageIndex =
                serde_json::from_slice(&store.read(&digest)?).map_err(|e| invalid("image index", e))?;
            let (os, arch) = platform();
            let chosen = index
                .manifests()
                .iter()
                .find(|m| {
                    m.platform()
                        .as_ref()
                        .is_some_and(|p| p.os().to_string() == os && p.architecture().to_string() == arch)
                })
                .ok_or_else(|| ImportError::NoPlatform(format!("{os}/{arch}")))?;
            import_manifest(layout, chosen, store, depth + 1)
        }
        _ => {
            let manifest: ImageManifest =
                serde_json::from_slice(&store.read(&digest)?).map_err(|e| invalid("image manifest", e))?;
            copy_blob(layout, manifest.config(), store)?;
            for layer in manifest.layers() {
                copy_blob(layout, layer, store)?;
            }
            Ok(digest)
        }
    }
}

/// Imports every image of the OCI layout at `dir`. Each is named by `name` when given (its tag
/// from the layout's `org.opencontainers.image.ref.name` annotation when `name` has none), else
/// by the annotation. Returns the references recorded.
pub fn import_oci_layout(
    dir: &Path,
    name: Option<&str>,
    store: &ContentStore,
    images: &mut ImageIndex,
) -> Result<Vec<String>, ImportError> {
    let index_path = dir.join("index.json");
    let bytes = std::fs::read(&index_path).map_err(io_err(&index_path))?;
    let index: oci_spec::image::ImageIndex = serde_json::from_slice(&bytes).map_err(|e| invalid("index.json", e))?;
    let mut names = Vec::new();
    for desc in index.manifests() {
        let annotated = desc.annotations().as_ref().and_then(|a| a.get("org.opencontainers.image.ref.name")).cloned();
        let reference = match (name, annotated.as_deref()) {
            (Some(n), Some(tag)) if !n.rsplit('/').next().unwrap_or(n).contains(':') && !tag.contains('/') => {
                format!("{n}:{tag}")
            }
            (Some(n), _) => n.to_string(),
            (None, Some(a)) if a.contains('/') => a.to_string(),
            (None, Some(tag)) => format!("localhost/{}:{tag}", dir_name(dir)),
            (None, None) => format!("localhost/{}", dir_name(dir)),
        };
        let reference: Reference = reference.parse()?;
        let manifest = import_manifest(dir, desc, store, 0)?;
        images.insert(&reference.to_string(), record_for(store, &manifest)?)?;
        names.push(reference.to_string());
    }
    Ok(names)
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().and_then(|n| n.to_str()).unwrap_or("image").to_ascii_lowercase()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn layer_media_type(store: &ContentStore, digest: &Digest) -> Result<&'static str, ImportError> {
    let mut head = [0u8; 2];
    let path = store.path(digest);
    let mut f = File::open(&path).map_err(io_err(&path))?;
    let n = f.read(&mut head).map_err(io_err(&path))?;
    Ok(if n == 2 && head == [0x1f, 0x8b] {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    } else {
        "application/vnd.oci.image.layer.v1.tar"
    })
}

/// Imports a `docker save` archive: every image in its `manifest.json`, named by its RepoTags.
pub fn import_docker_archive(
    archive: &Path,
    store: &ContentStore,
    images: &mut ImageIndex,
) -> Result<Vec<String>, ImportError> {
    let file = File::open(archive).map_err(io_err(archive))?;
    let mut tar = tar::Archive::new(file);
    let mut files: HashMap<String, (Digest, u64)> = HashMap::new();
    let mut links: HashMap<String, String> = HashMap::new();
    let mut manifest_json = None;
    for entry in tar.entries().map_err(io_err(archive))? {
        let mut entry = entry.map_err(io_err(archive))?;
        let path = entry.path().map_err(io_err(archive))?.to_string_lossy().trim_start_matches("./").to_string();
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            if let Ok(Some(target)) = entry.link_name() {
                let base = Path::new(&path).parent().unwrap_or(Path::new(""));
                links.insert(path.clone(), base.join(target).to_string_lossy().replace("/./", "/"));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if path == "manifest.json" {
            let mut s = Vec::new();
            entry.read_to_end(&mut s).map_err(io_err(archive))?;
            manifest_json = Some(s);
        } else if path.ends_with(".tar") || path.ends_with(".json") || path.starts_with("blobs/") {
            if path == "index.json" || path.ends_with("/json") {
                continue;
            }
            let got = store.ingest(&mut entry, None, None)?;
            files.insert(path, got);
        }
    }
    let manifest_json = manifest_json.ok_or_else(|| invalid("docker archive", "no manifest.json"))?;
    let manifests: Vec<DockerManifest> =
        serde_json::from_slice(&manifest_json).map_err(|e| invalid("manifest.json", e))?;
    let lookup = |p: &str| -> Result<(Digest, u64), ImportError> {
        let p = links.get(p).map(String::as_str).unwrap_or(p);
        files.get(p).cloned().ok_or_else(|| invalid("docker archive", format!("missing {p}")))
    };
    let mut names = Vec::new();
    for m in manifests {
        let (config, config_size) = lookup(&m.config)?;
        let mut layers = Vec::new();
        for l in &m.layers {
            let (d, size) = lookup(l)?;
            layers.push(json!({"mediaType": layer_media_type(store, &d)?, "digest": d.to_string(), "size": size}));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": config_size},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).map_err(|e| invalid("manifest", e))?;
        let (manifest_digest, _) = store.ingest(&mut &bytes[..], None, None)?;
        let record = record_for(store, &manifest_digest)?;
        for tag in m.repo_tags.unwrap_or_default() {
            let reference: Reference = tag.parse()?;
            images.insert(&reference.to_string(), record.clone())?;
            names.push(reference.to_string());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests;
