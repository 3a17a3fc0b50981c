//! `mergeSlice` and the element-order helpers of strategicpatch/patch.go.

use serde_json::{Map, Value};

use super::{
    as_map, clean, clean_list, Ctx, Merger, DELETE_DIRECTIVE, DIRECTIVE_MARKER, MERGE_DIRECTIVE, REPLACE_DIRECTIVE,
};
use crate::error::{go_fmt, PatchError, GO_MAP};

/// Element kind of a list (Go's `reflect.Kind` of the decoded items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Map,
}

/// `sliceElementType`: all items of all slices share one type, which is not a list.
pub(crate) fn slice_element_type(slices: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut prev: Option<Kind> = None;
    for s in slices {
        for v in s.iter() {
            let k = match v {
                Value::Null => Kind::Null,
                Value::Bool(_) => Kind::Bool,
                Value::Number(_) => Kind::Number,
                Value::String(_) => Kind::String,
                Value::Object(_) => Kind::Map,
                Value::Array(_) => return Err(PatchError::no_list_of_lists()),
            };
            match prev {
                None => prev = Some(k),
                Some(p) if p != k => {
                    let all: Vec<Value> = slices.iter().map(|s| Value::Array(s.to_vec())).collect();
                    return Err(PatchError::invalid(format!(
                        "list element types are not identical: {}",
                        go_fmt(&Value::Array(all))
                    )));
                }
                _ => {}
            }
        }
    }
    prev.ok_or_else(|| PatchError::invalid("no elements in any of the given slices"))
}

impl Merger<'_> {
    /// `mergeSlice`.
    pub(crate) fn merge_slice(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        ctx: &Ctx,
        merge_key: &str,
        is_delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let kind = slice_element_type(&[&original, &patch])?;
        let (merged, patch, original) = if kind != Kind::Map {
            if is_delete_list {
                return Ok(delete_from_slice(original, &patch));
            }
            let mut both = original.clone();
            both.extend(patch.iter().cloned());
            (deduplicate_scalars(both), patch, original)
        } else {
            if merge_key.is_empty() {
                return Err(PatchError::invalid("cannot merge lists without merge key for type struct"));
            }
            let (original, patch) = merge_slice_with_special_elements(original, patch, merge_key)?;
            let merged = self.merge_slice_without_special_elements(original.clone(), &patch, merge_key, ctx)?;
            (merged, patch, original)
        };
        let (patch_items, server_only) = if kind != Kind::Map {
            partition_primitives(merged, &patch)
        } else {
            partition_maps(merged, &patch, merge_key)?
        };
        normalize_element_order(patch_items, server_only, &patch, &original, merge_key, kind)
    }

    /// `mergeSliceWithoutSpecialElements`.
    fn merge_slice_without_special_elements(
        &self,
        mut original: Vec<Value>,
        patch: &[Value],
        merge_key: &str,
        ctx: &Ctx,
    ) -> Result<Vec<Value>, PatchError> {
        for v in patch {
            let typed = as_map(v)?;
            let Some(merge_value) = typed.get(merge_key) else {
                return Err(PatchError::no_merge_key(v, merge_key));
            };
            match find_map_in_slice(&original, merge_key, merge_value)? {
                Some(idx) => {
                    let orig_item = match original[idx].take() {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let merged = self.merge_map(orig_item, typed.clone(), ctx)?;
                    original[idx] = Value::Object(merged);
                }
                None => {
                    if let Some(v) = clean(v.clone()) {
                        original.push(v);
                    }
                }
            }
        }
        Ok(original)
    }
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` items to `original`; with a
/// `$patch: replace` item the result is the patch's other items and nothing is left to merge.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut without_special = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE_MARKER) else {
            without_special.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => match v.get(merge_key) {
                Some(mv) => original = delete_matching_entries(original, merge_key, mv)?,
                None => return Err(PatchError::no_merge_key(&v, merge_key)),
            },
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(PatchError::invalid("merging lists cannot yet be specified in the patch"))
            }
            _ => return Err(PatchError::bad_patch_type(directive, &v)),
        }
    }
    if replace {
        return Ok((clean_list(without_special), Vec::new()));
    }
    Ok((original, without_special))
}

/// `deleteMatchingEntries`.
fn delete_matching_entries(
    mut original: Vec<Value>,
    merge_key: &str,
    merge_value: &Value,
) -> Result<Vec<Value>, PatchError> {
    while let Some(idx) = find_map_in_slice(&original, merge_key, merge_value)? {
        original.remove(idx);
    }
    Ok(original)
}

/// `findMapInSliceBasedOnKeyValue`.
pub(crate) fn find_map_in_slice(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Some(m) = v.as_object() else {
            return Err(PatchError::invalid(format!("value for key {i} is not a map.")));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `deleteFromSlice`: the parallel deletion list of a primitive list.
fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Vec<Value> {
    current.into_iter().filter(|v| !to_delete.contains(v)).collect()
}

/// `deduplicateScalars`, including its order shuffling (a duplicate is replaced by the last
/// element).
pub(crate) fn deduplicate_scalars(mut s: Vec<Value>) -> Vec<Value> {
    let mut length = s.len() as isize - 1;
    let mut i: isize = 0;
    while i < length {
        let mut j = i + 1;
        while j <= length {
            if s[i as usize] == s[j as usize] {
                s[j as usize] = s[length as usize].clone();
                s.truncate(length as usize);
                length -= 1;
                j -= 1;
            }
            j += 1;
        }
        i += 1;
    }
    s
}

/// `partitionPrimitivesByPresentInList`.
pub(crate) fn partition_primitives(original: Vec<Value>, partition_by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    original.into_iter().partition(|v| partition_by.contains(v))
}

/// `partitionMapsByPresentInList`.
pub(crate) fn partition_maps(
    original: Vec<Value>,
    partition_by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut patch = Vec::with_capacity(original.len());
    let mut server_only = Vec::with_capacity(original.len());
    for v in original {
        let m = as_map(&v)?;
        let Some(mv) = m.get(merge_key) else {
            return Err(PatchError::no_merge_key(&v, merge_key));
        };
        if find_map_in_slice(partition_by, merge_key, mv)?.is_some() {
            patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((patch, server_only))
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order`, the server-only items by
/// `server_order`, then interleaves them (`mergeSortedSlice`).
pub(crate) fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(server_only, patch, server_order, merge_key, kind))
}

/// `index`: position of `val` in `list` (by merge key value for maps).
fn index(list: &[Value], val: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    if kind == Kind::Map {
        let key_of = |item: &Value| item.as_object().and_then(|m| m.get(merge_key)).cloned();
        let wanted = key_of(val);
        list.iter().position(|v| key_of(v) == wanted)
    } else {
        list.iter().position(|v| v == val)
    }
}

/// `normalizeSliceOrder`. Items missing from `order` (which Go's comparator leaves in an
/// unspecified place) go last, in their current order.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let (mut keep, to_delete) = if kind == Kind::Map {
        validate_merge_key_in_lists(merge_key, &[&to_sort, order])?;
        extract_to_delete_items(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    let mut keyed: Vec<(usize, Value)> =
        keep.drain(..).map(|v| (index(order, &v, merge_key, kind).unwrap_or(usize::MAX), v)).collect();
    keyed.sort_by_key(|(i, _)| *i);
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(to_delete);
    Ok(out)
}

/// `validateMergeKeyInLists`.
fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> Result<(), PatchError> {
    for list in lists {
        for item in list.iter() {
            let Some(m) = item.as_object() else {
                return Err(PatchError::bad_arg_type(GO_MAP, item));
            };
            if !m.contains_key(merge_key) {
                return Err(PatchError::no_merge_key(item, merge_key));
            }
        }
    }
    Ok(())
}

/// `extractToDeleteItems`.
pub(crate) fn extract_to_delete_items(list: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut non_delete = Vec::new();
    let mut to_delete = Vec::new();
    for v in list {
        let m = as_map(&v)?;
        if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE) {
            to_delete.push(v);
        } else {
            non_delete.push(v);
        }
    }
    Ok((non_delete, to_delete))
}

/// `mergeSortedSlice`: inserts the server-only items (`left`) among the patch items (`right`)
/// keeping both relative orders; a left item goes first only when both are in `server_order`
/// and it comes earlier there.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = index(server_order, l, merge_key, kind);
                let ri = index(server_order, r, merge_key, kind);
                let take_left = matches!((li, ri), (Some(li), Some(ri)) if li < ri);
                if take_left {
                    out.extend(left.next());
                } else {
                    out.extend(right.next());
                }
            }
        }
    }
    out
}
