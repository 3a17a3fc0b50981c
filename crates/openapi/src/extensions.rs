//! The `x-kubernetes-*` field extensions Kubernetes derives from its Go struct tags and markers
//! (`patchStrategy`/`patchMergeKey` tags, `+listType`, `+listMapKey`, `+mapType`, `+structType`).
//!
//! The table was transcribed from the `types.go` files of k8s.io/api v0.33 (core/v1, apps/v1,
//! batch/v1, policy/v1, autoscaling/v1 and v2, networking/v1, discovery/v1, rbac/v1, storage/v1,
//! scheduling/v1) and k8s.io/apimachinery v0.33 (`pkg/apis/meta/v1`).
//! Definitions are written without their `io.k8s.api.` / `io.k8s.apimachinery.pkg.apis.` prefix.

use serde_json::{json, Map, Value};

/// Extension key: strategic-merge-patch strategy of a field.
pub const PATCH_STRATEGY: &str = "x-kubernetes-patch-strategy";
/// Extension key: strategic-merge-patch merge key of a list field.
pub const PATCH_MERGE_KEY: &str = "x-kubernetes-patch-merge-key";
/// Extension key: server-side-apply list type (`atomic`, `set`, `map`).
pub const LIST_TYPE: &str = "x-kubernetes-list-type";
/// Extension key: server-side-apply keys of a `map` list.
pub const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
/// Extension key: server-side-apply map/struct type (`atomic`, `granular`).
pub const MAP_TYPE: &str = "x-kubernetes-map-type";
/// Extension key: group, version and kind of a schema (array) or an operation (object).
pub const GVK: &str = "x-kubernetes-group-version-kind";

/// The extensions of one field of one definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldExt {
    /// Short definition name (`core.v1.PodSpec`).
    pub def: &'static str,
    /// JSON field name.
    pub field: &'static str,
    /// `patchStrategy` tag; empty when none.
    pub strategy: &'static str,
    /// `patchMergeKey` tag; empty when none.
    pub merge_key: &'static str,
    /// `+listType`; empty when none.
    pub list_type: &'static str,
    /// `+listMapKey`s.
    pub map_keys: &'static [&'static str],
    /// `+mapType`; empty when none.
    pub map_type: &'static str,
}

const fn f(
    def: &'static str,
    field: &'static str,
    strategy: &'static str,
    merge_key: &'static str,
    list_type: &'static str,
    map_keys: &'static [&'static str],
    map_type: &'static str,
) -> FieldExt {
    FieldExt { def, field, strategy, merge_key, list_type, map_keys, map_type }
}

/// Field extensions: (definition, field, patch strategy, merge key, list type, list map keys,
/// map type).
#[rustfmt::skip]
pub(crate) static FIELDS: &[FieldExt] = &[
    f("core.v1.PersistentVolumeSpec", "accessModes", "", "", "atomic", &[], ""),
    f("core.v1.PersistentVolumeSpec", "mountOptions", "", "", "atomic", &[], ""),
    f("core.v1.PersistentVolumeClaimSpec", "accessModes", "", "", "atomic", &[], ""),
    f("core.v1.PersistentVolumeClaimStatus", "accessModes", "", "", "atomic", &[], ""),
    f("core.v1.PersistentVolumeClaimStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.PersistentVolumeClaimStatus", "allocatedResourceStatuses", "", "", "", &[], "granular"),
    f("core.v1.RBDVolumeSource", "monitors", "", "", "atomic", &[], ""),
    f("core.v1.RBDPersistentVolumeSource", "monitors", "", "", "atomic", &[], ""),
    f("core.v1.CephFSVolumeSource", "monitors", "", "", "atomic", &[], ""),
    f("core.v1.CephFSPersistentVolumeSource", "monitors", "", "", "atomic", &[], ""),
    f("core.v1.SecretVolumeSource", "items", "", "", "atomic", &[], ""),
    f("core.v1.SecretProjection", "items", "", "", "atomic", &[], ""),
    f("core.v1.ISCSIVolumeSource", "portals", "", "", "atomic", &[], ""),
    f("core.v1.ISCSIPersistentVolumeSource", "portals", "", "", "atomic", &[], ""),
    f("core.v1.FCVolumeSource", "targetWWNs", "", "", "atomic", &[], ""),
    f("core.v1.FCVolumeSource", "wwids", "", "", "atomic", &[], ""),
    f("core.v1.ConfigMapVolumeSource", "items", "", "", "atomic", &[], ""),
    f("core.v1.ConfigMapProjection", "items", "", "", "atomic", &[], ""),
    f("core.v1.ProjectedVolumeSource", "sources", "", "", "atomic", &[], ""),
    f("core.v1.HTTPGetAction", "httpHeaders", "", "", "atomic", &[], ""),
    f("core.v1.ExecAction", "command", "", "", "atomic", &[], ""),
    f("core.v1.Capabilities", "add", "", "", "atomic", &[], ""),
    f("core.v1.Capabilities", "drop", "", "", "atomic", &[], ""),
    f("core.v1.ResourceRequirements", "claims", "", "", "map", &["name"], ""),
    f("core.v1.Container", "command", "", "", "atomic", &[], ""),
    f("core.v1.Container", "args", "", "", "atomic", &[], ""),
    f("core.v1.Container", "ports", "merge", "containerPort", "map", &["containerPort", "protocol"], ""),
    f("core.v1.Container", "envFrom", "", "", "atomic", &[], ""),
    f("core.v1.Container", "env", "merge", "name", "map", &["name"], ""),
    f("core.v1.Container", "resizePolicy", "", "", "atomic", &[], ""),
    f("core.v1.Container", "volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    f("core.v1.Container", "volumeDevices", "merge", "devicePath", "map", &["devicePath"], ""),
    f("core.v1.ContainerStatus", "volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    f("core.v1.ContainerStatus", "allocatedResourcesStatus", "merge", "name", "map", &["name"], ""),
    f("core.v1.ResourceStatus", "resources", "", "", "map", &["resourceID"], ""),
    f("core.v1.LinuxContainerUser", "supplementalGroups", "", "", "atomic", &[], ""),
    f("core.v1.NodeSelector", "nodeSelectorTerms", "", "", "atomic", &[], ""),
    f("core.v1.NodeSelectorTerm", "matchExpressions", "", "", "atomic", &[], ""),
    f("core.v1.NodeSelectorTerm", "matchFields", "", "", "atomic", &[], ""),
    f("core.v1.NodeSelectorRequirement", "values", "", "", "atomic", &[], ""),
    f("core.v1.TopologySelectorTerm", "matchLabelExpressions", "", "", "atomic", &[], ""),
    f("core.v1.TopologySelectorLabelRequirement", "values", "", "", "atomic", &[], ""),
    f("core.v1.PodAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    f("core.v1.PodAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    f("core.v1.PodAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    f("core.v1.PodAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    f("core.v1.PodAffinityTerm", "namespaces", "", "", "atomic", &[], ""),
    f("core.v1.PodAffinityTerm", "matchLabelKeys", "", "", "atomic", &[], ""),
    f("core.v1.PodAffinityTerm", "mismatchLabelKeys", "", "", "atomic", &[], ""),
    f("core.v1.NodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "", "", "atomic", &[], ""),
    f("core.v1.PodSpec", "volumes", "merge,retainKeys", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "initContainers", "merge", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "containers", "merge", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "ephemeralContainers", "merge", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "nodeSelector", "", "", "", &[], "atomic"),
    f("core.v1.PodSpec", "imagePullSecrets", "merge", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "tolerations", "", "", "atomic", &[], ""),
    f("core.v1.PodSpec", "hostAliases", "merge", "ip", "map", &["ip"], ""),
    f("core.v1.PodSpec", "readinessGates", "", "", "atomic", &[], ""),
    f("core.v1.PodSpec", "topologySpreadConstraints", "merge", "topologyKey", "map", &["topologyKey", "whenUnsatisfiable"], ""),
    f("core.v1.PodSpec", "schedulingGates", "merge", "name", "map", &["name"], ""),
    f("core.v1.PodSpec", "resourceClaims", "merge,retainKeys", "name", "map", &["name"], ""),
    f("core.v1.TopologySpreadConstraint", "matchLabelKeys", "", "", "atomic", &[], ""),
    f("core.v1.HostAlias", "hostnames", "", "", "atomic", &[], ""),
    f("core.v1.PodSecurityContext", "supplementalGroups", "", "", "atomic", &[], ""),
    f("core.v1.PodSecurityContext", "sysctls", "", "", "atomic", &[], ""),
    f("core.v1.PodDNSConfig", "nameservers", "", "", "atomic", &[], ""),
    f("core.v1.PodDNSConfig", "searches", "", "", "atomic", &[], ""),
    f("core.v1.PodDNSConfig", "options", "", "", "atomic", &[], ""),
    f("core.v1.EphemeralContainer", "command", "", "", "atomic", &[], ""),
    f("core.v1.EphemeralContainer", "args", "", "", "atomic", &[], ""),
    f("core.v1.EphemeralContainer", "ports", "merge", "containerPort", "map", &["containerPort", "protocol"], ""),
    f("core.v1.EphemeralContainer", "envFrom", "", "", "atomic", &[], ""),
    f("core.v1.EphemeralContainer", "env", "merge", "name", "map", &["name"], ""),
    f("core.v1.EphemeralContainer", "resizePolicy", "", "", "atomic", &[], ""),
    f("core.v1.EphemeralContainer", "volumeMounts", "merge", "mountPath", "map", &["mountPath"], ""),
    f("core.v1.EphemeralContainer", "volumeDevices", "merge", "devicePath", "map", &["devicePath"], ""),
    f("core.v1.PodStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.PodStatus", "hostIPs", "merge", "ip", "atomic", &[], ""),
    f("core.v1.PodStatus", "podIPs", "merge", "ip", "map", &["ip"], ""),
    f("core.v1.PodStatus", "initContainerStatuses", "", "", "atomic", &[], ""),
    f("core.v1.PodStatus", "containerStatuses", "", "", "atomic", &[], ""),
    f("core.v1.PodStatus", "ephemeralContainerStatuses", "", "", "atomic", &[], ""),
    f("core.v1.PodStatus", "resourceClaimStatuses", "merge,retainKeys", "name", "map", &["name"], ""),
    f("core.v1.ReplicationControllerSpec", "selector", "", "", "", &[], "atomic"),
    f("core.v1.ReplicationControllerStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.ServiceStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.LoadBalancerStatus", "ingress", "", "", "atomic", &[], ""),
    f("core.v1.LoadBalancerIngress", "ports", "", "", "atomic", &[], ""),
    f("core.v1.ServiceSpec", "ports", "merge", "port", "map", &["port", "protocol"], ""),
    f("core.v1.ServiceSpec", "selector", "", "", "", &[], "atomic"),
    f("core.v1.ServiceSpec", "clusterIPs", "", "", "atomic", &[], ""),
    f("core.v1.ServiceSpec", "externalIPs", "", "", "atomic", &[], ""),
    f("core.v1.ServiceSpec", "loadBalancerSourceRanges", "", "", "atomic", &[], ""),
    f("core.v1.ServiceSpec", "ipFamilies", "", "", "atomic", &[], ""),
    f("core.v1.ServiceAccount", "secrets", "merge", "name", "map", &["name"], ""),
    f("core.v1.ServiceAccount", "imagePullSecrets", "", "", "atomic", &[], ""),
    f("core.v1.Endpoints", "subsets", "", "", "atomic", &[], ""),
    f("core.v1.EndpointSubset", "addresses", "", "", "atomic", &[], ""),
    f("core.v1.EndpointSubset", "notReadyAddresses", "", "", "atomic", &[], ""),
    f("core.v1.EndpointSubset", "ports", "", "", "atomic", &[], ""),
    f("core.v1.NodeSpec", "podCIDRs", "merge", "", "set", &[], ""),
    f("core.v1.NodeSpec", "taints", "", "", "atomic", &[], ""),
    f("core.v1.NodeStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.NodeStatus", "addresses", "merge", "type", "map", &["type"], ""),
    f("core.v1.NodeStatus", "images", "", "", "atomic", &[], ""),
    f("core.v1.NodeStatus", "volumesInUse", "", "", "atomic", &[], ""),
    f("core.v1.NodeStatus", "volumesAttached", "", "", "atomic", &[], ""),
    f("core.v1.NodeStatus", "runtimeHandlers", "", "", "atomic", &[], ""),
    f("core.v1.ContainerImage", "names", "", "", "atomic", &[], ""),
    f("core.v1.NamespaceSpec", "finalizers", "", "", "atomic", &[], ""),
    f("core.v1.NamespaceStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.LimitRangeSpec", "limits", "", "", "atomic", &[], ""),
    f("core.v1.ResourceQuotaSpec", "scopes", "", "", "atomic", &[], ""),
    f("core.v1.ScopeSelector", "matchExpressions", "", "", "atomic", &[], ""),
    f("core.v1.ScopedResourceSelectorRequirement", "values", "", "", "atomic", &[], ""),
    f("core.v1.ComponentStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("core.v1.DownwardAPIVolumeSource", "items", "", "", "atomic", &[], ""),
    f("core.v1.DownwardAPIProjection", "items", "", "", "atomic", &[], ""),
    f("apps.v1.StatefulSetSpec", "volumeClaimTemplates", "", "", "atomic", &[], ""),
    f("apps.v1.StatefulSetStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("apps.v1.DeploymentSpec", "strategy", "retainKeys", "", "", &[], ""),
    f("apps.v1.DeploymentStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("apps.v1.DaemonSetStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("apps.v1.ReplicaSetStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("batch.v1.PodFailurePolicyOnExitCodesRequirement", "values", "", "", "set", &[], ""),
    f("batch.v1.PodFailurePolicyRule", "onPodConditions", "", "", "atomic", &[], ""),
    f("batch.v1.PodFailurePolicy", "rules", "", "", "atomic", &[], ""),
    f("batch.v1.SuccessPolicy", "rules", "", "", "atomic", &[], ""),
    f("batch.v1.JobStatus", "conditions", "merge", "type", "atomic", &[], ""),
    f("batch.v1.UncountedTerminatedPods", "succeeded", "", "", "set", &[], ""),
    f("batch.v1.UncountedTerminatedPods", "failed", "", "", "set", &[], ""),
    f("batch.v1.CronJobStatus", "active", "", "", "atomic", &[], ""),
    f("policy.v1.PodDisruptionBudgetSpec", "selector", "replace", "", "", &[], ""),
    f("policy.v1.PodDisruptionBudgetStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("networking.v1.NetworkPolicySpec", "ingress", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicySpec", "egress", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicySpec", "policyTypes", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicyIngressRule", "ports", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicyIngressRule", "from", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicyEgressRule", "ports", "", "", "atomic", &[], ""),
    f("networking.v1.NetworkPolicyEgressRule", "to", "", "", "atomic", &[], ""),
    f("networking.v1.IPBlock", "except", "", "", "atomic", &[], ""),
    f("networking.v1.IngressSpec", "tls", "", "", "atomic", &[], ""),
    f("networking.v1.IngressSpec", "rules", "", "", "atomic", &[], ""),
    f("networking.v1.IngressTLS", "hosts", "", "", "atomic", &[], ""),
    f("networking.v1.IngressLoadBalancerStatus", "ingress", "", "", "atomic", &[], ""),
    f("networking.v1.IngressLoadBalancerIngress", "ports", "", "", "atomic", &[], ""),
    f("networking.v1.HTTPIngressRuleValue", "paths", "", "", "atomic", &[], ""),
    f("networking.v1.ServiceCIDRSpec", "cidrs", "", "", "atomic", &[], ""),
    f("networking.v1.ServiceCIDRStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("discovery.v1.EndpointSlice", "endpoints", "", "", "atomic", &[], ""),
    f("discovery.v1.EndpointSlice", "ports", "", "", "atomic", &[], ""),
    f("discovery.v1.Endpoint", "addresses", "", "", "set", &[], ""),
    f("discovery.v1.EndpointHints", "forZones", "", "", "atomic", &[], ""),
    f("discovery.v1.EndpointHints", "forNodes", "", "", "atomic", &[], ""),
    f("rbac.v1.PolicyRule", "verbs", "", "", "atomic", &[], ""),
    f("rbac.v1.PolicyRule", "apiGroups", "", "", "atomic", &[], ""),
    f("rbac.v1.PolicyRule", "resources", "", "", "atomic", &[], ""),
    f("rbac.v1.PolicyRule", "resourceNames", "", "", "atomic", &[], ""),
    f("rbac.v1.PolicyRule", "nonResourceURLs", "", "", "atomic", &[], ""),
    f("rbac.v1.Role", "rules", "", "", "atomic", &[], ""),
    f("rbac.v1.RoleBinding", "subjects", "", "", "atomic", &[], ""),
    f("rbac.v1.ClusterRole", "rules", "", "", "atomic", &[], ""),
    f("rbac.v1.AggregationRule", "clusterRoleSelectors", "", "", "atomic", &[], ""),
    f("rbac.v1.ClusterRoleBinding", "subjects", "", "", "atomic", &[], ""),
    f("storage.v1.StorageClass", "mountOptions", "", "", "atomic", &[], ""),
    f("storage.v1.StorageClass", "allowedTopologies", "", "", "atomic", &[], ""),
    f("storage.v1.CSIDriverSpec", "volumeLifecycleModes", "", "", "set", &[], ""),
    f("storage.v1.CSIDriverSpec", "tokenRequests", "", "", "atomic", &[], ""),
    f("storage.v1.CSINodeSpec", "drivers", "merge", "name", "map", &["name"], ""),
    f("storage.v1.CSINodeDriver", "topologyKeys", "", "", "atomic", &[], ""),
    f("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics", "", "", "atomic", &[], ""),
    f("autoscaling.v2.HPAScalingRules", "policies", "", "", "atomic", &[], ""),
    f("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentMetrics", "", "", "atomic", &[], ""),
    f("autoscaling.v2.HorizontalPodAutoscalerStatus", "conditions", "merge", "type", "map", &["type"], ""),
    f("meta.v1.ObjectMeta", "ownerReferences", "merge", "uid", "map", &["uid"], ""),
    f("meta.v1.ObjectMeta", "finalizers", "merge", "", "set", &[], ""),
    f("meta.v1.ObjectMeta", "managedFields", "", "", "atomic", &[], ""),
    f("meta.v1.DeleteOptions", "dryRun", "", "", "atomic", &[], ""),
    f("meta.v1.Status", "details", "", "", "atomic", &[], ""),
    f("meta.v1.StatusDetails", "causes", "", "", "atomic", &[], ""),
    f("meta.v1.LabelSelector", "matchExpressions", "", "", "atomic", &[], ""),
    f("meta.v1.LabelSelectorRequirement", "values", "", "", "atomic", &[], ""),
];

/// Struct-level `+structType` / `+mapType` markers, emitted as `x-kubernetes-map-type` on the
/// definition itself.
#[rustfmt::skip]
pub(crate) static STRUCTS: &[(&str, &str)] = &[
    ("core.v1.SecretReference", "atomic"),
    ("core.v1.ObjectFieldSelector", "atomic"),
    ("core.v1.ResourceFieldSelector", "atomic"),
    ("core.v1.ConfigMapKeySelector", "atomic"),
    ("core.v1.SecretKeySelector", "atomic"),
    ("core.v1.NodeSelector", "atomic"),
    ("core.v1.NodeSelectorTerm", "atomic"),
    ("core.v1.TopologySelectorTerm", "atomic"),
    ("core.v1.EndpointAddress", "atomic"),
    ("core.v1.EndpointPort", "atomic"),
    ("core.v1.ObjectReference", "atomic"),
    ("core.v1.LocalObjectReference", "atomic"),
    ("core.v1.TypedLocalObjectReference", "atomic"),
    ("core.v1.ScopeSelector", "atomic"),
    ("autoscaling.v1.CrossVersionObjectReference", "atomic"),
    ("networking.v1.ServiceBackendPort", "atomic"),
    ("discovery.v1.EndpointPort", "atomic"),
    ("rbac.v1.Subject", "atomic"),
    ("rbac.v1.RoleRef", "atomic"),
    ("meta.v1.OwnerReference", "atomic"),
    ("meta.v1.LabelSelector", "atomic"),
];

/// Expands a short definition name (`core.v1.Pod`, `meta.v1.ObjectMeta`) to the full one.
pub(crate) fn full_name(short: &str) -> String {
    if short.starts_with("meta.") {
        format!("io.k8s.apimachinery.pkg.apis.{short}")
    } else {
        format!("io.k8s.api.{short}")
    }
}

impl FieldExt {
    /// The extensions as JSON object members, in the order Kubernetes emits them.
    pub(crate) fn members(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if !self.map_keys.is_empty() {
            out.push((LIST_MAP_KEYS, json!(self.map_keys)));
        }
        for (key, value) in [(LIST_TYPE, self.list_type), (MAP_TYPE, self.map_type)] {
            if !value.is_empty() {
                out.push((key, json!(value)));
            }
        }
        for (key, value) in [(PATCH_MERGE_KEY, self.merge_key), (PATCH_STRATEGY, self.strategy)] {
            if !value.is_empty() {
                out.push((key, json!(value)));
            }
        }
        out
    }
}

/// Adds the field and struct extensions of the tables to `defs`. Returns the table entries whose
/// definition or property was not found (tests require none).
pub(crate) fn apply(defs: &mut Map<String, Value>) -> Vec<String> {
    let mut missing = Vec::new();
    for ext in FIELDS {
        let prop = defs
            .get_mut(&full_name(ext.def))
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(ext.field))
            .and_then(Value::as_object_mut);
        match prop {
            Some(prop) => {
                for (key, value) in ext.members() {
                    prop.insert(key.to_string(), value);
                }
            }
            None => missing.push(format!("{}.{}", ext.def, ext.field)),
        }
    }
    for (short, map_type) in STRUCTS {
        match defs.get_mut(&full_name(short)).and_then(Value::as_object_mut) {
            Some(def) => {
                def.insert(MAP_TYPE.to_string(), json!(map_type));
            }
            None => missing.push((*short).to_string()),
        }
    }
    missing
}
