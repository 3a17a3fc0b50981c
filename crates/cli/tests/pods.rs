//! Pods on the node agent as a user runs them with kubectl (as root): a real sandbox, Pod
//! network, volumes, containers in order, restarts, status.

mod common;

use std::time::Duration;

use common::cluster::{root, Cluster};

const MYAPP: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels:
    app: myapp
spec:
  nodeName: node-a
  containers:
  - name: myapp-container
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo Hello Kubernetes! && sleep 3600']
"#;

#[test]
fn the_first_pod_runs_with_its_own_ip() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    c.k().ok(&["apply", "-f", "-"], Some(MYAPP));
    c.wait_phase("myapp-pod", "Running");
    let ip = c.pod_field("myapp-pod", "{.status.podIP}");
    assert!(ip.starts_with(c.cidr.trim_end_matches(".0/24")), "pod IP {ip} in {}", c.cidr);
    let wide = c.k().ok(&["get", "pods", "-o", "wide"], None);
    assert!(
        wide.contains("myapp-pod") && wide.contains("Running") && wide.contains(&ip) && wide.contains("node-a"),
        "{wide}"
    );
    assert_eq!(c.pod_field("myapp-pod", "{.status.conditions[?(@.type==\"Ready\")].status}"), "True");
    assert_eq!(c.pod_field("myapp-pod", "{.status.hostIP}"), "127.0.0.1");
    // Logs come from the agent through the API server.
    c.wait_for("the log line", Duration::from_secs(10), || {
        c.k().run(&["logs", "myapp-pod"], None).stdout == b"Hello Kubernetes!\n"
    });
    let stamped = c.k().ok(&["logs", "myapp-pod", "--timestamps", "-c", "myapp-container", "--tail", "1"], None);
    assert!(stamped.ends_with("Z Hello Kubernetes!\n") && stamped.starts_with("20"), "{stamped}");
    let previous = c.k().fails(&["logs", "myapp-pod", "--previous"], None);
    assert!(previous.contains("previous terminated container"), "{previous}");
    // The node reaches the Pod's address.
    let ping = std::process::Command::new("ping").args(["-c1", "-W2", &ip]).output();
    if let Ok(p) = ping {
        assert!(p.status.success(), "ping {ip}: {}", String::from_utf8_lossy(&p.stdout));
    }
    c.k().ok(&["delete", "pod", "myapp-pod", "--grace-period=1"], None);
    c.wait_for("the pod to be gone", Duration::from_secs(30), || {
        !c.k().run(&["get", "pod", "myapp-pod"], None).status.success()
    });
}

/// Host PIDs of the cluster's running container processes, by container name label.
fn container_pids(c: &Cluster) -> Vec<(String, i64)> {
    let mut out = vec![];
    for e in std::fs::read_dir(c.dir().join("runtime/containers")).into_iter().flatten().flatten() {
        let read = |f: &str| -> serde_json::Value {
            std::fs::read_to_string(e.path().join(f))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        };
        let (record, state, exit) = (read("container.json"), read("state.json"), read("exit.json"));
        if exit.is_null() {
            if let Some(pid) = state["pid"].as_i64() {
                let name = record["config"]["labels"]["io.kubernetes.container.name"].as_str().unwrap_or_default();
                out.push((name.to_string(), pid));
            }
        }
    }
    out.sort();
    out
}

fn curl(url: &str) -> String {
    let out = std::process::Command::new("curl").args(["-s", "--max-time", "3", url]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SHARED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: two
spec:
  nodeName: node-a
  initContainers:
  - name: setup
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo from-init > /data/init.txt']
    volumeMounts: [{name: shared, mountPath: /data}]
  - name: tailer
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: ['sh', '-c', 'touch /data/app.log; tail -f /data/app.log']
    volumeMounts: [{name: shared, mountPath: /data}]
  containers:
  - name: writer
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo "<h1>shared page</h1>" > /data/index.html; echo written >> /data/app.log; while true; do wget -qO- localhost:8080/index.html && sleep 3600; sleep 0.2; done']
    volumeMounts: [{name: shared, mountPath: /data}]
  - name: server
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['httpd', '-f', '-p', '8080', '-h', '/data']
    volumeMounts: [{name: shared, mountPath: /data}]
  volumes:
  - name: shared
    emptyDir: {}
"#;

const WEB_ARCHIVE: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: archive
spec:
  nodeName: node-a
  initContainers:
  - name: fetch
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo "<h1>archived</h1>" > /work-dir/index.html']
    volumeMounts: [{name: workdir, mountPath: /work-dir}]
  containers:
  - name: server
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['httpd', '-f', '-p', '80', '-h', '/srv']
    ports: [{containerPort: 80, hostPort: HOSTPORT}]
    volumeMounts: [{name: workdir, mountPath: /srv}]
  volumes:
  - name: workdir
    emptyDir: {}
"#;

#[test]
fn the_web_archive_pattern_is_served_on_a_host_port() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let port = 30000 + (std::process::id() % 2000) as u16;
    c.k().ok(&["apply", "-f", "-"], Some(&WEB_ARCHIVE.replace("HOSTPORT", &port.to_string())));
    c.wait_phase("archive", "Running");
    // The node reaches the Pod through its own port, on localhost and on its bridge address.
    c.wait_for("the page on the host port", Duration::from_secs(20), || {
        curl(&format!("http://127.0.0.1:{port}/")) == "<h1>archived</h1>\n"
    });
    let gateway = c.cidr.replace(".0/24", ".1");
    assert_eq!(curl(&format!("http://{gateway}:{port}/")), "<h1>archived</h1>\n");
    // The rules go with the Pod.
    c.k().ok(&["delete", "pod", "archive", "--grace-period=1", "--wait=true"], None);
    let table = format!("skiff_{}", c.bridge.replace('-', "_"));
    let rules = std::process::Command::new("nft").args(["list", "chain", "ip", &table, "hostports"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&rules.stdout).contains("dnat"), "{}", String::from_utf8_lossy(&rules.stdout));
    assert!(curl(&format!("http://127.0.0.1:{port}/")).is_empty());
}

#[test]
fn containers_share_the_network_and_volumes_in_order() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    c.k().ok(&["apply", "-f", "-"], Some(SHARED));
    c.wait_phase("two", "Running");
    let ip = c.pod_field("two", "{.status.podIP}");
    // The node fetches the page from the Pod's IP; the init container's file is there too.
    c.wait_for("the page from the node", Duration::from_secs(20), || {
        curl(&format!("http://{ip}:8080/")).contains("shared page")
    });
    assert_eq!(curl(&format!("http://{ip}:8080/init.txt")), "from-init\n");
    // The writer reached the server over localhost; the sidecar tails the writer's log file.
    c.wait_for("the writer's wget", Duration::from_secs(20), || {
        String::from_utf8_lossy(&c.k().run(&["logs", "two", "-c", "writer"], None).stdout).contains("shared page")
    });
    c.wait_for("the sidecar's tail", Duration::from_secs(20), || {
        c.k().run(&["logs", "two", "-c", "tailer"], None).stdout == b"written\n"
    });
    let init = c.pod_field("two", "{.status.initContainerStatuses[0].state.terminated.reason}");
    assert_eq!(init, "Completed");
    assert_eq!(c.pod_field("two", "{.status.initContainerStatuses[1].started}"), "true");
    let wide = c.k().ok(&["get", "pod", "two"], None);
    assert!(wide.contains("3/3") && wide.contains("Running"), "{wide}");
}

fn pod(name: &str, policy: &str, script: &str, grace: u32) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: node-a
  restartPolicy: {policy}
  terminationGracePeriodSeconds: {grace}
  containers:
  - name: main
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', '{script}']
    volumeMounts: [{{name: scratch, mountPath: /scratch}}]
  volumes:
  - name: scratch
    emptyDir: {{}}
"#
    )
}

#[test]
fn restart_policies_restart_containers_not_pods() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let crash = "echo run >> /scratch/runs; cat /scratch/runs | wc -l; sleep 1; exit 1";
    c.k().ok(&["apply", "-f", "-"], Some(&pod("always", "Always", crash, 1)));
    c.k().ok(&["apply", "-f", "-"], Some(&pod("onfailure", "OnFailure", crash, 1)));
    c.k().ok(&["apply", "-f", "-"], Some(&pod("never", "Never", crash, 1)));
    c.k().ok(&["apply", "-f", "-"], Some(&pod("done", "OnFailure", "exit 0", 1)));
    c.k().ok(&["apply", "-f", "-"], Some(&pod("message", "Never", "echo bye > /dev/termination-log; exit 2", 1)));
    let fallback = pod("fallback", "Never", "echo last words; exit 1", 1).replace(
        "    imagePullPolicy: IfNotPresent\n",
        "    imagePullPolicy: IfNotPresent\n    terminationMessagePolicy: FallbackToLogsOnError\n",
    );
    c.k().ok(&["apply", "-f", "-"], Some(&fallback));
    c.wait_phase("never", "Failed");
    // Termination messages: the file the container wrote, or the end of its log.
    c.wait_phase("message", "Failed");
    c.wait_phase("fallback", "Failed");
    assert_eq!(c.pod_field("message", "{.status.containerStatuses[0].state.terminated.message}"), "bye\n");
    assert_eq!(c.pod_field("fallback", "{.status.containerStatuses[0].state.terminated.message}"), "last words");
    c.wait_phase("done", "Succeeded");
    assert_eq!(c.pod_field("never", "{.status.containerStatuses[0].state.terminated.exitCode}"), "1");
    assert_eq!(c.pod_field("never", "{.status.containerStatuses[0].restartCount}"), "0");
    for name in ["always", "onfailure"] {
        let ip = c.pod_field(name, "{.status.podIP}");
        c.wait_for(&format!("{name} to restart twice"), Duration::from_secs(60), || {
            c.pod_field(name, "{.status.containerStatuses[0].restartCount}").parse::<u32>().unwrap_or(0) >= 2
        });
        assert_eq!(c.pod_field(name, "{.status.podIP}"), ip, "a restart keeps the Pod's IP");
        assert_eq!(c.pod_field(name, "{.status.containerStatuses[0].lastState.terminated.exitCode}"), "1");
        // The volume survives restarts: each run counts the runs before it.
        let logs = c.k().ok(&["logs", name, "--previous"], None);
        assert!(logs.trim().parse::<u32>().unwrap() >= 2, "{logs}");
        assert_ne!(c.pod_field(name, "{.status.phase}"), "Failed");
    }
    c.wait_for("CrashLoopBackOff", Duration::from_secs(30), || {
        c.pod_field("always", "{.status.containerStatuses[0].state.waiting.reason}") == "CrashLoopBackOff"
    });
    // The kubelet's events, as `kubectl describe` shows them.
    c.wait_for("the BackOff event", Duration::from_secs(10), || {
        let described = c.k().ok(&["describe", "pod", "always"], None);
        ["Pulled", "Created", "Started", "BackOff", "Back-off restarting failed container main"]
            .iter()
            .all(|s| described.contains(s))
    });
}

#[test]
fn deleting_a_pod_honours_its_grace_period() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let polite = "trap \"exit 0\" TERM; while true; do sleep 0.1; done";
    let stubborn = "trap \"\" TERM; while true; do sleep 0.1; done";
    c.k().ok(&["apply", "-f", "-"], Some(&pod("polite", "Always", polite, 30)));
    c.k().ok(&["apply", "-f", "-"], Some(&pod("stubborn", "Always", stubborn, 3)));
    c.wait_phase("polite", "Running");
    c.wait_phase("stubborn", "Running");
    let start = std::time::Instant::now();
    c.k().ok(&["delete", "pod", "polite", "--wait=true", "--timeout=25s"], None);
    let polite_took = start.elapsed();
    let start = std::time::Instant::now();
    c.k().ok(&["delete", "pod", "stubborn", "--wait=true", "--timeout=25s"], None);
    let stubborn_took = start.elapsed();
    // Not timing assertions on speed: only that the deadline is the grace period.
    assert!(polite_took < Duration::from_secs(25), "SIGTERM ended it: {polite_took:?}");
    assert!(stubborn_took >= Duration::from_secs(3), "killed only at its deadline: {stubborn_took:?}");
    assert!(container_pids(&c).is_empty(), "{:?}", container_pids(&c));
}

#[test]
fn restarting_the_server_leaves_containers_running() {
    if !root() {
        return;
    }
    let mut c = Cluster::start(&[]);
    c.k().ok(&["apply", "-f", "-"], Some(MYAPP));
    c.wait_phase("myapp-pod", "Running");
    let before = container_pids(&c);
    assert_eq!(before.len(), 1);
    c.restart();
    c.wait_for("the agent to report again", Duration::from_secs(30), || {
        c.k().run(&["logs", "myapp-pod"], None).stdout == b"Hello Kubernetes!\n"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(container_pids(&c), before, "the same processes run");
    assert_eq!(c.pod_field("myapp-pod", "{.status.containerStatuses[0].restartCount}"), "0");
    assert_eq!(c.pod_field("myapp-pod", "{.status.phase}"), "Running");
}

const PROBED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  nodeName: node-a
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'touch /tmp/alive; (while [ ! -f /host/break ]; do sleep 0.2; done; rm /host/break /tmp/alive) & mkdir -p /www; echo ok > /www/healthz; exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
    startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
    livenessProbe: {exec: {command: [cat, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}
    lifecycle:
      postStart: {exec: {command: [sh, -c, 'echo started >> /host/poststart']}}
      preStop: {exec: {command: [sh, -c, 'echo stopping >> /host/prestop']}}
    volumeMounts: [{name: host, mountPath: /host}]
  volumes:
  - name: host
    hostPath: {path: HOSTDIR, type: Directory}
"#;

#[test]
fn probes_decide_readiness_and_restart_unhealthy_containers() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let host = c.dir().join("probe-host");
    std::fs::create_dir_all(&host).unwrap();
    c.k().ok(&["apply", "-f", "-"], Some(&PROBED.replace("HOSTDIR", host.to_str().unwrap())));
    let ready = || c.pod_field("probed", "{.status.conditions[?(@.type==\"Ready\")].status}") == "True";
    c.wait_for("the readiness probe to pass", Duration::from_secs(30), ready);
    assert_eq!(c.pod_field("probed", "{.status.containerStatuses[0].started}"), "true");
    assert_eq!(std::fs::read_to_string(host.join("poststart")).unwrap(), "started\n");
    // The liveness probe fails once /tmp/alive is gone: the container restarts (preStop first).
    std::fs::write(host.join("break"), "").unwrap();
    c.wait_for("the liveness restart", Duration::from_secs(30), || {
        c.pod_field("probed", "{.status.containerStatuses[0].restartCount}") == "1"
    });
    assert_eq!(std::fs::read_to_string(host.join("prestop")).unwrap(), "stopping\n");
    let events = c.k().ok(&["get", "events", "--field-selector", "involvedObject.name=probed,reason=Unhealthy"], None);
    assert!(events.contains("Liveness probe failed"), "{events}");
    c.wait_for("ready again", Duration::from_secs(30), ready);
    assert_eq!(std::fs::read_to_string(host.join("poststart")).unwrap(), "started\nstarted\n");
    assert_eq!(c.pod_field("probed", "{.status.phase}"), "Running");
}

const CONFIGURED: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: configured
  labels: {app: configured}
spec:
  nodeName: node-a
  restartPolicy: Never
  containers:
  - name: main
    image: localhost/busybox:latest
    imagePullPolicy: IfNotPresent
    command: ['sh', '-c', 'echo "mode=$MODE password=$PASSWORD level=$CFG_level"; cat /etc/config/mode /etc/secret/password; echo; cat /etc/info/labels; grep -c "/etc/secret tmpfs" /proc/mounts']
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    envFrom:
    - {configMapRef: {name: settings}, prefix: CFG_}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: secret, mountPath: /etc/secret, readOnly: true}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: config, configMap: {name: settings}}
  - {name: secret, secret: {secretName: db}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
"#;

#[test]
fn config_maps_and_secrets_reach_volumes_and_environment() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    c.k().ok(&["create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3"], None);
    c.k().ok(&["apply", "-f", "-"], Some(CONFIGURED));
    // The Secret does not exist yet: the container waits with the kubelet's reason.
    c.wait_for("CreateContainerConfigError", Duration::from_secs(20), || {
        c.pod_field("configured", "{.status.containerStatuses[0].state.waiting.reason}") == "CreateContainerConfigError"
    });
    let message = c.pod_field("configured", "{.status.containerStatuses[0].state.waiting.message}");
    assert!(message.contains("\"db\" not found"), "{message}");
    c.k().ok(&["create", "secret", "generic", "db", "--from-literal=password=s3cret"], None);
    c.wait_phase("configured", "Succeeded");
    let logs = c.k().ok(&["logs", "configured"], None);
    assert_eq!(logs, "mode=fast password=s3cret level=3\nfasts3cret\napp=\"configured\"\n1\n");
}

fn private_pod(name: &str, image: &str, secret: Option<&str>) -> String {
    let secrets = secret.map(|s| format!("  imagePullSecrets: [{{name: {s}}}]\n")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: node-a\n{secrets}  containers:\n  \
         - name: app\n    image: {image}\n    imagePullPolicy: Always\n    command: ['sh', '-c', 'echo pulled && sleep 3600']\n"
    )
}

#[test]
fn image_pull_secrets_open_a_private_registry() {
    if !root() {
        return;
    }
    let c = Cluster::start(&[]);
    let storage = c.dir().join("registry");
    {
        let open = common::registry::Registry::start(&storage);
        let layout = c.dir().join("busybox-oci");
        common::images::oci_layout(&layout, &common::images::busybox_layer());
        let push = std::process::Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:latest", layout.display()))
            .arg(format!("docker://127.0.0.1:{}/team/busybox:latest", open.port))
            .output()
            .unwrap();
        assert!(push.status.success(), "skopeo: {}", String::from_utf8_lossy(&push.stderr));
    }
    // The same storage, now only for holders of a token paid for with puller:s3cret.
    let tokens = common::registry::TokenServer::start("puller", "s3cret");
    let registry = common::registry::Registry::with_auth(&storage, &tokens.auth_config(c.dir()));
    let server = format!("127.0.0.1:{}", registry.port);
    std::fs::write(c.dir().join("registries.yaml"), format!("configs:\n  \"{server}\":\n    plain_http: true\n"))
        .unwrap();
    let image = format!("{server}/team/busybox:latest");

    c.k().ok(&["apply", "-f", "-"], Some(&private_pod("anonymous", &image, None)));
    c.wait_for("ErrImagePull or ImagePullBackOff", Duration::from_secs(30), || {
        let reason = c.pod_field("anonymous", "{.status.containerStatuses[0].state.waiting.reason}");
        reason == "ErrImagePull" || reason == "ImagePullBackOff"
    });
    let wrong = ["--docker-username=puller", "--docker-password=wrong"];
    c.k().ok(
        &["create", "secret", "docker-registry", "wrong", &format!("--docker-server={server}"), wrong[0], wrong[1]],
        None,
    );
    c.k().ok(&["apply", "-f", "-"], Some(&private_pod("wrong", &image, Some("wrong"))));
    c.wait_for("a Failed event for the wrong password", Duration::from_secs(30), || {
        let events = c.k().run(&["get", "events", "--field-selector", "involvedObject.name=wrong"], None);
        String::from_utf8_lossy(&events.stdout).contains("logging in as puller")
    });
    let right = ["--docker-username=puller", "--docker-password=s3cret"];
    c.k().ok(
        &["create", "secret", "docker-registry", "regcred", &format!("--docker-server={server}"), right[0], right[1]],
        None,
    );
    c.k().ok(&["apply", "-f", "-"], Some(&private_pod("private", &image, Some("regcred"))));
    c.wait_phase("private", "Running");
    c.wait_for("its output", Duration::from_secs(10), || c.k().run(&["logs", "private"], None).stdout == b"pulled\n");
    let events = c.k().ok(&["get", "events", "--field-selector", "involvedObject.name=private"], None);
    assert!(events.contains("Successfully pulled image"), "{events}");
}
