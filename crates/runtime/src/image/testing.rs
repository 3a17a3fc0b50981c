//! Images built on the spot, for tests and benchmarks on machines without a registry: a
//! busybox layer from Debian's busybox-static, written as a `docker save` archive, an OCI image
//! layout or an OCI archive.

use std::fs;
use std::io;
use std::path::Path;

use serde_json::json;

use super::digest::Digest;

/// Applets linked in the busybox layer.
pub const APPLETS: [&str; 23] = [
    "sh", "echo", "sleep", "cat", "wget", "httpd", "true", "false", "dd", "id", "hostname", "ls", "ps", "mount",
    "head", "grep", "touch", "env", "pwd", "kill", "ip", "nc", "tar",
];

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_cksum();
    b.append_data(&mut h, path, data)
}

/// A layer with /bin/busybox and its applet links, /etc/passwd and /etc/group (root,
/// nobody), /var/www/index.html and a sticky /tmp.
pub fn busybox_layer() -> io::Result<Vec<u8>> {
    let busybox = fs::read("/bin/busybox").map_err(|e| {
        io::Error::new(e.kind(), format!("/bin/busybox (Debian's busybox-static; run scripts/setup-test-deps.sh): {e}"))
    })?;
    let mut b = tar::Builder::new(Vec::new());
    file(&mut b, "bin/busybox", &busybox, 0o755)?;
    file(&mut b, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644)?;
    file(&mut b, "etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644)?;
    file(&mut b, "var/www/index.html", b"hello from busybox httpd\n", 0o644)?;
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    h.set_mode(0o1777);
    b.append_data(&mut h, "tmp", &[][..])?;
    for applet in APPLETS {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    b.into_inner()
}

/// The image configuration of a one-layer image (`diff_ids` names the uncompressed layer, as
/// docker-archive readers such as skopeo and podman check).
pub fn config(layer: &[u8]) -> Vec<u8> {
    let config = json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(layer).to_string()]}});
    serde_json::to_vec(&config).unwrap_or_default()
}

/// Writes a `docker save` archive of one image named `tag` with one (uncompressed) layer.
pub fn docker_archive(path: &Path, layer: &[u8], tag: &str) -> io::Result<()> {
    let config = config(layer);
    let cfg_name = format!("{}.json", Digest::sha256_of(&config).hex());
    let manifest = json!([{"Config": cfg_name, "RepoTags": [tag], "Layers": ["l1/layer.tar"]}]);
    let manifest = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [(cfg_name.as_str(), &config[..]), ("l1/layer.tar", layer), ("manifest.json", &manifest[..])] {
        file(&mut b, name, data, 0o644)?;
    }
    fs::write(path, b.into_inner()?)
}

/// Paths and contents.
type Files = Vec<(String, Vec<u8>)>;

/// The files of an OCI image layout with one image tagged `latest`, and the digests of its
/// manifest and its layer.
fn oci_files(layer: &[u8]) -> io::Result<(Files, Digest, Digest)> {
    let mut files = Vec::new();
    let mut put = |data: Vec<u8>| -> Digest {
        let d = Digest::sha256_of(&data);
        files.push((format!("blobs/sha256/{}", d.hex()), data));
        d
    };
    let config = config(layer);
    let config_len = config.len();
    let (ld, cd) = (put(layer.to_vec()), put(config));
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config_len},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld.to_string(), "size": layer.len()}]});
    let manifest = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
    let manifest_len = manifest.len();
    let md = put(manifest);
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md.to_string(), "size": manifest_len, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    files.push(("index.json".into(), serde_json::to_vec(&index).map_err(io::Error::other)?));
    Ok((files, md, ld))
}

/// Writes an OCI image layout with one image tagged `latest`; returns the digests of its
/// manifest and its layer.
pub fn oci_layout(dir: &Path, layer: &[u8]) -> io::Result<(Digest, Digest)> {
    let (files, md, ld) = oci_files(layer)?;
    for (name, data) in files {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap_or(dir))?;
        fs::write(path, data)?;
    }
    Ok((md, ld))
}

/// Writes an OCI archive (the layout of [`oci_layout`] in a tar); returns the digests of its
/// manifest and its layer.
pub fn oci_archive(path: &Path, layer: &[u8]) -> io::Result<(Digest, Digest)> {
    let (files, md, ld) = oci_files(layer)?;
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        file(&mut b, &name, &data, 0o644)?;
    }
    fs::write(path, b.into_inner()?)?;
    Ok((md, ld))
}
