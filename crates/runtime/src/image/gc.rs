//! Garbage collection: blobs no image in the index refers to, partial downloads no pull is
//! working on, and unpacked layer directories that neither an image nor a container
//! (`in_use`) needs, are removed.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::index::ImageIndex;
use super::store::{ContentStore, StoreError};
use super::unpack::layer_dir;

/// What a collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    pub blobs: usize,
    pub layers: usize,
    pub bytes: u64,
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Removes what no image references; `in_use` are layer directories containers still mount.
pub fn collect(store: &ContentStore, images: &ImageIndex, in_use: &HashSet<PathBuf>) -> Result<Collected, StoreError> {
    let mut keep: HashSet<String> = HashSet::new();
    for (_, record) in images.iter() {
        keep.insert(record.manifest.clone());
        keep.insert(record.config.clone());
        keep.extend(record.layers.iter().cloned());
    }
    let mut done = Collected { bytes: store.remove_partials()?, ..Collected::default() };
    for digest in store.list()? {
        let key = digest.to_string();
        let layer = layer_dir(store, &digest);
        if keep.contains(&key) || in_use.contains(&layer) {
            continue;
        }
        done.bytes += fs::metadata(store.path(&digest)).map(|m| m.len()).unwrap_or(0);
        store.remove(&digest)?;
        done.blobs += 1;
    }
    let layers = store.root().join("layers");
    for alg in fs::read_dir(&layers).into_iter().flatten().flatten() {
        for dir in fs::read_dir(alg.path()).into_iter().flatten().flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            let path = dir.path();
            if let Some(locked) = name.strip_suffix(".lock") {
                // An unpack lock: it goes with its layer.
                let key = format!("{}:{}", alg.file_name().to_string_lossy(), locked.trim_start_matches('.'));
                if !keep.contains(&key) {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            let key = format!("{}:{}", alg.file_name().to_string_lossy(), name.trim_start_matches('.'));
            let temporary = name.starts_with('.');
            if !temporary && (keep.contains(&key) || in_use.contains(&path)) {
                continue;
            }
            done.bytes += dir_size(&path);
            fs::remove_dir_all(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
            done.layers += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRecord;

    #[test]
    fn unreferenced_blobs_and_layers_go_used_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let mut index = ImageIndex::load(dir.path()).unwrap();
        let put = |data: &[u8]| {
            let (d, _) = store.ingest(&mut &data[..], None, None).unwrap();
            d
        };
        let (m, c, l1, l2, orphan) = (put(b"manifest"), put(b"config"), put(b"layer1"), put(b"layer2"), put(b"orphan"));
        let record =
            ImageRecord { manifest: m.to_string(), config: c.to_string(), layers: vec![l1.to_string()], size: 0 };
        index.insert("docker.io/library/a:latest", record).unwrap();
        for d in [&l1, &l2] {
            fs::create_dir_all(layer_dir(&store, d).join("bin")).unwrap();
        }
        let tmp_layer = layer_dir(&store, &l1).with_file_name(format!(".{}.tmp", l1.hex()));
        fs::create_dir_all(&tmp_layer).unwrap();
        let lock = layer_dir(&store, &l1).with_file_name(format!(".{}.lock", l1.hex()));
        fs::write(&lock, "").unwrap();
        let in_use = HashSet::from([layer_dir(&store, &l2)]);
        let done = collect(&store, &index, &in_use).unwrap();
        assert_eq!((done.blobs, done.layers), (1, 1), "{done:?}");
        assert!(!store.contains(&orphan) && store.contains(&l2) && store.contains(&m));
        assert!(layer_dir(&store, &l1).is_dir() && layer_dir(&store, &l2).is_dir() && !tmp_layer.exists());
        assert!(lock.exists(), "the lock of a kept layer stays");
        index.remove("docker.io/library/a:latest").unwrap();
        let done = collect(&store, &index, &HashSet::new()).unwrap();
        assert_eq!((done.blobs, done.layers), (4, 2));
        assert!(store.list().unwrap().is_empty());
        assert!(!lock.exists(), "and goes with it");
    }
}
