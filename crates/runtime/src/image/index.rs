//! The image index: which references name which manifests (`<root>/images.json`, replaced
//! atomically on every change).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::store::StoreError;

/// One named image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Digest of the image manifest.
    pub manifest: String,
    /// Digest of the image configuration.
    pub config: String,
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
    /// Compressed size of config and layers.
    pub size: u64,
}

/// References → images.
#[derive(Debug, Clone)]
pub struct ImageIndex {
    path: PathBuf,
    images: BTreeMap<String, ImageRecord>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

impl ImageIndex {
    /// Loads the index under `root` (empty when missing).
    pub fn load(root: &Path) -> Result<ImageIndex, StoreError> {
        let path = root.join("images.json");
        let images = match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        Ok(ImageIndex { path, images })
    }

    pub fn get(&self, reference: &str) -> Option<&ImageRecord> {
        self.images.get(reference)
    }

    /// The image a user's reference names: normalized as Docker does (`busybox` →
    /// `docker.io/library/busybox:latest`), else as written. Returns the name found too.
    pub fn lookup(&self, image: &str) -> Option<(String, &ImageRecord)> {
        let normalized = image.parse::<super::Reference>().map(|r| r.to_string()).unwrap_or_default();
        match self.images.get(&normalized) {
            Some(r) => Some((normalized, r)),
            None => self.images.get(image).map(|r| (image.to_string(), r)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ImageRecord)> {
        self.images.iter()
    }

    /// Names `reference` as `record` and saves.
    pub fn insert(&mut self, reference: &str, record: ImageRecord) -> Result<(), StoreError> {
        self.images.insert(reference.to_string(), record);
        self.save()
    }

    /// Forgets `reference`; returns its record.
    pub fn remove(&mut self, reference: &str) -> Result<Option<ImageRecord>, StoreError> {
        let r = self.images.remove(reference);
        self.save()?;
        Ok(r)
    }

    fn save(&self) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&self.images).unwrap_or_default();
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &self.path).map_err(io_err(&self.path))
    }
}
