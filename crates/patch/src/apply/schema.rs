//! The structured-merge-diff view of a type, derived from [`PatchMeta`] the way
//! kube-openapi's schemaconv does: `x-kubernetes-list-type` / `-map-type` first, else a list
//! with patch strategy `merge` is a list-map keyed by its merge key (a set when its items are
//! scalars), else lists are atomic; unknown fields are "deduced" (objects granular maps, lists
//! atomic).

use serde_json::Value;

use super::fieldset::PathElement;
use crate::meta::{FieldMeta, FieldShape, PatchMeta};

/// How a list's items are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKind {
    Atomic,
    Set,
    Keys(Vec<String>),
}

/// A type in the schema.
#[derive(Debug, Clone)]
pub(crate) enum Ty {
    Struct { def: String, atomic: bool },
    Map { elem: Box<Ty>, atomic: bool },
    List { elem: Box<Ty>, kind: ListKind },
    Scalar,
    Deduced,
}

impl Ty {
    /// The type of a field described by `fm`.
    pub(crate) fn from_meta(fm: &FieldMeta) -> Ty {
        let atomic_map = fm.map_type.as_deref() == Some("atomic");
        let elem = || match &fm.definition {
            Some(d) => Ty::Struct { def: d.clone(), atomic: false },
            None => Ty::Scalar,
        };
        match fm.shape {
            FieldShape::Scalar => Ty::Scalar,
            FieldShape::Object => match &fm.definition {
                Some(d) => Ty::Struct { def: d.clone(), atomic: atomic_map },
                None => Ty::Deduced,
            },
            FieldShape::Map => Ty::Map { elem: Box::new(elem()), atomic: atomic_map },
            FieldShape::List => {
                let elem = elem();
                let scalar_items = matches!(elem, Ty::Scalar);
                let key = fm.patch_merge_key.clone().filter(|k| !k.is_empty());
                let kind = match fm.list_type.as_deref() {
                    Some("atomic") => ListKind::Atomic,
                    Some("set") => ListKind::Set,
                    Some("map") if !fm.list_map_keys.is_empty() => ListKind::Keys(fm.list_map_keys.clone()),
                    Some("map") => match key {
                        Some(k) => ListKind::Keys(vec![k]),
                        None => ListKind::Atomic,
                    },
                    _ if fm.merges() => match key {
                        Some(k) if !scalar_items => ListKind::Keys(vec![k]),
                        _ if scalar_items => ListKind::Set,
                        _ => ListKind::Atomic,
                    },
                    _ => ListKind::Atomic,
                };
                Ty::List { elem: Box::new(elem), kind }
            }
        }
    }

    /// The type of `key` inside a value of this type, and whether it is a declared field of a
    /// struct (whose presence alone is not a field-set member).
    pub(crate) fn field(&self, key: &str, meta: &dyn PatchMeta) -> (Ty, bool) {
        match self {
            Ty::Struct { def, .. } => match meta.field(def, key) {
                Some(fm) => (Ty::from_meta(&fm), true),
                None => (Ty::Deduced, false),
            },
            Ty::Map { elem, .. } => ((**elem).clone(), false),
            _ => (Ty::Deduced, false),
        }
    }

    pub(crate) fn is_struct(&self) -> bool {
        matches!(self, Ty::Struct { .. })
    }
}

/// How a value of a type is walked.
pub(crate) enum Shape<'t> {
    /// Compared / replaced as a whole.
    Leaf,
    /// A granular map or struct.
    Map,
    /// A granular list.
    List(&'t ListKind, &'t Ty),
}

/// The shape of `ty` for the given values (None or null where absent).
pub(crate) fn shape<'t>(ty: &'t Ty, values: &[Option<&Value>]) -> Shape<'t> {
    let present = || values.iter().flatten().filter(|v| !v.is_null());
    match ty {
        Ty::Scalar => Shape::Leaf,
        Ty::Struct { atomic: true, .. } | Ty::Map { atomic: true, .. } => Shape::Leaf,
        Ty::Struct { .. } | Ty::Map { .. } | Ty::Deduced => {
            if present().all(|v| v.is_object()) && present().next().is_some() {
                Shape::Map
            } else {
                Shape::Leaf
            }
        }
        Ty::List { kind: ListKind::Atomic, .. } => Shape::Leaf,
        Ty::List { kind, elem } => {
            if present().all(|v| v.is_array()) && present().next().is_some() {
                Shape::List(kind, elem)
            } else {
                Shape::Leaf
            }
        }
    }
}

/// The path element of a list item (`listItemToPathElement`); Err with
/// structured-merge-diff's message when the item cannot be identified.
pub(crate) fn item_pe(kind: &ListKind, item: &Value, index: usize) -> Result<PathElement, String> {
    match kind {
        ListKind::Keys(keys) => {
            let Some(m) = item.as_object() else {
                return Err("associative list with keys has an element that is not a map".into());
            };
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                match (m.get(k), key_default(k)) {
                    (Some(v), _) if !v.is_null() => out.push((k.clone(), v.clone())),
                    (_, Some(d)) => out.push((k.clone(), d)),
                    _ => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {k:?} (and doesn't have default value)"
                        ))
                    }
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(out))
        }
        ListKind::Set => match item {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".into()),
            Value::Array(_) => Err("associative list without keys has an element that's a list type".into()),
            v => Ok(PathElement::Value(v.clone())),
        },
        ListKind::Atomic => Ok(PathElement::Index(index)),
    }
}

/// Defaults of list-map key fields (structured-merge-diff uses the schema's defaults; the only
/// defaulted key fields in the Kubernetes API are the `protocol` of ports).
fn key_default(key: &str) -> Option<Value> {
    (key == "protocol").then(|| Value::String("TCP".into()))
}
