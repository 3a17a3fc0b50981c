//! Validation tests: messages and paths as kube-apiserver reports them.

use serde_json::{json, Value};

use super::{check_fields, validate_create, validate_update};
use crate::defaults::apply_defaults;
use crate::resources::lookup_kind;
use crate::Cause;

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(lookup_kind(group, kind).unwrap(), &mut obj);
    obj
}

fn lines(causes: &[Cause]) -> Vec<String> {
    causes.iter().map(Cause::line).collect()
}

fn pod(containers: Value) -> Value {
    defaulted("", "Pod", json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": containers}}))
}

#[test]
fn valid_contract_pod_passes() {
    let p = pod(json!([{"name": "myapp-container", "image": "busybox", "command": ["sh"]}]));
    assert_eq!(lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p)), Vec::<String>::new());
}

#[test]
fn invalid_names() {
    let mut p = pod(json!([{"name": "c", "image": "busybox"}]));
    p["metadata"]["name"] = json!("My_Pod");
    let errs = lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p));
    assert_eq!(errs, vec!["metadata.name: Invalid value: \"My_Pod\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]);
    p["metadata"] = json!({"namespace": "default"});
    let errs = lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p));
    assert_eq!(errs, vec!["metadata.name: Required value: name or generateName is required"]);
    let svc = json!({"metadata": {"name": "1svc", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}});
    let svc = defaulted("", "Service", svc);
    let errs = lines(&validate_create(lookup_kind("", "Service").unwrap(), &svc));
    assert!(errs[0].starts_with("metadata.name: Invalid value: \"1svc\": a DNS-1035 label must consist"), "{errs:?}");
}

#[test]
fn missing_image_and_duplicate_container_names() {
    let p = pod(json!([{"name": "a"}, {"name": "a", "image": "x"}]));
    let errs = lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p));
    assert_eq!(
        errs,
        vec!["spec.containers[0].image: Required value", "spec.containers[1].name: Duplicate value: \"a\""]
    );
    let mut p = pod(json!([{"name": "a", "image": "x"}]));
    p["spec"]["initContainers"] = json!([{"name": "a", "image": "y", "imagePullPolicy": "IfNotPresent",
        "terminationMessagePolicy": "File"}]);
    let errs = lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p));
    assert_eq!(errs, vec!["spec.initContainers[0].name: Duplicate value: \"a\""]);
}

#[test]
fn enums_ports_mounts_resources() {
    let mut p = pod(json!([{"name": "a", "image": "x", "imagePullPolicy": "Sometimes",
        "ports": [{"containerPort": 70000, "name": "web"}, {"containerPort": 81, "name": "web"}],
        "volumeMounts": [{"name": "nope", "mountPath": "/x"}],
        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]));
    p["spec"]["restartPolicy"] = json!("Sometimes");
    let errs = lines(&validate_create(lookup_kind("", "Pod").unwrap(), &p));
    assert_eq!(
        errs,
        vec![
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[1].name: Duplicate value: \"web\"",
            "spec.containers[0].volumeMounts[0].name: Not found: \"nope\"",
            "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]
    );
}

#[test]
fn unknown_fields_and_type_errors() {
    let pods = lookup_kind("", "Pod").unwrap();
    let obj = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "creationTimestamp": null}, "status": {},
        "spec": {"foo": 1, "containers": [{"name": "c", "image": "x", "imagePullPolicyy": "Always", "resources": {}}]}});
    // In the order of their paths (Kubernetes reports them in the document's order).
    assert_eq!(
        check_fields(pods, &obj).unwrap(),
        vec!["unknown field \"spec.containers[0].imagePullPolicyy\"", "unknown field \"spec.foo\""]
    );
    let ok = json!({"metadata": {"name": "p", "creationTimestamp": null}, "status": {},
        "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"cpu": 1}}}]}});
    assert!(check_fields(pods, &ok).unwrap().is_empty());
    let bad = json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}});
    let err = check_fields(pods, &bad).unwrap_err();
    assert_eq!(err.code, 400);
    assert_eq!(err.message, "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32");
    let bad_q = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "lots"}}}]}});
    assert!(check_fields(pods, &bad_q)
        .unwrap_err()
        .message
        .ends_with("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    let secrets = lookup_kind("", "Secret").unwrap();
    assert!(check_fields(secrets, &json!({"data": {"k": "aGVsbG8="}})).unwrap().is_empty());
    assert!(check_fields(secrets, &json!({"data": {"k": "not base64!"}})).is_err());
}

#[test]
fn merge_patches_are_checked_without_their_directives() {
    let pods = lookup_kind("", "Pod").unwrap();
    let clean = json!({"metadata": {"labels": {"a": null}}, "status": {"phase": "Running"},
        "spec": {"$setElementOrder/containers": [{"name": "c"}],
                 "containers": [{"name": "c", "image": "x:2", "$patch": "delete"}]}});
    assert!(super::patch_is_clean(pods, &clean));
    assert!(!super::patch_is_clean(pods, &json!({"spec": {"nodeNamee": "n"}})));
    assert!(!super::patch_is_clean(pods, &json!({"spec": {"priority": "high"}})));
    // Outside a patch, a `$` key is an unknown field like any other.
    assert_eq!(
        check_fields(pods, &json!({"spec": {"$patch": "replace"}})).unwrap(),
        vec!["unknown field \"spec.$patch\""]
    );
}

#[test]
fn pod_update_immutability() {
    let pods = lookup_kind("", "Pod").unwrap();
    let old = pod(json!([{"name": "a", "image": "nginx:1"}]));
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert!(validate_update(pods, &new, &old).is_empty());
    new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    let errs = validate_update(pods, &new, &old);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec");
    assert!(errs[0].message.starts_with("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
    let mut renamed = old.clone();
    renamed["metadata"]["name"] = json!("q");
    assert_eq!(
        lines(&validate_update(pods, &renamed, &old)),
        vec!["metadata.name: Invalid value: \"q\": field is immutable"]
    );
}

fn deployment(selector: Value, labels: Value) -> Value {
    defaulted(
        "apps",
        "Deployment",
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": selector},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "n", "image": "nginx"}]}}}}),
    )
}

#[test]
fn deployment_selector_mismatch_and_immutability() {
    let deps = lookup_kind("apps", "Deployment").unwrap();
    let d = deployment(json!({"app": "web"}), json!({"app": "other"}));
    assert_eq!(
        lines(&validate_create(deps, &d)),
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"]
    );
    let old = deployment(json!({"app": "web"}), json!({"app": "web"}));
    assert!(validate_create(deps, &old).is_empty());
    let new = deployment(json!({"app": "web", "x": "y"}), json!({"app": "web", "x": "y"}));
    assert_eq!(
        lines(&validate_update(deps, &new, &old)),
        vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"x\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]
    );
    let mut never = old.clone();
    never["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        lines(&validate_create(deps, &never)),
        vec!["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]
    );
}

#[test]
fn job_and_configmap_rules() {
    let jobs = lookup_kind("batch", "Job").unwrap();
    let job = defaulted(
        "batch",
        "Job",
        json!({"metadata": {"name": "j", "namespace": "d", "uid": "u"}, "spec": {
        "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
    );
    assert_eq!(
        lines(&validate_create(jobs, &job)),
        vec!["spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""]
    );
    let cms = lookup_kind("", "ConfigMap").unwrap();
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "v"}});
    assert_eq!(
        lines(&validate_create(cms, &cm)),
        vec!["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]
    );
    let big = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "x".repeat(1024 * 1024 + 1)}});
    assert_eq!(lines(&validate_create(cms, &big)), vec![": Too long: may not be more than 1048576 bytes"]);
}

#[test]
fn cronjob_schedules_and_time_zones() {
    let cronjobs = lookup_kind("batch", "CronJob").unwrap();
    let cj = |schedule: &str, tz: Value| {
        defaulted(
            "batch",
            "CronJob",
            json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"schedule": schedule, "timeZone": tz,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "x"}]}}}}}}),
        )
    };
    assert!(validate_create(cronjobs, &cj("*/1 * * * *", json!("Europe/Paris"))).is_empty());
    assert_eq!(
        lines(&validate_create(cronjobs, &cj("0 0 * * 8", Value::Null))),
        vec!["spec.schedule: Invalid value: \"0 0 * * 8\": end of range (8) above maximum (6): 8"]
    );
    assert_eq!(
        lines(&validate_create(cronjobs, &cj("TZ=UTC 0 0 * * *", Value::Null))),
        vec!["spec.schedule: Invalid value: \"TZ=UTC 0 0 * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"]
    );
    assert_eq!(
        lines(&validate_create(cronjobs, &cj("@daily", json!("Moon/Base")))),
        vec!["spec.timeZone: Invalid value: \"Moon/Base\": unknown time zone Moon/Base"]
    );
}

#[test]
fn replication_controllers_default_their_selector_and_must_match_it() {
    let rcs = lookup_kind("", "ReplicationController").unwrap();
    let rc = |spec: Value| {
        defaulted("", "ReplicationController", json!({"metadata": {"name": "r", "namespace": "d"}, "spec": spec}))
    };
    let template =
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}});
    let ok = rc(json!({"template": template}));
    assert_eq!(ok["spec"]["selector"], json!({"app": "web"}));
    assert_eq!(ok["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!((&ok["spec"]["replicas"], &ok["status"]), (&json!(1), &json!({"replicas": 0})));
    assert!(validate_create(rcs, &ok).is_empty(), "{:?}", lines(&validate_create(rcs, &ok)));
    let other = rc(json!({"selector": {"app": "db"}, "template": template}));
    assert_eq!(
        lines(&validate_create(rcs, &other)),
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"]
    );
}

#[test]
fn node_pod_cidrs_are_set_once() {
    let nodes = lookup_kind("", "Node").unwrap();
    let node = |cidrs: Value| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": cidrs});
    let unset = node(json!({}));
    let set = node(json!({"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"]}));
    assert!(validate_update(nodes, &set, &unset).is_empty(), "from empty to valid");
    assert!(validate_update(nodes, &set, &set).is_empty());
    let moved = node(json!({"podCIDR": "10.42.2.0/24", "podCIDRs": ["10.42.2.0/24"]}));
    assert_eq!(
        lines(&validate_update(nodes, &moved, &set)),
        vec!["spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid"]
    );
    assert_eq!(validate_update(nodes, &unset, &set).len(), 1);
}

#[test]
fn priority_classes() {
    let pcs = lookup_kind("scheduling.k8s.io", "PriorityClass").unwrap();
    let pc = |name: &str, value: i64| {
        defaulted("scheduling.k8s.io", "PriorityClass", json!({"metadata": {"name": name}, "value": value}))
    };
    assert!(validate_create(pcs, &pc("high", 1_000_000_000)).is_empty());
    assert!(validate_create(pcs, &pc("low", -2_147_483_648)).is_empty());
    assert_eq!(
        lines(&validate_create(pcs, &pc("high", 1_000_000_001))),
        vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    );
    assert!(validate_create(pcs, &pc("system-node-critical", 2_000_001_000)).is_empty());
    assert!(validate_create(pcs, &pc("system-cluster-critical", 2_000_000_000)).is_empty());
    assert_eq!(
        lines(&validate_create(pcs, &pc("system-node-critical", 1000))),
        vec![
            "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. \
              error: value of system-node-critical PriorityClass must be 2000001000"
        ]
    );
    assert_eq!(
        lines(&validate_create(pcs, &pc("system-mine", 5))),
        vec![
            "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. \
              error: system-mine is not a known system priority class"
        ]
    );
    let mut default_system = pc("system-cluster-critical", 2_000_000_000);
    default_system["globalDefault"] = json!(true);
    assert!(lines(&validate_create(pcs, &default_system))[0].ends_with("must be false"));
    assert!(
        lines(&validate_create(pcs, &pc("Bad_Name", 1)))[0].starts_with("metadata.name: Invalid value: \"Bad_Name\"")
    );

    let mut policy = pc("p", 1);
    policy["preemptionPolicy"] = json!("Sometimes");
    assert_eq!(
        lines(&validate_create(pcs, &policy)),
        vec![
            "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\""
        ]
    );
    policy["preemptionPolicy"] = json!("");
    assert_eq!(lines(&validate_create(pcs, &policy)), vec!["preemptionPolicy: Required value"]);

    // Updates: value and preemptionPolicy are immutable; the create rules are not run again.
    let old = pc("high", 1000);
    let mut new = old.clone();
    new["description"] = json!("changed");
    new["globalDefault"] = json!(true);
    assert!(validate_update(pcs, &new, &old).is_empty());
    new["value"] = json!(2000);
    new["preemptionPolicy"] = json!("Never");
    assert_eq!(
        lines(&validate_update(pcs, &new, &old)),
        vec![
            "value: Forbidden: may not be changed in an update.",
            "preemptionPolicy: Invalid value: \"Never\": field is immutable"
        ]
    );
    let system = pc("system-node-critical", 2_000_001_000);
    let mut system_default = system.clone();
    system_default["globalDefault"] = json!(true);
    assert!(validate_update(pcs, &system_default, &system).is_empty());
}
