//! Objects every cluster has from the start.

use serde_json::json;
use skiff_api::{priority, resources, ApiError};

use crate::registry::{Registry, WriteOptions};

/// The namespaces Kubernetes makes at start.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

pub async fn namespaces(registry: &Registry) -> Result<(), ApiError> {
    let res = resources::lookup("", "v1", "namespaces").expect("namespaces are served");
    let opts = WriteOptions { field_manager: "skiff-apiserver".into(), ..WriteOptions::default() };
    for ns in SYSTEM_NAMESPACES {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match registry.create(res, None, obj, &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    registry.resume_namespace_deletions().await
}

/// The system PriorityClasses (`system-node-critical`, `system-cluster-critical`), created when
/// missing and otherwise left as they are, as kube-apiserver's bootstrap hook does.
pub async fn priority_classes(registry: &Registry) -> Result<(), ApiError> {
    let res = resources::lookup("scheduling.k8s.io", "v1", "priorityclasses").expect("priorityclasses are served");
    let opts = WriteOptions { field_manager: "skiff-apiserver".into(), ..WriteOptions::default() };
    for class in priority::SYSTEM_PRIORITY_CLASSES {
        match registry.create(res, None, class.object(), &opts).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
