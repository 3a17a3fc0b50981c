//! Defaulting tests against what kube-apiserver 1.33 returns.

use serde_json::json;

use super::{add_default_tolerations, apply_defaults, apply_defaults_keeping_spec, prepare_for_create};
use crate::resources::lookup_kind;

fn create(group: &str, kind: &str, mut obj: serde_json::Value) -> serde_json::Value {
    let r = lookup_kind(group, kind).unwrap();
    if kind == "Pod" {
        // The API server's Priority admission, with no PriorityClass marked globalDefault, and
        // DefaultTolerationSeconds with its default flags.
        crate::priority::admit_pod_create(&mut obj, None).unwrap();
        add_default_tolerations(&mut obj, 300, 300);
    }
    apply_defaults(r, &mut obj);
    prepare_for_create(r, &mut obj);
    obj
}

#[test]
fn kubectl_contract_pod_defaults_exactly() {
    let pod = create(
        "",
        "Pod",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "myapp-pod", "namespace": "default", "labels": {"app": "myapp"}},
               "spec": {"containers": [{"name": "myapp-container", "image": "busybox",
                        "command": ["sh", "-c", "echo Hello Kubernetes! && sleep 3600"]}]}}),
    );
    let expected = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "myapp-pod", "namespace": "default", "labels": {"app": "myapp"}},
        "spec": {
            "containers": [{
                "command": ["sh", "-c", "echo Hello Kubernetes! && sleep 3600"],
                "image": "busybox",
                "imagePullPolicy": "Always",
                "name": "myapp-container",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
            ]
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    });
    assert_eq!(pod, expected);
}

#[test]
fn pod_defaulting_is_idempotent_and_fills_nested_defaults() {
    let r = lookup_kind("", "Pod").unwrap();
    let mut pod = json!({"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "nginx:1.25",
            "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"port": 80}},
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "x"}}, {"name": "tmp"}],
        "tolerations": [{"operator": "Exists"}]}});
    apply_defaults(r, &mut pod);
    let once = pod.clone();
    apply_defaults(r, &mut pod);
    assert_eq!(pod, once);
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(c["resources"]["requests"], json!({"cpu": "500m", "memory": "128Mi"}));
    assert_eq!(c["resources"]["limits"]["cpu"], "500m");
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
               "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(pod["spec"]["volumes"][0]["configMap"]["defaultMode"], 420);
    assert_eq!(pod["spec"]["volumes"][1]["emptyDir"], json!({}));
    assert_eq!(pod["status"]["qosClass"], "Guaranteed");
}

#[test]
fn deployment_defaults() {
    let d = create(
        "apps",
        "Deployment",
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}),
    );
    assert_eq!(d["metadata"]["generation"], 1);
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    let t = &spec["template"];
    assert_eq!(t["metadata"], json!({"labels": {"app": "web"}, "creationTimestamp": null}));
    assert_eq!(t["spec"]["restartPolicy"], "Always");
    assert_eq!(t["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert!(t["spec"].get("enableServiceLinks").is_none());
    assert!(t["spec"].get("serviceAccountName").is_none());
    assert_eq!(d["status"], json!({}));
}

#[test]
fn statefulset_daemonset_cronjob_defaults() {
    let tmpl = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
    let sts = create("apps", "StatefulSet", json!({"metadata": {"name": "s"}, "spec": {"template": tmpl}}));
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(sts["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(sts["status"], json!({"availableReplicas": 0, "replicas": 0}));
    let ds = create("apps", "DaemonSet", json!({"metadata": {"name": "d"}, "spec": {"template": tmpl}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    let cj = create(
        "batch",
        "CronJob",
        json!({"metadata": {"name": "c"}, "spec": {"schedule": "* * * * *",
        "jobTemplate": {"spec": {"template": tmpl}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(cj["spec"]["jobTemplate"]["metadata"], json!({"creationTimestamp": null}));
}

#[test]
fn job_defaults_and_generated_selector() {
    let job = create(
        "batch",
        "Job",
        json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {
        "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}}),
    );
    let spec = &job["spec"];
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(spec["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}));
    let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
                        "controller-uid": "u-1", "job-name": "pi"});
    assert_eq!(spec["template"]["metadata"]["labels"], labels);
    assert_eq!(job["metadata"]["labels"], labels);
}

#[test]
fn service_secret_namespace_defaults() {
    let svc = create(
        "",
        "Service",
        json!({"metadata": {"name": "s"}, "spec": {"selector": {"app": "a"},
        "ports": [{"port": 80}]}}),
    );
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    assert_eq!(svc["spec"]["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
    assert_eq!(svc["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(svc["spec"]["ipFamilies"], json!(["IPv4"]));
    assert_eq!(svc["spec"]["internalTrafficPolicy"], "Cluster");
    assert_eq!(svc["status"], json!({"loadBalancer": {}}));
    let np = create(
        "",
        "Service",
        json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
    );
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
    let secret = create("", "Secret", json!({"metadata": {"name": "s"}}));
    assert_eq!(secret["type"], "Opaque");
    let ns = create("", "Namespace", json!({"metadata": {"name": "dev"}}));
    assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "dev"}));
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
}

#[test]
fn priority_class_defaults() {
    let pc = create("scheduling.k8s.io", "PriorityClass", json!({"metadata": {"name": "high"}, "value": 1000}));
    let want = json!({"metadata": {"name": "high", "generation": 1}, "value": 1000,
                      "preemptionPolicy": "PreemptLowerPriority"});
    assert_eq!(pc, want);
    let never =
        create("scheduling.k8s.io", "PriorityClass", json!({"metadata": {"name": "n"}, "preemptionPolicy": "Never"}));
    assert_eq!(never["preemptionPolicy"], "Never");
}

#[test]
fn empty_metadata_lists_and_maps_are_dropped() {
    let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r",
        "ownerReferences": [], "finalizers": null, "labels": {}, "annotations": {"a": "b"}}});
    apply_defaults(lookup_kind("apps", "ReplicaSet").unwrap(), &mut rs);
    assert_eq!(rs["metadata"], json!({"name": "r", "annotations": {"a": "b"}}));
}

#[test]
fn default_tolerations_are_added_unless_the_pod_tolerates_the_taints() {
    let mut pod = json!({"spec": {"containers": []}});
    add_default_tolerations(&mut pod, 300, 7);
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 7}
        ])
    );
    // Adding again changes nothing.
    let once = pod.clone();
    add_default_tolerations(&mut pod, 1, 1);
    assert_eq!(pod, once);
    // A toleration of everything, or of the key with any effect, suppresses the default one.
    let mut pod = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    add_default_tolerations(&mut pod, 300, 300);
    assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 1);
    let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]}});
    add_default_tolerations(&mut pod, 300, 300);
    assert_eq!(pod["spec"]["tolerations"][1]["key"], "node.kubernetes.io/not-ready");
    assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 2);
}

#[test]
fn writes_keeping_a_stored_pods_spec_default_the_rest_as_a_full_defaulting_does() {
    let r = lookup_kind("", "Pod").unwrap();
    let stored = create(
        "",
        "Pod",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox",
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}),
    );
    // A status write (a kubelet's, with an empty metadata list and the status phase left out)
    // and a binding, each over the stored Pod.
    let mut status_write = stored.clone();
    status_write["metadata"]["finalizers"] = json!([]);
    status_write["status"] = json!({"podIP": "10.0.0.1"});
    let mut binding = stored.clone();
    binding["spec"]["nodeName"] = json!("n1");
    for obj in [status_write, binding] {
        let (mut full, mut kept) = (obj.clone(), obj);
        apply_defaults(r, &mut full);
        apply_defaults_keeping_spec(r, &mut kept);
        assert_eq!(kept, full);
        assert_eq!(kept["status"]["qosClass"], "Guaranteed");
        assert_eq!(kept["status"]["phase"], "Pending");
        assert!(kept["metadata"].get("finalizers").is_none());
    }
    // Other kinds are defaulted whole.
    let ns = lookup_kind("", "Namespace").unwrap();
    let (mut full, mut kept) = (json!({"metadata": {"name": "n"}}), json!({"metadata": {"name": "n"}}));
    apply_defaults(ns, &mut full);
    apply_defaults_keeping_spec(ns, &mut kept);
    assert_eq!(kept, full);
}
