//! A Pod's volumes on the host, under `<pod dir>/volumes/`: emptyDir (a directory, or a tmpfs
//! for `medium: Memory` with its sizeLimit) and hostPath (with its `type` checks). They live
//! as long as the Pod, across container restarts and sandbox changes; removing the Pod
//! removes them (never a hostPath's contents).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Pod, Volume};
use skiff_api::quantity::Amount;
use skiff_runtime::sandbox::is_mount_point;

use super::model::RuntimeFailure;

fn mount_failure(name: &str, message: impl std::fmt::Display) -> RuntimeFailure {
    RuntimeFailure::new(
        "CreateContainerConfigError",
        format!("MountVolume.SetUp failed for volume {name:?} : {message}"),
    )
}

fn host_path_check(name: &str, path: &Path, kind: &str) -> Result<(), RuntimeFailure> {
    let meta = fs::metadata(path);
    let fail =
        |what: &str| Err(mount_failure(name, format!("hostPath type check failed: {} is not {what}", path.display())));
    match kind {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            if meta.is_err() {
                fs::create_dir_all(path).map_err(|e| mount_failure(name, e))?;
                let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
            }
            Ok(())
        }
        "FileOrCreate" => {
            if meta.is_err() {
                fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| mount_failure(name, e))?;
                let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
            }
            Ok(())
        }
        "Directory" if meta.as_ref().is_ok_and(|m| m.is_dir()) => Ok(()),
        "Directory" => fail("a directory"),
        "File" if meta.as_ref().is_ok_and(|m| m.is_file()) => Ok(()),
        "File" => fail("a file"),
        "Socket" if meta.as_ref().is_ok_and(|m| m.file_type().is_socket()) => Ok(()),
        "Socket" => fail("a socket"),
        "CharDevice" if meta.as_ref().is_ok_and(|m| m.file_type().is_char_device()) => Ok(()),
        "CharDevice" => fail("a character device"),
        "BlockDevice" if meta.as_ref().is_ok_and(|m| m.file_type().is_block_device()) => Ok(()),
        "BlockDevice" => fail("a block device"),
        other => Err(mount_failure(name, format!("unknown hostPath type {other:?}"))),
    }
}

fn empty_dir(dir: &Path, v: &Volume) -> Result<PathBuf, RuntimeFailure> {
    let e = v.empty_dir.as_ref().cloned().unwrap_or_default();
    let path = dir.join("empty-dir").join(&v.name);
    fs::create_dir_all(&path).map_err(|err| mount_failure(&v.name, err))?;
    let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o777));
    if e.medium.as_deref() == Some("Memory") && !is_mount_point(&path) {
        let mut options = "mode=1777".to_string();
        if let Some(limit) = &e.size_limit {
            let bytes = Amount::parse(&limit.0).map_err(|err| mount_failure(&v.name, err))?.value();
            options.push_str(&format!(",size={bytes}"));
        }
        let options = std::ffi::CString::new(options).map_err(|err| mount_failure(&v.name, err))?;
        rustix::mount::mount(
            "tmpfs",
            &path,
            "tmpfs",
            rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV,
            Some(options.as_c_str()),
        )
        .map_err(|err| mount_failure(&v.name, err))?;
    }
    Ok(path)
}

/// Sets up every volume of `pod` under `dir` (idempotent); host paths by volume name.
pub fn prepare(pod: &Pod, dir: &Path) -> Result<BTreeMap<String, PathBuf>, RuntimeFailure> {
    let mut out = BTreeMap::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        let path = if let Some(h) = &v.host_path {
            let path = PathBuf::from(&h.path);
            host_path_check(&v.name, &path, h.type_.as_deref().unwrap_or(""))?;
            path
        } else if v.empty_dir.is_some() {
            empty_dir(dir, v)?
        } else {
            return Err(mount_failure(&v.name, "this volume type is not supported yet"));
        };
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

/// Unmounts the Pod's tmpfs volumes and removes its volume directories.
pub fn remove(dir: &Path) -> std::io::Result<()> {
    let empty = dir.join("empty-dir");
    if let Ok(entries) = fs::read_dir(&empty) {
        for e in entries.filter_map(Result::ok) {
            if is_mount_point(&e.path()) {
                rustix::mount::unmount(e.path(), rustix::mount::UnmountFlags::DETACH)?;
            }
        }
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_dirs_and_host_paths_are_prepared_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path().join("host");
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [
                {"name": "scratch", "emptyDir": {}},
                {"name": "h", "hostPath": {"path": host.to_str().unwrap(), "type": "DirectoryOrCreate"}}
            ]}
        }))
        .unwrap();
        let dir = tmp.path().join("pod/volumes");
        let paths = prepare(&pod, &dir).unwrap();
        assert!(paths["scratch"].is_dir() && host.is_dir());
        fs::write(host.join("keep"), "x").unwrap();
        remove(&dir).unwrap();
        assert!(!dir.exists() && host.join("keep").exists(), "hostPath contents are never removed");

        let bad: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [{"name": "f", "hostPath": {"path": host.to_str().unwrap(), "type": "File"}}]}
        }))
        .unwrap();
        let err = prepare(&bad, &dir).unwrap_err();
        assert!(err.message.contains("is not a file"), "{err}");
    }
}
