use std::fs;

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

/// An OCI layout with one image tagged `latest`.
fn oci_layout(dir: &Path) -> (Digest, Digest) {
    crate::image::testing::oci_layout(dir, &layer()).unwrap()
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
    let cd = Digest::sha256_of(&crate::image::testing::config(&layer));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busybox-docker.tar");
    crate::image::testing::docker_archive(&path, &layer, "localhost/busybox:latest").unwrap();

    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    let names = import_archive(&path, None, &store, &mut images).unwrap();
    assert_eq!(names, ["localhost/busybox:latest"]);
    let rec = images.get("localhost/busybox:latest").unwrap();
    assert_eq!(rec.config, cd.to_string());
    assert_eq!(rec.layers, vec![Digest::sha256_of(&layer).to_string()]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.read(&rec.manifest.parse().unwrap()).unwrap()).unwrap();
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
}

#[test]
fn imports_an_oci_archive_and_rejects_a_corrupt_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Busybox-OCI.tar");
    let (md, ld) = crate::image::testing::oci_archive(&path, &layer()).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    assert_eq!(import_archive(&path, None, &store, &mut images).unwrap(), ["localhost/busybox-oci:latest"]);
    assert_eq!(images.get("localhost/busybox-oci:latest").unwrap().manifest, md.to_string());
    assert!(store.contains(&ld));

    // The same archive with the layer's bytes changed.
    let bytes = fs::read(&path).unwrap();
    let needle = b"hello from a layer";
    let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut tampered = bytes.clone();
    tampered[at] = b'J';
    fs::write(&path, tampered).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let mut images = ImageIndex::load(root.path()).unwrap();
    let err = import_archive(&path, Some("busybox"), &store, &mut images).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");
    assert!(!store.contains(&ld) && images.iter().count() == 0);
}
