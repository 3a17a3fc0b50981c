use std::fs;

use serde_json::json;

use super::*;

/// A one-file layer tar.
fn layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let data = b"hello from a layer\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "etc/motd", &data[..]).unwrap();
    b.into_inner().unwrap()
}

fn config() -> Vec<u8> {
    serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}, "rootfs": {"type": "layers", "diff_ids": []}}))
    .unwrap()
}

fn put(dir: &Path, data: &[u8]) -> Digest {
    let d = Digest::sha256_of(data);
    let p = dir.join("blobs/sha256");
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join(d.hex()), data).unwrap();
    d
}

/// An OCI layout with one image tagged `latest`.
fn oci_layout(dir: &Path) -> (Digest, Digest) {
    let layer = layer();
    let config = config();
    let ld = put(dir, &layer);
    let cd = put(dir, &config);
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld.to_string(), "size": layer.len()}]}))
    .unwrap();
    let md = put(dir, &manifest);
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md.to_string(), "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
        .unwrap(),
    )
    .unwrap();
    (md, ld)
}

#[test]
fn imports_an_oci_layout() {
    let src = tempfile::tempdir().unwrap();
    let (md, ld) = oci_layout(src.path());
    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    let names = import_oci_layout(src.path(), Some("busybox"), &store, &mut images).unwrap();
    assert_eq!(names, ["docker.io/library/busybox:latest"]);
    let rec = ImageIndex::load(root.path()).unwrap().get("docker.io/library/busybox:latest").cloned().unwrap();
    assert_eq!(rec.manifest, md.to_string());
    assert_eq!(rec.layers, vec![ld.to_string()]);
    assert!(store.contains(&ld));
}

#[test]
fn a_corrupt_blob_is_rejected_and_nothing_is_recorded() {
    let src = tempfile::tempdir().unwrap();
    let (_, ld) = oci_layout(src.path());
    fs::write(src.path().join("blobs/sha256").join(ld.hex()), b"tampered").unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    let err = import_oci_layout(src.path(), Some("busybox"), &store, &mut images).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(!store.contains(&ld));
    assert_eq!(images.iter().count(), 0);
    assert_eq!(fs::read_dir(root.path().join("ingest")).unwrap().count(), 0);
}

#[test]
fn imports_a_docker_archive() {
    let layer = layer();
    let config = config();
    let cd = Digest::sha256_of(&config);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add(&format!("{}.json", cd.hex()), &config);
    add("abc/layer.tar", &layer);
    add("abc/json", b"{}");
    add(
        "manifest.json",
        &serde_json::to_vec(&json!([{"Config": format!("{}.json", cd.hex()),
        "RepoTags": ["localhost/busybox:latest"], "Layers": ["abc/layer.tar"]}]))
        .unwrap(),
    );
    let archive = b.into_inner().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busybox-docker.tar");
    fs::write(&path, archive).unwrap();

    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    let names = import_docker_archive(&path, &store, &mut images).unwrap();
    assert_eq!(names, ["localhost/busybox:latest"]);
    let rec = images.get("localhost/busybox:latest").unwrap();
    assert_eq!(rec.config, cd.to_string());
    assert_eq!(rec.layers, vec![Digest::sha256_of(&layer).to_string()]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.read(&rec.manifest.parse().unwrap()).unwrap()).unwrap();
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
}
