//! Generation of the definitions (`components.schemas`) from k8s-openapi's `schemars` impls.
//!
//! k8s-openapi already names its schemas with Kubernetes' definition names
//! (`io.k8s.api.core.v1.Pod`), so schemars' definition names are used as they are; with the
//! OpenAPI 3 settings its `$ref`s point at `#/components/schemas/<name>` and `$ref`s with sibling
//! keywords (field descriptions) are wrapped in `allOf`, as kube-apiserver writes them. On top of
//! that this module adds what k8s-openapi does not model: the `<Kind>List` definitions, the
//! `x-kubernetes-group-version-kind` extensions and the field extensions of [`crate::extensions`].

use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::{apps::v1 as apps, autoscaling::v1 as autoscaling, batch::v1 as batch};
use k8s_openapi::api::{autoscaling::v2 as autoscaling2, discovery::v1 as discovery};
use k8s_openapi::api::{coordination::v1 as coordination, core::v1 as core, events::v1 as events};
use k8s_openapi::api::{networking::v1 as networking, rbac::v1 as rbac};
use k8s_openapi::api::{scheduling::v1 as scheduling, storage::v1 as storage};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};
use skiff_api::resources::{group_versions, ResourceInfo, RESOURCES};

use crate::extensions::{self, GVK};

/// Prefix of a local schema reference.
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";

/// Definition names of the apimachinery types every group-version document carries.
pub(crate) const META_STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const META_DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const META_WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const META_PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const META_LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// Generates every definition reachable from the served resources, their subresources and the
/// meta types API operations use.
pub(crate) fn generate() -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().with(|s| s.meta_schema = None).into_generator();
    macro_rules! roots {
        ($($t:ty),* $(,)?) => { $( generator.subschema_for::<$t>(); )* };
    }
    // The served kinds and what their operations use, plus kinds skiff may serve later (their
    // definitions cost little and only reachable ones go into documents).
    roots!(
        core::Namespace,
        core::Pod,
        core::Node,
        core::Event,
        core::ConfigMap,
        core::Secret,
        core::Service,
        core::Endpoints,
        core::ServiceAccount,
        core::Binding,
        core::PersistentVolume,
        core::PersistentVolumeClaim,
        core::ReplicationController,
        core::LimitRange,
        core::ResourceQuota,
        core::PodTemplate,
        core::ComponentStatus,
        apps::Deployment,
        apps::ReplicaSet,
        apps::StatefulSet,
        apps::DaemonSet,
        apps::ControllerRevision,
        batch::Job,
        batch::CronJob,
        coordination::Lease,
        events::Event,
        policy::Eviction,
        policy::PodDisruptionBudget,
        autoscaling::Scale,
        autoscaling::HorizontalPodAutoscaler,
        autoscaling2::HorizontalPodAutoscaler,
        networking::Ingress,
        networking::IngressClass,
        networking::NetworkPolicy,
        networking::ServiceCIDR,
        discovery::EndpointSlice,
        rbac::Role,
        rbac::RoleBinding,
        rbac::ClusterRole,
        rbac::ClusterRoleBinding,
        storage::StorageClass,
        storage::CSIDriver,
        storage::CSINode,
        scheduling::PriorityClass,
        meta::Status,
        meta::DeleteOptions,
        meta::WatchEvent<RawExtension>,
        meta::Patch,
        meta::ListMeta,
        meta::ObjectMeta,
    );
    let mut defs = generator.take_definitions(true);

    fix_scalars(&mut defs);
    // A served resource without a generated definition (a kind added to RESOURCES but not to the
    // roots above) is left out of the documents; the crate's tests flag it.
    let served: Vec<&ResourceInfo> = RESOURCES.iter().filter(|r| defs.contains_key(r.definition)).collect();
    for r in served {
        defs.insert(list_name(r), list_definition(r));
    }
    add_gvks(&mut defs);
    // Entries naming definitions that were not generated are skipped (the tests require none).
    extensions::apply(&mut defs);
    // A serde_json map keeps its keys sorted.
    defs
}

/// Gives the int-or-string types the `format`/`oneOf` kube-apiserver's v3 documents carry, so
/// that tools reading types (explain) see them as such.
fn fix_scalars(defs: &mut Map<String, Value>) {
    if let Some(def) = defs.get_mut(INT_OR_STRING).and_then(Value::as_object_mut) {
        def.insert("format".into(), json!("int-or-string"));
        def.insert("oneOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    if let Some(def) = defs.get_mut(QUANTITY).and_then(Value::as_object_mut) {
        def.insert("oneOf".into(), json!([{"type": "string"}, {"type": "number"}]));
    }
}

/// `io.k8s.api.core.v1.PodList` for the resource of `io.k8s.api.core.v1.Pod`.
pub(crate) fn list_name(r: &ResourceInfo) -> String {
    let prefix = r.definition.rsplit_once('.').map_or("", |(p, _)| p);
    format!("{prefix}.{}", r.list_kind)
}

fn list_definition(r: &ResourceInfo) -> Value {
    json!({
        "description": format!("{} is a list of {} objects.", r.list_kind, r.kind),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("List of {}.", r.plural),
                "type": "array",
                "items": {"$ref": format!("{REF_PREFIX}{}", r.definition)},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "allOf": [{"$ref": format!("{REF_PREFIX}{META_LIST_META}")}],
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    })
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// Sets `x-kubernetes-group-version-kind` on the kinds, list kinds, subresource kinds and meta
/// kinds (those that were generated).
fn add_gvks(defs: &mut Map<String, Value>) {
    let mut gvks: Vec<(String, Vec<Value>)> = Vec::new();
    for r in RESOURCES {
        gvks.push((r.definition.to_string(), vec![gvk(r.group, r.version, r.kind)]));
        gvks.push((list_name(r), vec![gvk(r.group, r.version, r.list_kind)]));
    }
    gvks.push(("io.k8s.api.core.v1.Binding".into(), vec![gvk("", "v1", "Binding")]));
    gvks.push(("io.k8s.api.policy.v1.Eviction".into(), vec![gvk("policy", "v1", "Eviction")]));
    gvks.push(("io.k8s.api.autoscaling.v1.Scale".into(), vec![gvk("autoscaling", "v1", "Scale")]));
    gvks.push((META_STATUS.into(), vec![gvk("", "v1", "Status")]));
    let mut all_gvs = group_versions();
    for extra in [("autoscaling", "v1"), ("policy", "v1")] {
        if !all_gvs.contains(&extra) {
            all_gvs.push(extra);
        }
    }
    for (def, kind) in [(META_DELETE_OPTIONS, "DeleteOptions"), (META_WATCH_EVENT, "WatchEvent")] {
        let list = all_gvs.iter().map(|(g, v)| gvk(g, v, kind)).collect();
        gvks.push((def.to_string(), list));
    }
    for (name, list) in gvks {
        if let Some(def) = defs.get_mut(&name).and_then(Value::as_object_mut) {
            def.insert(GVK.to_string(), Value::Array(list));
        }
    }
}

/// Every definition name `value` references, directly or in nested schemas.
pub(crate) fn refs_in<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    if let Some(name) = v.as_str().and_then(|s| s.strip_prefix(REF_PREFIX)) {
                        out.push(name);
                    }
                } else {
                    refs_in(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}
