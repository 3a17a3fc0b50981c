//! `skiff image import|ls|rm` with a busybox image built here from Debian's busybox-static, as
//! a docker archive and as an OCI layout.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::images::{busybox_layer, docker_archive, oci_layout};
use common::registry::{Registry, TokenServer};

fn skiff(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff")).arg("image").arg("--root").arg(root).args(args).output().expect("skiff")
}

fn pull(root: &Path, target: &str, registries: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skiff"));
    c.arg("image").arg("--root").arg(root).args(["pull", target, "--registries"]).arg(registries);
    c.output().expect("skiff")
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

    // Both names share one manifest, config and layer: gc keeps them until the last name goes.
    let containers = work.path().join("containers");
    let gc = |root: &Path| ok(skiff(root, &["gc", "--container-root", containers.to_str().unwrap()]));
    let blobs = || fs::read_dir(root.join("blobs/sha256")).unwrap().count();
    fs::write(root.join("blobs/sha256").join("0".repeat(64)), b"orphan").unwrap();
    assert!(gc(&root).starts_with("removed 1 blobs"));
    assert_eq!(blobs(), 3);
    assert!(ok(skiff(&root, &["rm", "127.0.0.1:5000/busybox"])).contains("untagged"));
    assert!(gc(&root).starts_with("removed 3 blobs"));
    assert_eq!(blobs(), 0);
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
    let work = tempfile::tempdir().unwrap();
    let registry = Registry::start(&work.path().join("registry"));
    let target = format!("127.0.0.1:{}/busybox:latest", registry.port);
    push_busybox(work.path(), &target);
    let layout = work.path().join("busybox-oci");

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

    // A pull interrupted half-way through the layer continues from where it stopped; a corrupt
    // partial download is fetched again.
    let largest =
        fs::read_dir(root.join("blobs/sha256")).unwrap().flatten().max_by_key(|e| e.metadata().unwrap().len()).unwrap();
    let layer = fs::read(largest.path()).unwrap();
    let smallest =
        fs::read_dir(root.join("blobs/sha256")).unwrap().flatten().min_by_key(|e| e.metadata().unwrap().len()).unwrap();
    let resumed = work.path().join("resumed");
    fs::create_dir_all(resumed.join("partial")).unwrap();
    let name = |e: &fs::DirEntry| format!("sha256-{}", e.file_name().to_string_lossy());
    fs::write(resumed.join("partial").join(name(&largest)), &layer[..layer.len() / 2]).unwrap();
    fs::write(resumed.join("partial").join(name(&smallest)), b"garbage").unwrap();
    let o = pull(&resumed, &target, &cfg);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("resuming a partial download"), "{err}");
    assert_eq!(fs::read(resumed.join("blobs/sha256").join(largest.file_name())).unwrap(), layer);
    assert_eq!(fs::read_dir(resumed.join("partial")).unwrap().count(), 0);

    // On a terminal (util-linux `script` gives the pull one) progress is shown.
    let tty_root = work.path().join("tty");
    let line = format!(
        "{} image --root {} pull {target} --registries {}",
        env!("CARGO_BIN_EXE_skiff"),
        tty_root.display(),
        cfg.display()
    );
    let o = Command::new("script").args(["-qec", &line, "/dev/null"]).output().expect("script (bsdutils)");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && shown.contains("blobs 2/2:"), "{shown}");

    // An OCI archive as skopeo writes it imports too.
    let archive = work.path().join("busybox-oci.tar");
    let save = Command::new("skopeo")
        .args(["--insecure-policy", "copy"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("oci-archive:{}:saved", archive.display()))
        .output()
        .expect("skopeo");
    assert!(save.status.success(), "skopeo: {}", String::from_utf8_lossy(&save.stderr));
    let out = ok(skiff(&root, &["import", archive.to_str().unwrap(), "--name", "example.com/busybox"]));
    assert!(out.contains("imported example.com/busybox:saved"), "{out}");
}

/// Pushes a busybox OCI layout to `target` with skopeo (anonymously).
fn push_busybox(work: &Path, target: &str) {
    let layout = work.join("busybox-oci");
    oci_layout(&layout, &busybox_layer());
    let push = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{target}"))
        .output()
        .expect("skopeo");
    assert!(push.status.success(), "skopeo: {}", String::from_utf8_lossy(&push.stderr));
}

#[test]
fn pull_with_the_docker_hub_token_flow() {
    let work = tempfile::tempdir().unwrap();
    let storage = work.path().join("registry");
    {
        let open = Registry::start(&storage);
        push_busybox(work.path(), &format!("127.0.0.1:{}/library/busybox:latest", open.port));
    }
    // The same storage behind a token server: 401 with `WWW-Authenticate: Bearer realm=…`,
    // then a token for the scope from the realm, paid for with basic credentials.
    let tokens = TokenServer::start("puller", "s3cret");
    let registry = Registry::with_auth(&storage, &tokens.auth_config(work.path()));
    let target = format!("127.0.0.1:{}/library/busybox:latest", registry.port);
    let config = |auth: &str| {
        let path = work.path().join("registries.yaml");
        fs::write(&path, format!("configs:\n  \"127.0.0.1:{}\":\n    plain_http: true\n{auth}", registry.port))
            .unwrap();
        path
    };
    let root = work.path().join("images");
    let o = pull(&root, &target, &config(""));
    assert!(!o.status.success(), "an anonymous pull must be refused");
    let o = pull(&root, &target, &config("    auth: {username: puller, password: wrong}\n"));
    assert!(!o.status.success(), "wrong credentials must be refused");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("logging in as puller"), "{err}");
    let out = ok(pull(&root, &target, &config("    auth: {username: puller, password: s3cret}\n")));
    assert!(out.contains(&format!("pulled {target}")), "{out}");
    assert!(ok(skiff(&root, &["ls"])).contains(&target));
}
