use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use super::*;
use crate::resources::lookup;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

/// RFC 3339 time `secs` seconds before `now()`.
fn ago(secs: i64) -> String {
    (now() - TimeDelta::seconds(secs)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn res(group: &str, plural: &str) -> &'static ResourceInfo {
    lookup(group, "v1", plural).expect("resource")
}

fn cells(group: &str, plural: &str, obj: &Value) -> Vec<Value> {
    let r = res(group, plural);
    let cells = row(r, obj, now());
    assert_eq!(cells.len(), columns(r).len(), "one cell per column");
    cells
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-1"},
        "status": status,
    })
}

fn pod_status_cell(p: &Value) -> String {
    cells("", "pods", p)[2].as_str().unwrap().to_string()
}

#[test]
fn human_duration_matches_go() {
    let d = |s: i64| human_duration(TimeDelta::seconds(s));
    assert_eq!(d(-5), "<invalid>");
    assert_eq!(d(-2), "<invalid>");
    assert_eq!(d(-1), "0s");
    assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
    assert_eq!(d(0), "0s");
    assert_eq!(d(59), "59s");
    assert_eq!(d(119), "119s");
    assert_eq!(d(120), "2m");
    assert_eq!(d(5 * 60 + 3), "5m3s");
    assert_eq!(d(10 * 60 + 3), "10m");
    assert_eq!(d(179 * 60), "179m");
    assert_eq!(d(3 * 3600), "3h");
    assert_eq!(d(3 * 3600 + 20 * 60), "3h20m");
    assert_eq!(d(8 * 3600 + 20 * 60), "8h");
    assert_eq!(d(47 * 3600), "47h");
    assert_eq!(d(48 * 3600), "2d");
    assert_eq!(d(2 * 86400 + 5 * 3600), "2d5h");
    assert_eq!(d(8 * 86400 + 5 * 3600), "8d");
    assert_eq!(d(729 * 86400), "729d");
    assert_eq!(d(730 * 86400), "2y");
    assert_eq!(d(3 * 365 * 86400 + 120 * 86400), "3y120d");
    assert_eq!(d(9 * 365 * 86400 + 120 * 86400), "9y");
    assert_eq!(translate_timestamp_since(None, now()), "<unknown>");
}

#[test]
fn pod_columns_are_kubernetes_columns() {
    let names: Vec<&str> = columns(res("", "pods")).iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    );
    let defs = column_definitions_json(res("", "pods"));
    assert_eq!(defs[0]["format"], "name");
    assert_eq!(defs[0]["priority"], 0);
    assert_eq!(defs[5]["priority"], 1);
    assert_eq!(defs[3]["type"], "string");
    assert_eq!(defs[1]["format"], "");
    assert!(defs[0]["description"].as_str().unwrap().starts_with("Name must be unique"));
}

#[test]
fn running_pod_row() {
    let p = pod(json!({
        "phase": "Running",
        "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]
    }));
    let c = cells("", "pods", &p);
    assert_eq!(
        c,
        vec![
            json!("web"),
            json!("1/1"),
            json!("Running"),
            json!("0"),
            json!("5m"),
            json!("10.0.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn pod_status_column_states() {
    assert_eq!(pod_status_cell(&pod(json!({"phase": "Pending"}))), "Pending");
    // Waiting reason.
    let p = pod(json!({"phase": "Pending", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
    assert_eq!(pod_status_cell(&p), "ContainerCreating");
    // CrashLoopBackOff with restarts "3 (5m ago)".
    let p = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 3,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}]}));
    let c = cells("", "pods", &p);
    assert_eq!(c[2], "CrashLoopBackOff");
    assert_eq!(c[3], "3 (5m ago)");
    assert_eq!(c[1], "0/1");
    // Terminated with and without reason.
    let p = pod(json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "restartCount": 0, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}));
    assert_eq!(pod_status_cell(&p), "Completed");
    let p = pod(json!({"phase": "Failed", "containerStatuses": [
        {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}));
    assert_eq!(pod_status_cell(&p), "Signal:9");
    let p = pod(json!({"phase": "Failed", "containerStatuses": [
        {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]}));
    assert_eq!(pod_status_cell(&p), "ExitCode:2");
    // Evicted: status.reason wins over the phase.
    assert_eq!(pod_status_cell(&pod(json!({"phase": "Failed", "reason": "Evicted"}))), "Evicted");
    // Scheduling gates.
    let p = pod(
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(pod_status_cell(&p), "SchedulingGated");
}

#[test]
fn pod_init_container_states() {
    let with_init = |init_statuses: Value, conditions: Value| {
        let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": init_statuses, "conditions": conditions,
            "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}));
        p["spec"]["initContainers"] =
            json!([{"name": "init1", "image": "busybox"}, {"name": "init2", "image": "busybox"}]);
        p
    };
    let p = with_init(json!([{"name": "init1", "restartCount": 0, "state": {"running": {}}}]), json!([]));
    assert_eq!(pod_status_cell(&p), "Init:0/2");
    let p = with_init(
        json!([{"name": "init1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
               {"name": "init2", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]),
        json!([]),
    );
    assert_eq!(pod_status_cell(&p), "Init:1/2");
    let p = with_init(
        json!([{"name": "init1", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(60)}}}]),
        json!([]),
    );
    let c = cells("", "pods", &p);
    assert_eq!(c[2], "Init:CrashLoopBackOff");
    assert_eq!(c[3], "4 (60s ago)");
    let p =
        with_init(json!([{"name": "init1", "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}]), json!([]));
    assert_eq!(pod_status_cell(&p), "Init:ExitCode:3");
    let p = with_init(
        json!([{"name": "init1", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]),
        json!([]),
    );
    assert_eq!(pod_status_cell(&p), "Init:Error");
    let p = with_init(
        json!([{"name": "init1", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "signal": 15}}}]),
        json!([]),
    );
    assert_eq!(pod_status_cell(&p), "Init:Signal:15");
    // All init containers done: the main containers decide.
    let p = with_init(
        json!([{"name": "init1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
               {"name": "init2", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]),
        json!([{"type": "Initialized", "status": "True"}]),
    );
    assert_eq!(pod_status_cell(&p), "PodInitializing");
}

#[test]
fn sidecar_init_containers_count_as_containers() {
    let mut p = pod(json!({"phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 2, "state": {"running": {}}}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1, "state": {"running": {}}}]}));
    p["spec"]["initContainers"] = json!([{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
    let c = cells("", "pods", &p);
    assert_eq!(c[1], "2/2");
    assert_eq!(c[2], "Running");
    assert_eq!(c[3], "3");
}

#[test]
fn terminating_and_node_lost_pods() {
    let mut p = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}));
    p["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(pod_status_cell(&p), "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(pod_status_cell(&p), "Unknown");
    let mut done = pod(json!({"phase": "Succeeded"}));
    done["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(pod_status_cell(&done), "Succeeded");
    assert_eq!(row_conditions(res("", "pods"), &done).unwrap()[0]["reason"], "Succeeded");
    assert!(row_conditions(res("", "pods"), &p).is_none());
}

#[test]
fn completed_with_running_container_and_readiness_gates() {
    let mut p = pod(json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "example.com/gate", "status": "True"}],
        "containerStatuses": [
            {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
            {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}));
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/gate"}, {"conditionType": "example.com/other"}]);
    let c = cells("", "pods", &p);
    assert_eq!(c[2], "NotReady");
    assert_eq!(c[8], "1/2");
}

#[test]
fn odd_pods_never_panic() {
    for p in [
        json!(null),
        json!({}),
        json!([]),
        json!({"status": 3, "spec": {"containers": "x"}}),
        json!({"metadata": {"creationTimestamp": "garbage"}}),
    ] {
        let c = cells("", "pods", &p);
        assert_eq!(c[4], "<unknown>");
    }
    for r in crate::resources::RESOURCES {
        let _ = row(r, &json!({"spec": null, "status": {"conditions": [1, "x", null]}}), now());
    }
}

#[test]
fn deployment_columns_and_row() {
    let r = res("apps", "deployments");
    let names: Vec<(&str, i32)> = columns(r).iter().map(|c| (c.name, c.priority)).collect();
    assert_eq!(
        names,
        [
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1)
        ]
    );
    let d = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(3 * 86400 + 3600)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    assert_eq!(
        cells("apps", "deployments", &d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("3d1h"),
            json!("nginx,side"),
            json!("nginx:1.25,busybox"),
            json!("app=web")
        ]
    );
    let bare = cells("apps", "deployments", &json!({"metadata": {"name": "x"}}));
    assert_eq!(bare[1], "0/0");
    assert_eq!(bare[7], "");
}

#[test]
fn replicaset_statefulset_daemonset_rows() {
    let rs = json!({"metadata": {"name": "web-1", "creationTimestamp": ago(30)},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "abc"}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        cells("apps", "replicasets", &rs),
        vec![
            json!("web-1"),
            json!(2),
            json!(2),
            json!(1),
            json!("30s"),
            json!("c"),
            json!("i"),
            json!("app=web,pod-template-hash=abc")
        ]
    );
    let sts = json!({"metadata": {"name": "db"}, "spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
    assert_eq!(cells("apps", "statefulsets", &sts)[1], "3/3");
    let ds = json!({"metadata": {"name": "agent"}, "spec": {"template": {"spec": {"nodeSelector": {"os": "linux"}}}}, "status": {"desiredNumberScheduled": 2}});
    let c = cells("apps", "daemonsets", &ds);
    assert_eq!(c[1], 2);
    assert_eq!(c[6], "os=linux");
    assert_eq!(c[10], "<none>");
}

#[test]
fn job_and_cronjob_rows() {
    let j = json!({"metadata": {"name": "pi", "creationTimestamp": ago(600)},
        "spec": {"completions": 1, "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}, "selector": {"matchLabels": {"job-name": "pi"}}},
        "status": {"succeeded": 1, "startTime": ago(600), "completionTime": ago(570),
                   "conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(
        cells("batch", "jobs", &j),
        vec![
            json!("pi"),
            json!("Complete"),
            json!("1/1"),
            json!("30s"),
            json!("10m"),
            json!("pi"),
            json!("perl"),
            json!("job-name=pi")
        ]
    );
    let running = json!({"metadata": {"name": "p"}, "spec": {"parallelism": 3}, "status": {"startTime": ago(90)}});
    let c = cells("batch", "jobs", &running);
    assert_eq!((c[1].as_str(), c[2].as_str(), c[3].as_str()), (Some("Running"), Some("0/1 of 3"), Some("90s")));
    assert_eq!(cells("batch", "jobs", &json!({}))[3], "");
    let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/1 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "y"}]}}}}},
        "status": {"active": [{"name": "c-1"}], "lastScheduleTime": ago(45)}});
    assert_eq!(
        cells("batch", "cronjobs", &cj)[..6],
        [json!("c"), json!("*/1 * * * *"), json!("<none>"), json!("False"), json!(1), json!("45s")]
    );
}

#[test]
fn node_rows() {
    let n = json!({"metadata": {"name": "n1", "creationTimestamp": ago(7200),
            "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "", "kubernetes.io/role": "edge"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
                   "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian", "kernelVersion": "6.1", "containerRuntimeVersion": "skiff://0.1"}}});
    assert_eq!(
        cells("", "nodes", &n),
        vec![
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,edge,master"),
            json!("120m"),
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian"),
            json!("6.1"),
            json!("skiff://0.1")
        ]
    );
    let bare = cells("", "nodes", &json!({"metadata": {"name": "n2"}}));
    assert_eq!(
        (bare[1].as_str(), bare[2].as_str(), bare[7].as_str()),
        (Some("Unknown"), Some("<none>"), Some("<unknown>"))
    );
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(cells("", "nodes", &not_ready)[1], "NotReady");
}

#[test]
fn event_rows_core_and_events_v1() {
    let e = json!({"metadata": {"name": "web.17a", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "Pulled", "type": "Normal", "message": "Successfully pulled image \n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 3});
    let names: Vec<&str> = columns(res("", "events")).iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"]
    );
    assert_eq!(
        cells("", "events", &e),
        vec![
            json!("60s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Successfully pulled image"),
            json!("10m"),
            json!(3),
            json!("web.17a")
        ]
    );
    // New-style event: no first/last timestamps or count, eventTime and reportingController instead.
    let e1 = json!({"metadata": {"name": "x"}, "regarding": {"kind": "Node"}, "note": "hi", "type": "Warning", "reason": "R",
        "eventTime": "2024-05-01T11:59:00.123456Z", "reportingController": "skiff", "reportingInstance": "skiff-1"});
    let c = cells("events.k8s.io", "events", &e1);
    // 59.876544s: Go truncates toward zero.
    assert_eq!(c[0], "59s");
    assert_eq!(c[3], "node");
    assert_eq!(c[5], "skiff, skiff-1");
    assert_eq!(c[6], "hi");
    assert_eq!(c[8], 1);
    let series = json!({"metadata": {"name": "s"}, "involvedObject": {"kind": "Pod", "name": "p"}, "eventTime": ago(900),
        "series": {"count": 7, "lastObservedTime": "2024-05-01T11:58:00.000000Z"}});
    let c = cells("", "events", &series);
    assert_eq!((c[0].as_str(), c[7].as_str(), c[8].as_i64()), (Some("2m"), Some("15m"), Some(7)));
    assert_eq!(cells("", "events", &json!({}))[0], "<unknown>");
}

#[test]
fn service_and_endpoints_rows() {
    let s = json!({"metadata": {"name": "web", "creationTimestamp": ago(5)},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "selector": {"app": "web", "a": "b"},
                 "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}});
    assert_eq!(
        cells("", "services", &s),
        vec![
            json!("web"),
            json!("NodePort"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("5s"),
            json!("a=b,app=web")
        ]
    );
    let lb = json!({"spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"]}, "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "a.example"}]}}});
    let c = cells("", "services", &lb);
    assert_eq!(
        (c[3].as_str(), c[4].as_str(), c[6].as_str()),
        (Some("1.2.3.4,a.example"), Some("<none>"), Some("<none>"))
    );
    assert_eq!(cells("", "services", &json!({"spec": {"type": "LoadBalancer"}}))[3], "<pending>");
    assert_eq!(
        cells("", "services", &json!({"spec": {"type": "ExternalName", "externalName": "db.example"}}))[3],
        "db.example"
    );
    assert_eq!(cells("", "services", &json!({}))[2], "<none>");

    let ep = json!({"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}], "ports": [{"port": 80}, {"port": 443}]}]});
    assert_eq!(cells("", "endpoints", &ep)[1], "10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more...");
    assert_eq!(cells("", "endpoints", &json!({"subsets": []}))[1], "<none>");
    let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]});
    assert_eq!(cells("", "endpoints", &headless)[1], "10.0.0.1");
}

#[test]
fn small_core_rows() {
    let cm = json!({"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(cells("", "configmaps", &cm)[1], 3);
    let s =
        json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}, "stringData": {"a": "x", "b": "y"}});
    assert_eq!(cells("", "secrets", &s)[1..3], [json!("Opaque"), json!(2)]);
    let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "t"}]});
    assert_eq!(cells("", "serviceaccounts", &sa)[1], 1);
    let ns =
        json!({"metadata": {"name": "default", "creationTimestamp": ago(10 * 86400)}, "status": {"phase": "Active"}});
    assert_eq!(cells("", "namespaces", &ns), vec![json!("default"), json!("Active"), json!("10d")]);
    let lease = json!({"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "skiff_1"}});
    assert_eq!(cells("coordination.k8s.io", "leases", &lease)[1], "skiff_1");
    assert_eq!(cells("coordination.k8s.io", "leases", &json!({}))[1], "");
}

#[test]
fn priority_class_rows() {
    let r = res("scheduling.k8s.io", "priorityclasses");
    let names: Vec<&str> = columns(r).iter().map(|c| c.name).collect();
    assert_eq!(names, ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]);
    assert!(columns(r).iter().all(|c| c.priority == 0));
    assert_eq!(column_definitions_json(r)[2]["type"], "boolean");
    let pc = json!({"metadata": {"name": "high", "creationTimestamp": ago(90)}, "value": 1000,
                    "globalDefault": true, "preemptionPolicy": "Never"});
    assert_eq!(
        cells("scheduling.k8s.io", "priorityclasses", &pc),
        vec![json!("high"), json!(1000), json!(true), json!("90s"), json!("Never")]
    );
    assert_eq!(
        cells("scheduling.k8s.io", "priorityclasses", &json!({"metadata": {"name": "x"}}))[1..],
        [json!(0), json!(false), json!("<unknown>"), json!("")]
    );
}

#[test]
fn default_table_for_resources_without_printer() {
    let fake = ResourceInfo { group: "example.com", plural: "widgets", ..*res("", "configmaps") };
    assert!(!has_printer(&fake));
    let defs = column_definitions_json(&fake);
    assert_eq!(defs[0]["name"], "Name");
    assert_eq!(
        defs[1],
        json!({"name": "Created At", "type": "date", "format": "", "description": descriptions::CREATED, "priority": 0})
    );
    let c = row(&fake, &json!({"metadata": {"name": "w", "creationTimestamp": "2024-05-01T13:00:00+01:00"}}), now());
    assert_eq!(c, vec![json!("w"), json!("2024-05-01T12:00:00Z")]);
    assert_eq!(row(&fake, &json!({}), now())[1], "0001-01-01T00:00:00Z");
    for r in crate::resources::RESOURCES {
        assert!(has_printer(r), "{} has a printer", r.plural);
    }
}
