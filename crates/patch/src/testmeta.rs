//! A small fake schema mimicking Kubernetes' Pod/Deployment definitions, for unit tests.

use std::collections::HashMap;

use crate::meta::{FieldMeta, FieldShape, PatchMeta};

pub(crate) const POD: &str = "io.k8s.api.core.v1.Pod";
pub(crate) const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

pub(crate) struct FakeMeta {
    fields: HashMap<(String, String), FieldMeta>,
}

fn f(shape: FieldShape, def: Option<&str>) -> FieldMeta {
    FieldMeta { shape, definition: def.map(|d| format!("io.k8s.{d}")), ..FieldMeta::scalar() }
}
fn obj(def: &str) -> FieldMeta {
    f(FieldShape::Object, Some(def))
}
fn map(def: Option<&str>) -> FieldMeta {
    f(FieldShape::Map, def)
}
fn atomic_list(def: Option<&str>) -> FieldMeta {
    FieldMeta { list_type: Some("atomic".into()), ..f(FieldShape::List, def) }
}
fn set_list() -> FieldMeta {
    FieldMeta { patch_strategy: Some("merge".into()), list_type: Some("set".into()), ..f(FieldShape::List, None) }
}
fn map_list(def: &str, strategy: &str, key: &str, keys: &[&str]) -> FieldMeta {
    FieldMeta {
        patch_strategy: Some(strategy.into()),
        patch_merge_key: Some(key.into()),
        list_type: Some("map".into()),
        list_map_keys: keys.iter().map(|k| k.to_string()).collect(),
        ..f(FieldShape::List, Some(def))
    }
}

impl FakeMeta {
    pub(crate) fn new() -> Self {
        let s = FieldMeta::scalar;
        let mut t: Vec<(&str, &str, FieldMeta)> = vec![
            ("api.core.v1.Pod", "apiVersion", s()),
            ("api.core.v1.Pod", "kind", s()),
            ("api.core.v1.Pod", "metadata", obj("apimachinery.pkg.apis.meta.v1.ObjectMeta")),
            ("api.core.v1.Pod", "spec", obj("api.core.v1.PodSpec")),
            ("api.core.v1.Pod", "status", obj("api.core.v1.PodStatus")),
            ("api.core.v1.PodStatus", "phase", s()),
            ("api.core.v1.PodStatus", "podIP", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "name", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "namespace", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "uid", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "resourceVersion", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "generation", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp", s()),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels", map(None)),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "annotations", map(None)),
            ("apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", set_list()),
            (
                "apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "ownerReferences",
                map_list("apimachinery.pkg.apis.meta.v1.OwnerReference", "merge", "uid", &["uid"]),
            ),
            (
                "apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "managedFields",
                atomic_list(Some("apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry")),
            ),
            ("apimachinery.pkg.apis.meta.v1.OwnerReference", "uid", s()),
            ("apimachinery.pkg.apis.meta.v1.OwnerReference", "name", s()),
            ("apimachinery.pkg.apis.meta.v1.OwnerReference", "kind", s()),
            ("api.core.v1.PodSpec", "containers", map_list("api.core.v1.Container", "merge", "name", &["name"])),
            ("api.core.v1.PodSpec", "initContainers", map_list("api.core.v1.Container", "merge", "name", &["name"])),
            ("api.core.v1.PodSpec", "volumes", map_list("api.core.v1.Volume", "merge,retainKeys", "name", &["name"])),
            ("api.core.v1.PodSpec", "tolerations", atomic_list(Some("api.core.v1.Toleration"))),
            ("api.core.v1.PodSpec", "nodeSelector", FieldMeta { map_type: Some("atomic".into()), ..map(None) }),
            ("api.core.v1.PodSpec", "restartPolicy", s()),
            ("api.core.v1.PodSpec", "hostNetwork", s()),
            ("api.core.v1.PodSpec", "securityContext", obj("api.core.v1.PodSecurityContext")),
            ("api.core.v1.PodSecurityContext", "runAsUser", s()),
            ("api.core.v1.Container", "name", s()),
            ("api.core.v1.Container", "image", s()),
            ("api.core.v1.Container", "imagePullPolicy", s()),
            ("api.core.v1.Container", "args", atomic_list(None)),
            ("api.core.v1.Container", "command", atomic_list(None)),
            (
                "api.core.v1.Container",
                "ports",
                map_list("api.core.v1.ContainerPort", "merge", "containerPort", &["containerPort", "protocol"]),
            ),
            ("api.core.v1.Container", "env", map_list("api.core.v1.EnvVar", "merge", "name", &["name"])),
            ("api.core.v1.Container", "resources", obj("api.core.v1.ResourceRequirements")),
            ("api.core.v1.ResourceRequirements", "limits", map(None)),
            ("api.core.v1.ResourceRequirements", "requests", map(None)),
            ("api.core.v1.ContainerPort", "containerPort", s()),
            ("api.core.v1.ContainerPort", "protocol", s()),
            ("api.core.v1.ContainerPort", "name", s()),
            ("api.core.v1.EnvVar", "name", s()),
            ("api.core.v1.EnvVar", "value", s()),
            ("api.core.v1.Toleration", "key", s()),
            ("api.core.v1.Toleration", "operator", s()),
            ("api.core.v1.Volume", "name", s()),
            ("api.core.v1.Volume", "hostPath", obj("api.core.v1.HostPathVolumeSource")),
            ("api.core.v1.Volume", "emptyDir", obj("api.core.v1.EmptyDirVolumeSource")),
            ("api.core.v1.HostPathVolumeSource", "path", s()),
            ("api.core.v1.EmptyDirVolumeSource", "medium", s()),
            ("api.apps.v1.Deployment", "apiVersion", s()),
            ("api.apps.v1.Deployment", "kind", s()),
            ("api.apps.v1.Deployment", "metadata", obj("apimachinery.pkg.apis.meta.v1.ObjectMeta")),
            ("api.apps.v1.Deployment", "spec", obj("api.apps.v1.DeploymentSpec")),
            ("api.apps.v1.DeploymentSpec", "replicas", s()),
            (
                "api.apps.v1.DeploymentSpec",
                "selector",
                FieldMeta { map_type: Some("atomic".into()), ..obj("apimachinery.pkg.apis.meta.v1.LabelSelector") },
            ),
            ("api.apps.v1.DeploymentSpec", "template", obj("api.core.v1.PodTemplateSpec")),
            (
                "api.apps.v1.DeploymentSpec",
                "strategy",
                FieldMeta { patch_strategy: Some("retainKeys".into()), ..obj("api.apps.v1.DeploymentStrategy") },
            ),
            ("api.apps.v1.DeploymentStrategy", "type", s()),
            ("api.apps.v1.DeploymentStrategy", "rollingUpdate", obj("api.apps.v1.RollingUpdateDeployment")),
            ("api.apps.v1.RollingUpdateDeployment", "maxSurge", s()),
            ("apimachinery.pkg.apis.meta.v1.LabelSelector", "matchLabels", map(None)),
            ("api.core.v1.PodTemplateSpec", "metadata", obj("apimachinery.pkg.apis.meta.v1.ObjectMeta")),
            ("api.core.v1.PodTemplateSpec", "spec", obj("api.core.v1.PodSpec")),
        ];
        let fields = t.drain(..).map(|(d, n, m)| ((format!("io.k8s.{d}"), n.to_string()), m)).collect();
        FakeMeta { fields }
    }
}

impl PatchMeta for FakeMeta {
    fn field(&self, definition: &str, field: &str) -> Option<&FieldMeta> {
        self.fields.get(&(definition.to_string(), field.to_string()))
    }
}
