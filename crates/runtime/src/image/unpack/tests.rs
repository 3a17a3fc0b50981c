use std::cell::RefCell;

use super::*;

/// Records privileged operations instead of doing them.
#[derive(Default)]
struct FakeFs {
    ops: RefCell<Vec<String>>,
}

impl LayerFs for FakeFs {
    fn whiteout(&self, path: &Path) -> io::Result<()> {
        self.ops.borrow_mut().push(format!("whiteout {}", path.display()));
        Ok(())
    }
    fn set_opaque(&self, dir: &Path) -> io::Result<()> {
        self.ops.borrow_mut().push(format!("opaque {}", dir.display()));
        Ok(())
    }
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        self.ops.borrow_mut().push(format!("chown {} {uid}:{gid}", path.display()));
        Ok(())
    }
}

fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        if let Some(l) = link {
            b.append_link(&mut h, path, l).unwrap();
        } else {
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn unpacks_files_links_and_converts_whiteouts() {
    use tar::EntryType as T;
    let layer = tar_of(&[
        ("etc/", T::Directory, b"", None),
        ("etc/motd", T::Regular, b"hi\n", None),
        ("bin/sh", T::Symlink, b"", Some("busybox")),
        ("etc/motd2", T::Link, b"", Some("etc/motd")),
        ("var/.wh.gone", T::Regular, b"", None),
        ("opt/.wh..wh..opq", T::Regular, b"", None),
    ]);
    let root = tempfile::tempdir().unwrap();
    let fake = FakeFs::default();
    apply_tar(&layer[..], root.path(), &fake).unwrap();
    assert_eq!(fs::read_to_string(root.path().join("etc/motd")).unwrap(), "hi\n");
    assert_eq!(fs::read_link(root.path().join("bin/sh")).unwrap(), Path::new("busybox"));
    assert_eq!(fs::read_to_string(root.path().join("etc/motd2")).unwrap(), "hi\n");
    let ops = fake.ops.borrow();
    assert!(ops.contains(&format!("whiteout {}", root.path().join("var/gone").display())), "{ops:?}");
    assert!(ops.contains(&format!("opaque {}", root.path().join("opt").display())), "{ops:?}");
    assert!(!root.path().join("var/.wh.gone").exists());
}

#[test]
fn entries_escaping_the_root_are_rejected() {
    use tar::EntryType as T;
    let root = tempfile::tempdir().unwrap();
    let mut raw = tar::Header::new_gnu();
    raw.set_size(1);
    raw.set_mode(0o644);
    // tar::Builder refuses `..`; write the name bytes directly.
    raw.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
    raw.set_cksum();
    let mut bytes = raw.as_bytes().to_vec();
    bytes.extend_from_slice(b"x");
    bytes.resize(1024, 0);
    bytes.extend_from_slice(&[0u8; 1024]);
    let err = apply_tar(&bytes[..], root.path(), &FakeFs::default()).unwrap_err();
    assert!(matches!(err, UnpackError::Escape(_)), "{err}");

    // A symlinked directory in the layer must not be written through.
    let layer = tar_of(&[("link", T::Symlink, b"", Some("/tmp")), ("link/owned", T::Regular, b"x", None)]);
    let err = apply_tar(&layer[..], root.path(), &FakeFs::default()).unwrap_err();
    assert!(matches!(err, UnpackError::Escape(_)), "{err}");
}

#[test]
fn unpack_layer_is_done_once_and_atomically() {
    let root = tempfile::tempdir().unwrap();
    let store = ContentStore::open(root.path()).unwrap();
    let layer = tar_of(&[("a.txt", tar::EntryType::Regular, b"a", None)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &layer).unwrap();
    let gz = gz.finish().unwrap();
    let (d, _) = store.ingest(&mut &gz[..], None, None).unwrap();
    let dir = unpack_layer(&store, &d, "application/vnd.oci.image.layer.v1.tar+gzip", &FakeFs::default()).unwrap();
    assert_eq!(fs::read_to_string(dir.join("a.txt")).unwrap(), "a");
    assert_eq!(
        unpack_layer(&store, &d, "application/vnd.oci.image.layer.v1.tar+gzip", &FakeFs::default()).unwrap(),
        dir
    );
    let bad = unpack_layer(&store, &d, "application/x-unknown", &FakeFs::default());
    assert_eq!(bad.unwrap(), dir, "already unpacked layers are reused whatever the caller says");
}

/// Privileged: real whiteouts and opaque markers (skipped when not root).
#[test]
fn host_fs_makes_overlay_whiteouts_as_root() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    use std::os::unix::fs::FileTypeExt;
    let root = tempfile::tempdir().unwrap();
    let layer = tar_of(&[
        ("d/.wh.x", tar::EntryType::Regular, b"", None),
        ("o/.wh..wh..opq", tar::EntryType::Regular, b"", None),
    ]);
    apply_tar(&layer[..], root.path(), &HostFs).unwrap();
    let m = fs::symlink_metadata(root.path().join("d/x")).unwrap();
    assert!(m.file_type().is_char_device());
    let mut buf = [0u8; 4];
    let n = rustix::fs::getxattr(root.path().join("o").as_path(), "trusted.overlay.opaque", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"y");
}

#[test]
fn concurrent_unpacks_of_one_layer_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..200 {
        let data = format!("file {i}\n");
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("d/f{i}"), data.as_bytes()).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let (digest, _) = store.ingest(&mut &tar[..], None, None).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (store, digest) = (store.clone(), digest.clone());
            std::thread::spawn(move || {
                unpack_layer(&store, &digest, "application/vnd.oci.image.layer.v1.tar", &FakeFs::default()).unwrap()
            })
        })
        .collect();
    for t in threads {
        let path = t.join().unwrap();
        assert_eq!(std::fs::read_dir(path.join("d")).unwrap().count(), 200);
    }
}
