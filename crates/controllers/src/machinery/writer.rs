//! The writes controllers make, as JSON against a resource kind: [`Writer`] is the trait,
//! [`ApiWriter`] makes them through the API server, and (in tests) `fake::FakeWriter`
//! records them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, DynamicObject, GetParams, Patch, PatchParams, PostParams, Preconditions};
use kube::discovery::ApiResource;
use kube::Resource;
use serde_json::Value;
pub use skiff_client::events::EventType;
use skiff_client::events::{Recorder, Source};
use skiff_client::raw;
use skiff_client::trimmed::Trimmed;

/// A resource kind controllers write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

pub const PODS: Kind = Kind { group: "", version: "v1", kind: "Pod", plural: "pods" };
pub const SERVICEACCOUNTS: Kind = Kind { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts" };
pub const REPLICATIONCONTROLLERS: Kind =
    Kind { group: "", version: "v1", kind: "ReplicationController", plural: "replicationcontrollers" };
pub const CONTROLLERREVISIONS: Kind =
    Kind { group: "apps", version: "v1", kind: "ControllerRevision", plural: "controllerrevisions" };
pub const REPLICASETS: Kind = Kind { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets" };
pub const DEPLOYMENTS: Kind = Kind { group: "apps", version: "v1", kind: "Deployment", plural: "deployments" };
pub const DAEMONSETS: Kind = Kind { group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets" };
pub const STATEFULSETS: Kind = Kind { group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets" };
pub const JOBS: Kind = Kind { group: "batch", version: "v1", kind: "Job", plural: "jobs" };
pub const CRONJOBS: Kind = Kind { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs" };

/// An Event a controller records about an object (`kubectl describe` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The controller that records it (`replicaset-controller`): the Event's source.
    pub component: &'static str,
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
}

impl Event {
    /// An Event about the object of `kind` that `meta` describes.
    pub fn about(
        component: &'static str,
        kind: Kind,
        meta: &ObjectMeta,
        type_: EventType,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Event {
        let field = |f: &Option<String>| f.clone().unwrap_or_default();
        Event {
            component,
            kind,
            namespace: field(&meta.namespace),
            name: field(&meta.name),
            uid: field(&meta.uid),
            type_,
            reason,
            message: message.into(),
        }
    }

    /// The Event's `involvedObject`.
    pub fn reference(&self) -> ObjectReference {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        ObjectReference {
            api_version: Some(self.kind.api_version()),
            kind: Some(self.kind.kind.into()),
            namespace: some(&self.namespace),
            name: some(&self.name),
            uid: some(&self.uid),
            ..Default::default()
        }
    }
}

/// A failed write: the HTTP status code (0 when the request never got an answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct WriteError {
    pub code: u16,
    pub message: String,
}

impl WriteError {
    pub fn is_not_found(&self) -> bool {
        self.code == 404
    }

    pub fn is_conflict(&self) -> bool {
        self.code == 409
    }
}

impl From<kube::Error> for WriteError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) => WriteError { code: s.code, message: s.message.clone() },
            other => WriteError { code: 0, message: other.to_string() },
        }
    }
}

/// A patch body.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    Merge(Value),
    Strategic(Value),
}

/// How to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delete {
    /// Delete only the object with this uid (a precondition).
    pub uid: Option<String>,
    /// Background, Foreground or Orphan.
    pub propagation: Option<&'static str>,
    /// The grace period, overriding the object's (0: at once, without the kubelet).
    pub grace_seconds: Option<i64>,
}

pub type WriteResult<T> = Result<T, WriteError>;

/// Writes a merge patch to an object's status subresource; an object that is gone is no error.
pub async fn patch_status(
    writer: &dyn Writer,
    kind: Kind,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    patch: Value,
) -> Result<(), crate::ControllerError> {
    let ns = meta.namespace.as_deref().unwrap_or("");
    let name = meta.name.as_deref().unwrap_or("");
    match writer.patch(kind, ns, name, true, PatchBody::Merge(patch)).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(crate::ControllerError::Write(e)),
    }
}

/// `new` as a JSON merge patch over `old`: top-level fields `old` has and `new` lacks are
/// set to null, so they are removed.
pub fn replacing(old: &impl serde::Serialize, new: &impl serde::Serialize) -> Value {
    let old = serde_json::to_value(old).unwrap_or_default();
    let mut new = serde_json::to_value(new).unwrap_or_default();
    if let (Some(old), Some(map)) = (old.as_object(), new.as_object_mut()) {
        for k in old.keys() {
            map.entry(k.clone()).or_insert(Value::Null);
        }
    }
    new
}

/// What controllers write (and the few live reads that must not come from a cache).
pub trait Writer: Send + Sync {
    /// Reads an object from the API server; None when it does not exist.
    fn get(&self, kind: Kind, ns: &str, name: &str) -> BoxFuture<'_, WriteResult<Option<Value>>>;
    /// Creates an object; returns it as stored.
    fn create(&self, kind: Kind, ns: &str, obj: Value) -> BoxFuture<'_, WriteResult<Value>>;
    /// Creates an object; returns only its `metadata` as stored (`{"metadata": {…}}`), for
    /// callers that read nothing else (a controller creating Pods reads their names).
    fn create_metadata(&self, kind: Kind, ns: &str, obj: Value) -> BoxFuture<'_, WriteResult<Value>> {
        let create = self.create(kind, ns, obj);
        Box::pin(async move {
            let mut created = create.await?;
            Ok(serde_json::json!({"metadata": created["metadata"].take()}))
        })
    }
    /// Patches an object or its `status` subresource.
    fn patch(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
        status: bool,
        patch: PatchBody,
    ) -> BoxFuture<'_, WriteResult<Value>>;
    /// Deletes an object.
    fn delete(&self, kind: Kind, ns: &str, name: &str, opts: Delete) -> BoxFuture<'_, WriteResult<()>>;
    /// Records an Event: never waits and never fails (Events are best effort).
    fn event(&self, event: Event);
}

/// An answer of which only the metadata is decoded; the rest is parsed over.
#[derive(serde::Deserialize)]
struct MetadataOnly {
    #[serde(default)]
    metadata: Value,
}

/// Writes through the API server.
pub struct ApiWriter {
    client: kube::Client,
    manager: &'static str,
    /// One Event recorder per controller.
    recorders: Mutex<HashMap<&'static str, Arc<Recorder>>>,
}

impl ApiWriter {
    /// A writer whose writes carry `manager` as their field manager.
    pub fn new(client: kube::Client, manager: &'static str) -> Self {
        ApiWriter { client, manager, recorders: Mutex::new(HashMap::new()) }
    }

    fn recorder(&self, component: &'static str) -> Arc<Recorder> {
        let mut recorders = self.recorders.lock().unwrap_or_else(|e| e.into_inner());
        let recorder = recorders.entry(component).or_insert_with(|| {
            Recorder::new(self.client.clone(), Source { component: component.into(), host: None }, 1)
        });
        recorder.clone()
    }

    /// Requests for objects of `kind` in `ns` (all namespaces, or cluster-scoped, when empty).
    fn request(&self, kind: Kind, ns: &str) -> kube::core::Request {
        let ar = ApiResource {
            group: kind.group.into(),
            version: kind.version.into(),
            api_version: kind.api_version(),
            kind: kind.kind.into(),
            plural: kind.plural.into(),
        };
        kube::core::Request::new(DynamicObject::url_path(&ar, (!ns.is_empty()).then_some(ns)))
    }

    /// A create of `obj` under this writer's field manager.
    fn create_request(&self, kind: Kind, ns: &str, obj: &Value) -> raw::Built {
        let pp = PostParams { field_manager: Some(self.manager.into()), ..PostParams::default() };
        raw::create(&self.request(kind, ns), &pp, obj)
    }

    /// Sends a request and decodes the object it returns straight into a JSON value (not
    /// through kube's typed objects and back), without its managedFields, which no controller
    /// reads (as the objects of its informers).
    async fn send(&self, req: raw::Built) -> WriteResult<Value> {
        Ok(raw::send_for::<Trimmed<Value>>(&self.client, req).await?.0)
    }
}

impl Writer for ApiWriter {
    fn get(&self, kind: Kind, ns: &str, name: &str) -> BoxFuture<'_, WriteResult<Option<Value>>> {
        let req = self.request(kind, ns).get(name, &GetParams::default());
        Box::pin(async move {
            match self.send(req).await {
                Ok(obj) => Ok(Some(obj)),
                Err(e) if e.code == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn create(&self, kind: Kind, ns: &str, obj: Value) -> BoxFuture<'_, WriteResult<Value>> {
        let req = self.create_request(kind, ns, &obj);
        Box::pin(self.send(req))
    }

    fn create_metadata(&self, kind: Kind, ns: &str, obj: Value) -> BoxFuture<'_, WriteResult<Value>> {
        let req = self.create_request(kind, ns, &obj);
        Box::pin(async move {
            let Trimmed(MetadataOnly { metadata }) = raw::send_for(&self.client, req).await?;
            Ok(serde_json::json!({ "metadata": metadata }))
        })
    }

    fn patch(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
        status: bool,
        patch: PatchBody,
    ) -> BoxFuture<'_, WriteResult<Value>> {
        let pp = PatchParams { field_manager: Some(self.manager.into()), ..PatchParams::default() };
        let patch = match patch {
            PatchBody::Merge(v) => Patch::Merge(v),
            PatchBody::Strategic(v) => Patch::Strategic(v),
        };
        let request = self.request(kind, ns);
        let req = if status {
            request.patch_subresource("status", name, &pp, &patch)
        } else {
            request.patch(name, &pp, &patch)
        };
        Box::pin(self.send(req))
    }

    fn delete(&self, kind: Kind, ns: &str, name: &str, opts: Delete) -> BoxFuture<'_, WriteResult<()>> {
        let dp = DeleteParams {
            preconditions: opts.uid.map(|uid| Preconditions { uid: Some(uid), resource_version: None }),
            propagation_policy: opts.propagation.map(|p| match p {
                "Foreground" => kube::api::PropagationPolicy::Foreground,
                "Orphan" => kube::api::PropagationPolicy::Orphan,
                _ => kube::api::PropagationPolicy::Background,
            }),
            grace_period_seconds: opts.grace_seconds.map(|g| g.max(0) as u32),
            ..DeleteParams::default()
        };
        let req = self.request(kind, ns).delete(name, &dp);
        Box::pin(async move { self.send(req).await.map(drop) })
    }

    fn event(&self, event: Event) {
        self.recorder(event.component).event(event.reference(), event.type_, event.reason, event.message);
    }
}

#[cfg(test)]
pub mod fake {
    //! A writer that records every call and answers as the API server would, without one.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// One recorded write.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Call {
        Create { kind: Kind, ns: String, obj: Value },
        Patch { kind: Kind, ns: String, name: String, status: bool, patch: PatchBody },
        Delete { kind: Kind, ns: String, name: String, opts: Delete },
    }

    /// Records writes; creates get a generated name and uid. Reads answer from `objects`
    /// (by `plural/namespace/name`).
    #[derive(Default)]
    pub struct FakeWriter {
        pub calls: Mutex<Vec<Call>>,
        /// Events, apart from the writes.
        pub recorded: Mutex<Vec<Event>>,
        pub objects: Mutex<std::collections::HashMap<String, Value>>,
        counter: AtomicUsize,
        /// Creates fail with this code once this many have succeeded.
        pub fail_creates_after: Mutex<Option<(usize, u16)>>,
    }

    impl FakeWriter {
        pub fn calls(&self) -> Vec<Call> {
            self.calls.lock().unwrap().clone()
        }

        pub fn take(&self) -> Vec<Call> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }

        pub fn created(&self) -> Vec<Value> {
            let calls = self.calls();
            calls.into_iter().filter_map(|c| if let Call::Create { obj, .. } = c { Some(obj) } else { None }).collect()
        }

        /// What was created of `kind`.
        pub fn created_of(&self, of: Kind) -> Vec<Value> {
            let calls = self.calls();
            calls
                .into_iter()
                .filter_map(|c| if let Call::Create { kind, obj, .. } = c { (kind == of).then_some(obj) } else { None })
                .collect()
        }

        /// Makes `obj` readable.
        pub fn put(&self, kind: Kind, obj: Value) {
            let ns = obj["metadata"]["namespace"].as_str().unwrap_or("").to_string();
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            self.objects.lock().unwrap().insert(format!("{}/{ns}/{name}", kind.plural), obj);
        }

        /// The recorded Events, as `reason: message`.
        pub fn events(&self) -> Vec<String> {
            self.recorded.lock().unwrap().iter().map(|e| format!("{}: {}", e.reason, e.message)).collect()
        }

        pub fn deleted(&self) -> Vec<String> {
            let calls = self.calls();
            calls
                .into_iter()
                .filter_map(|c| if let Call::Delete { name, .. } = c { Some(name) } else { None })
                .collect()
        }
    }

    impl Writer for FakeWriter {
        fn get(&self, kind: Kind, ns: &str, name: &str) -> BoxFuture<'_, WriteResult<Option<Value>>> {
            let found = self.objects.lock().unwrap().get(&format!("{}/{ns}/{name}", kind.plural)).cloned();
            Box::pin(async move { Ok(found) })
        }

        fn create(&self, kind: Kind, ns: &str, mut obj: Value) -> BoxFuture<'_, WriteResult<Value>> {
            let n = self.counter.fetch_add(1, Ordering::SeqCst);
            let fail = match *self.fail_creates_after.lock().unwrap() {
                Some((after, code)) if n >= after => Some(code),
                _ => None,
            };
            if fail.is_none() {
                let meta = &mut obj["metadata"];
                if meta.get("name").is_none() {
                    let base = meta.get("generateName").and_then(Value::as_str).unwrap_or("").to_string();
                    meta["name"] = Value::String(format!("{base}{n:05}"));
                }
                meta["uid"] = Value::String(format!("uid-{n}"));
                meta["namespace"] = Value::String(ns.to_string());
                self.calls.lock().unwrap().push(Call::Create { kind, ns: ns.into(), obj: obj.clone() });
            }
            Box::pin(async move {
                match fail {
                    Some(code) => Err(WriteError { code, message: "create refused".into() }),
                    None => Ok(obj),
                }
            })
        }

        fn patch(
            &self,
            kind: Kind,
            ns: &str,
            name: &str,
            status: bool,
            patch: PatchBody,
        ) -> BoxFuture<'_, WriteResult<Value>> {
            self.calls.lock().unwrap().push(Call::Patch { kind, ns: ns.into(), name: name.into(), status, patch });
            Box::pin(async { Ok(Value::Null) })
        }

        fn delete(&self, kind: Kind, ns: &str, name: &str, opts: Delete) -> BoxFuture<'_, WriteResult<()>> {
            self.calls.lock().unwrap().push(Call::Delete { kind, ns: ns.into(), name: name.into(), opts });
            Box::pin(async { Ok(()) })
        }

        fn event(&self, event: Event) {
            self.recorded.lock().unwrap().push(event);
        }
    }
}
