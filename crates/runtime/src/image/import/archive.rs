//! Image archives in one pass over the tar: `docker save` archives (old layout with
//! `<id>/layer.tar`, or the newer one with an OCI `blobs/` directory) and OCI archives (an OCI
//! layout in a tar). Blobs under `blobs/<alg>/<hex>` are verified against their names as they
//! stream into the store.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use oci_spec::image::Descriptor;
use serde::Deserialize;
use serde_json::json;

use super::{digest_of, file_stem, import_oci_index, invalid, io_err, record_for, BlobSource, ImportError};
use crate::image::digest::Digest;
use crate::image::index::ImageIndex;
use crate::image::reference::Reference;
use crate::image::store::{ContentStore, StoreError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// The blobs of an archive, already verified into the store.
struct Stored;

impl BlobSource for Stored {
    fn copy(&self, desc: &Descriptor, store: &ContentStore) -> Result<Digest, ImportError> {
        let digest = digest_of(desc)?;
        let path = store.path(&digest);
        let size =
            std::fs::metadata(&path).map_err(|_| invalid("OCI archive", format!("missing blob {digest}")))?.len();
        if size != desc.size() {
            return Err(ImportError::Store(StoreError::SizeMismatch {
                digest: digest.to_string(),
                expected: desc.size(),
                actual: size,
            }));
        }
        Ok(digest)
    }
}

/// What one pass over the tar found.
#[derive(Default)]
struct Contents {
    files: HashMap<String, (Digest, u64)>,
    links: HashMap<String, String>,
    docker_manifest: Option<Vec<u8>>,
    oci_index: Option<Vec<u8>>,
}

/// Imports every image of a `docker save` archive (named by its RepoTags, or `name` when it has
/// none) or of an OCI archive (named as [`super::import_oci_layout`] names them).
pub fn import_archive(
    archive: &Path,
    name: Option<&str>,
    store: &ContentStore,
    images: &mut ImageIndex,
) -> Result<Vec<String>, ImportError> {
    let contents = read_archive(archive, store)?;
    if let Some(manifest) = &contents.docker_manifest {
        docker_images(manifest, &contents, name, store, images)
    } else if let Some(index) = &contents.oci_index {
        import_oci_index(index, name, &file_stem(archive), &Stored, store, images)
    } else {
        Err(invalid("image archive", "neither manifest.json (docker) nor index.json (OCI) found"))
    }
}

fn read_archive(archive: &Path, store: &ContentStore) -> Result<Contents, ImportError> {
    let file = File::open(archive).map_err(io_err(archive))?;
    let mut tar = tar::Archive::new(file);
    let mut found = Contents::default();
    for entry in tar.entries().map_err(io_err(archive))? {
        let mut entry = entry.map_err(io_err(archive))?;
        let path = entry.path().map_err(io_err(archive))?.to_string_lossy().trim_start_matches("./").to_string();
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            if let Ok(Some(target)) = entry.link_name() {
                let base = Path::new(&path).parent().unwrap_or(Path::new(""));
                found.links.insert(path.clone(), base.join(target).to_string_lossy().replace("/./", "/"));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let mut whole = || -> Result<Vec<u8>, ImportError> {
            let mut s = Vec::new();
            entry.read_to_end(&mut s).map_err(io_err(archive))?;
            Ok(s)
        };
        match path.as_str() {
            "manifest.json" => found.docker_manifest = Some(whole()?),
            "index.json" => found.oci_index = Some(whole()?),
            p if p.starts_with("blobs/") => {
                let named: Digest = p["blobs/".len()..].replacen('/', ":", 1).parse()?;
                let got = store.ingest(&mut entry, Some(&named), None)?;
                found.files.insert(path, got);
            }
            p if p.ends_with(".tar") || (p.ends_with(".json") && !p.ends_with("/json")) => {
                let got = store.ingest(&mut entry, None, None)?;
                found.files.insert(path, got);
            }
            _ => {}
        }
    }
    Ok(found)
}

fn layer_media_type(store: &ContentStore, digest: &Digest) -> Result<&'static str, ImportError> {
    let mut head = [0u8; 4];
    let path = store.path(digest);
    let mut f = File::open(&path).map_err(io_err(&path))?;
    let n = f.read(&mut head).map_err(io_err(&path))?;
    Ok(match head[..n] {
        [0x1f, 0x8b, ..] => "application/vnd.oci.image.layer.v1.tar+gzip",
        [0x28, 0xb5, 0x2f, 0xfd] => "application/vnd.oci.image.layer.v1.tar+zstd",
        _ => "application/vnd.oci.image.layer.v1.tar",
    })
}

/// Builds an OCI manifest for each image of a docker `manifest.json` and names it.
fn docker_images(
    manifest_json: &[u8],
    contents: &Contents,
    name: Option<&str>,
    store: &ContentStore,
    images: &mut ImageIndex,
) -> Result<Vec<String>, ImportError> {
    let manifests: Vec<DockerManifest> =
        serde_json::from_slice(manifest_json).map_err(|e| invalid("manifest.json", e))?;
    let lookup = |p: &str| -> Result<(Digest, u64), ImportError> {
        let p = contents.links.get(p).map(String::as_str).unwrap_or(p);
        contents.files.get(p).cloned().ok_or_else(|| invalid("docker archive", format!("missing {p}")))
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
        let tags = m.repo_tags.filter(|t| !t.is_empty());
        for tag in tags.unwrap_or_else(|| name.map(String::from).into_iter().collect()) {
            let reference: Reference = tag.parse()?;
            images.insert(&reference.to_string(), record.clone())?;
            names.push(reference.to_string());
        }
    }
    Ok(names)
}
