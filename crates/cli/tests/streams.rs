//! Streams through the API server to the agent, as users run them with every kubectl on the
//! machine (as root): `kubectl exec` (WebSocket v5 from 1.30, SPDY before), with stdin, exit
//! codes and a terminal, `kubectl cp` (tar through exec), `kubectl attach` to a container's output, and `kubectl port-forward` (SPDY, tunnelled in WebSocket from 1.31)
//! to a port the Pod serves only on its own localhost.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::cluster::{root, Cluster};
use common::{kubectls, minor};

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: node-a
  containers:
  - name: web
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'mkdir -p /www && echo "<p>local only</p>" > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www']
"#;

const TICKER: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  nodeName: node-a
  containers:
  - name: ticker
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']
"#;

/// `kubectl attach`: the first line of the container's output from now on.
fn attach_line(c: &Cluster, bin: &std::path::Path) -> String {
    let mut child = c
        .server()
        .kubectl(bin)
        .cmd()
        .args(["attach", "ticker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

/// `kubectl port-forward` on a free local port; returns the process and the port.
fn port_forward(c: &Cluster, bin: &std::path::Path) -> (std::process::Child, u16) {
    let mut child = c
        .server()
        .kubectl(bin)
        .cmd()
        .args(["port-forward", "pod/web", ":8080"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // kubectl goes on writing ("Handling connection for …"): keep reading.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    // "Forwarding from 127.0.0.1:41234 -> 8080"
    let port = line.split(':').nth(1).and_then(|r| r.split_whitespace().next()).and_then(|p| p.parse().ok());
    let Some(port) = port else {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("{}: {line} {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    };
    (child, port)
}

fn curl(port: u16) -> String {
    let out =
        Command::new("curl").args(["-s", "--max-time", "5", &format!("http://127.0.0.1:{port}/")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn exec_and_port_forward_with_every_kubectl() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    c.k().ok(&["apply", "-f", "-"], Some(WEB));
    c.k().ok(&["apply", "-f", "-"], Some(TICKER));
    c.wait_phase("web", "Running");
    c.wait_phase("ticker", "Running");
    for bin in kubectls() {
        let k = c.server().kubectl(&bin);
        let v = minor(&bin);
        let out = k.ok(&["exec", "web", "--", "cat", "/www/index.html"], None);
        assert_eq!(out, "<p>local only</p>\n", "kubectl 1.{v}");
        let out = k.ok(&["exec", "-i", "web", "--", "sh", "-c", "cat; echo err >&2"], Some("from stdin\n"));
        assert_eq!(out, "from stdin\n", "kubectl 1.{v}: stdin reaches the process");
        let failed = k.run(&["exec", "web", "-c", "web", "--", "sh", "-c", "exit 3"], None);
        assert_eq!(failed.status.code(), Some(3), "kubectl 1.{v}: {}", String::from_utf8_lossy(&failed.stderr));
        let missing = k.fails(&["exec", "web", "--", "/no/such/binary"], None);
        assert!(!missing.is_empty(), "kubectl 1.{v}");
        // A terminal: `script` gives kubectl one of its own.
        let line = format!(
            "{} --kubeconfig {} exec -it web -- sh -c 'tty; stty size'",
            bin.display(),
            c.server().kubeconfig.display()
        );
        let tty = Command::new("script").args(["-qec", &line, "/dev/null"]).stdin(Stdio::null()).output().unwrap();
        let text = String::from_utf8_lossy(&tty.stdout);
        assert!(text.contains("/dev/pts/"), "kubectl 1.{v}: {text} {}", String::from_utf8_lossy(&tty.stderr));

        // kubectl cp: tar through exec, both ways.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, format!("copied by kubectl 1.{v}\n")).unwrap();
        k.ok(&["cp", file.to_str().unwrap(), "web:/tmp/notes.txt"], None);
        assert_eq!(k.ok(&["exec", "web", "--", "cat", "/tmp/notes.txt"], None), format!("copied by kubectl 1.{v}\n"));
        let back = dir.path().join("back.txt");
        k.ok(&["cp", "web:/tmp/notes.txt", back.to_str().unwrap()], None);
        assert_eq!(std::fs::read_to_string(&back).unwrap(), format!("copied by kubectl 1.{v}\n"), "kubectl 1.{v} cp");

        let line = attach_line(&c, &bin);
        assert!(line.starts_with("tick "), "kubectl 1.{v} attach: {line:?}");

        let (mut child, port) = port_forward(&c, &bin);
        let page = curl(port);
        let again = curl(port);
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let errors = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            page,
            "<p>local only</p>\n",
            "kubectl 1.{v} port-forward: {errors}\n{}",
            common::tail(&c.server().log(), 20)
        );
        assert_eq!(again, page, "kubectl 1.{v}: a second connection");
    }
    let python = common::python(c.server(), "exec_test.py", &[]);
    assert!(
        python.status.success(),
        "{}{}",
        String::from_utf8_lossy(&python.stdout),
        String::from_utf8_lossy(&python.stderr)
    );
    // Not reachable from the node: the server listens on the Pod's own localhost only.
    let ip = c.pod_field("web", "{.status.podIP}");
    let out = Command::new("curl").args(["-s", "--max-time", "2", &format!("http://{ip}:8080/")]).output().unwrap();
    assert!(!out.status.success());
    let done = c.k().fails(&["exec", "nope", "--", "true"], None);
    assert!(done.contains("not found"), "{done}");
}
