//! A busybox image built from Debian's busybox-static, as a docker archive or an OCI layout.

use std::fs;
use std::path::Path;

use serde_json::json;
use sha2::{Digest as _, Sha256};

/// Applets linked in the image.
pub const APPLETS: [&str; 22] = [
    "sh", "echo", "sleep", "cat", "wget", "httpd", "true", "false", "dd", "id", "hostname", "ls", "ps", "mount",
    "head", "grep", "touch", "env", "pwd", "kill", "ip", "nc",
];

pub fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A layer with /bin/busybox, a few applet links and /etc/passwd.
pub fn busybox_layer() -> Vec<u8> {
    let busybox =
        fs::read("/bin/busybox").expect("/bin/busybox (Debian's busybox-static; run scripts/setup-test-deps.sh)");
    let mut b = tar::Builder::new(Vec::new());
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    file(&mut b, "bin/busybox", &busybox, 0o755);
    file(&mut b, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644);
    file(&mut b, "etc/group", b"root:x:0:\nnogroup:x:65534:\n", 0o644);
    file(&mut b, "var/www/index.html", b"hello from busybox httpd\n", 0o644);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    h.set_mode(0o1777);
    b.append_data(&mut h, "tmp", &[][..]).unwrap();
    for applet in APPLETS {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    b.into_inner().unwrap()
}

pub fn config() -> Vec<u8> {
    serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": []}}))
    .unwrap()
}

pub fn docker_archive(path: &Path, layer: &[u8]) {
    let config = config();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    let cfg_name = format!("{}.json", sha(&config));
    add(&cfg_name, &config);
    add("l1/layer.tar", layer);
    let manifest = json!([{"Config": cfg_name, "RepoTags": ["localhost/busybox:latest"], "Layers": ["l1/layer.tar"]}]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    fs::write(path, b.into_inner().unwrap()).unwrap();
}

pub fn oci_layout(dir: &Path, layer: &[u8]) -> String {
    let put = |data: &[u8]| {
        let d = sha(data);
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("blobs/sha256").join(&d), data).unwrap();
        d
    };
    let config = config();
    let (ld, cd) = (put(layer), put(&config));
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cd}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{ld}"), "size": layer.len()}]}))
    .unwrap();
    let md = put(&manifest);
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{md}"), "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    ld
}
