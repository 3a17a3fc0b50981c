//! The node agent as a user meets it: `skiff server` registers its own Node (Ready, with
//! capacity and a Lease it renews); `skiff agent --token` joins another; a restarted server
//! re-registers the same Node.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kubectls, Server};

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const FLAGS: [&str; 8] =
    ["--node-name", "node-a", "--node-ip", "127.0.0.1", "--node-lease-seconds", "1", "--kubelet-port", "0"];

#[test]
fn the_server_registers_its_node_and_an_agent_joins() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(tmp.path(), &FLAGS);
    let bin = kubectls().remove(0);
    let k = server.kubectl(&bin);
    wait_for("node-a to register", || k.run(&["get", "node", "node-a"], None).status.success());
    let node: serde_json::Value = serde_json::from_str(&k.ok(&["get", "node", "node-a", "-o", "json"], None)).unwrap();
    let uid = node["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"], "true");
    assert_eq!(node["status"]["capacity"]["pods"], "110");
    assert_eq!(node["status"]["addresses"][0]["address"], "127.0.0.1");
    let ready = node["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
    assert_eq!(ready["status"], "True");
    let wide = k.ok(&["get", "nodes", "-o", "wide"], None);
    assert!(wide.contains("node-a") && wide.contains("Ready") && wide.contains("control-plane"), "{wide}");

    // The Lease is renewed (every second here).
    let renew = || k.ok(&["get", "lease", "-n", "kube-node-lease", "node-a", "-o", "jsonpath={.spec.renewTime}"], None);
    let first = renew();
    wait_for("a lease renewal", || renew() != first);

    // Another node joins with the node token; a wrong token is refused.
    let url = std::fs::read_to_string(&server.kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: ").map(str::to_string))
        .unwrap();
    let tls = tmp.path().join("server/tls");
    let token = std::fs::read_to_string(tls.join("node.token")).unwrap();
    let agent = |token: &str, name: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_skiff"));
        c.args([
            "agent",
            "--server",
            &url,
            "--token",
            token.trim(),
            "--node-name",
            name,
            "--node-ip",
            "127.0.0.2",
            "--kubelet-port",
            "0",
        ])
        .arg("--ca-file")
        .arg(tls.join("ca.crt"))
        .arg("--data-dir")
        .arg(tmp.path().join(name))
        .stdout(Stdio::null());
        c
    };
    let refused = agent("wrong", "node-x").stderr(Stdio::piped()).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"), "{}", String::from_utf8_lossy(&refused.stderr));
    let mut joined = agent(&token, "node-b").stderr(Stdio::null()).spawn().unwrap();
    wait_for("node-b to be Ready", || {
        k.run(&["get", "node", "node-b", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"], None)
            .stdout
            == b"True"
    });
    // The server's node IPAM gave each node its own block of the cluster CIDR.
    let cidr = |n: &str| k.ok(&["get", "node", n, "-o", "jsonpath={.spec.podCIDR}"], None);
    wait_for("node-b's Pod CIDR", || !cidr("node-b").is_empty());
    assert_eq!((cidr("node-a"), cidr("node-b")), ("10.42.0.0/24".to_string(), "10.42.1.0/24".to_string()));
    let _ = joined.kill();
    let _ = joined.wait();

    // A restarted server re-registers the same Node object.
    server.kill9();
    let server = Server::start_with(tmp.path(), &FLAGS);
    let k = server.kubectl(&bin);
    let again = k.ok(&["get", "node", "node-a", "-o", "jsonpath={.metadata.uid}"], None);
    assert_eq!(again, uid);
    let cidr = k.ok(&["get", "node", "node-a", "-o", "jsonpath={.spec.podCIDRs[0]}"], None);
    assert_eq!(cidr, "10.42.0.0/24", "a node keeps its block");
    wait_for("a renewal after the restart", || renew_of(&k) != first);
}

fn renew_of(k: &common::Kubectl<'_>) -> String {
    k.ok(&["get", "lease", "-n", "kube-node-lease", "node-a", "-o", "jsonpath={.spec.renewTime}"], None)
}
