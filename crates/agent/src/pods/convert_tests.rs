use super::*;
use serde_json::json;

fn pod() -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"app": "web"}},
        "spec": {
            "nodeName": "node-a",
            "securityContext": {"runAsUser": 1000, "supplementalGroups": [5]},
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [{
                "name": "app", "image": "busybox",
                "command": ["sh", "-c"], "args": ["echo $(GREETING) $$(HOME) $(MISSING)"],
                "env": [
                    {"name": "NAME", "value": "world"},
                    {"name": "GREETING", "value": "hello $(NAME)"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}
                ],
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "500m", "memory": "64Mi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "data", "mountPath": "/logs", "subPath": "logs", "readOnly": true}],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["NET_RAW"]}}
            }]
        }
    }))
    .unwrap()
}

fn ctx() -> PodContext {
    PodContext {
        namespaces: "/proc/42/ns".into(),
        shm: "/run/s/shm".into(),
        volumes: BTreeMap::from([("data".to_string(), PathBuf::from("/v/data"))]),
        cgroup_parent: "skiff/kubepods/podu-1".into(),
        log_path: "/logs/app/0.log".into(),
        pod_ip: "10.42.0.9".into(),
        node_ip: "192.168.0.2".into(),
        ..Default::default()
    }
}

#[test]
fn containers_become_runtime_requests() {
    let p = pod();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let config = container_config(&p, c, 2, &ctx()).unwrap();
    assert_eq!(config.name.as_deref(), Some("k8s_app_web_prod_u-1_2"));
    assert_eq!(config.args, vec!["echo hello world $(HOME) $(MISSING)"]);
    let env: BTreeMap<_, _> = config.env.iter().cloned().collect();
    assert_eq!(env["POD"], "web");
    assert_eq!(env["APP"], "web");
    assert_eq!(env["IP"], "10.42.0.9");
    assert_eq!(env["MEM"], "64");
    assert_eq!(config.user.as_deref(), Some("1000"));
    assert_eq!(config.supplemental_groups, vec![5]);
    assert_eq!(config.namespaces.network, Namespace::Join("/proc/42/ns/net".into()));
    assert_eq!(config.namespaces.pid, Namespace::New);
    assert_eq!(config.resources.cpu_shares, Some(256));
    assert_eq!(config.resources.cpu_quota, Some(50_000));
    assert_eq!(config.resources.memory_limit, Some(64 << 20));
    assert!(config.no_new_privileges);
    assert_eq!(config.drop_capabilities, vec!["NET_RAW"]);
    let logs = config.mounts.iter().find(|m| m.destination == "/logs").unwrap();
    assert_eq!(logs.source, PathBuf::from("/v/data/logs"));
    assert!(logs.read_only);
    assert!(config.mounts.iter().any(|m| m.destination == "/etc/hosts"));
    assert_eq!(config.labels[LABEL_ATTEMPT], "2");
}

#[test]
fn bad_references_are_config_errors() {
    let mut p = pod();
    p.spec.as_mut().unwrap().containers[0].volume_mounts.as_mut().unwrap()[1].sub_path = Some("../etc".into());
    let c = p.spec.as_ref().unwrap().containers[0].clone();
    let err = container_config(&p, &c, 0, &ctx()).unwrap_err();
    assert_eq!(err.reason, "CreateContainerConfigError");
}

#[test]
fn hosts_files_name_the_pod() {
    let hosts = etc_hosts(&pod(), "10.42.0.9");
    assert!(hosts.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
    assert!(hosts.ends_with("10.42.0.9\tweb\n"), "{hosts}");
}

#[test]
fn expansion_follows_the_kubelet() {
    let env = vec![("A".to_string(), "1".to_string())];
    assert_eq!(expand("$(A)-$$(A)-$(B)-$-$(", &env), "1-$(A)-$(B)-$-$(");
}

#[test]
fn environment_comes_from_config_maps_and_secrets() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"containers": [{"name": "app", "image": "busybox",
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}, {"secretRef": {"name": "gone", "optional": true}}],
            "env": [
                {"name": "CFG_mode", "value": "overridden"},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "nope", "optional": true}}}
            ]}]}
    }))
    .unwrap();
    let mut ctx = ctx();
    ctx.sources.config_maps.insert(
        "settings".into(),
        BTreeMap::from([("mode".into(), b"fast".to_vec()), ("level".into(), b"3".to_vec()), ("1bad".into(), vec![])]),
    );
    ctx.sources.secrets.insert("db".into(), BTreeMap::from([("password".into(), b"s3cret".to_vec())]));
    let c = &p.spec.as_ref().unwrap().containers[0];
    let env: BTreeMap<_, _> = container_config(&p, c, 0, &ctx).unwrap().env.into_iter().collect();
    assert_eq!(env["CFG_mode"], "overridden");
    assert_eq!(env["CFG_level"], "3");
    assert_eq!(env["PASSWORD"], "s3cret");
    assert!(!env.contains_key("OPTIONAL"));
    ctx.sources.secrets.clear();
    let err = container_config(&p, c, 0, &ctx).unwrap_err();
    assert_eq!((err.reason.as_str(), err.message.as_str()), ("CreateContainerConfigError", "secret \"db\" not found"));
    ctx.sources.secrets.insert("db".into(), BTreeMap::new());
    let err = container_config(&p, c, 0, &ctx).unwrap_err();
    assert_eq!(err.message, "couldn't find key password in Secret prod/db");
}

#[test]
fn pods_get_a_cgroup_in_their_qos_tier_with_summed_limits() {
    let pod = |containers: serde_json::Value, qos: &str| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u1"}, "spec": {"containers": containers},
            "status": {"qosClass": qos}}))
        .unwrap()
    };
    let guaranteed = pod(
        json!([{"name": "a", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}},
               {"name": "b", "resources": {"limits": {"cpu": "250m", "memory": "32Mi"}}}]),
        "Guaranteed",
    );
    assert_eq!(pod_cgroup(&guaranteed), "skiff/kubepods/podu1");
    let r = pod_resources(&guaranteed).unwrap();
    assert_eq!((r.cpu_shares, r.cpu_quota, r.memory_limit), (Some(768), Some(75_000), Some(96 << 20)));
    let burstable = pod(
        json!([{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "16Mi"}}}, {"name": "b"}]),
        "Burstable",
    );
    assert_eq!(pod_cgroup(&burstable), "skiff/kubepods/burstable/podu1");
    let r = pod_resources(&burstable).unwrap();
    assert_eq!((r.cpu_shares, r.cpu_quota, r.memory_limit), (Some(102), None, None), "limits only when all have them");
    let best_effort = pod(json!([{"name": "a"}]), "BestEffort");
    assert_eq!(pod_cgroup(&best_effort), "skiff/kubepods/besteffort/podu1");
    assert_eq!(pod_resources(&best_effort).unwrap().cpu_shares, Some(2));
    let computed = pod(json!([{"name": "a"}]), "");
    let computed = Pod { status: None, ..computed };
    assert_eq!(qos_class(&computed), "BestEffort");
}
