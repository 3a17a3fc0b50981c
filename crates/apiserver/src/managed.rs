//! Field managers: every non-apply write records the fields it changed in
//! `metadata.managedFields` under its manager (operation Update), as kube-apiserver does.

use serde_json::Value;
use skiff_api::ResourceInfo;

use crate::objects;

/// Records `manager`'s Update of `new` (from `old`, None on create) in `new`'s managedFields.
pub fn track(res: &ResourceInfo, old: Option<&Value>, new: &mut Value, manager: &str, subresource: Option<&str>) {
    let meta = skiff_openapi::registry();
    let now = objects::now_rfc3339();
    skiff_patch::track_update(old, new, manager, "Update", subresource, res.definition, meta, &now);
}
