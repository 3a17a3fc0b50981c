//! The official Python client, the Kubernetes error contract, and durability across kill -9.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kubectls, python, Server};

fn assert_ok(o: std::process::Output, server: &Server) {
    assert!(
        o.status.success(),
        "python failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        common::tail(&server.log(), 40)
    );
}

#[test]
fn python_client_crud_watch_patch() {
    let server = Server::start();
    assert_ok(python(&server, "client_test.py", &[]), &server);
}

#[test]
fn invalid_input_gets_kubernetes_errors() {
    let server = Server::start();
    assert_ok(python(&server, "invalid_test.py", &[]), &server);
}

#[test]
fn acknowledged_creates_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(dir.path());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/crash_writer.py");
    let mut writer = Command::new("python3")
        .arg(script)
        .arg(&server.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = writer.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Let the writer get going, then kill the server in the middle of the stream.
    let mut acked = Vec::new();
    let start = Instant::now();
    while acked.len() < 200 && start.elapsed() < Duration::from_secs(30) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            acked.push(line);
        }
    }
    server.kill9();
    // Everything the writer printed before it noticed is acknowledged too.
    std::thread::sleep(Duration::from_millis(300));
    let _ = writer.kill();
    let _ = writer.wait();
    acked.extend(rx.try_iter());
    assert!(acked.len() >= 50, "too few creates acknowledged in {:?}: {}", start.elapsed(), acked.len());

    let server = Server::start_in(dir.path());
    let bin = kubectls().pop().unwrap();
    let k = server.kubectl(&bin);
    let out = k.ok(&["get", "configmaps", "-o", "json"], None);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stored: std::collections::HashMap<String, String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_string(),
                i["metadata"]["resourceVersion"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for line in &acked {
        let (name, rv) = line.split_once(' ').unwrap();
        assert_eq!(stored.get(name).map(String::as_str), Some(rv), "acknowledged {name} lost or changed");
    }
}
