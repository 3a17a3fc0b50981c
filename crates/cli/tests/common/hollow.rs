//! `skiff hollow-nodes` beside a test server: Nodes that run no containers.

use std::process::{Child, Command, Stdio};

use super::Server;

/// A `skiff hollow-nodes` process; killed on drop.
pub struct Hollow(Child);

impl Hollow {
    pub fn start(server: &Server, prefix: &str, count: usize, extra: &[&str]) -> Hollow {
        let kubeconfig = std::fs::read_to_string(&server.kubeconfig).unwrap();
        let url = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap().to_string();
        let token = std::fs::read_to_string(server.dir.join("server/tls/node.token")).unwrap();
        let log = std::fs::File::create(server.dir.join(format!("hollow-{prefix}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["hollow-nodes", "--count", &count.to_string(), "--name-prefix", prefix])
            .args(["--server", &url, "--token", token.trim()])
            .arg("--ca-file")
            .arg(server.dir.join("server/tls/ca.crt"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn hollow-nodes");
        Hollow(child)
    }
}

impl Drop for Hollow {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
