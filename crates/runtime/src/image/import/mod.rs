//! Import of images without a registry: OCI image layouts (directories with `index.json`), OCI
//! archives (a layout in a tar) and `docker save` archives. Every blob is verified against its
//! digest (or hashed, for the old docker layout) on its way into the content store; the image
//! index is updated only after all of an image's blobs are stored.

use std::fs::File;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageManifest, MediaType};

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

/// Where the blobs of an OCI image come from: a layout directory, or the store itself when an
/// archive's blobs were verified into it on the way through the tar.
pub(crate) trait BlobSource {
    /// Makes the blob `desc` names present (and verified) in `store`.
    fn copy(&self, desc: &Descriptor, store: &ContentStore) -> Result<Digest, ImportError>;
}

/// An OCI image layout directory.
struct Layout<'a>(&'a Path);

impl BlobSource for Layout<'_> {
    fn copy(&self, desc: &Descriptor, store: &ContentStore) -> Result<Digest, ImportError> {
        let digest = digest_of(desc)?;
        let path = self.0.join("blobs").join(digest.algorithm()).join(digest.hex());
        let mut f = File::open(&path).map_err(io_err(&path))?;
        store.ingest(&mut f, Some(&digest), Some(desc.size()))?;
        Ok(digest)
    }
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

/// Resolves a manifest descriptor (following nested indexes to this platform) and copies
/// everything it references.
fn import_manifest(
    source: &dyn BlobSource,
    desc: &Descriptor,
    store: &ContentStore,
    depth: usize,
) -> Result<Digest, ImportError> {
    if depth > 4 {
        return Err(invalid("image index", "nested too deeply"));
    }
    let digest = source.copy(desc, store)?;
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
            import_manifest(source, chosen, store, depth + 1)
        }
        _ => {
            let manifest: ImageManifest =
                serde_json::from_slice(&store.read(&digest)?).map_err(|e| invalid("image manifest", e))?;
            source.copy(manifest.config(), store)?;
            for layer in manifest.layers() {
                source.copy(layer, store)?;
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
    import_oci_index(&bytes, name, &file_stem(dir), &Layout(dir), store, images)
}

/// Imports the images an OCI `index.json` lists, their blobs from `source`; images without a
/// name are called `localhost/<fallback>`.
pub(crate) fn import_oci_index(
    index: &[u8],
    name: Option<&str>,
    fallback: &str,
    source: &dyn BlobSource,
    store: &ContentStore,
    images: &mut ImageIndex,
) -> Result<Vec<String>, ImportError> {
    let index: oci_spec::image::ImageIndex = serde_json::from_slice(index).map_err(|e| invalid("index.json", e))?;
    let mut names = Vec::new();
    for desc in index.manifests() {
        let annotated = desc.annotations().as_ref().and_then(|a| a.get("org.opencontainers.image.ref.name")).cloned();
        let reference = match (name, annotated.as_deref()) {
            (Some(n), Some(tag)) if !n.rsplit('/').next().unwrap_or(n).contains(':') && !tag.contains('/') => {
                format!("{n}:{tag}")
            }
            (Some(n), _) => n.to_string(),
            (None, Some(a)) if a.contains('/') => a.to_string(),
            (None, Some(tag)) => format!("localhost/{fallback}:{tag}"),
            (None, None) => format!("localhost/{fallback}"),
        };
        let reference: Reference = reference.parse()?;
        let manifest = import_manifest(source, desc, store, 0)?;
        images.insert(&reference.to_string(), record_for(store, &manifest)?)?;
        names.push(reference.to_string());
    }
    Ok(names)
}

/// A lower-case name for images from `path` (a directory or an archive file).
fn file_stem(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("image");
    let name = name.strip_suffix(".tar").unwrap_or(name);
    name.to_ascii_lowercase()
}

mod archive;
pub use archive::import_archive;

#[cfg(test)]
mod tests;
