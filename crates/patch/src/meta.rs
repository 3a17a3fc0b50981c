//! What patch and apply logic needs to know about a field: its type, and how lists and maps
//! under it merge. Implemented over the OpenAPI definitions by `crate::schema`, and by small
//! tables in unit tests.

/// The shape of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldShape {
    /// A string, number, boolean, or a value with no schema (`IntOrString`, `Quantity`, raw JSON).
    Scalar,
    /// An object with named fields; `FieldMeta::definition` names it.
    Object,
    /// A map with arbitrary keys (`additionalProperties`); values described by `FieldMeta::definition`
    /// (None for scalar values).
    Map,
    /// A list; items described by `FieldMeta::definition` (None for scalar items).
    List,
}

/// Facts about one field of one definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMeta {
    pub shape: FieldShape,
    /// OpenAPI definition name of the object at this field, or of the list items / map values
    /// when they are objects (`io.k8s.api.core.v1.Container`).
    pub definition: Option<String>,
    /// `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `merge,retainKeys` or `replace`.
    pub patch_strategy: Option<String>,
    /// `x-kubernetes-patch-merge-key` (`name` for containers).
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map` (server-side apply).
    pub list_type: Option<String>,
    /// `x-kubernetes-list-map-keys` (server-side apply).
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    pub map_type: Option<String>,
}

impl FieldMeta {
    pub fn scalar() -> Self {
        FieldMeta {
            shape: FieldShape::Scalar,
            definition: None,
            patch_strategy: None,
            patch_merge_key: None,
            list_type: None,
            list_map_keys: Vec::new(),
            map_type: None,
        }
    }
    /// True when `x-kubernetes-patch-strategy` contains `merge`.
    pub fn merges(&self) -> bool {
        self.patch_strategy.as_deref().is_some_and(|s| s.split(',').any(|p| p == "merge"))
    }
    /// True when `x-kubernetes-patch-strategy` contains `retainKeys`.
    pub fn retains_keys(&self) -> bool {
        self.patch_strategy.as_deref().is_some_and(|s| s.split(',').any(|p| p == "retainKeys"))
    }
}

/// Field metadata lookup by definition name and field name.
pub trait PatchMeta: Send + Sync {
    /// The metadata of `field` in the object definition `definition`; None when the definition
    /// is unknown or has no such field (the value is then treated as an opaque scalar/map).
    /// Borrowed: implementations hand out precomputed entries, and walks borrow their names.
    fn field(&self, definition: &str, field: &str) -> Option<&FieldMeta>;
}
