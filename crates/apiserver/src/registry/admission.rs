//! The admission that needs the store or the server's flags. kube-apiserver's `Priority` plugin:
//! a new Pod gets the priority and preemption policy of the PriorityClass it names (or of the
//! global default one), at most one PriorityClass is the global default, and the system classes
//! cannot be deleted; the decisions are `skiff_api::priority`'s, this module looks the classes
//! up. `DefaultTolerationSeconds`: Pods tolerate unreachable and not-ready nodes for the
//! configured seconds unless they say otherwise.

use serde_json::Value;
use skiff_api::{defaults, priority, resources, ApiError, At, ResourceInfo};
use skiff_store::KeyValue;

use super::{ListOptions, Registry};
use crate::objects;

/// Admission plugin settings (kube-apiserver flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// `--default-not-ready-toleration-seconds`
    pub default_not_ready_toleration_seconds: i64,
    /// `--default-unreachable-toleration-seconds`
    pub default_unreachable_toleration_seconds: i64,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig { default_not_ready_toleration_seconds: 300, default_unreachable_toleration_seconds: 300 }
    }
}

impl AdmissionConfig {
    fn add_default_tolerations(&self, pod: &mut Value) {
        defaults::add_default_tolerations(
            pod,
            self.default_not_ready_toleration_seconds,
            self.default_unreachable_toleration_seconds,
        );
    }
}

fn is_pod(res: &ResourceInfo) -> bool {
    res.group.is_empty() && res.kind == "Pod"
}

fn is_priority_class(res: &ResourceInfo) -> bool {
    res.group == "scheduling.k8s.io" && res.kind == "PriorityClass"
}

const GLOBAL_DEFAULT: &[u8] = b"\"globalDefault\":true";

fn priority_classes() -> &'static ResourceInfo {
    resources::lookup("scheduling.k8s.io", "v1", "priorityclasses").expect("priorityclasses are served")
}

/// `admission.NewForbidden`: `pods "x" is forbidden: <reason>`, naming the object by its name,
/// else its generateName (names are generated after admission), else `Unknown`.
fn forbidden(res: &ResourceInfo, obj: &Value, reason: &str) -> ApiError {
    let meta = |key: &str| obj.at(&format!("/metadata/{key}")).and_then(Value::as_str).filter(|s| !s.is_empty());
    let name = meta("name").or_else(|| meta("generateName")).unwrap_or("Unknown");
    ApiError::forbidden_object(res.group, res.plural, name, reason)
}

/// The priorityclasses storage's `Delete`: a system class cannot be deleted (a delete of the
/// whole collection goes past it, as kube-apiserver's does).
pub fn check_delete(res: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    if !is_priority_class(res) {
        return Ok(());
    }
    priority::check_delete(name).map_err(|reason| ApiError::forbidden_object(res.group, res.plural, name, &reason))
}

impl Registry {
    /// The PriorityClass marked globalDefault (the lowest-valued one if several are).
    async fn default_priority_class(&self) -> Result<Option<Value>, ApiError> {
        let list = self.list_raw(priority_classes(), None, &ListOptions::default()).await?;
        // Objects are stored as compact JSON: only a class saying `"globalDefault":true` can
        // be the default, and only those are decoded (this runs for every Pod created).
        let marked = |kv: &&KeyValue| memchr::memmem::find(&kv.value, GLOBAL_DEFAULT).is_some();
        let candidates: Vec<Value> = list.items.iter().filter(marked).map(objects::decode).collect::<Result<_, _>>()?;
        Ok(priority::global_default(&candidates).cloned())
    }

    /// Mutating admission of a new object (before defaulting and validation): a Pod's priority
    /// and default tolerations.
    pub(super) async fn admit_create(&self, res: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
        if !is_pod(res) {
            return Ok(());
        }
        self.admission.add_default_tolerations(obj);
        let name = priority::pod_class_name(obj).to_string();
        let class = if name.is_empty() {
            self.default_priority_class().await?
        } else {
            match self.get(priority_classes(), None, &name).await {
                Ok(class) => Some(class),
                Err(e) if e.code == 404 => None,
                Err(e) => return Err(e),
            }
        };
        priority::admit_pod_create(obj, class.as_ref()).map_err(|reason| forbidden(res, obj, &reason))
    }

    /// Validating admission of a valid new (`old` = None) or updated object: one global default
    /// PriorityClass.
    pub(super) async fn validate_admission(
        &self,
        res: &ResourceInfo,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        if !is_priority_class(res) || !priority::is_global_default(obj) {
            return Ok(());
        }
        let current = self.default_priority_class().await?;
        priority::check_global_default(obj, current.as_ref(), old.is_some())
            .map_err(|reason| forbidden(res, obj, &reason))
    }
}

impl Registry {
    /// Mutating admission of an update of the main resource: a Pod keeps the priority it was
    /// given and gets the default tolerations it lacks.
    pub(super) fn admit_update(&self, res: &ResourceInfo, new: &mut Value, old: &Value) {
        if is_pod(res) {
            priority::admit_pod_update(new, old);
            self.admission.add_default_tolerations(new);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use skiff_store::MemoryStore;

    use super::*;
    use crate::registry::{DeleteOptions, UpdateKind, WriteOptions};

    fn pods() -> &'static ResourceInfo {
        resources::lookup("", "v1", "pods").unwrap()
    }

    async fn registry() -> Registry {
        let registry = Registry::new(Arc::new(MemoryStore::new()));
        crate::bootstrap::namespaces(&registry).await.unwrap();
        crate::bootstrap::priority_classes(&registry).await.unwrap();
        registry
    }

    fn pod(name: &str, spec: Value) -> Value {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "image": "busybox"}]);
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    }

    fn class(name: &str, value: i64, default: bool) -> Value {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
               "value": value, "globalDefault": default})
    }

    async fn create(r: &Registry, res: &ResourceInfo, obj: Value) -> Result<Value, ApiError> {
        let ns = res.namespaced.then_some("default");
        r.create(res, ns, obj, &WriteOptions::default()).await.map(|w| w.object.to_value())
    }

    #[tokio::test]
    async fn pods_get_the_priority_of_their_class() {
        let r = registry().await;
        create(&r, priority_classes(), class("high", 1000, false)).await.unwrap();
        let p = create(&r, pods(), pod("a", json!({"priorityClassName": "high"}))).await.unwrap();
        assert_eq!(
            (&p["spec"]["priority"], &p["spec"]["preemptionPolicy"]),
            (&json!(1000), &json!("PreemptLowerPriority"))
        );
        let p = create(&r, pods(), pod("b", json!({"priorityClassName": "system-node-critical"}))).await.unwrap();
        assert_eq!(p["spec"]["priority"], 2_000_001_000);
        let p = create(&r, pods(), pod("c", json!({}))).await.unwrap();
        assert_eq!(p["spec"]["priority"], 0);
        assert!(p["spec"].get("priorityClassName").is_none());

        let e = create(&r, pods(), pod("d", json!({"priorityClassName": "foo"}))).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (403, "pods \"d\" is forbidden: no PriorityClass with name foo was found")
        );
        let mut generated = pod("", json!({"priorityClassName": "foo"}));
        generated["metadata"] = json!({"generateName": "web-"});
        let e = create(&r, pods(), generated).await.unwrap_err();
        assert!(e.message.starts_with("pods \"web-\" is forbidden"), "{}", e.message);
        let e = create(&r, pods(), pod("e", json!({"priorityClassName": "high", "priority": 5}))).await.unwrap_err();
        assert!(e.message.contains("the integer value of priority (5) must not be provided"), "{}", e.message);

        // An update that leaves the priority out keeps it.
        let w = r
            .guaranteed_update(pods(), Some("default"), "a", UpdateKind::Main, &WriteOptions::default(), |old, _| {
                let mut new = old.tree().clone();
                let spec = new["spec"].as_object_mut().unwrap();
                spec.remove("priority");
                spec.remove("preemptionPolicy");
                new["metadata"]["labels"] = json!({"x": "y"});
                Ok(new)
            })
            .await
            .unwrap();
        assert_eq!(w.object["spec"]["priority"], 1000);
    }

    #[tokio::test]
    async fn one_global_default_which_pods_without_a_class_get() {
        let r = registry().await;
        create(&r, priority_classes(), class("low", -10, true)).await.unwrap();
        let e = create(&r, priority_classes(), class("other", 5, true)).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass low is already marked as default. \
             Only one default can exist"
        );
        create(&r, priority_classes(), class("other", 5, false)).await.unwrap();
        let e = r
            .guaranteed_update(
                priority_classes(),
                None,
                "other",
                UpdateKind::Main,
                &WriteOptions::default(),
                |old, _| {
                    let mut new = old.tree().clone();
                    new["globalDefault"] = json!(true);
                    Ok(new)
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, 403);
        r.guaranteed_update(priority_classes(), None, "low", UpdateKind::Main, &WriteOptions::default(), |old, _| {
            let mut new = old.tree().clone();
            new["description"] = json!("still the default");
            Ok(new)
        })
        .await
        .unwrap();

        let p = create(&r, pods(), pod("a", json!({}))).await.unwrap();
        assert_eq!(p["spec"]["priorityClassName"], "low");
        assert_eq!(p["spec"]["priority"], -10);
    }

    #[tokio::test]
    async fn system_classes_exist_and_cannot_be_deleted() {
        let r = registry().await;
        let pc = r.get(priority_classes(), None, "system-cluster-critical").await.unwrap();
        assert_eq!(pc["value"], 2_000_000_000);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(pc["metadata"]["generation"], 1);
        // Bootstrapping again changes nothing.
        crate::bootstrap::priority_classes(&r).await.unwrap();
        let e = check_delete(priority_classes(), "system-node-critical").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                403,
                "priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a system priority \
                 class and cannot be deleted"
            )
        );
        create(&r, priority_classes(), class("high", 1, false)).await.unwrap();
        assert!(check_delete(priority_classes(), "high").is_ok());
        r.delete(priority_classes(), None, "high", &DeleteOptions::default()).await.unwrap();
    }
}
