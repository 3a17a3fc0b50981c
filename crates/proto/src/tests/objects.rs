//! Whole objects as typed clients send them.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::{go_meta, roundtrip};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn int_or_string_int(i: i32) -> IntOrString {
    IntOrString { r#type: Some(0), int_val: Some(i), str_val: Some(String::new()) }
}

fn int_or_string_str(s: &str) -> IntOrString {
    IntOrString { r#type: Some(1), int_val: Some(0), str_val: Some(s.into()) }
}

fn quantity(s: &str) -> Quantity {
    Quantity { string: Some(s.into()) }
}

#[test]
fn namespace() {
    let ns = core::Namespace {
        metadata: Some(meta::ObjectMeta { labels: labels(&[("team", "a")]), ..go_meta("n") }),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus { phase: Some(String::new()), ..Default::default() }),
    };
    assert_eq!(
        roundtrip("v1", "Namespace", &ns),
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "n", "labels": {"team": "a"}},
            "spec": {},
            "status": {}
        })
    );
}

fn busybox_container() -> core::Container {
    core::Container {
        name: Some("busybox".into()),
        image: Some("busybox".into()),
        command: vec!["sh".into(), "-c".into(), "".into()],
        ports: vec![core::ContainerPort {
            name: Some(String::new()),
            host_port: Some(0),
            container_port: Some(80),
            protocol: Some("TCP".into()),
            host_ip: Some(String::new()),
        }],
        resources: Some(core::ResourceRequirements {
            limits: [("cpu".to_string(), quantity("500m"))].into(),
            requests: [("memory".to_string(), quantity("128Mi"))].into(),
            ..Default::default()
        }),
        env: vec![core::EnvVar {
            name: Some("KEY".into()),
            value: Some(String::new()),
            value_from: Some(core::EnvVarSource {
                config_map_key_ref: Some(core::ConfigMapKeySelector {
                    local_object_reference: Some(core::LocalObjectReference { name: Some("cm".into()) }),
                    key: Some("k".into()),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
        }],
        readiness_probe: Some(core::Probe {
            handler: Some(core::ProbeHandler {
                http_get: Some(core::HttpGetAction {
                    path: Some("/healthz".into()),
                    port: Some(int_or_string_str("http")),
                    host: Some(String::new()),
                    scheme: Some("HTTP".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            initial_delay_seconds: Some(0),
            period_seconds: Some(10),
            ..Default::default()
        }),
        termination_message_path: Some("/dev/termination-log".into()),
        image_pull_policy: Some("Always".into()),
        stdin: Some(false),
        tty: Some(false),
        ..Default::default()
    }
}

#[test]
fn deployment() {
    let dep = apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            labels: labels(&[("app", "x")]),
            creation_timestamp: Some(meta::Time { seconds: Some(1_704_067_200), nanos: Some(0) }),
            ..go_meta("x")
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector { match_labels: labels(&[("app", "x")]), ..Default::default() }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta { labels: labels(&[("app", "x")]), ..go_meta("") }),
                spec: Some(core::PodSpec {
                    containers: vec![busybox_container()],
                    volumes: vec![core::Volume {
                        name: Some("config".into()),
                        volume_source: Some(core::VolumeSource {
                            config_map: Some(core::ConfigMapVolumeSource {
                                local_object_reference: Some(core::LocalObjectReference { name: Some("cm".into()) }),
                                default_mode: Some(0o644),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                    }],
                    restart_policy: Some("Always".into()),
                    termination_grace_period_seconds: Some(30),
                    dns_policy: Some("ClusterFirst".into()),
                    service_account_name: Some(String::new()),
                    host_network: Some(false),
                    automount_service_account_token: Some(false),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: Some("RollingUpdate".into()),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(int_or_string_int(1)),
                    max_surge: Some(int_or_string_str("25%")),
                }),
            }),
            min_ready_seconds: Some(0),
            paused: Some(false),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus { observed_generation: Some(0), replicas: Some(0), ..Default::default() }),
    };
    let container = json!({
        "name": "busybox",
        "image": "busybox",
        "command": ["sh", "-c", ""],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "KEY", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": false}}}],
        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "128Mi"}},
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
            "periodSeconds": 10
        },
        "terminationMessagePath": "/dev/termination-log",
        "imagePullPolicy": "Always"
    });
    let got = roundtrip("apps/v1", "Deployment", &dep);
    assert_eq!(got["spec"]["template"]["spec"]["containers"][0], container);
    assert_eq!(
        got,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "x",
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "labels": {"app": "x"}
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "x"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {
                        "volumes": [{"name": "config", "configMap": {"name": "cm", "defaultMode": 420}}],
                        "containers": [container],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "automountServiceAccountToken": false
                    }
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}
                }
            },
            "status": {}
        })
    );
}

#[test]
fn configmap_and_secret() {
    let cm = core::ConfigMap {
        metadata: Some(go_meta("cm")),
        immutable: Some(false),
        data: labels(&[("a", "1"), ("empty", "")]),
        binary_data: [("bin".to_string(), vec![0u8, 1, 2, 255])].into(),
    };
    assert_eq!(
        roundtrip("v1", "ConfigMap", &cm),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm"},
            "immutable": false,
            "data": {"a": "1", "empty": ""},
            "binaryData": {"bin": "AAEC/w=="}
        })
    );
    let secret = core::Secret {
        metadata: Some(go_meta("s")),
        data: [("password".to_string(), b"hunter2".to_vec()), ("empty".to_string(), Vec::new())].into(),
        string_data: labels(&[("plain", "text")]),
        r#type: Some("Opaque".into()),
        immutable: None,
    };
    assert_eq!(
        roundtrip("v1", "Secret", &secret),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"empty": "", "password": "aHVudGVyMg=="},
            "stringData": {"plain": "text"},
            "type": "Opaque"
        })
    );
}

#[test]
fn service() {
    let svc = core::Service {
        metadata: Some(go_meta("web")),
        spec: Some(core::ServiceSpec {
            ports: vec![
                core::ServicePort {
                    name: Some("http".into()),
                    protocol: Some("TCP".into()),
                    port: Some(80),
                    target_port: Some(int_or_string_int(8080)),
                    node_port: Some(0),
                    ..Default::default()
                },
                core::ServicePort {
                    name: Some("named".into()),
                    protocol: Some("TCP".into()),
                    port: Some(443),
                    target_port: Some(int_or_string_str("https")),
                    node_port: Some(0),
                    ..Default::default()
                },
            ],
            selector: labels(&[("app", "web")]),
            cluster_ip: Some(String::new()),
            r#type: Some("ClusterIP".into()),
            session_affinity: Some(String::new()),
            ..Default::default()
        }),
        status: Some(core::ServiceStatus {
            load_balancer: Some(core::LoadBalancerStatus::default()),
            ..Default::default()
        }),
    };
    assert_eq!(
        roundtrip("v1", "Service", &svc),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                    {"name": "named", "protocol": "TCP", "port": 443, "targetPort": "https"}
                ],
                "selector": {"app": "web"},
                "type": "ClusterIP"
            },
            "status": {"loadBalancer": {}}
        })
    );
}

#[test]
fn job_and_cronjob() {
    let template = batch::JobTemplateSpec {
        metadata: Some(go_meta("")),
        spec: Some(batch::JobSpec {
            backoff_limit: Some(0),
            template: Some(core::PodTemplateSpec {
                metadata: Some(go_meta("")),
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: Some("job".into()),
                        image: Some("busybox".into()),
                        command: vec!["date".into()],
                        resources: Some(core::ResourceRequirements::default()),
                        ..Default::default()
                    }],
                    restart_policy: Some("Never".into()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
    };
    let job = batch::Job {
        metadata: Some(go_meta("j")),
        spec: template.spec.clone(),
        status: Some(batch::JobStatus { active: Some(0), ..Default::default() }),
    };
    let job_spec = json!({
        "template": {
            "metadata": {},
            "spec": {
                "containers": [{"name": "job", "image": "busybox", "command": ["date"], "resources": {}}],
                "restartPolicy": "Never"
            }
        },
        "backoffLimit": 0
    });
    assert_eq!(
        roundtrip("batch/v1", "Job", &job),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": job_spec, "status": {}})
    );
    let cronjob = batch::CronJob {
        metadata: Some(go_meta("cj")),
        spec: Some(batch::CronJobSpec {
            schedule: Some("*/1 * * * *".into()),
            job_template: Some(template),
            concurrency_policy: Some(String::new()),
            ..Default::default()
        }),
        status: None,
    };
    assert_eq!(
        roundtrip("batch/v1", "CronJob", &cronjob),
        json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "cj"},
            "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"metadata": {}, "spec": job_spec}}
        })
    );
}

#[test]
fn eviction_with_delete_options() {
    let eviction = policy::Eviction {
        metadata: Some(meta::ObjectMeta { namespace: Some("default".into()), ..go_meta("pod-1") }),
        delete_options: Some(meta::DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(meta::Preconditions { uid: Some("1234".into()), resource_version: None }),
            propagation_policy: Some("Background".into()),
            dry_run: vec!["All".into()],
            ..Default::default()
        }),
    };
    assert_eq!(
        roundtrip("policy/v1", "Eviction", &eviction),
        json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": "pod-1", "namespace": "default"},
            "deleteOptions": {
                "gracePeriodSeconds": 0,
                "preconditions": {"uid": "1234"},
                "propagationPolicy": "Background",
                "dryRun": ["All"]
            }
        })
    );
}

#[test]
fn packed_and_unpacked_repeated_scalars_agree() {
    // PodSecurityContext.supplementalGroups is declared `packed = "false"` in k8s-pb; proto
    // decoders must accept the packed form too. The keys are taken from prost encodings of
    // k8s-pb's structs, so no tag is written down here.
    let unpacked =
        core::PodSecurityContext { supplemental_groups: vec![1, 2, 300], ..Default::default() }.encode_to_vec();
    // unpacked: three (key, varint) pairs sharing one key byte; packed: key|2, len, varints.
    let key = unpacked[0];
    let packed = vec![(key & !7) | 2, 4, 1, 2, 0xac, 0x02];
    let pod = |ctx: Vec<u8>| {
        let spec = core::PodSpec::default().encode_to_vec();
        assert!(spec.is_empty());
        // PodSpec.securityContext key, from an encoding with only that field set.
        let with_ctx =
            core::PodSpec { security_context: Some(core::PodSecurityContext::default()), ..Default::default() }
                .encode_to_vec();
        let mut spec = vec![with_ctx[0], ctx.len() as u8];
        spec.extend(ctx);
        let with_spec = core::Pod { spec: Some(core::PodSpec::default()), ..Default::default() }.encode_to_vec();
        let mut pod = vec![with_spec[0], spec.len() as u8];
        pod.extend(spec);
        crate::decode(&super::body("v1", "Pod", pod)).expect("decodes")
    };
    let a = pod(unpacked);
    let b = pod(packed);
    assert_eq!(a, b);
    assert_eq!(a["spec"]["securityContext"]["supplementalGroups"], json!([1, 2, 300]));
}

use prost::Message as _;
