//! Server-side `as=Table` rendering with the columns and cell formatting of kube-apiserver's
//! printers (`kubernetes/pkg/printers/internalversion/printers.go`, rendered with `Wide: true` as
//! the apiserver's `TableConvertor` does, so priority-1 columns always carry cells), and the
//! default `Name`/`Created At` table of `apiserver/pkg/registry/rest/table.go` for resources
//! without a printer.
//!
//! Everything works on the stored JSON and never panics on odd or missing fields.

mod core_v1;
mod descriptions;
mod format;
mod pods;
mod workloads;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::resources::ResourceInfo;
use descriptions as d;

pub use format::{human_duration, translate_timestamp_since};

/// One Table column definition (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column title as kubectl shows it (upper-cased by kubectl): `Name`, `Ready`, ...
    pub name: &'static str,
    /// `string`, `integer`, `boolean`, `date`, ...
    pub type_: &'static str,
    /// `name` for the object name column, otherwise usually empty.
    pub format: &'static str,
    /// Human description (from the API documentation).
    pub description: &'static str,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: i32,
}

const fn col(name: &'static str, type_: &'static str, description: &'static str, priority: i32) -> Column {
    Column { name, type_, format: "", description, priority }
}

/// The `Name` column (format `name`).
const NAME: Column = Column { name: "Name", type_: "string", format: "name", description: d::NAME, priority: 0 };
const AGE: Column = col("Age", "string", d::CREATED, 0);
const CONTAINERS: Column = col("Containers", "string", "Names of each container in the template.", 1);
const IMAGES: Column = col("Images", "string", "Images referenced by each container in the template.", 1);

const POD_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
    col("Status", "string", "The aggregate status of the containers in this pod.", 0),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    AGE,
    col("IP", "string", d::POD_IP, 1),
    col("Node", "string", d::POD_NODE_NAME, 1),
    col("Nominated Node", "string", d::POD_NOMINATED, 1),
    col("Readiness Gates", "string", d::POD_READINESS_GATES, 1),
];

const NODE_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node", 0),
    col("Roles", "string", "The roles of the node", 0),
    AGE,
    col("Version", "string", d::NODE_KUBELET, 0),
    col("Internal-IP", "string", d::NODE_ADDRESSES, 1),
    col("External-IP", "string", d::NODE_ADDRESSES, 1),
    col("OS-Image", "string", d::NODE_OS_IMAGE, 1),
    col("Kernel-Version", "string", d::NODE_KERNEL, 1),
    col("Container-Runtime", "string", d::NODE_RUNTIME, 1),
];

const NAMESPACE_COLUMNS: &[Column] = &[NAME, col("Status", "string", "The status of the namespace", 0), AGE];

const EVENT_COLUMNS: &[Column] = &[
    col("Last Seen", "string", d::EV_LAST, 0),
    col("Type", "string", d::EV_TYPE, 0),
    col("Reason", "string", d::EV_REASON, 0),
    col("Object", "string", d::EV_OBJECT, 0),
    col("Subobject", "string", d::EV_FIELD_PATH, 1),
    col("Source", "string", d::EV_SOURCE, 1),
    col("Message", "string", d::EV_MESSAGE, 0),
    col("First Seen", "string", d::EV_FIRST, 1),
    col("Count", "string", d::EV_COUNT, 1),
    Column { name: "Name", type_: "string", format: "name", description: d::NAME, priority: 1 },
];

const CONFIGMAP_COLUMNS: &[Column] = &[NAME, col("Data", "string", d::CM_DATA, 0), AGE];

const SECRET_COLUMNS: &[Column] =
    &[NAME, col("Type", "string", d::SECRET_TYPE, 0), col("Data", "string", d::SECRET_DATA, 0), AGE];

const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", d::SVC_TYPE, 0),
    col("Cluster-IP", "string", d::SVC_CLUSTER_IP, 0),
    col("External-IP", "string", d::SVC_EXTERNAL_IPS, 0),
    col("Port(s)", "string", d::SVC_PORTS, 0),
    AGE,
    col("Selector", "string", d::SVC_SELECTOR, 1),
];

const ENDPOINTS_COLUMNS: &[Column] = &[NAME, col("Endpoints", "string", d::EP_SUBSETS, 0), AGE];

const SERVICE_ACCOUNT_COLUMNS: &[Column] = &[NAME, col("Secrets", "string", d::SA_SECRETS, 0), AGE];

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state", 0),
    col("Up-to-date", "string", d::DEPLOY_UPDATED, 0),
    col("Available", "string", d::DEPLOY_AVAILABLE, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::DEPLOY_SELECTOR, 1),
];

const REPLICASET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::RS_REPLICAS, 0),
    col("Current", "integer", d::RS_STATUS_REPLICAS, 0),
    col("Ready", "integer", d::RS_READY, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::RS_SELECTOR, 1),
];

const STATEFULSET_COLUMNS: &[Column] =
    &[NAME, col("Ready", "string", "Number of the pod with ready state", 0), AGE, CONTAINERS, IMAGES];

const DAEMONSET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::DS_DESIRED, 0),
    col("Current", "integer", d::DS_CURRENT, 0),
    col("Ready", "integer", d::DS_READY, 0),
    col("Up-to-date", "integer", d::DS_UPDATED, 0),
    col("Available", "integer", d::DS_AVAILABLE, 0),
    col("Node Selector", "string", d::POD_NODE_SELECTOR, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::DS_SELECTOR, 1),
];

const JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job.", 0),
    col("Completions", "string", d::JOB_SUCCEEDED, 0),
    col("Duration", "string", "Time required to complete the job.", 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::JOB_SELECTOR, 1),
];

const CRONJOB_COLUMNS: &[Column] = &[
    NAME,
    col("Schedule", "string", d::CJ_SCHEDULE, 0),
    col("Timezone", "string", d::CJ_TIMEZONE, 0),
    col("Suspend", "boolean", d::CJ_SUSPEND, 0),
    col("Active", "integer", d::CJ_ACTIVE, 0),
    col("Last Schedule", "string", d::CJ_LAST_SCHEDULE, 0),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "string", d::JOB_SELECTOR, 1),
];

const LEASE_COLUMNS: &[Column] = &[NAME, col("Holder", "string", d::LEASE_HOLDER, 0), AGE];

const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller of the object", 0),
    col("Revision", "integer", d::CR_REVISION, 0),
    AGE,
];

const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Value", "integer", d::PC_VALUE, 0),
    col("Global-Default", "boolean", d::PC_GLOBAL_DEFAULT, 0),
    AGE,
    col("PreemptionPolicy", "string", d::PC_PREEMPTION_POLICY, 0),
];

const DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", d::CREATED, 0)];

/// Which printer renders a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printer {
    Pod,
    Node,
    Namespace,
    Event,
    EventsV1,
    ConfigMap,
    Secret,
    Service,
    Endpoints,
    ServiceAccount,
    Deployment,
    ReplicaSet,
    ReplicationController,
    ControllerRevision,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    Lease,
    PriorityClass,
    Default,
}

impl Printer {
    fn of(r: &ResourceInfo) -> Printer {
        match (r.group, r.plural) {
            ("", "pods") => Printer::Pod,
            ("", "nodes") => Printer::Node,
            ("", "namespaces") => Printer::Namespace,
            ("", "events") => Printer::Event,
            ("events.k8s.io", "events") => Printer::EventsV1,
            ("", "configmaps") => Printer::ConfigMap,
            ("", "secrets") => Printer::Secret,
            ("", "services") => Printer::Service,
            ("", "endpoints") => Printer::Endpoints,
            ("", "serviceaccounts") => Printer::ServiceAccount,
            ("apps", "deployments") => Printer::Deployment,
            ("apps", "replicasets") => Printer::ReplicaSet,
            ("", "replicationcontrollers") => Printer::ReplicationController,
            ("apps", "statefulsets") => Printer::StatefulSet,
            ("apps", "daemonsets") => Printer::DaemonSet,
            ("batch", "jobs") => Printer::Job,
            ("batch", "cronjobs") => Printer::CronJob,
            ("coordination.k8s.io", "leases") => Printer::Lease,
            ("apps", "controllerrevisions") => Printer::ControllerRevision,
            ("scheduling.k8s.io", "priorityclasses") => Printer::PriorityClass,
            _ => Printer::Default,
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Printer::Pod => POD_COLUMNS,
            Printer::Node => NODE_COLUMNS,
            Printer::Namespace => NAMESPACE_COLUMNS,
            Printer::Event | Printer::EventsV1 => EVENT_COLUMNS,
            Printer::ConfigMap => CONFIGMAP_COLUMNS,
            Printer::Secret => SECRET_COLUMNS,
            Printer::Service => SERVICE_COLUMNS,
            Printer::Endpoints => ENDPOINTS_COLUMNS,
            Printer::ServiceAccount => SERVICE_ACCOUNT_COLUMNS,
            Printer::Deployment => DEPLOYMENT_COLUMNS,
            Printer::ReplicaSet | Printer::ReplicationController => REPLICASET_COLUMNS,
            Printer::StatefulSet => STATEFULSET_COLUMNS,
            Printer::DaemonSet => DAEMONSET_COLUMNS,
            Printer::Job => JOB_COLUMNS,
            Printer::CronJob => CRONJOB_COLUMNS,
            Printer::Lease => LEASE_COLUMNS,
            Printer::ControllerRevision => CONTROLLER_REVISION_COLUMNS,
            Printer::PriorityClass => PRIORITY_CLASS_COLUMNS,
            Printer::Default => DEFAULT_COLUMNS,
        }
    }
}

/// The column definitions kube-apiserver sends for the resource.
pub fn columns(resource: &ResourceInfo) -> &'static [Column] {
    Printer::of(resource).columns()
}

/// Whether the resource has a dedicated printer (otherwise the default `Name`/`Created At`).
pub fn has_printer(resource: &ResourceInfo) -> bool {
    Printer::of(resource) != Printer::Default
}

/// `columnDefinitions` JSON: `[{name,type,format,description,priority}]` (all fields always
/// present, as `metav1.TableColumnDefinition` has no `omitempty`).
pub fn column_definitions_json(resource: &ResourceInfo) -> Value {
    Value::Array(
        columns(resource)
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.type_,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

/// The cells of one row (one per column of [`columns`]), with ages computed against `now`.
pub fn row(resource: &ResourceInfo, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    match Printer::of(resource) {
        Printer::Pod => pods::row(obj, now),
        Printer::Node => core_v1::node(obj, now),
        Printer::Namespace => core_v1::namespace(obj, now),
        Printer::Event => core_v1::event(obj, now, &core_v1::CORE_EVENT),
        Printer::EventsV1 => core_v1::event(obj, now, &core_v1::EVENTS_V1_EVENT),
        Printer::ConfigMap => core_v1::config_map(obj, now),
        Printer::Secret => core_v1::secret(obj, now),
        Printer::Service => core_v1::service(obj, now),
        Printer::Endpoints => core_v1::endpoints(obj, now),
        Printer::ServiceAccount => core_v1::service_account(obj, now),
        Printer::Lease => core_v1::lease(obj, now),
        Printer::PriorityClass => core_v1::priority_class(obj, now),
        Printer::Deployment => workloads::deployment(obj, now),
        Printer::ReplicaSet => workloads::replica_set(obj, now),
        Printer::ReplicationController => workloads::replication_controller(obj, now),
        Printer::ControllerRevision => workloads::controller_revision(obj, now),
        Printer::StatefulSet => workloads::stateful_set(obj, now),
        Printer::DaemonSet => workloads::daemon_set(obj, now),
        Printer::Job => workloads::job(obj, now),
        Printer::CronJob => workloads::cron_job(obj, now),
        Printer::Default => default_row(obj),
    }
}

/// The row `conditions` kube-apiserver attaches (pods that Succeeded or Failed carry
/// `Completed=True`), or `None`.
pub fn row_conditions(resource: &ResourceInfo, obj: &Value) -> Option<Value> {
    if Printer::of(resource) != Printer::Pod {
        return None;
    }
    let (reason, message) = match format::str_at(obj, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

/// `defaultTableConvertor`: name and the creation timestamp in RFC 3339 (UTC, zero time when
/// absent).
fn default_row(obj: &Value) -> Vec<Value> {
    let created = format::time_at(obj, &["metadata", "creationTimestamp"])
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![json!(format::name(obj)), json!(created)]
}

#[cfg(test)]
#[path = "table/tests.rs"]
mod tests;
