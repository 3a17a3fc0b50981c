//! The issue's acceptance walk-through with every kubectl on the machine, each against a
//! fresh server.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{kubectls, minor, Kubectl, Server};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: myapp-pod
  labels:
    app: myapp
spec:
  containers:
  - name: myapp-container
    image: busybox
    command: ['sh', '-c', 'echo Hello Kubernetes! && sleep 3600']
";

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p.to_string_lossy().into_owned()
}

fn walk_through(server: &Server, k: &Kubectl<'_>, minor: u32) {
    let dir = tempfile::tempdir().unwrap();
    let pod = write(dir.path(), "pod.yaml", POD);

    let v = k.ok(&["version", "-o", "json"], None);
    assert!(v.contains("\"gitVersion\""), "{v}");
    let ar = k.ok(&["api-resources"], None);
    for r in [
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "leases",
        "events",
        "namespaces",
        "nodes",
    ] {
        assert!(ar.contains(r), "api-resources misses {r}:\n{ar}");
    }

    assert!(k.ok(&["apply", "-f", &pod], None).contains("pod/myapp-pod created"));
    let wide = k.ok(&["get", "pods", "-o", "wide", "-l", "app=myapp"], None);
    let header = wide.lines().next().unwrap_or_default();
    for col in ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"] {
        assert!(header.contains(col), "missing column {col}: {wide}");
    }
    assert!(wide.contains("myapp-pod") && wide.contains("0/1") && wide.contains("Pending"), "{wide}");

    // Re-apply with a changed label and image: strategic merge patch.
    let changed =
        POD.replace("app: myapp", "app: myapp\n    tier: web").replace("image: busybox", "image: busybox:1.36");
    let changed = write(dir.path(), "pod2.yaml", &changed);
    let out = k.ok(&["apply", "-f", &changed], None);
    assert!(out.contains("pod/myapp-pod configured"), "{out}");
    let yaml = k.ok(&["get", "pod", "myapp-pod", "-o", "yaml"], None);
    for want in [
        "tier: web",
        "image: busybox:1.36",
        "restartPolicy: Always",
        "imagePullPolicy: Always",
        "terminationMessagePath: /dev/termination-log",
        "dnsPolicy: ClusterFirst",
        "schedulerName: default-scheduler",
        "phase: Pending",
        "qosClass: BestEffort",
        "uid:",
        "resourceVersion:",
        "creationTimestamp:",
    ] {
        assert!(yaml.contains(want), "get -o yaml misses {want:?}:\n{yaml}");
    }
    assert!(k.ok(&["apply", "-f", &changed], None).contains("unchanged"));

    if minor >= 22 {
        let ssa = k.ok(&["apply", "--server-side", "--force-conflicts", "-f", &changed], None);
        assert!(ssa.contains("serverside-applied"), "{ssa}");
        let yaml = k.ok(&["get", "pod", "myapp-pod", "-o", "yaml", "--show-managed-fields"], None);
        assert!(yaml.contains("manager: kubectl") && yaml.contains("operation: Apply"), "{yaml}");

        // Patches reach managedFields, which the server keeps beside the object's tree.
        let managers = |k: &Kubectl<'_>| {
            let path = "jsonpath={.metadata.managedFields[*].manager}";
            k.ok(&["get", "pod", "myapp-pod", "--show-managed-fields", "-o", path], None)
        };
        let first = managers(k).split_whitespace().next().unwrap_or_default().to_string();
        let rename = format!(
            r#"[{{"op":"test","path":"/metadata/managedFields/0/manager","value":"{first}"}},
               {{"op":"replace","path":"/metadata/managedFields/0/manager","value":"renamed"}}]"#
        );
        k.ok(&["patch", "pod", "myapp-pod", "--type=json", "-p", &rename], None);
        assert!(managers(k).contains("renamed"), "{}", managers(k));
        let reset = r#"{"metadata":{"managedFields":[{}]}}"#;
        k.ok(&["patch", "pod", "myapp-pod", "--type=merge", "-p", reset], None);
        assert_eq!(managers(k).trim(), "", "the reset form clears them");
    }

    let explain = k.ok(&["explain", "pod.spec.containers"], None);
    assert!(explain.contains("image") && explain.to_lowercase().contains("description"), "{explain}");

    // get -w sees a change made by another client.
    let mut watch = k.cmd();
    watch.args(["get", "pods", "-w"]).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = watch.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    k.ok(&["label", "pod", "myapp-pod", "watched=yes"], None);
    std::thread::sleep(Duration::from_millis(700));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.matches("myapp-pod").count() >= 2, "watch did not see the change:\n{seen}");

    assert!(k.ok(&["label", "pod", "myapp-pod", "color=blue"], None).contains("labeled"));
    assert!(k.ok(&["annotate", "pod", "myapp-pod", "note=hello"], None).contains("annotate"));
    let labels = k.ok(&["get", "pod", "myapp-pod", "--show-labels"], None);
    assert!(labels.contains("color=blue"), "{labels}");

    // A JSON patch sees the resourceVersion: a test of the current one passes, a stale one fails.
    let rv = k.ok(&["get", "pod", "myapp-pod", "-o", "jsonpath={.metadata.resourceVersion}"], None);
    let guarded = |rv: &str, value: &str| {
        format!(
            r#"[{{"op":"test","path":"/metadata/resourceVersion","value":"{rv}"}},
               {{"op":"add","path":"/metadata/labels/guarded","value":"{value}"}}]"#
        )
    };
    let patched = k.ok(&["patch", "pod", "myapp-pod", "--type=json", "-p", &guarded(rv.trim(), "one")], None);
    assert!(patched.contains("patched"), "{patched}");
    let stale = k.fails(&["patch", "pod", "myapp-pod", "--type=json", "-p", &guarded(rv.trim(), "two")], None);
    assert!(stale.contains("The request is invalid"), "{stale}");
    let label = k.ok(&["get", "pod", "myapp-pod", "-o", "jsonpath={.metadata.labels.guarded}"], None);
    assert_eq!(label.trim(), "one", "the stale patch changed nothing");

    // edit with a scripted editor.
    let editor = write(dir.path(), "editor.sh", "#!/bin/sh\nsed -i 's/note: hello/note: edited/' \"$1\"\n");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut edit = k.cmd();
    edit.args(["edit", "pod", "myapp-pod"]).env("EDITOR", &editor).env("KUBE_EDITOR", &editor);
    let o = edit.output().unwrap();
    assert!(o.status.success(), "edit failed: {}", String::from_utf8_lossy(&o.stderr));
    assert!(k.ok(&["get", "pod", "myapp-pod", "-o", "jsonpath={.metadata.annotations.note}"], None).contains("edited"));

    // Events are accepted, listed and shown by describe (matched by involvedObject).
    let uid = k.ok(&["get", "pod", "myapp-pod", "-o", "jsonpath={.metadata.uid}"], None);
    let event = format!(
        "apiVersion: v1\nkind: Event\nmetadata:\n  name: myapp-pod.1\ninvolvedObject:\n  kind: Pod\n  name: myapp-pod\n  \
         namespace: default\n  uid: {uid}\nreason: Testing\nmessage: hello from the test\ntype: Normal\nsource:\n  \
         component: tester\nfirstTimestamp: \"2024-01-01T00:00:00Z\"\nlastTimestamp: \"2024-01-01T00:00:00Z\"\ncount: 1\n"
    );
    let other = event
        .replace("myapp-pod.1", "other.1")
        .replace("name: myapp-pod\n", "name: other\n")
        .replace("hello from the test", "unrelated");
    k.ok(&["create", "-f", &write(dir.path(), "ev.yaml", &event)], None);
    k.ok(&["create", "-f", &write(dir.path(), "ev2.yaml", &other)], None);
    assert!(k.ok(&["get", "events"], None).contains("Testing"));
    let desc = k.ok(&["describe", "pod", "myapp-pod"], None);
    assert!(desc.contains("Name:") && desc.contains("myapp-pod") && desc.contains("busybox:1.36"), "{desc}");
    assert!(desc.contains("hello from the test") && !desc.contains("unrelated"), "{desc}");

    assert!(k.ok(&["create", "deployment", "x", "--image=busybox"], None).contains("deployment.apps/x created"));
    assert!(k.ok(&["scale", "deployment", "x", "--replicas=3"], None).contains("scaled"));
    assert_eq!(k.ok(&["get", "deployment", "x", "-o", "jsonpath={.spec.replicas}"], None).trim(), "3");
    assert!(k.ok(&["create", "namespace", "team-a"], None).contains("namespace/team-a created"));
    k.ok(&["-n", "team-a", "create", "configmap", "c1", "--from-literal=a=b"], None);
    assert!(k.ok(&["delete", "namespace", "team-a"], None).contains("deleted"));
    let err = k.fails(&["get", "namespace", "team-a"], None);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
    k.ok(&["create", "namespace", "team-a"], None);
    assert!(!k.ok(&["-n", "team-a", "get", "configmaps"], None).contains("c1"), "namespace contents must go with it");
    let all = k.ok(&["get", "all", "-A"], None);
    assert!(all.contains("myapp-pod") && all.contains("deployment.apps/x"), "{all}");

    let start = Instant::now();
    assert!(k.ok(&["delete", "pod", "myapp-pod"], None).contains("deleted"));
    assert!(start.elapsed() < Duration::from_secs(10), "delete of an unscheduled pod waited");
    let err = k.fails(&["get", "pod", "myapp-pod"], None);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");

    // Bad manifests get Kubernetes' errors and store nothing.
    let bad_name = write(dir.path(), "bad.yaml", &POD.replace("name: myapp-pod", "name: Bad_Name"));
    let err = k.fails(&["apply", "-f", &bad_name], None);
    assert!(err.contains("is invalid") && err.contains("metadata.name"), "{err}");
    let dup = POD.to_string() + "  - name: myapp-container\n    image: busybox\n";
    let err = k.fails(&["apply", "-f", &write(dir.path(), "dup.yaml", &dup)], None);
    assert!(err.contains("Duplicate value"), "{err}");
    let noimage = POD.replace("    image: busybox\n", "");
    let err = k.fails(&["apply", "-f", &write(dir.path(), "noimage.yaml", &noimage)], None);
    assert!(err.contains("image") && (err.contains("Required value") || err.contains("required")), "{err}");
    if minor >= 27 {
        let unknown = POD.replace("    image: busybox\n", "    image: busybox\n    bogus: 1\n");
        let err = k.fails(&["apply", "-f", &write(dir.path(), "unknown.yaml", &unknown)], None);
        assert!(err.contains("unknown field") && err.contains("bogus"), "{err}");
    }
    assert!(!k.ok(&["get", "pods"], None).contains("Bad_Name"));

    let cm = write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
    );
    k.ok(&["apply", "-f", &cm], None);
    assert!(k.ok(&["delete", "-f", &cm], None).contains("deleted"));
    let _ = server;
}

#[test]
fn acceptance_with_every_kubectl() {
    for bin in kubectls() {
        let server = Server::start();
        let k = server.kubectl(&bin);
        let m = minor(&bin);
        eprintln!("== {} (1.{m})", bin.display());
        walk_through(&server, &k, m);
    }
}

#[test]
fn unauthenticated_requests_get_401() {
    let server = Server::start();
    let bin = kubectls().pop().unwrap();
    let mut c = std::process::Command::new(&bin);
    let url = std::fs::read_to_string(&server.kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: ").map(String::from))
        .unwrap();
    c.args(["--server", &url, "--insecure-skip-tls-verify", "--token", "wrong", "get", "pods"]);
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("Unauthorized") || err.contains("logged in"), "{err}");
}

/// PriorityClasses: kubectl's create and table, the system classes, and Pods getting the
/// priority of the class they name (or a 403 when it does not exist).
fn priority_classes(k: &Kubectl<'_>) {
    let ar = k.ok(&["api-resources", "--api-group=scheduling.k8s.io"], None);
    assert!(ar.contains("priorityclasses") && ar.contains(" pc ") && ar.contains("false"), "{ar}");
    let explain = k.ok(&["explain", "priorityclass"], None);
    assert!(explain.contains("globalDefault") && explain.contains("preemptionPolicy"), "{explain}");

    let out = k.ok(&["create", "priorityclass", "high", "--value=1000", "--description=x"], None);
    assert!(out.contains("priorityclass.scheduling.k8s.io/high created"), "{out}");
    let table = k.ok(&["get", "pc"], None);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], "{table}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let row = |name: &str| rows.iter().find(|r| r[0] == name).cloned().unwrap_or_default();
    assert_eq!([row("high")[1], row("high")[2], row("high")[4]], ["1000", "false", "PreemptLowerPriority"], "{table}");
    assert_eq!(row("system-cluster-critical")[1], "2000000000", "{table}");
    let snc = k.ok(&["get", "pc", "system-node-critical"], None);
    assert!(snc.contains("system-node-critical") && snc.contains("2000001000"), "{snc}");
    let desc = k.ok(&["get", "priorityclass", "system-node-critical", "-o", "jsonpath={.description}"], None);
    assert_eq!(desc, "Used for system critical pods that must not be moved from their current node.");

    let pod = |name: &str, class: &str| {
        POD.replace("name: myapp-pod", &format!("name: {name}"))
            .replace("spec:\n", &format!("spec:\n  priorityClassName: {class}\n"))
    };
    k.ok(&["apply", "-f", "-"], Some(&pod("important", "high")));
    let spec = k.ok(&["get", "pod", "important", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}"], None);
    assert_eq!(spec, "1000 PreemptLowerPriority");
    let err = k.fails(&["apply", "-f", "-"], Some(&pod("lost", "foo")));
    assert!(err.contains("pods \"lost\" is forbidden: no PriorityClass with name foo was found"), "{err}");
    let err = k.fails(&["get", "pod", "lost"], None);
    assert!(err.contains("not found"), "{err}");

    let err = k.fails(&["create", "priorityclass", "huge", "--value=1000000001"], None);
    assert!(err.contains("maximum allowed value of a user defined priority is 1000000000"), "{err}");
    let err = k.fails(&["create", "priorityclass", "system-mine", "--value=1"], None);
    assert!(err.contains("reserved for system use only"), "{err}");
    k.ok(&["create", "priorityclass", "fallback", "--value=-5", "--global-default"], None);
    let err = k.fails(&["create", "priorityclass", "second", "--value=1", "--global-default"], None);
    assert!(err.contains("PriorityClass fallback is already marked as default. Only one default can exist"), "{err}");
    k.ok(&["apply", "-f", "-"], Some(POD));
    let spec = k.ok(&["get", "pod", "myapp-pod", "-o", "jsonpath={.spec.priorityClassName} {.spec.priority}"], None);
    assert_eq!(spec, "fallback -5");

    let err = k.fails(&["patch", "pc", "high", "-p", "{\"value\":5}"], None);
    assert!(err.contains("value: Forbidden: may not be changed in an update."), "{err}");
    let err = k.fails(&["delete", "pc", "system-node-critical"], None);
    assert!(err.contains("this is a system priority class and cannot be deleted"), "{err}");
    assert!(k.ok(&["delete", "pc", "high"], None).contains("deleted"));
}

#[test]
fn priority_classes_with_every_kubectl() {
    for bin in kubectls() {
        let server = Server::start();
        eprintln!("== {}", bin.display());
        priority_classes(&server.kubectl(&bin));
    }
}
