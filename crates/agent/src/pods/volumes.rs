//! A Pod's volumes on the host, under `<pod dir>/volumes/`: emptyDir (a directory, or a tmpfs
//! for `medium: Memory` with its sizeLimit), hostPath (with its `type` checks), and the
//! projections of API data: configMap, secret (on tmpfs), downwardAPI and projected, whose
//! files are written again at each container start. They live as long as the Pod, across
//! container restarts and sandbox changes; removing the Pod removes them (never a hostPath's
//! contents).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};
use skiff_api::quantity::Amount;
use skiff_runtime::sandbox::is_mount_point;

use super::convert::{self, PodContext};
use super::model::RuntimeFailure;
use super::sources::{Payload, PodSources};

/// One file of a projection: path in the volume, content, mode.
type File = (String, Vec<u8>, u32);

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

/// The files of a ConfigMap or Secret: every key, or the listed `items` (a missing listed key
/// is an error unless `optional`).
fn key_files(
    payload: &Payload,
    items: Option<&Vec<KeyToPath>>,
    mode: u32,
    optional: bool,
    what: &str,
) -> Result<Vec<File>, String> {
    let Some(items) = items else {
        return Ok(payload.iter().map(|(k, v)| (k.clone(), v.clone(), mode)).collect());
    };
    let mut files = vec![];
    for item in items {
        match payload.get(&item.key) {
            Some(v) => files.push((item.path.clone(), v.clone(), item.mode.map_or(mode, |m| m as u32))),
            None if optional => {}
            None => return Err(format!("configmap references non-existent config key: {} ({what})", item.key)),
        }
    }
    Ok(files)
}

/// The files of a ConfigMap (`secret` false) or Secret volume source; a missing object gives
/// no files when `optional`.
fn object_files(
    objects: &BTreeMap<String, Payload>,
    secret: bool,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
    mode: u32,
    optional: bool,
) -> Result<Vec<File>, String> {
    let kind = if secret { "secret" } else { "configmap" };
    match objects.get(name) {
        Some(payload) => key_files(payload, items, mode, optional, name),
        None if optional => Ok(vec![]),
        None => Err(format!("{kind} \"{name}\" not found")),
    }
}

/// The files of a downwardAPI volume (metadata fields and container resources).
fn downward_files(pod: &Pod, items: &[DownwardAPIVolumeFile], mode: u32) -> Result<Vec<File>, String> {
    let ctx = PodContext::default();
    let mut files = vec![];
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            let map = |m: &Option<BTreeMap<String, String>>| {
                m.iter().flatten().map(|(k, v)| format!("{k}={v:?}\n")).collect::<String>()
            };
            match f.field_path.as_str() {
                "metadata.labels" => map(&pod.metadata.labels),
                "metadata.annotations" => map(&pod.metadata.annotations),
                path => convert::field(pod, path, &ctx).map_err(|e| e.message)?,
            }
        } else if let Some(r) = &item.resource_field_ref {
            let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
            let name = r.container_name.as_deref().unwrap_or_default();
            let c = containers.clone().find(|c| c.name == name).ok_or_else(|| format!("no container {name:?}"))?;
            convert::resource_field(c, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str())).map_err(|e| e.message)?
        } else {
            continue;
        };
        files.push((item.path.clone(), value.into_bytes(), item.mode.map_or(mode, |m| m as u32)));
    }
    Ok(files)
}

/// The files of one API-data volume, and whether they belong on tmpfs (secrets); None for
/// other volume types.
fn projection(pod: &Pod, v: &Volume, sources: &PodSources) -> Option<Result<(Vec<File>, bool), String>> {
    let mode = |m: Option<i32>| m.map_or(0o644, |m| m as u32);
    if let Some(c) = &v.config_map {
        let optional = c.optional == Some(true);
        let files =
            object_files(&sources.config_maps, false, &c.name, c.items.as_ref(), mode(c.default_mode), optional);
        return Some(files.map(|f| (f, false)));
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.as_deref().unwrap_or_default();
        let optional = s.optional == Some(true);
        let files = object_files(&sources.secrets, true, name, s.items.as_ref(), mode(s.default_mode), optional);
        return Some(files.map(|f| (f, true)));
    }
    if let Some(d) = &v.downward_api {
        return Some(
            downward_files(pod, d.items.as_deref().unwrap_or_default(), mode(d.default_mode)).map(|f| (f, false)),
        );
    }
    let p = v.projected.as_ref()?;
    let default = mode(p.default_mode);
    let mut all = vec![];
    let mut secret = false;
    for source in p.sources.iter().flatten() {
        let files = if let Some(c) = &source.config_map {
            object_files(&sources.config_maps, false, &c.name, c.items.as_ref(), default, c.optional == Some(true))
        } else if let Some(s) = &source.secret {
            secret = true;
            object_files(&sources.secrets, true, &s.name, s.items.as_ref(), default, s.optional == Some(true))
        } else if let Some(d) = &source.downward_api {
            downward_files(pod, d.items.as_deref().unwrap_or_default(), default)
        } else {
            Err("this projected source is not supported yet".into())
        };
        match files {
            Ok(f) => all.extend(f),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok((all, secret)))
}

/// Writes `files` into `path` (a tmpfs when `memory`), replacing what was there.
fn write_files(name: &str, path: &Path, files: &[File], memory: bool) -> Result<(), RuntimeFailure> {
    let fail = |e: &dyn std::fmt::Display| mount_failure(name, e);
    fs::create_dir_all(path).map_err(|e| fail(&e))?;
    if memory && !is_mount_point(path) {
        let flags = rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV;
        rustix::mount::mount("tmpfs", path, "tmpfs", flags, Some(c"mode=0755")).map_err(|e| fail(&e))?;
    }
    for entry in fs::read_dir(path).map_err(|e| fail(&e))?.filter_map(Result::ok) {
        let p = entry.path();
        let _ = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
    }
    for (relative, content, mode) in files {
        if relative.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(fail(&format!("invalid path {relative:?}")));
        }
        let target = path.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| fail(&e))?;
        }
        fs::write(&target, content).map_err(|e| fail(&e))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(*mode & 0o777)).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// Sets up every volume of `pod` under `dir` (idempotent; API data written afresh); host
/// paths by volume name.
pub fn prepare(pod: &Pod, dir: &Path, sources: &PodSources) -> Result<BTreeMap<String, PathBuf>, RuntimeFailure> {
    let mut out = BTreeMap::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        let path = if let Some(h) = &v.host_path {
            let path = PathBuf::from(&h.path);
            host_path_check(&v.name, &path, h.type_.as_deref().unwrap_or(""))?;
            path
        } else if v.empty_dir.is_some() {
            empty_dir(dir, v)?
        } else if let Some(projected) = projection(pod, v, sources) {
            let (files, memory) = projected.map_err(|e| mount_failure(&v.name, e))?;
            let path = dir.join("projected").join(&v.name);
            write_files(&v.name, &path, &files, memory)?;
            path
        } else {
            return Err(mount_failure(&v.name, "this volume type is not supported yet"));
        };
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

/// Unmounts the Pod's tmpfs volumes and removes its volume directories.
pub fn remove(dir: &Path) -> std::io::Result<()> {
    for kind in ["empty-dir", "projected"] {
        for e in fs::read_dir(dir.join(kind)).into_iter().flatten().filter_map(Result::ok) {
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
        let paths = prepare(&pod, &dir, &PodSources::default()).unwrap();
        assert!(paths["scratch"].is_dir() && host.is_dir());
        fs::write(host.join("keep"), "x").unwrap();
        remove(&dir).unwrap();
        assert!(!dir.exists() && host.join("keep").exists(), "hostPath contents are never removed");

        let bad: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [{"name": "f", "hostPath": {"path": host.to_str().unwrap(), "type": "File"}}]}
        }))
        .unwrap();
        let err = prepare(&bad, &dir, &PodSources::default()).unwrap_err();
        assert!(err.message.contains("is not a file"), "{err}");
    }

    #[test]
    fn config_maps_and_downward_fields_become_files() {
        let tmp = tempfile::tempdir().unwrap();
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
            "spec": {"containers": [{"name": "c"}], "volumes": [
                {"name": "cfg", "configMap": {"name": "settings", "items": [{"key": "a", "path": "dir/a.conf", "mode": 0o600}]}},
                {"name": "all", "projected": {"sources": [
                    {"configMap": {"name": "settings"}},
                    {"downwardAPI": {"items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}
                    ]}}
                ]}},
                {"name": "maybe", "configMap": {"name": "absent", "optional": true}}
            ]}
        }))
        .unwrap();
        let mut sources = PodSources::default();
        sources
            .config_maps
            .insert("settings".into(), BTreeMap::from([("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())]));
        let paths = prepare(&pod, tmp.path(), &sources).unwrap();
        let cfg = paths["cfg"].join("dir/a.conf");
        assert_eq!(fs::read_to_string(&cfg).unwrap(), "1");
        assert_eq!(fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!paths["cfg"].join("b").exists(), "only the listed items");
        assert_eq!(fs::read_to_string(paths["all"].join("b")).unwrap(), "2");
        assert_eq!(fs::read_to_string(paths["all"].join("labels")).unwrap(), "app=\"web\"\ntier=\"front\"\n");
        assert_eq!(fs::read_to_string(paths["all"].join("name")).unwrap(), "p");
        assert_eq!(fs::read_dir(&paths["maybe"]).unwrap().count(), 0);
        sources.config_maps.clear();
        let err = prepare(&pod, tmp.path(), &sources).unwrap_err();
        assert!(err.message.contains("configmap \"settings\" not found"), "{err}");
    }
}
