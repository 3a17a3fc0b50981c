//! Pull of a 1 MB image (busybox-static) from Debian's docker-registry on loopback:
//! `skiff image pull` into a fresh store beside `skopeo copy` into a fresh OCI layout.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_runtime::image::testing;

use crate::container::{line, setup, time_runs, which, BenchError, IMAGE};

/// The registry process; killed on drop.
struct Registry(std::process::Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the comparison; `skiff` is the binary to measure.
pub fn run(skiff: &Path, runs: usize) -> Result<Vec<String>, BenchError> {
    let (Some(registry), Some(skopeo)) = (which("docker-registry"), which("skopeo")) else {
        return Ok(vec!["pull: needs docker-registry and skopeo (scripts/setup-test-deps.sh)".into()]);
    };
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let config = dir.join("registry.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        ),
    )?;
    let _registry =
        Registry(Command::new(registry).arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err(setup("the registry did not start"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let archive = dir.join("busybox.tar");
    testing::docker_archive(&archive, &testing::busybox_layer()?, IMAGE)?;
    let target = format!("127.0.0.1:{port}/busybox:latest");
    let push = Command::new(&skopeo)
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!("docker://{target}"))
        .output()?;
    if !push.status.success() {
        return Err(setup(String::from_utf8_lossy(&push.stderr)));
    }
    let registries = dir.join("registries.yaml");
    fs::write(&registries, format!("configs:\n  \"127.0.0.1:{port}\":\n    plain_http: true\n"))?;
    let mut lines = vec![format!(
        "pull of a {} KB image from a loopback registry, fresh store each run",
        fs::metadata(&archive)?.len() / 1024
    )];
    let s = time_runs(runs, |i| {
        let mut c = Command::new(skiff);
        c.arg("image").arg("--root").arg(dir.join(format!("skiff-{i}"))).arg("pull").arg(&target);
        c.arg("--registries").arg(&registries);
        c
    })?;
    lines.push(line("skiff image pull", &s));
    let k = time_runs(runs, |i| {
        let mut c = Command::new(&skopeo);
        c.args(["copy", "--src-tls-verify=false"]).arg(format!("docker://{target}"));
        c.arg(format!("oci:{}:latest", dir.join(format!("skopeo-{i}")).display()));
        c
    })?;
    lines.push(line("skopeo copy docker:// → oci:", &k));
    Ok(lines)
}
