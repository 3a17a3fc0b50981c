//! The content-addressed blob store: `<root>/blobs/<alg>/<hex>`. Every write is hashed while it
//! streams to a temporary file in `<root>/ingest`, fsynced, and renamed into place only when
//! the digest matches, so a crash or a corrupt blob never leaves a half-written blob behind.
//! Downloads write to `<root>/partial/<alg>-<hex>` instead, kept (locked while in use) when a
//! pull is interrupted so that the next pull continues from where it stopped.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::digest::Digest;

/// Errors of the content store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch { digest: String, expected: u64, actual: u64 },
    #[error("blob {0} not found")]
    NotFound(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Blobs by digest under one root directory.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating) the store and removes leftovers of interrupted writes.
    pub fn open(root: impl Into<PathBuf>) -> Result<ContentStore, StoreError> {
        let root = root.into();
        let ingest = root.join("ingest");
        if ingest.exists() {
            fs::remove_dir_all(&ingest).map_err(io_err(&ingest))?;
        }
        fs::create_dir_all(&ingest).map_err(io_err(&ingest))?;
        for dir in [root.join("blobs"), root.join("partial")] {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        Ok(ContentStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob lives (whether or not it is present).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm()).join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Reads a whole blob.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let p = self.path(digest);
        fs::read(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(digest.to_string()),
            _ => StoreError::Io { path: p.clone(), source: e },
        })
    }

    /// Writes `data` from `reader`; when `expected` is given the blob must match it (and
    /// `size`, when given), else nothing is stored. Returns the digest and size.
    pub fn ingest(
        &self,
        reader: &mut dyn Read,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<(Digest, u64), StoreError> {
        if let Some(d) = expected {
            if self.contains(d) {
                // Already here: drain the reader so callers reading archives stay in step.
                io::copy(reader, &mut io::sink()).map_err(io_err(&self.root))?;
                let len = fs::metadata(self.path(d)).map_err(io_err(&self.path(d)))?.len();
                return Ok((d.clone(), len));
            }
        }
        let mut w = self.writer(expected.cloned())?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(io_err(&w.tmp))?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n])?;
        }
        w.commit(size)
    }

    /// A streaming writer of one blob; nothing is stored unless [`BlobWriter::commit`]
    /// succeeds.
    pub fn writer(&self, expected: Option<Digest>) -> Result<BlobWriter, StoreError> {
        let tmp = self.root.join("ingest").join(format!("{}-{}", std::process::id(), unique()));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let hasher = expected.as_ref().map_or_else(|| Digest::sha256_of(b"").hasher(), Digest::hasher);
        Ok(BlobWriter {
            store: self.clone(),
            tmp,
            file: Some(file),
            hasher: Some(hasher),
            expected,
            total: 0,
            keep: false,
        })
    }

    /// A writer for a download of `expected` that continues what an interrupted download left
    /// ([`BlobWriter::written`] bytes, already hashed); dropped without a commit it keeps what
    /// it has. `None` when another download of the same blob holds it.
    pub fn resume(&self, expected: &Digest) -> Result<Option<BlobWriter>, StoreError> {
        use rustix::fs::{flock, FlockOperation};
        let tmp = self.root.join("partial").join(format!("{}-{}", expected.algorithm(), expected.hex()));
        let mut file = fs::OpenOptions::new().create(true).read(true).append(true).open(&tmp).map_err(io_err(&tmp))?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(None);
        }
        let mut hasher = expected.hasher();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            let n = file.read(&mut buf).map_err(io_err(&tmp))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        let (store, expected) = (self.clone(), Some(expected.clone()));
        Ok(Some(BlobWriter { store, tmp, file: Some(file), hasher: Some(hasher), expected, total, keep: true }))
    }

    /// Removes partial downloads no pull is working on; returns how many bytes they held.
    pub fn remove_partials(&self) -> Result<u64, StoreError> {
        use rustix::fs::{flock, FlockOperation};
        let dir = self.root.join("partial");
        let mut freed = 0;
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let Ok(f) = File::open(entry.path()) else { continue };
            if flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok() {
                freed += f.metadata().map(|m| m.len()).unwrap_or(0);
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(freed)
    }

    /// Removes a blob (missing is fine).
    pub fn remove(&self, digest: &Digest) -> Result<(), StoreError> {
        let p = self.path(digest);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io { path: p, source: e }),
        }
    }

    /// Every blob in the store.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        let blobs = self.root.join("blobs");
        for alg in fs::read_dir(&blobs).map_err(io_err(&blobs))?.flatten() {
            let Some(alg_name) = alg.file_name().to_str().map(String::from) else { continue };
            for blob in fs::read_dir(alg.path()).map_err(io_err(&alg.path()))?.flatten() {
                if let Some(hex) = blob.file_name().to_str() {
                    if let Ok(d) = format!("{alg_name}:{hex}").parse() {
                        out.push(d);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// One blob being written: hashed as it goes, renamed into place on a successful commit,
/// removed otherwise (also when dropped).
pub struct BlobWriter {
    store: ContentStore,
    tmp: PathBuf,
    file: Option<File>,
    hasher: Option<super::digest::Hasher>,
    expected: Option<Digest>,
    total: u64,
    /// A resumable download: kept when dropped uncommitted.
    keep: bool,
}

impl BlobWriter {
    pub fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        if let (Some(f), Some(h)) = (self.file.as_mut(), self.hasher.as_mut()) {
            h.update(data);
            f.write_all(data).map_err(io_err(&self.tmp))?;
            self.total += data.len() as u64;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.total
    }

    /// Starts again from nothing (the server sent the whole blob instead of the rest).
    pub fn restart(&mut self) -> Result<(), StoreError> {
        if let Some(f) = &self.file {
            f.set_len(0).map_err(io_err(&self.tmp))?;
        }
        self.hasher = Some(self.expected.as_ref().map_or_else(|| Digest::sha256_of(b"").hasher(), Digest::hasher));
        self.total = 0;
        Ok(())
    }

    /// Verifies digest (and `size`) and moves the blob into place.
    pub fn commit(mut self, size: Option<u64>) -> Result<(Digest, u64), StoreError> {
        // From here on a failure (a corrupt or oversized blob) discards what was written.
        self.keep = false;
        let file = self.file.take().ok_or_else(|| StoreError::NotFound("writer already used".into()))?;
        file.sync_all().map_err(io_err(&self.tmp))?;
        drop(file);
        let algorithm = self.expected.as_ref().map_or("sha256", |d| d.algorithm()).to_string();
        let hex = self.hasher.take().map(super::digest::Hasher::finish_hex).unwrap_or_default();
        let actual: Digest = format!("{algorithm}:{hex}")
            .parse()
            .map_err(|e| StoreError::Io { path: self.tmp.clone(), source: io::Error::other(e) })?;
        if let Some(e) = &self.expected {
            if *e != actual {
                return Err(StoreError::DigestMismatch { expected: e.to_string(), actual: actual.to_string() });
            }
            if let Some(s) = size.filter(|s| *s != self.total) {
                return Err(StoreError::SizeMismatch { digest: e.to_string(), expected: s, actual: self.total });
            }
        }
        let dest = self.store.path(&actual);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        fs::rename(&self.tmp, &dest).map_err(io_err(&dest))?;
        if let Some(dir) = dest.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok((actual, self.total))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Not committed (or the commit failed before the rename): leave nothing behind, unless
        // this is a download to resume later.
        if !self.keep {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (nanos as u64) ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_verifies_and_leaves_nothing_on_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let good = Digest::sha256_of(b"layer");
        let (d, n) = store.ingest(&mut &b"layer"[..], Some(&good), Some(5)).unwrap();
        assert_eq!((d.clone(), n), (good.clone(), 5));
        assert_eq!(store.read(&good).unwrap(), b"layer");

        let wrong = Digest::sha256_of(b"other");
        let err = store.ingest(&mut &b"corrupt"[..], Some(&wrong), None).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(!store.contains(&wrong));
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0, "no temp file left");
        assert!(store.ingest(&mut &b"layer"[..], Some(&Digest::sha256_of(b"layer!")), None).is_err());
        assert_eq!(store.list().unwrap(), vec![good]);
    }

    #[test]
    fn a_download_resumes_from_its_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let d = Digest::sha256_of(b"hello world");
        let mut w = store.resume(&d).unwrap().unwrap();
        assert!(store.resume(&d).unwrap().is_none(), "held by the first download");
        w.write(b"hello ").unwrap();
        drop(w); // interrupted
        let store = ContentStore::open(dir.path()).unwrap(); // a new process
        let mut w = store.resume(&d).unwrap().unwrap();
        assert_eq!(w.written(), 6);
        w.write(b"world").unwrap();
        assert_eq!(w.commit(Some(11)).unwrap(), (d.clone(), 11));
        assert_eq!(store.read(&d).unwrap(), b"hello world");
        assert_eq!(fs::read_dir(dir.path().join("partial")).unwrap().count(), 0);

        // A corrupt partial is discarded by the failed commit; restart() starts over.
        let other = Digest::sha256_of(b"abc");
        let mut w = store.resume(&other).unwrap().unwrap();
        w.write(b"xyz").unwrap();
        assert!(matches!(w.commit(None), Err(StoreError::DigestMismatch { .. })));
        assert_eq!(fs::read_dir(dir.path().join("partial")).unwrap().count(), 0);
        let mut w = store.resume(&other).unwrap().unwrap();
        w.write(b"zz").unwrap();
        w.restart().unwrap();
        w.write(b"abc").unwrap();
        assert!(w.commit(Some(3)).is_ok());

        let mut w = store.resume(&Digest::sha256_of(b"left")).unwrap().unwrap();
        w.write(b"le").unwrap();
        assert_eq!(store.remove_partials().unwrap(), 0, "in use");
        drop(w);
        assert_eq!(store.remove_partials().unwrap(), 2);
    }

    #[test]
    fn ingest_without_expectation_computes_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let (d, _) = store.ingest(&mut &b"abc"[..], None, None).unwrap();
        assert_eq!(d, Digest::sha256_of(b"abc"));
        store.remove(&d).unwrap();
        assert!(!store.contains(&d));
    }
}
