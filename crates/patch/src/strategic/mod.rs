//! Strategic merge patch, ported from k8s.io/apimachinery/pkg/util/strategicpatch (patch.go,
//! the server-side `StrategicMergeMapPatch` path: `MergeParallelList` and
//! `IgnoreUnmatchedNulls` both on).
//!
//! Deviations from Go, all towards what the apiserver stores after decoding into typed objects:
//! values taken from the patch (new keys, replaced lists, `$patch: replace`) are stripped of
//! `null`s and of directive keys (`$patch`, `$retainKeys`, `$setElementOrder/…`,
//! `$deleteFromPrimitiveList/…`); keys are kept in the original's order, new keys appended.

mod directives;
mod list;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::error::{PatchError, GO_MAP, GO_SLICE};
use crate::meta::{FieldMeta, FieldShape, PatchMeta};

pub(crate) const DIRECTIVE_MARKER: &str = "$patch";
pub(crate) const DELETE_DIRECTIVE: &str = "delete";
pub(crate) const REPLACE_DIRECTIVE: &str = "replace";
pub(crate) const MERGE_DIRECTIVE: &str = "merge";
pub(crate) const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
pub(crate) const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// Applies a strategic merge patch to `original`, an object of OpenAPI definition
/// `definition` (`io.k8s.api.core.v1.Pod`). Both must be JSON objects, else
/// `invalid JSON document`. Fields the schema does not know merge like JSON merge patch.
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    definition: &str,
    meta: &dyn PatchMeta,
) -> Result<Value, PatchError> {
    let (Value::Object(o), Value::Object(p)) = (original, patch) else {
        return Err(PatchError::bad_json_doc());
    };
    let ctx = Ctx::Struct(definition.to_string());
    let merged = Merger { meta, depth: 0 }.merge_map(o.clone(), p.clone(), &ctx)?;
    Ok(Value::Object(merged))
}

/// Where in the schema a map being merged sits.
#[derive(Debug, Clone)]
pub(crate) enum Ctx {
    /// An object of a known definition.
    Struct(String),
    /// A map with arbitrary keys whose values are of this definition (None: scalars).
    MapOf(Option<String>),
    /// No schema: merge like JSON merge patch.
    Unknown,
}

/// Patch metadata of one field, resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldPatch {
    /// The non-retainKeys strategy (`merge`, `replace` or empty).
    pub strategy: String,
    pub merge_key: String,
    /// Schema context of the field's value (of its items for lists).
    pub ctx: Option<Ctx>,
}

impl FieldPatch {
    fn from_meta(fm: &FieldMeta) -> Self {
        let strategy = fm
            .patch_strategy
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .find(|s| !s.is_empty() && *s != "retainKeys")
            .unwrap_or("")
            .to_string();
        let ctx = match fm.shape {
            FieldShape::Object | FieldShape::List => match &fm.definition {
                Some(d) => Ctx::Struct(d.clone()),
                None => Ctx::Unknown,
            },
            FieldShape::Map => Ctx::MapOf(fm.definition.clone()),
            FieldShape::Scalar => Ctx::Unknown,
        };
        FieldPatch { strategy, merge_key: fm.patch_merge_key.clone().unwrap_or_default(), ctx: Some(ctx) }
    }
    pub fn child_ctx(&self) -> Ctx {
        self.ctx.clone().unwrap_or(Ctx::Unknown)
    }
}

/// Nesting limit, so hostile deeply nested patches give an error instead of a stack overflow.
const MAX_DEPTH: usize = 200;

pub(crate) struct Merger<'a> {
    pub meta: &'a dyn PatchMeta,
    pub depth: usize,
}

impl Merger<'_> {
    pub(crate) fn lookup(&self, ctx: &Ctx, key: &str) -> FieldPatch {
        match ctx {
            Ctx::Struct(def) => match self.meta.field(def, key) {
                Some(fm) => FieldPatch::from_meta(fm),
                None => FieldPatch::default(),
            },
            Ctx::MapOf(Some(def)) => FieldPatch { ctx: Some(Ctx::Struct(def.clone())), ..Default::default() },
            Ctx::MapOf(None) | Ctx::Unknown => FieldPatch::default(),
        }
    }

    fn deeper(&self) -> Result<Merger<'_>, PatchError> {
        if self.depth >= MAX_DEPTH {
            return Err(PatchError::BadRequest("patch is nested too deeply".to_string()));
        }
        Ok(Merger { meta: self.meta, depth: self.depth + 1 })
    }

    /// `mergeMap`.
    pub(crate) fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
            return handle_directive_in_merge_map(directive.clone(), patch);
        }
        directives::apply_retain_keys(&mut original, &mut patch)?;
        self.merge_set_element_order(&mut original, &mut patch, ctx)?;

        for (k, patch_v) in patch {
            let (key, is_delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                (directives::extract_key(&k, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?, true)
            } else {
                (k, false)
            };
            if patch_v.is_null() {
                original.remove(&key);
                continue;
            }
            let Some(orig_v) = original.get_mut(&key) else {
                if !is_delete_list {
                    if let Some(v) = clean(patch_v) {
                        original.insert(key, v);
                    }
                }
                continue;
            };
            if !same_type(orig_v, &patch_v) {
                if !is_delete_list {
                    match clean(patch_v) {
                        Some(v) => *orig_v = v,
                        None => {
                            original.remove(&key);
                        }
                    }
                }
                continue;
            }
            match (orig_v.take(), patch_v) {
                (Value::Object(o), Value::Object(p)) => {
                    let field = self.lookup(ctx, &key);
                    *orig_v = if field.strategy == REPLACE_DIRECTIVE {
                        clean(Value::Object(p)).unwrap_or_else(|| Value::Object(Map::new()))
                    } else {
                        Value::Object(self.deeper()?.merge_map(o, p, &field.child_ctx())?)
                    };
                }
                (Value::Array(o), Value::Array(p)) => {
                    let field = self.lookup(ctx, &key);
                    *orig_v = Value::Array(self.merge_slice_handler(o, p, &field, is_delete_list)?);
                }
                (_, p) => match clean(p) {
                    Some(v) => *orig_v = v,
                    None => {
                        original.remove(&key);
                    }
                },
            }
        }
        Ok(original)
    }

    /// `mergeSliceHandler`.
    pub(crate) fn merge_slice_handler(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        field: &FieldPatch,
        is_delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if field.strategy == MERGE_DIRECTIVE {
            self.deeper()?.merge_slice(original, patch, &field.child_ctx(), &field.merge_key, is_delete_list)
        } else {
            Ok(clean_list(patch))
        }
    }
}

/// `handleDirectiveInMergeMap`.
fn handle_directive_in_merge_map(
    directive: Value,
    mut patch: Map<String, Value>,
) -> Result<Map<String, Value>, PatchError> {
    match directive.as_str() {
        Some(REPLACE_DIRECTIVE) => {
            patch.remove(DIRECTIVE_MARKER);
            match clean(Value::Object(patch)) {
                Some(Value::Object(m)) => Ok(m),
                _ => Ok(Map::new()),
            }
        }
        Some(DELETE_DIRECTIVE) => Ok(Map::new()),
        _ => Err(PatchError::bad_patch_type(&directive, &Value::Object(patch))),
    }
}

/// Go's `reflect.TypeOf(a) == reflect.TypeOf(b)` over decoded JSON.
pub(crate) fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

pub(crate) fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE_MARKER
        || k == RETAIN_KEYS_DIRECTIVE
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
        || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
}

/// A value taken from the patch as is: `discardNullValuesFromPatch` + `removeDirectives`
/// (maps carrying `$patch` are dropped), and directive keys removed. None: drop the field.
pub(crate) fn clean(v: Value) -> Option<Value> {
    clean_at(v, 0)
}

fn clean_at(v: Value, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                if v.is_null() || is_directive_key(&k) {
                    continue;
                }
                if let Some(v) = clean_at(v, depth + 1) {
                    out.insert(k, v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(|i| clean_at(i, depth + 1)).collect())),
        other => Some(other),
    }
}

pub(crate) fn clean_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().filter_map(clean).collect()
}

pub(crate) fn as_list(v: &Value) -> Result<&Vec<Value>, PatchError> {
    v.as_array().ok_or_else(|| PatchError::bad_arg_type(GO_SLICE, v))
}

pub(crate) fn as_map(v: &Value) -> Result<&Map<String, Value>, PatchError> {
    v.as_object().ok_or_else(|| PatchError::bad_arg_type(GO_MAP, v))
}
