//! The FieldsV1 of a create, written out in one walk of the new object: what
//! [`Walker::compare`] of an empty object with it reports as changed, less the reset and strip
//! sets, as [`FieldSet::to_fields_v1`] would write it — without building the field sets.
//! (The object's managedFields are taken out before.)

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::compare::empty;
use super::fieldset::{field_key, FieldSet, PathElement};
use super::schema::{item_pe, shape, Shape, Ty};
use super::walk::{Walker, MAX_DEPTH};

/// What `compare` has on the old side where the new object has a value: nothing, or the
/// zero value a struct's absent field stands for (an empty object, or null for a list).
#[derive(Clone, Copy)]
enum Old {
    Absent,
    EmptyObject,
    Null,
}

impl Old {
    fn value(self) -> Option<Value> {
        match self {
            Old::Absent => None,
            Old::EmptyObject => Some(Value::Object(Map::new())),
            Old::Null => Some(Value::Null),
        }
    }
}

/// One level of the output: whether the path itself changed, and the changed paths below it.
struct Out {
    member: bool,
    below: Map<String, Value>,
}

impl Out {
    /// The FieldsV1 value of this path, None when nothing in or under it changed.
    fn into_value(mut self) -> Option<Value> {
        if self.below.is_empty() {
            return self.member.then(|| Value::Object(Map::new()));
        }
        if self.member {
            self.below.insert(".".into(), Value::Object(Map::new()));
        }
        Some(Value::Object(self.below))
    }
}

impl Walker<'_> {
    /// The FieldsV1 of the fields a create of `v` sets (`compare({}, v)` with `reset` left
    /// out, less the `strip` paths); an empty map when none.
    pub(crate) fn created_fields_v1(&mut self, v: &Value, ty: &Ty, reset: &FieldSet, strip: &FieldSet) -> Value {
        let out = self.created(Old::EmptyObject, v, ty, Some(reset), Some(strip), 0);
        Value::Object(out.below)
    }

    fn created(
        &mut self,
        old: Old,
        v: &Value,
        ty: &Ty,
        reset: Option<&FieldSet>,
        strip: Option<&FieldSet>,
        depth: usize,
    ) -> Out {
        let mut out = Out { member: false, below: Map::new() };
        if depth > MAX_DEPTH {
            return out;
        }
        let old_value = old.value();
        let sh = shape(ty, &[old_value.as_ref(), Some(v)]);
        if matches!(sh, Shape::Leaf) || (empty(old_value.as_ref()) && empty(Some(v))) {
            out.member = old_value.as_ref() != Some(v);
            return out;
        }
        match sh {
            Shape::Map => {
                let Some(m) = v.as_object() else { return out };
                for (k, cv) in m {
                    let Ok(reset) = reset.map_or(Ok(None), |r| r.excluded_below_field(k)) else {
                        continue;
                    };
                    let (cty, _) = ty.field(k, self.meta);
                    let child_old = match (&old, ty.is_struct(), &cty) {
                        (Old::Absent, _, _) | (_, false, _) => Old::Absent,
                        (_, true, Ty::Struct { .. }) => Old::EmptyObject,
                        (_, true, Ty::List { .. }) => Old::Null,
                        _ => Old::Absent,
                    };
                    // An unchanged field (`{}` for a struct, null for a list) is no change.
                    if child_old.value().as_ref() == Some(cv) {
                        continue;
                    }
                    let (stripped, strip_below) = strip.map_or((false, None), |s| s.field_member_and_child(k));
                    let child = self.created(child_old, cv, &cty, reset, strip_below, depth + 1);
                    insert(&mut out.below, || field_key(k), child, stripped);
                }
            }
            Shape::List(ref kind, ref elem) => {
                let Some(items) = v.as_array() else { return out };
                // The first of items with the same key stands for them (as in `compare`).
                let mut seen = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let pe = item_pe(kind, item, i).unwrap_or(PathElement::Index(i));
                    if items.len() > 1 && !seen.insert(pe.clone()) {
                        continue;
                    }
                    let Ok(reset) = reset.map_or(Ok(None), |r| r.excluded_below(&pe)) else {
                        continue;
                    };
                    let child =
                        self.created(Old::Absent, item, elem, reset, strip.and_then(|s| s.child(&pe)), depth + 1);
                    let stripped = strip.is_some_and(|s| s.has_member(&pe));
                    insert(&mut out.below, || pe.to_key(), child, stripped);
                }
            }
            Shape::Leaf => {}
        }
        out.member = matches!(old, Old::Absent);
        out
    }
}

/// Puts a child's FieldsV1 under its key (made only when there is something to put).
fn insert(below: &mut Map<String, Value>, key: impl FnOnce() -> String, mut child: Out, stripped: bool) {
    if stripped {
        child.member = false;
    }
    if let Some(v) = child.into_value() {
        below.insert(key(), v);
    }
}
