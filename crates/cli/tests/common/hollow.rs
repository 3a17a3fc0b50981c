//! `skiff` components beside a test server, as their own processes: `skiff hollow-nodes`
//! (Nodes that run no containers), `skiff controller-manager`, …

use std::process::{Child, Command, Stdio};

use super::Server;

/// A `skiff` process talking to a test server; killed on drop.
pub struct Component(Child);

impl Component {
    /// Runs `skiff <args> --server URL --token T --ca-file CA` with the server's `token`
    /// (`node.token` or `admin.token`), logging to `<server dir>/<log>.log`.
    pub fn start(server: &Server, log: &str, token: &str, args: &[&str]) -> Component {
        let kubeconfig = std::fs::read_to_string(&server.kubeconfig).unwrap();
        let url = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap().to_string();
        let token = std::fs::read_to_string(server.dir.join("server/tls").join(token)).unwrap();
        let log = std::fs::File::create(server.dir.join(format!("{log}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(args)
            .args(["--server", &url, "--token", token.trim()])
            .arg("--ca-file")
            .arg(server.dir.join("server/tls/ca.crt"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn a skiff component");
        Component(child)
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `skiff hollow-nodes` process.
pub struct Hollow(Component);

impl Hollow {
    pub fn start(server: &Server, prefix: &str, count: usize, extra: &[&str]) -> Hollow {
        let mut args = vec!["hollow-nodes", "--count"];
        let count = count.to_string();
        args.extend([count.as_str(), "--name-prefix", prefix]);
        args.extend_from_slice(extra);
        Hollow(Component::start(server, &format!("hollow-{prefix}"), "node.token", &args))
    }
}
