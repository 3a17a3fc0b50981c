//! Schema-aware walks over values: field sets (`ToFieldSet`), comparison (`Compare`), apply
//! merge (`Merge`) and item removal (`RemoveItems`) of structured-merge-diff's `typed`
//! package.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fieldset::{path_string, FieldSet, PathElement};
use super::schema::{item_pe, shape, ListKind, Shape, Ty};
use crate::meta::PatchMeta;

/// Nesting limit of the walks (request bodies are already limited to 128 levels by serde_json).
pub(crate) const MAX_DEPTH: usize = 256;

/// A list's items by path element: in list order, and their positions sorted by element.
#[derive(Default)]
pub(crate) struct Items<'v> {
    pub items: Vec<(PathElement, &'v Value)>,
    sorted: Vec<usize>,
}

impl<'v> Items<'v> {
    pub(crate) fn get(&self, pe: &PathElement) -> Option<&'v Value> {
        let i = self.sorted.binary_search_by(|&i| self.items[i].0.cmp(pe)).ok()?;
        Some(self.items[self.sorted[i]].1)
    }
}

pub(crate) struct Walker<'a> {
    pub meta: &'a dyn PatchMeta,
    /// Report unidentifiable list items as errors (apply) instead of indexing them.
    pub strict: bool,
    pub errors: Vec<String>,
    /// Compare: leave `metadata.managedFields` out (one side may still carry it).
    pub skip_managed_fields: bool,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(meta: &'a dyn PatchMeta, strict: bool) -> Self {
        Walker { meta, strict, errors: Vec::new(), skip_managed_fields: false }
    }

    fn pe_of(&mut self, kind: &ListKind, item: &Value, i: usize, path: &[PathElement]) -> PathElement {
        match item_pe(kind, item, i) {
            Ok(pe) => pe,
            Err(e) => {
                if self.strict {
                    self.errors.push(format!("{}: element {i}: {e}", path_string(path)));
                }
                PathElement::Index(i)
            }
        }
    }

    /// `ToFieldSet`: every leaf, list item and map entry of `v`.
    pub(crate) fn field_set(&mut self, v: &Value, ty: &Ty) -> FieldSet {
        let mut set = FieldSet::new();
        let mut path = Vec::new();
        self.fs(v, ty, &mut path, &mut set);
        set
    }

    fn fs(&mut self, v: &Value, ty: &Ty, path: &mut Vec<PathElement>, set: &mut FieldSet) {
        if path.len() > MAX_DEPTH {
            return;
        }
        match shape(ty, &[Some(v)]) {
            Shape::Leaf => set.insert(path),
            Shape::Map => {
                let Some(m) = v.as_object() else { return };
                for (k, cv) in m {
                    let (cty, declared) = ty.field(k, self.meta);
                    path.push(PathElement::Field(k.clone()));
                    self.fs(cv, &cty, path, set);
                    let empty_map = cv.as_object().is_some_and(Map::is_empty);
                    if cv.is_null() || empty_map || !declared {
                        set.insert(path);
                    }
                    path.pop();
                }
            }
            Shape::List(ref kind, ref elem) => {
                let Some(items) = v.as_array() else { return };
                for (i, item) in items.iter().enumerate() {
                    let pe = self.pe_of(kind, item, i, path);
                    path.push(pe);
                    self.fs(item, elem, path, set);
                    set.insert(path);
                    path.pop();
                }
            }
        }
    }

    /// The items of a list with their path elements, first occurrence of each.
    pub(crate) fn index_items<'v>(
        &mut self,
        list: Option<&'v Value>,
        kind: &ListKind,
        path: &[PathElement],
    ) -> Items<'v> {
        let Some(items) = list.and_then(Value::as_array) else {
            return Items::default();
        };
        let mut items: Vec<(PathElement, &Value)> =
            items.iter().enumerate().map(|(i, item)| (self.pe_of(kind, item, i, path), item)).collect();
        let mut sorted: Vec<usize> = (0..items.len()).collect();
        sorted.sort_by(|&a, &b| items[a].0.cmp(&items[b].0).then(a.cmp(&b)));
        let mut dup = vec![false; items.len()];
        for w in sorted.windows(2) {
            if items[w[0]].0 == items[w[1]].0 {
                dup[w[1]] = true;
            }
        }
        if dup.contains(&true) {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !dup[i - 1]
            });
            sorted = (0..items.len()).collect();
            sorted.sort_by(|&a, &b| items[a].0.cmp(&items[b].0));
        }
        Items { items, sorted }
    }

    /// `Merge` for apply: `rhs` (the applied configuration) wins on every field it sets;
    /// granular maps and lists merge, everything else is replaced. A `null` in `rhs` removes
    /// the field.
    pub(crate) fn merge(&mut self, lhs: Option<&Value>, rhs: &Value, ty: &Ty, depth: usize) -> Value {
        let Some(lhs) = lhs.filter(|l| !l.is_null()) else {
            return strip_nulls(rhs);
        };
        if depth > MAX_DEPTH {
            return strip_nulls(rhs);
        }
        match shape(ty, &[Some(lhs), Some(rhs)]) {
            Shape::Leaf => strip_nulls(rhs),
            Shape::Map => {
                let (Some(lm), Some(rm)) = (lhs.as_object(), rhs.as_object()) else {
                    return strip_nulls(rhs);
                };
                let mut out = lm.clone();
                for (k, rv) in rm {
                    if rv.is_null() {
                        out.remove(k);
                        continue;
                    }
                    let (cty, _) = ty.field(k, self.meta);
                    let merged = self.merge(lm.get(k), rv, &cty, depth + 1);
                    out.insert(k.clone(), merged);
                }
                Value::Object(out)
            }
            Shape::List(ref kind, ref elem) => self.merge_list(lhs, rhs, kind, elem, depth),
        }
    }

    /// structured-merge-diff's list merge: keeps the live order, except that items the
    /// configuration also has follow the configuration's order.
    fn merge_list(&mut self, lhs: &Value, rhs: &Value, kind: &ListKind, elem: &Ty, depth: usize) -> Value {
        let no_path: [PathElement; 0] = [];
        let lhs_items: Vec<(PathElement, &Value)> = match lhs.as_array() {
            Some(items) => items.iter().enumerate().map(|(i, v)| (self.pe_of(kind, v, i, &no_path), v)).collect(),
            None => Vec::new(),
        };
        let rhs_items = self.index_items(Some(rhs), kind, &no_path).items;
        let mut observed_lhs: BTreeMap<&PathElement, &Value> = BTreeMap::new();
        for (pe, v) in &lhs_items {
            observed_lhs.entry(pe).or_insert(v);
        }
        let observed_rhs: BTreeMap<&PathElement, &Value> = rhs_items.iter().map(|(p, v)| (p, *v)).collect();
        let mut shared: std::collections::VecDeque<&PathElement> =
            rhs_items.iter().map(|(p, _)| p).filter(|p| observed_lhs.contains_key(p)).collect();
        let mut next_shared = shared.pop_front();
        let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
        let mut out = Vec::with_capacity(lhs_items.len().max(rhs_items.len()));
        let (mut li, mut ri) = (0, 0);
        while li < lhs_items.len() || ri < rhs_items.len() {
            if li < lhs_items.len() && ri < rhs_items.len() {
                let pe = &lhs_items[li].0;
                if *pe == rhs_items[ri].0 {
                    merged_rhs.insert(pe);
                    let l = observed_lhs.get(pe).copied();
                    out.push(self.merge(l, rhs_items[ri].1, elem, depth + 1));
                    li += 1;
                    ri += 1;
                    next_shared = shared.pop_front();
                    continue;
                }
                if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                    li += 1;
                    continue;
                }
            }
            if li < lhs_items.len() {
                let pe = &lhs_items[li].0;
                if !observed_rhs.contains_key(pe) {
                    out.push(lhs_items[li].1.clone());
                    li += 1;
                    continue;
                } else if merged_rhs.contains(pe) {
                    li += 1;
                }
            }
            if ri < rhs_items.len() {
                let (pe, rv) = &rhs_items[ri];
                merged_rhs.insert(pe);
                let l = observed_lhs.get(pe).copied();
                out.push(self.merge(l, rv, elem, depth + 1));
                ri += 1;
                if next_shared.is_some_and(|n| n == pe) {
                    next_shared = shared.pop_front();
                }
            }
        }
        Value::Array(out)
    }

    /// `RemoveItems`: drops every path of `set` from `v`. Maps and lists emptied by the
    /// removal are dropped from their parent.
    pub(crate) fn remove(&mut self, v: &Value, set: &FieldSet, ty: &Ty, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return v.clone();
        }
        match shape(ty, &[Some(v)]) {
            Shape::Leaf => v.clone(),
            Shape::Map => {
                let Some(m) = v.as_object() else {
                    return v.clone();
                };
                let mut out = Map::with_capacity(m.len());
                for (k, cv) in m {
                    let pe = PathElement::Field(k.clone());
                    if set.has_member(&pe) {
                        continue;
                    }
                    match set.child(&pe) {
                        Some(sub) => {
                            let (cty, _) = ty.field(k, self.meta);
                            let nv = self.remove(cv, sub, &cty, depth + 1);
                            if !(emptied(cv, &nv)) {
                                out.insert(k.clone(), nv);
                            }
                        }
                        None => {
                            out.insert(k.clone(), cv.clone());
                        }
                    }
                }
                Value::Object(out)
            }
            Shape::List(ref kind, ref elem) => {
                let Some(items) = v.as_array() else {
                    return v.clone();
                };
                let no_path: [PathElement; 0] = [];
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let pe = self.pe_of(kind, item, i, &no_path);
                    if set.has_member(&pe) {
                        continue;
                    }
                    match set.child(&pe) {
                        Some(sub) => out.push(self.remove(item, sub, elem, depth + 1)),
                        None => out.push(item.clone()),
                    }
                }
                Value::Array(out)
            }
        }
    }
}

/// True when removal turned a non-empty map or list into an empty one.
fn emptied(before: &Value, after: &Value) -> bool {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => !b.is_empty() && a.is_empty(),
        (Value::Array(b), Value::Array(a)) => !b.is_empty() && a.is_empty(),
        _ => false,
    }
}

/// A copy of `v` without `null` object fields.
pub(crate) fn strip_nulls(v: &Value) -> Value {
    fn go(v: &Value, depth: usize) -> Value {
        match v {
            Value::Object(m) if depth < MAX_DEPTH => Value::Object(
                m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), go(v, depth + 1))).collect(),
            ),
            Value::Array(a) if depth < MAX_DEPTH => Value::Array(a.iter().map(|v| go(v, depth + 1)).collect()),
            other => other.clone(),
        }
    }
    go(v, 0)
}
