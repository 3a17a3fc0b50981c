//! structured-merge-diff's `Compare`: the fields removed, modified and added between two
//! objects. Each level's sets are built from its children's and hung under its own path
//! element, so no path is ever looked up from the root.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};
use super::schema::{shape, Shape, Ty};
use super::walk::{Walker, MAX_DEPTH};

/// Fields removed, modified and added between two objects.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

/// The changes at one path: whether the path itself was removed, modified or added, and the
/// changes below it (relative to it).
#[derive(Default)]
struct Delta {
    removed: bool,
    modified: bool,
    added: bool,
    below: Comparison,
}

impl Comparison {
    /// Hangs `d`, the changes at `pe` of this level, under `pe`.
    fn adopt(&mut self, pe: &PathElement, d: Delta) {
        self.removed.push_child(pe, d.removed, d.below.removed);
        self.modified.push_child(pe, d.modified, d.below.modified);
        self.added.push_child(pe, d.added, d.below.added);
    }

    fn sort_level(&mut self) {
        self.removed.sort_level();
        self.modified.sort_level();
        self.added.sort_level();
    }
}

/// Absent, null, `{}` or `[]`: what compare takes for "no value" on both sides of a leaf.
pub(crate) fn empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

impl Walker<'_> {
    /// `Compare`. A struct's absent object and list fields count as present-but-empty, as in
    /// the zero-valued typed objects Kubernetes compares.
    /// Paths under a member of `reset` are left out (structured-merge-diff's
    /// `Comparison.FilterFields` with an exclusion set), and not walked.
    pub(crate) fn compare(&mut self, lhs: &Value, rhs: &Value, ty: &Ty, reset: &FieldSet) -> Comparison {
        self.cmp(Some(lhs), Some(rhs), ty, Some(reset), 0, false).below
    }

    /// The changes between `lhs` and `rhs` at a path `depth` deep (`metadata`: the object's
    /// metadata).
    fn cmp(
        &mut self,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        ty: &Ty,
        reset: Option<&FieldSet>,
        depth: usize,
        metadata: bool,
    ) -> Delta {
        let mut d = Delta::default();
        if (lhs.is_none() && rhs.is_none()) || depth > MAX_DEPTH {
            return d;
        }
        // Equal subtrees hold no change; comparing values is far cheaper than walking paths.
        // (Not at the root: whole objects compared here always differ, and comparing them
        // would walk every unchanged field twice.)
        if let (Some(l), Some(r)) = (lhs, rhs) {
            if depth > 0 && l == r {
                return d;
            }
        }
        let sh = shape(ty, &[lhs, rhs]);
        let leaf = matches!(sh, Shape::Leaf) || (empty(lhs) && empty(rhs));
        if leaf {
            match (lhs, rhs) {
                (None, _) => d.added = depth > 0,
                (_, None) => d.removed = depth > 0,
                (Some(l), Some(r)) => d.modified = depth > 0 && l != r,
            }
            return d;
        }
        match sh {
            Shape::Map => {
                let lm = lhs.and_then(Value::as_object);
                let rm = rhs.and_then(Value::as_object);
                let skip_managed = self.skip_managed_fields && metadata;
                // Keys of the left side in its order, then those only on the right. Equal
                // children are passed over before their type or path element is made.
                let left = lm.into_iter().flatten().map(|(k, lc)| (k, Some(lc), rm.and_then(|m| m.get(k))));
                let right = rm.into_iter().flatten().filter(|(k, _)| !lm.is_some_and(|l| l.contains_key(*k)));
                for (k, lc, rc) in left.chain(right.map(|(k, rc)| (k, None, Some(rc)))) {
                    // Reset fields first: they are often large and equal (a status update's spec).
                    let Ok(reset) = reset.map_or(Ok(None), |r| r.excluded_below_field(k)) else {
                        continue;
                    };
                    if (lc.is_some() && lc == rc) || (skip_managed && k == "managedFields") {
                        continue;
                    }
                    let (cty, _) = ty.field(k, self.meta);
                    let null = Value::Null;
                    let empty_object = Value::Object(Map::new());
                    let virt = |present: bool| -> Option<&Value> {
                        if !present || !ty.is_struct() {
                            return None;
                        }
                        match cty {
                            Ty::Struct { .. } => Some(&empty_object),
                            Ty::List { .. } => Some(&null),
                            _ => None,
                        }
                    };
                    let lc = lc.or_else(|| virt(lhs.is_some()));
                    let rc = rc.or_else(|| virt(rhs.is_some()));
                    let child = self.cmp(lc, rc, &cty, reset, depth + 1, depth == 0 && k == "metadata");
                    d.below.adopt(&PathElement::Field(k.clone()), child);
                }
            }
            Shape::List(ref kind, ref elem) => {
                // (Compare walks leniently: items it cannot identify go by position.)
                let l = self.index_items(lhs, kind, &[]);
                let r = self.index_items(rhs, kind, &[]);
                // Items of the left side in its order, then those only on the right.
                let left = l.items.iter().map(|(pe, lv)| (pe, Some(*lv), r.get(pe)));
                let right = r.items.iter().filter(|(pe, _)| l.get(pe).is_none()).map(|(pe, rv)| (pe, None, Some(*rv)));
                for (pe, lv, rv) in left.chain(right) {
                    if lv.is_some() && lv == rv {
                        continue;
                    }
                    let Ok(reset) = reset.map_or(Ok(None), |r| r.excluded_below(pe)) else {
                        continue;
                    };
                    let child = self.cmp(lv, rv, elem, reset, depth + 1, false);
                    d.below.adopt(pe, child);
                }
            }
            Shape::Leaf => {}
        }
        d.below.sort_level();
        if depth > 0 {
            match (lhs, rhs) {
                (None, _) => d.added = true,
                (_, None) => d.removed = true,
                _ => {}
            }
        }
        d
    }
}
