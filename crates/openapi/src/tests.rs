use std::time::Instant;

use serde_json::Value;
use skiff_api::resources::RESOURCES;
use skiff_patch::meta::{FieldShape, PatchMeta};

use super::*;

fn doc(path: &str) -> Value {
    let (bytes, _) = registry().v3_document(path).expect("document exists");
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn gvk_of(def: &Value) -> Vec<(String, String, String)> {
    def.get(extensions::GVK)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|g| {
                    let s = |k: &str| g[k].as_str().unwrap_or_default().to_string();
                    (s("group"), s("version"), s("kind"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn build_time_is_reported() {
    let start = Instant::now();
    let built = Registry::build().expect("registry builds");
    let elapsed = start.elapsed();
    let size: usize = built.documents.values().map(|d| d.bytes.len()).sum();
    // Loose: printed for information only (`cargo test -- --nocapture`).
    eprintln!("registry built in {elapsed:?}: {} definitions, {size} document bytes", built.definitions.len());
    assert!(size > 0);
}

#[test]
fn every_resource_has_definition_and_gvk() {
    let reg = registry();
    for r in RESOURCES {
        let def = reg.definition(r.definition).unwrap_or_else(|| panic!("{} missing", r.definition));
        let want = (r.group.to_string(), r.version.to_string(), r.kind.to_string());
        assert!(gvk_of(def).contains(&want), "{} lacks its GVK", r.definition);
        let list = reg.definition(&defs::list_name(r)).expect("list definition");
        let want = (r.group.to_string(), r.version.to_string(), r.list_kind.to_string());
        assert!(gvk_of(list).contains(&want), "{} lacks its GVK", r.list_kind);
        // And the group-version document carries the kind and its list.
        let d = doc(&gv_path(r.group, r.version));
        let schemas = &d["components"]["schemas"];
        assert!(schemas.get(r.definition).is_some(), "{} not in its document", r.definition);
        assert!(schemas.get(defs::list_name(r)).is_some());
    }
}

#[test]
fn extension_tables_match_definitions() {
    let mut defs = defs::generate();
    let missing = extensions::apply(&mut defs);
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn documents_only_reference_their_own_schemas() {
    let reg = registry();
    for path in reg.v3_paths() {
        let d = doc(path);
        let mut refs = Vec::new();
        defs::refs_in(&d, &mut refs);
        for r in refs {
            assert!(d["components"]["schemas"].get(r).is_some(), "{path}: dangling $ref {r}");
        }
    }
}

#[test]
fn patch_meta_lookups() {
    let reg = registry();
    let c = reg.field("io.k8s.api.core.v1.PodSpec", "containers").expect("containers");
    assert_eq!(c.shape, FieldShape::List);
    assert_eq!(c.definition.as_deref(), Some("io.k8s.api.core.v1.Container"));
    assert_eq!(c.patch_strategy.as_deref(), Some("merge"));
    assert_eq!(c.patch_merge_key.as_deref(), Some("name"));
    assert_eq!(c.list_type.as_deref(), Some("map"));
    assert_eq!(c.list_map_keys, vec!["name".to_string()]);

    let m = reg.field("io.k8s.api.core.v1.Pod", "metadata").expect("metadata");
    assert_eq!(m.shape, FieldShape::Object);
    assert_eq!(m.definition.as_deref(), Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));

    let l = reg.field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels").expect("labels");
    assert_eq!(l.shape, FieldShape::Map);
    assert_eq!(l.definition, None);

    let ns = reg.field("io.k8s.api.core.v1.PodSpec", "nodeSelector").expect("nodeSelector");
    assert_eq!(ns.shape, FieldShape::Map);
    assert_eq!(ns.map_type.as_deref(), Some("atomic"));

    let v = reg.field("io.k8s.api.core.v1.PodSpec", "volumes").expect("volumes");
    assert!(v.merges() && v.retains_keys());
    assert_eq!(v.definition.as_deref(), Some("io.k8s.api.core.v1.Volume"));

    let s = reg.field("io.k8s.api.apps.v1.DeploymentSpec", "strategy").expect("strategy");
    assert_eq!(s.shape, FieldShape::Object);
    assert!(s.retains_keys() && !s.merges());

    let t = reg.field("io.k8s.api.core.v1.PodSpec", "tolerations").expect("tolerations");
    assert_eq!(t.patch_strategy, None);
    assert_eq!(t.list_type.as_deref(), Some("atomic"));

    let f = reg.field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers").expect("finalizers");
    assert_eq!((f.shape, f.definition.clone()), (FieldShape::List, None));
    assert!(f.merges());

    let o = reg.field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences").expect("owners");
    assert_eq!(o.patch_merge_key.as_deref(), Some("uid"));

    let p = reg.field("io.k8s.api.core.v1.Container", "ports").expect("ports");
    assert_eq!(p.patch_merge_key.as_deref(), Some("containerPort"));
    let sp = reg.field("io.k8s.api.core.v1.ServiceSpec", "ports").expect("service ports");
    assert_eq!(sp.patch_merge_key.as_deref(), Some("port"));
    let cond = reg.field("io.k8s.api.apps.v1.DeploymentStatus", "conditions").expect("conditions");
    assert_eq!(cond.patch_merge_key.as_deref(), Some("type"));

    for (def, field) in [
        ("io.k8s.api.core.v1.ResourceRequirements", "limits"),
        ("io.k8s.api.core.v1.ContainerPort", "containerPort"),
        ("io.k8s.api.core.v1.ServicePort", "targetPort"),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp"),
        ("io.k8s.api.core.v1.EmptyDirVolumeSource", "sizeLimit"),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry", "fieldsV1"),
    ] {
        let meta = reg.field(def, field).expect("field");
        let want = if field == "limits" { FieldShape::Map } else { FieldShape::Scalar };
        assert_eq!(meta.shape, want, "{def}.{field}");
        assert_eq!(meta.definition, None, "{def}.{field}");
    }
    let probe = reg.field("io.k8s.api.core.v1.Probe", "httpGet").expect("httpGet");
    assert_eq!(probe.definition.as_deref(), Some("io.k8s.api.core.v1.HTTPGetAction"));
    let tmpl = reg.field("io.k8s.api.apps.v1.DeploymentSpec", "selector").expect("selector");
    assert_eq!(tmpl.map_type.as_deref(), Some("atomic"));
    assert!(reg.field("io.k8s.api.core.v1.PodSpec", "nope").is_none());
    assert!(reg.field("io.k8s.api.core.v1.Nope", "containers").is_none());
}

#[test]
fn pod_patch_operation_supports_field_validation_and_smp() {
    let d = doc("api/v1");
    let op = &d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(op["operationId"], "patchCoreV1NamespacedPod");
    assert_eq!(op["x-kubernetes-action"], "patch");
    assert_eq!(op[extensions::GVK], serde_json::json!({"group": "", "kind": "Pod", "version": "v1"}));
    let params: Vec<(&str, &str)> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or_default(), p["in"].as_str().unwrap_or_default()))
        .collect();
    for name in ["dryRun", "fieldManager", "fieldValidation", "force"] {
        assert!(params.contains(&(name, "query")), "missing {name}");
    }
    for ct in PATCH_CONTENT_TYPES {
        assert!(op["requestBody"]["content"].get(ct).is_some(), "missing {ct}");
    }
}

#[test]
fn every_patch_operation_has_gvk_and_field_validation() {
    let reg = registry();
    for path in reg.v3_paths() {
        let d = doc(path);
        for (p, item) in d["paths"].as_object().expect("paths") {
            for method in ["patch", "post", "put"] {
                let Some(op) = item.get(method) else { continue };
                assert!(op.get(extensions::GVK).is_some(), "{p} {method}");
                let has = |n: &str| op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|x| x["name"] == n));
                assert!(has("fieldValidation") && has("dryRun") && has("fieldManager"), "{p} {method}");
                if method == "patch" {
                    assert!(has("force"));
                    assert!(op["requestBody"]["content"].get("application/strategic-merge-patch+json").is_some());
                }
            }
        }
    }
}

#[test]
fn subresource_paths_exist() {
    let core = doc("api/v1");
    for (p, method, id) in [
        ("/api/v1/pods", "get", "listCoreV1PodForAllNamespaces"),
        ("/api/v1/namespaces/{namespace}/pods", "post", "createCoreV1NamespacedPod"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patchCoreV1NamespacedPodStatus"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "createCoreV1NamespacedPodBinding"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "createCoreV1NamespacedPodEviction"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "readCoreV1NamespacedPodLog"),
        ("/api/v1/nodes/{name}", "get", "readCoreV1Node"),
        ("/api/v1/namespaces/{name}/status", "put", "replaceCoreV1NamespaceStatus"),
    ] {
        assert_eq!(core["paths"][p][method]["operationId"], id, "{p}");
    }
    let apps = doc("apis/apps/v1");
    let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"];
    assert_eq!(scale[extensions::GVK]["kind"], "Scale");
    assert!(apps["components"]["schemas"].get("io.k8s.api.autoscaling.v1.Scale").is_some());
    assert!(core["components"]["schemas"].get("io.k8s.api.policy.v1.Eviction").is_some());
    let coord = doc("apis/coordination.k8s.io/v1");
    assert!(coord["paths"]["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"]["patch"]
        ["operationId"]
        .as_str()
        .is_some_and(|s| s == "patchCoordinationV1NamespacedLease"));
    let sched = doc("apis/scheduling.k8s.io/v1");
    let pc = &sched["paths"]["/apis/scheduling.k8s.io/v1/priorityclasses/{name}"]["patch"];
    assert_eq!(pc["operationId"], "patchSchedulingV1PriorityClass");
    assert_eq!(
        pc[extensions::GVK],
        serde_json::json!({"group": "scheduling.k8s.io", "kind": "PriorityClass", "version": "v1"})
    );
    assert!(sched["components"]["schemas"].get("io.k8s.api.scheduling.v1.PriorityClassList").is_some());
}

#[test]
fn container_has_descriptions() {
    let d = doc("api/v1");
    let c = &d["components"]["schemas"]["io.k8s.api.core.v1.Container"];
    assert!(c["description"].as_str().is_some_and(|s| s.contains("container")));
    assert!(c["properties"]["image"]["description"].as_str().is_some_and(|s| !s.is_empty()));
    let pod = &d["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
    let meta = &pod["properties"]["metadata"];
    assert_eq!(meta["allOf"][0]["$ref"], "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert!(meta["description"].as_str().is_some());
}

#[test]
fn root_lists_documents_with_hashes() {
    let reg = registry();
    let root: Value = serde_json::from_slice(reg.v3_root()).expect("root JSON");
    let paths = root["paths"].as_object().expect("paths");
    assert!(paths.contains_key("api/v1") && paths.contains_key("apis/apps/v1"));
    for (path, entry) in paths {
        let (bytes, hash) = reg.v3_document(path).expect("document");
        assert_eq!(entry["serverRelativeURL"], format!("/openapi/v3/{path}?hash={hash}"));
        assert_eq!(hash, super::hash(bytes));
        assert_eq!(hash.len(), 64);
    }
    assert!(reg.v3_document("/openapi/v3/api/v1").is_some());
    assert!(reg.v3_document("apis/nope/v1").is_none());
    assert!(!v2_protobuf().is_empty());
}
