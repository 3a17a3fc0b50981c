//! The `$retainKeys` and `$setElementOrder/<field>` directives, and directive key parsing.

use serde_json::{Map, Value};

use super::list::{
    extract_to_delete_items, normalize_element_order, partition_maps, partition_primitives, slice_element_type,
};
use super::{
    as_list, Ctx, Merger, DELETE_FROM_PRIMITIVE_LIST_PREFIX, DIRECTIVE_MARKER, RETAIN_KEYS_DIRECTIVE,
    SET_ELEMENT_ORDER_PREFIX,
};
use crate::error::{go_fmt, PatchError, GO_MAP, GO_SLICE};

/// `extractKey`: `$deleteFromPrimitiveList/finalizers` → `finalizers`.
pub(crate) fn extract_key(s: &str, prefix: &str) -> Result<String, PatchError> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ => Err(match prefix {
            DELETE_FROM_PRIMITIVE_LIST_PREFIX => PatchError::bad_primitive_list(),
            SET_ELEMENT_ORDER_PREFIX => PatchError::bad_set_element_order(),
            _ => PatchError::invalid(format!("fail to find unknown prefix {prefix:?} in {s}\n")),
        }),
    }
}

/// `applyRetainKeysDirective`: with `$retainKeys` present, clears the keys of `original` not
/// listed; every non-null key of the patch must be listed.
pub(crate) fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(list) = retain else {
        return Err(PatchError::bad_retain_keys());
    };
    let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) || k.starts_with(SET_ELEMENT_ORDER_PREFIX) {
            continue;
        }
        if !listed(k) {
            return Err(PatchError::bad_retain_keys());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `mergeKeyValueEqual`.
fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let l = left.as_object().ok_or_else(|| PatchError::bad_arg_type(GO_MAP, left))?;
    let r = right.as_object().ok_or_else(|| PatchError::bad_arg_type(GO_MAP, right))?;
    let lv = l.get(merge_key).ok_or_else(|| PatchError::no_merge_key(left, merge_key))?;
    let rv = r.get(merge_key).ok_or_else(|| PatchError::no_merge_key(right, merge_key))?;
    Ok(lv == rv)
}

/// `validatePatchWithSetOrderList`: the patch list's items (deletions aside) must appear in
/// the `$setElementOrder` list, in the same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    set_order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if set_order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete =
        if merge_key.is_empty() { patch_list.to_vec() } else { extract_to_delete_items(patch_list.to_vec())?.0 };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < set_order.len() {
        if non_delete[pi].as_object().is_some_and(|m| m.contains_key(DIRECTIVE_MARKER)) {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(&non_delete[pi], &set_order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= set_order.len() {
        return Err(PatchError::invalid(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            go_fmt(&Value::Array(patch_list.to_vec())),
            go_fmt(&Value::Array(set_order.to_vec()))
        )));
    }
    Ok(())
}

impl Merger<'_> {
    /// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<field>`
    /// directive together with the directive, then orders it by the directive
    /// (precedence: `$setElementOrder` > patch order > live order). Merged lists are removed
    /// from `patch`.
    pub(crate) fn merge_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(), PatchError> {
        let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX)).cloned().collect();
        for key in keys {
            let Some(order_v) = patch.remove(&key) else {
                continue;
            };
            let Value::Array(set_order) = order_v else {
                return Err(PatchError::bad_arg_type(GO_SLICE, &order_v));
            };
            let field_key = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?;
            let original_list = match original.get(&field_key) {
                Some(v) => Some(as_list(v)?.clone()),
                None => None,
            };
            let patch_list = match patch.get(&field_key) {
                Some(v) => Some(as_list(v)?.clone()),
                None => None,
            };
            let field = self.lookup(ctx, &field_key);
            let merge_key = field.merge_key.as_str();
            validate_patch_with_set_order_list(patch_list.as_deref().unwrap_or(&[]), &set_order, merge_key)?;
            let orig_items = original_list.clone().unwrap_or_default();
            let patch_items = patch_list.clone().unwrap_or_default();
            let merged = match (original_list.is_some(), patch_list.is_some()) {
                (true, false) => orig_items.clone(),
                (_, true) => self.merge_slice_handler(orig_items.clone(), patch_items.clone(), &field, false)?,
                (false, false) => continue,
            };
            let (in_patch, server_only) = if merge_key.is_empty() {
                partition_primitives(merged, &set_order)
            } else {
                partition_maps(merged, &set_order, merge_key)?
            };
            let kind = slice_element_type(&[&orig_items, &patch_items])?;
            let both = normalize_element_order(in_patch, server_only, &set_order, &orig_items, merge_key, kind)?;
            original.insert(field_key.clone(), Value::Array(both));
            patch.remove(&field_key);
        }
        Ok(())
    }
}
