//! `skiff image import|ls|rm` with a busybox image built here from Debian's busybox-static, as
//! a docker archive and as an OCI layout.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use sha2::{Digest as _, Sha256};

fn skiff(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff")).arg("image").arg("--root").arg(root).args(args).output().expect("skiff")
}

fn pull(root: &Path, target: &str, registries: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skiff"));
    c.arg("image").arg("--root").arg(root).args(["pull", target, "--registries"]).arg(registries);
    c.output().expect("skiff")
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A layer with /bin/busybox, a few applet links and /etc/passwd.
fn busybox_layer() -> Vec<u8> {
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
    file(&mut b, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644);
    for applet in ["sh", "echo", "sleep", "cat", "wget", "httpd"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    b.into_inner().unwrap()
}

fn config() -> Vec<u8> {
    serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": []}}))
    .unwrap()
}

fn docker_archive(path: &Path, layer: &[u8]) {
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

fn oci_layout(dir: &Path, layer: &[u8]) -> String {
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

/// Debian's docker-registry on a free loopback port; killed on drop.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (run scripts/setup-test-deps.sh)");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < std::time::Duration::from_secs(20), "registry did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Registry { child, port, _dir: dir }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "skiff failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_list_and_remove_busybox() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("images");
    let layer = busybox_layer();

    let archive = work.path().join("busybox-docker.tar");
    docker_archive(&archive, &layer);
    assert!(ok(skiff(&root, &["import", archive.to_str().unwrap()])).contains("imported localhost/busybox:latest"));

    let layout = work.path().join("busybox-oci");
    oci_layout(&layout, &layer);
    let out = ok(skiff(&root, &["import", layout.to_str().unwrap(), "--name", "127.0.0.1:5000/busybox"]));
    assert!(out.contains("imported 127.0.0.1:5000/busybox:latest"), "{out}");

    let ls = ok(skiff(&root, &["ls"]));
    assert!(ls.contains("localhost/busybox:latest") && ls.contains("127.0.0.1:5000/busybox:latest"), "{ls}");
    assert!(ok(skiff(&root, &["rm", "localhost/busybox"])).contains("untagged localhost/busybox:latest"));
    assert!(!ok(skiff(&root, &["ls"])).contains("localhost/busybox:latest"));
}

#[test]
fn a_corrupted_blob_is_rejected_with_a_digest_error() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("images");
    let layout = work.path().join("busybox-oci");
    let ld = oci_layout(&layout, &busybox_layer());
    fs::write(layout.join("blobs/sha256").join(&ld), b"corrupted").unwrap();
    let o = skiff(&root, &["import", layout.to_str().unwrap(), "--name", "busybox"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(!root.join("blobs/sha256").join(&ld).exists());
    assert_eq!(fs::read_dir(root.join("ingest")).unwrap().count(), 0, "nothing half-written");
    assert!(!ok(skiff(&root, &["ls"])).contains("busybox"));
}

#[test]
fn pull_from_a_local_registry_over_plain_http_where_configured() {
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("busybox-oci");
    oci_layout(&layout, &busybox_layer());
    let target = format!("127.0.0.1:{}/busybox:latest", registry.port);
    let push = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{target}"))
        .output()
        .expect("skopeo");
    assert!(push.status.success(), "skopeo: {}", String::from_utf8_lossy(&push.stderr));

    let root = work.path().join("images");
    // Plain HTTP is used only where the registries config says so.
    let none = work.path().join("none.yaml");
    let o = pull(&root, &target, &none);
    assert!(!o.status.success(), "pull over https from a plain-HTTP registry must fail");

    let cfg = work.path().join("registries.yaml");
    fs::write(&cfg, format!("configs:\n  \"127.0.0.1:{}\":\n    plain_http: true\n", registry.port)).unwrap();
    let out = ok(pull(&root, &target, &cfg));
    assert!(out.contains(&format!("pulled {target}")), "{out}");
    assert!(ok(skiff(&root, &["ls"])).contains(&target));
    // Pulling again fetches nothing new and still succeeds.
    ok(pull(&root, &target, &cfg));
}
