//! Layer unpacking into overlayfs form. Each layer is unpacked once into its own read-only
//! directory (`<root>/layers/<alg>/<hex>`): first into a temporary directory, renamed into place
//! when complete. OCI whiteouts become overlayfs whiteouts: `.wh.<name>` → a 0/0 character
//! device `<name>`, `.wh..wh..opq` → the directory's `trusted.overlay.opaque=y`.
//! Kernel effects that need privileges sit behind [`LayerFs`].

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::digest::Digest;
use super::store::ContentStore;

/// Errors unpacking a layer.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("layer entry {0:?} escapes the layer root")]
    Escape(String),
    #[error("unsupported layer media type {0:?}")]
    MediaType(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io { path: path.to_path_buf(), source }
}

/// The privileged file system operations of an unpack.
pub trait LayerFs {
    /// Creates an overlayfs whiteout (character device 0/0) at `path`.
    fn whiteout(&self, path: &Path) -> io::Result<()>;
    /// Marks `dir` opaque for overlayfs.
    fn set_opaque(&self, dir: &Path) -> io::Result<()>;
    /// Sets the owner of `path` (without following a symlink).
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()>;
}

/// The real operations (need CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs, CAP_CHOWN).
pub struct HostFs;

impl LayerFs for HostFs {
    fn whiteout(&self, path: &Path) -> io::Result<()> {
        use rustix::fs::{mknodat, FileType, Mode, CWD};
        mknodat(CWD, path, FileType::CharacterDevice, Mode::empty(), rustix::fs::makedev(0, 0)).map_err(io::Error::from)
    }

    fn set_opaque(&self, dir: &Path) -> io::Result<()> {
        rustix::fs::setxattr(dir, "trusted.overlay.opaque", b"y", rustix::fs::XattrFlags::empty())
            .map_err(io::Error::from)
    }

    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        use rustix::fs::{chownat, AtFlags, Gid, Uid, CWD};
        chownat(CWD, path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io::Error::from)
    }
}

/// Where unpacked layers live, under the content store's root.
pub fn layer_dir(store: &ContentStore, layer: &Digest) -> PathBuf {
    store.root().join("layers").join(layer.algorithm()).join(layer.hex())
}

/// Unpacks `layer` (from the store; `media_type` picks the decompressor) once; returns its
/// directory. A crash leaves at most a temporary directory, removed on the next try;
/// concurrent unpacks of one layer wait for each other (an flock beside the layer).
pub fn unpack_layer(
    store: &ContentStore,
    layer: &Digest,
    media_type: &str,
    fs_ops: &dyn LayerFs,
) -> Result<PathBuf, UnpackError> {
    let dest = layer_dir(store, layer);
    if dest.is_dir() {
        return Ok(dest);
    }
    let parent = dest.parent().map(Path::to_path_buf).unwrap_or_default();
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    // One unpacker per layer at a time (containers of one image start side by side, in this
    // process or another); whoever waited finds the layer in place.
    let lock_path = parent.join(format!(".{}.lock", layer.hex()));
    let lock =
        fs::File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(io_err(&lock_path))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).map_err(|e| io_err(&lock_path)(e.into()))?;
    if dest.is_dir() {
        return Ok(dest);
    }
    let tmp = parent.join(format!(".{}.tmp", layer.hex()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let blob = store.path(layer);
    let file = fs::File::open(&blob).map_err(io_err(&blob))?;
    let reader: Box<dyn Read> = if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if media_type.ends_with("+zstd") {
        Box::new(zstd::Decoder::new(file).map_err(io_err(&blob))?)
    } else if media_type.ends_with(".tar") || media_type.ends_with("tar") || media_type.ends_with(".rootfs.diff.tar") {
        Box::new(file)
    } else {
        return Err(UnpackError::MediaType(media_type.to_string()));
    };
    let result = apply_tar(reader, &tmp, fs_ops);
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    Ok(dest)
}

/// The entry's path made relative and checked: no `..`, no absolute part.
fn clean(path: &Path) -> Result<PathBuf, UnpackError> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(UnpackError::Escape(path.display().to_string()));
            }
        }
    }
    Ok(out)
}

/// No existing ancestor of `rel` under `root` may be a symlink (writing through one could
/// escape the layer).
fn check_ancestors(root: &Path, rel: &Path) -> Result<(), UnpackError> {
    let mut cur = root.to_path_buf();
    if let Some(parent) = rel.parent() {
        for c in parent.components() {
            cur.push(c);
            if let Ok(m) = fs::symlink_metadata(&cur) {
                if m.file_type().is_symlink() {
                    return Err(UnpackError::Escape(rel.display().to_string()));
                }
            }
        }
    }
    Ok(())
}

/// Applies a layer tar to `root` in overlayfs form.
pub fn apply_tar(reader: impl Read, root: &Path, fs_ops: &dyn LayerFs) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_unpack_xattrs(false);
    let mut dirs = Vec::new();
    for entry in archive.entries().map_err(io_err(root))? {
        let mut entry = entry.map_err(io_err(root))?;
        let raw = entry.path().map_err(io_err(root))?.into_owned();
        let rel = clean(&raw)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        check_ancestors(root, &rel)?;
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let parent = root.join(rel.parent().unwrap_or(Path::new("")));
        if name == ".wh..wh..opq" {
            fs::create_dir_all(&parent).map_err(io_err(&parent))?;
            fs_ops.set_opaque(&parent).map_err(io_err(&parent))?;
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            fs::create_dir_all(&parent).map_err(io_err(&parent))?;
            let target = parent.join(hidden);
            fs_ops.whiteout(&target).map_err(io_err(&target))?;
            continue;
        }
        let dest = root.join(&rel);
        if let Some(p) = dest.parent() {
            fs::create_dir_all(p).map_err(io_err(p))?;
        }
        let kind = entry.header().entry_type();
        if kind.is_hard_link() {
            let target = entry.link_name().map_err(io_err(&dest))?.map(|t| t.into_owned()).unwrap_or_default();
            let target = root.join(clean(&target)?);
            let _ = fs::remove_file(&dest);
            fs::hard_link(&target, &dest).map_err(io_err(&dest))?;
            continue;
        }
        if kind.is_dir() {
            fs::create_dir_all(&dest).map_err(io_err(&dest))?;
            dirs.push((dest.clone(), entry.header().mode().unwrap_or(0o755)));
        } else {
            entry.unpack(&dest).map_err(io_err(&dest))?;
        }
        let (uid, gid) = (entry.header().uid().unwrap_or(0) as u32, entry.header().gid().unwrap_or(0) as u32);
        if uid != 0 || gid != 0 {
            fs_ops.chown(&dest, uid, gid).map_err(io_err(&dest))?;
        }
    }
    // Directory modes last, so that read-only directories could be filled first.
    for (dir, mode) in dirs {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode & 0o7777)).map_err(io_err(&dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

/// Unpacks every layer of an image (each once); returns the layer directories, bottom first.
pub fn unpack_image(store: &ContentStore, manifest: &Digest) -> Result<Vec<PathBuf>, UnpackError> {
    let data = store
        .read(manifest)
        .map_err(|e| UnpackError::Io { path: store.path(manifest), source: io::Error::other(e) })?;
    let parsed: oci_spec::image::ImageManifest = serde_json::from_slice(&data).map_err(|e| UnpackError::Io {
        path: store.path(manifest),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })?;
    let mut dirs = Vec::new();
    for layer in parsed.layers() {
        let digest: Digest = layer.digest().to_string().parse().map_err(|e| UnpackError::Io {
            path: store.path(manifest),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        dirs.push(unpack_layer(store, &digest, layer.media_type().as_ref(), &HostFs)?);
    }
    Ok(dirs)
}
