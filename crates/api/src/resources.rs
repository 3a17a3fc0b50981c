//! The table of resources skiff serves: names, kinds, scopes and subresources, as discovery
//! documents and REST paths need them.

/// A subresource of a resource (`pods/status`, `deployments/scale`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubresourceInfo {
    pub name: &'static str,
    /// Group, version and kind of the object the subresource takes and returns.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// One resource type served by the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core ("legacy") group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    /// Lowercase plural: the path segment (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub namespaced: bool,
    pub subresources: &'static [SubresourceInfo],
    /// OpenAPI definition name of the kind (`io.k8s.api.core.v1.Pod`).
    pub definition: &'static str,
    /// Whether the object has a status that only the status subresource may change.
    pub has_status: bool,
}

/// Verbs of a normal resource.
pub const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const fn status(group: &'static str, version: &'static str, kind: &'static str) -> SubresourceInfo {
    SubresourceInfo { name: "status", group, version, kind, verbs: STATUS_VERBS }
}
const fn scale() -> SubresourceInfo {
    SubresourceInfo { name: "scale", group: "autoscaling", version: "v1", kind: "Scale", verbs: STATUS_VERBS }
}

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $short:expr, $cat:expr,
     $namespaced:expr, $def:expr, $has_status:expr, $subs:expr) => {
        ResourceInfo {
            group: $group,
            version: $version,
            kind: $kind,
            list_kind: concat!($kind, "List"),
            plural: $plural,
            singular: $singular,
            short_names: $short,
            categories: $cat,
            namespaced: $namespaced,
            subresources: $subs,
            definition: $def,
            has_status: $has_status,
        }
    };
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// Every resource skiff serves, in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    res!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        &["ns"],
        NONE,
        false,
        "io.k8s.api.core.v1.Namespace",
        true,
        &[status("", "v1", "Namespace")]
    ),
    res!(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        &["po"],
        ALL,
        true,
        "io.k8s.api.core.v1.Pod",
        true,
        &[
            status("", "v1", "Pod"),
            SubresourceInfo { name: "binding", group: "", version: "v1", kind: "Binding", verbs: &["create"] },
            SubresourceInfo { name: "eviction", group: "policy", version: "v1", kind: "Eviction", verbs: &["create"] },
            SubresourceInfo { name: "log", group: "", version: "v1", kind: "Pod", verbs: &["get"] },
            SubresourceInfo {
                name: "exec",
                group: "",
                version: "v1",
                kind: "PodExecOptions",
                verbs: &["create", "get"]
            },
            SubresourceInfo {
                name: "attach",
                group: "",
                version: "v1",
                kind: "PodAttachOptions",
                verbs: &["create", "get"],
            },
            SubresourceInfo {
                name: "portforward",
                group: "",
                version: "v1",
                kind: "PodPortForwardOptions",
                verbs: &["create", "get"],
            },
        ]
    ),
    res!(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        &["rc"],
        ALL,
        true,
        "io.k8s.api.core.v1.ReplicationController",
        true,
        &[status("", "v1", "ReplicationController"), scale()]
    ),
    res!(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        &["no"],
        NONE,
        false,
        "io.k8s.api.core.v1.Node",
        true,
        &[status("", "v1", "Node")]
    ),
    res!("", "v1", "Event", "events", "event", &["ev"], NONE, true, "io.k8s.api.core.v1.Event", false, &[]),
    res!(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        &["cm"],
        NONE,
        true,
        "io.k8s.api.core.v1.ConfigMap",
        false,
        &[]
    ),
    res!("", "v1", "Secret", "secrets", "secret", NONE, NONE, true, "io.k8s.api.core.v1.Secret", false, &[]),
    res!(
        "",
        "v1",
        "Service",
        "services",
        "service",
        &["svc"],
        ALL,
        true,
        "io.k8s.api.core.v1.Service",
        true,
        &[status("", "v1", "Service")]
    ),
    res!(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        &["ep"],
        NONE,
        true,
        "io.k8s.api.core.v1.Endpoints",
        false,
        &[]
    ),
    res!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        &["sa"],
        NONE,
        true,
        "io.k8s.api.core.v1.ServiceAccount",
        false,
        &[]
    ),
    res!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        &["deploy"],
        ALL,
        true,
        "io.k8s.api.apps.v1.Deployment",
        true,
        &[status("apps", "v1", "Deployment"), scale()]
    ),
    res!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        &["rs"],
        ALL,
        true,
        "io.k8s.api.apps.v1.ReplicaSet",
        true,
        &[status("apps", "v1", "ReplicaSet"), scale()]
    ),
    res!(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        NONE,
        NONE,
        true,
        "io.k8s.api.apps.v1.ControllerRevision",
        false,
        &[]
    ),
    res!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        &["sts"],
        ALL,
        true,
        "io.k8s.api.apps.v1.StatefulSet",
        true,
        &[status("apps", "v1", "StatefulSet"), scale()]
    ),
    res!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        &["ds"],
        ALL,
        true,
        "io.k8s.api.apps.v1.DaemonSet",
        true,
        &[status("apps", "v1", "DaemonSet")]
    ),
    res!(
        "batch",
        "v1",
        "Job",
        "jobs",
        "job",
        NONE,
        ALL,
        true,
        "io.k8s.api.batch.v1.Job",
        true,
        &[status("batch", "v1", "Job")]
    ),
    res!(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        &["cj"],
        ALL,
        true,
        "io.k8s.api.batch.v1.CronJob",
        true,
        &[status("batch", "v1", "CronJob")]
    ),
    res!(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        &["pc"],
        NONE,
        false,
        "io.k8s.api.scheduling.v1.PriorityClass",
        false,
        &[]
    ),
    res!(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        NONE,
        NONE,
        true,
        "io.k8s.api.coordination.v1.Lease",
        false,
        &[]
    ),
    res!(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        &["ev"],
        NONE,
        true,
        "io.k8s.api.events.v1.Event",
        false,
        &[]
    ),
];

/// The group-versions served, in discovery order (core first).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Looks a resource up by group, version and plural.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Looks a resource up by group and kind (any served version).
pub fn lookup_kind(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.kind == kind)
}

impl ResourceInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `deployments.apps`, as Kubernetes names a resource in messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The store key prefix of the resource, ending in `/`: `/registry/pods/` or
    /// `/registry/apps/deployments/`. Namespaced objects live under `<prefix><ns>/<name>`.
    pub fn key_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/registry/{}/", self.plural)
        } else {
            format!("/registry/{}/{}/", self.group, self.plural)
        }
    }

    /// The store key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{}/{}", self.key_prefix(), ns, name),
            _ => format!("{}{}", self.key_prefix(), name),
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_kubernetes_layout() {
        let pods = lookup("", "v1", "pods").unwrap();
        assert_eq!(pods.key(Some("default"), "web"), "/registry/pods/default/web");
        let deps = lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(deps.key(Some("a"), "b"), "/registry/apps/deployments/a/b");
        let nodes = lookup("", "v1", "nodes").unwrap();
        assert_eq!(nodes.key(None, "n1"), "/registry/nodes/n1");
        assert_eq!(deps.qualified_plural(), "deployments.apps");
    }

    #[test]
    fn group_versions_are_unique_and_core_first() {
        let gvs = group_versions();
        assert_eq!(gvs[0], ("", "v1"));
        assert!(gvs.contains(&("apps", "v1")));
        assert!(gvs.contains(&("scheduling.k8s.io", "v1")));
        assert_eq!(gvs.len(), 6);
    }
}
