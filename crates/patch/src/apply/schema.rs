//! The structured-merge-diff view of a type, derived from [`PatchMeta`] the way
//! kube-openapi's schemaconv does: `x-kubernetes-list-type` / `-map-type` first, else a list
//! with patch strategy `merge` is a list-map keyed by its merge key (a set when its items are
//! scalars), else lists are atomic; unknown fields are "deduced" (objects granular maps, lists
//! atomic).

use serde_json::Value;

use super::fieldset::PathElement;
use crate::meta::{FieldMeta, FieldShape, PatchMeta};

/// How a list's items are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind<'m> {
    Atomic,
    Set,
    /// By these key fields (`x-kubernetes-list-map-keys`).
    Keys(&'m [String]),
    /// By one key field (the patch merge key).
    Key(&'m str),
}

impl<'m> ListKind<'m> {
    /// The key fields of a list-map.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'m str> {
        let (many, one): (&'m [String], Option<&'m str>) = match *self {
            ListKind::Keys(k) => (k, None),
            ListKind::Key(k) => (&[], Some(k)),
            _ => (&[], None),
        };
        many.iter().map(String::as_str).chain(one)
    }
}

/// A type in the schema, borrowed from the schema's field metadata (copied freely).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty<'m> {
    Struct {
        def: &'m str,
        atomic: bool,
    },
    /// A map whose values are objects of `elem` (None: scalars).
    Map {
        elem: Option<&'m str>,
        atomic: bool,
    },
    /// A list whose items are objects of `elem` (None: scalars).
    List {
        elem: Option<&'m str>,
        kind: ListKind<'m>,
    },
    Scalar,
    Deduced,
}

/// The type of a map value or list item: an object of `def`, or a scalar.
fn elem_ty(def: Option<&str>) -> Ty<'_> {
    match def {
        Some(def) => Ty::Struct { def, atomic: false },
        None => Ty::Scalar,
    }
}

impl<'m> Ty<'m> {
    /// The type of a field described by `fm`.
    pub(crate) fn from_meta(fm: &'m FieldMeta) -> Ty<'m> {
        let atomic_map = fm.map_type.as_deref() == Some("atomic");
        let def = fm.definition.as_deref();
        match fm.shape {
            FieldShape::Scalar => Ty::Scalar,
            FieldShape::Object => match def {
                Some(def) => Ty::Struct { def, atomic: atomic_map },
                None => Ty::Deduced,
            },
            FieldShape::Map => Ty::Map { elem: def, atomic: atomic_map },
            FieldShape::List => {
                let scalar_items = def.is_none();
                let key = fm.patch_merge_key.as_deref().filter(|k| !k.is_empty());
                let kind = match fm.list_type.as_deref() {
                    Some("atomic") => ListKind::Atomic,
                    Some("set") => ListKind::Set,
                    Some("map") if !fm.list_map_keys.is_empty() => ListKind::Keys(&fm.list_map_keys),
                    Some("map") => match key {
                        Some(k) => ListKind::Key(k),
                        None => ListKind::Atomic,
                    },
                    _ if fm.merges() => match key {
                        Some(k) if !scalar_items => ListKind::Key(k),
                        _ if scalar_items => ListKind::Set,
                        _ => ListKind::Atomic,
                    },
                    _ => ListKind::Atomic,
                };
                Ty::List { elem: def, kind }
            }
        }
    }

    /// The type of `key` inside a value of this type, and whether it is a declared field of a
    /// struct (whose presence alone is not a field-set member).
    pub(crate) fn field(&self, key: &str, meta: &'m dyn PatchMeta) -> (Ty<'m>, bool) {
        match *self {
            Ty::Struct { def, .. } => match meta.field(def, key) {
                Some(fm) => (Ty::from_meta(fm), true),
                None => (Ty::Deduced, false),
            },
            Ty::Map { elem, .. } => (elem_ty(elem), false),
            _ => (Ty::Deduced, false),
        }
    }

    /// The type of the items of a list type (Deduced for others).
    pub(crate) fn item(&self) -> Ty<'m> {
        match *self {
            Ty::List { elem, .. } => elem_ty(elem),
            _ => Ty::Deduced,
        }
    }

    pub(crate) fn is_struct(&self) -> bool {
        matches!(self, Ty::Struct { .. })
    }
}

/// How a value of a type is walked.
pub(crate) enum Shape<'m> {
    /// Compared / replaced as a whole.
    Leaf,
    /// A granular map or struct.
    Map,
    /// A granular list: how its items are identified, and their type.
    List(ListKind<'m>, Ty<'m>),
}

/// The shape of `ty` for the given values (None or null where absent).
pub(crate) fn shape<'m>(ty: &Ty<'m>, values: &[Option<&Value>]) -> Shape<'m> {
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
        Ty::List { kind, .. } => {
            if present().all(|v| v.is_array()) && present().next().is_some() {
                Shape::List(*kind, ty.item())
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
        ListKind::Keys(_) | ListKind::Key(_) => {
            let Some(m) = item.as_object() else {
                return Err("associative list with keys has an element that is not a map".into());
            };
            let mut out = Vec::with_capacity(1);
            for k in kind.keys() {
                match (m.get(k), key_default(k)) {
                    (Some(v), _) if !v.is_null() => out.push((k.to_string(), v.clone())),
                    (_, Some(d)) => out.push((k.to_string(), d)),
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
