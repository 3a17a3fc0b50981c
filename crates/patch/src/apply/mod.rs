//! Server-side apply and managedFields tracking, after sigs.k8s.io/structured-merge-diff
//! (`merge.Updater`) and the apiserver's fieldmanager (strip-meta, before-first-apply,
//! managed-fields updater).
//!
//! Simplifications: no version conversion (every manager's set is read at the object's
//! version), no cap on the number of Update entries, no unions.

mod compare;
mod conflict;
mod created;
mod fieldset;
mod managed;
mod schema;
#[cfg(test)]
mod tests;
mod text;
mod walk;

use serde_json::{Map, Value};

pub use conflict::{ApplyError, Conflict};
pub use fieldset::{path_string, FieldSet, PathElement};

use compare::Comparison;
use managed::{strip_set, without_managed_fields, Entry, Fields};
use schema::Ty;
use walk::Walker;

use crate::meta::PatchMeta;

const APPLY: &str = "Apply";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

fn root_ty(definition: &str) -> Ty<'_> {
    Ty::Struct { def: definition, atomic: false }
}

fn api_version_of(obj: &Value) -> String {
    obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The FieldsV1 set of every field set in `obj` (as an Apply of `obj` would own them):
/// `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"x\"}":{".":{},"f:image":{}}}}}`.
/// apiVersion, kind, metadata.name and the other fields the fieldmanager never tracks are left
/// out.
pub fn fields_v1(obj: &Value, definition: &str, meta: &dyn PatchMeta) -> Value {
    let obj = without_managed_fields(obj);
    let set = Walker::new(meta, false).field_set(&obj, &root_ty(definition));
    set.difference(strip_set()).to_fields_v1()
}

/// Server-side apply of `applied` (a full configuration: apiVersion, kind, metadata.name, …)
/// by `manager` onto `live` (None: the object is being created). Returns the new object with
/// `metadata.managedFields` updated, or the conflicts with other managers' fields (unless
/// `force`, which takes those fields over). Fields `manager` applied before but no longer
/// applies are removed unless another manager owns them.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    definition: &str,
    meta: &dyn PatchMeta,
    now_rfc3339: &str,
) -> Result<Value, ApplyError> {
    if !applied.is_object() {
        return Err(ApplyError::Invalid("the applied configuration must be an object".into()));
    }
    let ty = root_ty(definition);
    let strip = strip_set();
    let api_version = api_version_of(applied);
    let config = without_managed_fields(applied);

    let live_obj = live.map(without_managed_fields);
    let mut entries = live.and_then(managed::decode).unwrap_or_default();
    let mut lenient = Walker::new(meta, false);
    if let Some(l) = &live_obj {
        if entries.is_empty() {
            // The object predates managedFields: its fields belong to "before-first-apply".
            let set = lenient.field_set(l, &ty).difference(strip);
            if !set.is_empty() {
                entries.push(Entry {
                    manager: BEFORE_FIRST_APPLY.into(),
                    operation: "Update".into(),
                    api_version: api_version_of(l),
                    time: Some(now_rfc3339.into()),
                    subresource: None,
                    set,
                    raw: None,
                    unparsed: false,
                });
            }
        }
    }

    let mut strict = Walker::new(meta, true);
    let config_set = strict.field_set(&config, &ty).difference(strip);
    if let Some(e) = strict.errors.first() {
        return Err(ApplyError::Invalid(format!(".{}", e.trim_start_matches('.'))));
    }

    let empty = Value::Object(Map::new());
    let base = live_obj.as_ref().unwrap_or(&empty);
    let mut merged = lenient.merge(Some(base), &config, &ty, 0);

    let previous = entries.iter().position(|e| e.is(manager, APPLY, &api_version, None)).map(|i| entries.remove(i));
    let applier = Entry {
        manager: manager.into(),
        operation: APPLY.into(),
        api_version: api_version.clone(),
        time: previous.as_ref().and_then(|p| p.time.clone()),
        subresource: None,
        set: config_set,
        raw: None,
        unparsed: false,
    };

    // Prune what the manager applied last time and no longer does, unless owned elsewhere.
    if let Some(prev) = &previous {
        let mut owned = applier.set.clone();
        for e in &entries {
            owned.union_in_place(&e.set);
        }
        let to_remove = prev.set.difference(&owned);
        if !to_remove.is_empty() {
            merged = lenient.remove(&merged, &to_remove, &ty, 0);
        }
    }

    let cmp = lenient.compare(base, &merged, &ty, &FieldSet::new());
    let changed_or_added = cmp.modified.union(&cmp.added);
    let mut conflicts = Vec::new();
    for e in &entries {
        let c = e.set.intersection(&changed_or_added);
        for p in c.paths() {
            conflicts.push(Conflict {
                manager: e.manager.clone(),
                operation: e.operation.clone(),
                api_version: e.api_version.clone(),
                subresource: e.subresource.clone(),
                field: path_string(&p),
            });
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by_key(Conflict::manager_display);
        return Err(ApplyError::Conflicts(conflicts));
    }
    release(&mut entries, &changed_or_added, &cmp.removed);

    let changed = live_obj.as_ref() != Some(&merged);
    let mut applier = applier;
    if changed || applier.time.is_none() {
        applier.time = Some(now_rfc3339.into());
    }
    if !applier.set.is_empty() {
        entries.push(applier);
    }
    managed::store(&mut merged, entries);
    Ok(merged)
}

/// Removes `taken` and `removed` fields from every entry; drops emptied entries.
/// Entries still unparsed were found not to meet `taken` or `removed` and are kept as they are.
fn release(entries: &mut Vec<Entry>, taken: &FieldSet, removed: &FieldSet) {
    for e in entries.iter_mut().filter(|e| !e.unparsed) {
        if e.set.intersects(taken) || e.set.intersects(removed) {
            e.set = e.set.difference(taken).difference(removed);
            e.raw = None;
        }
    }
    entries.retain(|e| e.unparsed || !e.set.is_empty());
}

/// Who made a non-apply write, and what its strategy resets.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    /// Normally `"Update"`.
    pub operation: &'a str,
    pub subresource: Option<&'a str>,
    /// The fields the resource's strategy resets on this write (its `GetResetFields`: the
    /// status on the main resource, the spec on `status`): changes under them are nobody's.
    pub reset: &'a FieldSet,
}

/// Records a non-apply write (create, update, patch) of `new` over `old` (None: create) by
/// `writer`: the fields it changed join that manager's `operation` entry (for its
/// subresource, if any) and leave every other manager's set, in `new`'s
/// `metadata.managedFields` (neither object is copied; entries whose sets did not change keep
/// their encoded `fieldsV1`). managedFields sent in `new` replace the live ones (`[{}]` clears
/// them); otherwise the live ones are kept.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    writer: &Writer,
    definition: &str,
    meta: &dyn PatchMeta,
    now_rfc3339: &str,
) {
    let list = managed::take_managed_fields(new);
    // The stored object's own entries (kept by a patch, sent back by an update) are well
    // formed, and read only where this write may touch them.
    let stored = list.is_some() && old.and_then(|o| o.get("metadata")?.get("managedFields")) == list.as_ref();
    let entries = match list.and_then(if stored { managed::decode_owned_lazy } else { managed::decode_owned }) {
        // The "reset" form `[{}]`.
        Some(e) if e.is_empty() => return,
        Some(e) => e,
        None => old.and_then(managed::decode).unwrap_or_default(),
    };
    let entries = track(old, new, entries, writer, definition, meta, now_rfc3339);
    managed::store(new, entries);
}

/// [`track_update`] for objects whose managedFields are kept beside them as JSON text (a
/// list as [`track_update_text`] returns it): `old` is the object before (None: create)
/// without its managedFields, and their text; `new` is the object written, without
/// managedFields, and `sent` the list the write carried in it, if any. Returns the new list's
/// text (None: no entries). The entries this write leaves alone are neither read nor
/// rebuilt: their text is copied (the live text is trusted to be well formed, as written here).
pub fn track_update_text(
    old: Option<(&Value, Option<&[u8]>)>,
    new: &Value,
    sent: Option<Value>,
    writer: &Writer,
    definition: &str,
    meta: &dyn PatchMeta,
    now_rfc3339: &str,
) -> Option<Vec<u8>> {
    let old_text = old.and_then(|(_, text)| text);
    let stored = match (&sent, old_text) {
        (Some(list), Some(text)) => serde_json::to_vec(list).is_ok_and(|l| l == text),
        _ => false,
    };
    let entries = match sent {
        Some(_) if stored => old_text.and_then(text::decode_lazy),
        Some(list) => managed::decode_owned(list),
        None => None,
    };
    let entries = match entries {
        Some(e) if e.is_empty() => return None,
        Some(e) => e,
        None => old_text.and_then(text::decode_lazy).unwrap_or_default(),
    };
    text::encode(track(old.map(|(tree, _)| tree), new, entries, writer, definition, meta, now_rfc3339))
}

/// The entries after `writer`'s write of `new` over `old` (None: create), from the live ones.
fn track(
    old: Option<&Value>,
    new: &Value,
    mut entries: Vec<Entry>,
    writer: &Writer,
    definition: &str,
    meta: &dyn PatchMeta,
    now_rfc3339: &str,
) -> Vec<Entry> {
    let Writer { manager, operation, subresource, reset } = *writer;
    let ty = root_ty(definition);
    let empty = Value::Object(Map::new());
    let mut walker = Walker::new(meta, false);
    walker.skip_managed_fields = true;
    if old.is_none() && entries.is_empty() {
        // A create: the writer's set is every field the object sets, written out directly.
        let fields = walker.created_fields_v1(new, &ty, reset, strip_set());
        if fields.as_object().is_some_and(|m| !m.is_empty()) {
            entries.push(Entry {
                manager: manager.into(),
                operation: operation.into(),
                api_version: api_version_of(new),
                time: Some(now_rfc3339.into()),
                subresource: subresource.map(str::to_string),
                set: FieldSet::new(),
                raw: Some(Fields::Tree(fields)),
                unparsed: false,
            });
        }
        return entries;
    }
    let Comparison { removed, modified, added } = walker.compare(old.unwrap_or(&empty), new, &ty, reset);
    let changed = if modified.is_empty() {
        added
    } else {
        let mut m = modified;
        m.union_in_place(&added);
        m
    };
    let api_version = api_version_of(new);
    for e in entries.iter_mut().filter(|e| e.unparsed) {
        if e.is(manager, operation, &api_version, subresource) || e.may_meet(&changed) || e.may_meet(&removed) {
            e.parse();
        }
    }
    release(&mut entries, &changed, &removed);

    let mut op_set = changed;
    op_set.subtract(strip_set());
    if !op_set.is_empty() {
        match entries.iter_mut().find(|e| e.is(manager, operation, &api_version, subresource)) {
            Some(e) => {
                // The manager's older fields under the reset ones go too (sets recorded
                // before the reset applied).
                if e.set.subtract_recursive(reset) {
                    e.raw = None;
                }
                if !e.set.contains_all(&op_set) {
                    e.set.union_in_place(&op_set);
                    e.raw = None;
                }
                e.time = Some(now_rfc3339.into());
            }
            None => entries.push(Entry {
                manager: manager.into(),
                operation: operation.into(),
                api_version,
                time: Some(now_rfc3339.into()),
                subresource: subresource.map(str::to_string),
                set: op_set,
                raw: None,
                unparsed: false,
            }),
        }
    }
    entries
}
