//! [`PatchMeta`] over the generated definitions: a field's shape, the definition of its value
//! (through `allOf`/`$ref`), and its patch/list/map extensions.

use rustc_hash::FxHashMap;

use serde_json::Value;
use skiff_patch::meta::{FieldMeta, FieldShape, PatchMeta};

use crate::defs::REF_PREFIX;
use crate::extensions::{LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE, PATCH_MERGE_KEY, PATCH_STRATEGY};
use crate::Registry;

/// The definition a schema refers to, through `$ref` or a one-element `allOf` of a `$ref`.
fn ref_name(schema: &Value) -> Option<&str> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.strip_prefix(REF_PREFIX);
    }
    let all_of = schema.get("allOf")?.as_array()?;
    all_of.first().and_then(ref_name)
}

fn ext_str(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_string)
}

impl Registry {
    /// Resolves a schema to (definition name, definition) when it refers to one.
    fn resolve<'a>(&'a self, schema: &'a Value) -> (Option<&'a str>, &'a Value) {
        match ref_name(schema) {
            Some(name) => match self.definition(name) {
                Some(def) => (Some(name), def),
                None => (None, schema),
            },
            None => (None, schema),
        }
    }

    /// The name of the object definition `schema` stands for; None for scalars (`Quantity`,
    /// `Time`, `IntOrString`), opaque objects (`RawExtension`) and inline schemas.
    fn object_definition(&self, schema: &Value) -> Option<String> {
        let (name, def) = self.resolve(schema);
        let has_props = def.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
        name.filter(|_| has_props).map(str::to_string)
    }

    /// The metadata of a property schema.
    pub(crate) fn property_meta(&self, prop: &Value) -> FieldMeta {
        let (_, resolved) = self.resolve(prop);
        let mut meta = FieldMeta::scalar();
        meta.patch_strategy = ext_str(prop, PATCH_STRATEGY);
        meta.patch_merge_key = ext_str(prop, PATCH_MERGE_KEY);
        meta.list_type = ext_str(prop, LIST_TYPE);
        meta.list_map_keys = prop
            .get(LIST_MAP_KEYS)
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        meta.map_type = ext_str(prop, MAP_TYPE).or_else(|| ext_str(resolved, MAP_TYPE));
        if let Some(items) = resolved.get("items") {
            meta.shape = FieldShape::List;
            meta.definition = self.object_definition(items);
        } else if let Some(values) = resolved.get("additionalProperties").filter(|v| v.is_object()) {
            meta.shape = FieldShape::Map;
            meta.definition = self.object_definition(values);
        } else if let Some(name) = self.object_definition(prop) {
            meta.shape = FieldShape::Object;
            meta.definition = Some(name);
        }
        meta
    }
}

impl Registry {
    /// Every (definition, field) → metadata, computed once so lookups never allocate.
    pub(crate) fn field_table(&self) -> FieldTable {
        let mut table = FieldTable::default();
        for (name, def) in &self.definitions {
            let Some(props) = def.get("properties").and_then(Value::as_object) else { continue };
            let fields = props.iter().map(|(f, p)| (f.clone(), self.property_meta(p))).collect();
            table.insert(name.clone(), fields);
        }
        table
    }
}

/// Field metadata by definition name, then field name. Looked up for every field that a
/// patch, an apply or managedFields tracking walks: hashed with FxHash, not SipHash (the keys
/// are the schema's own names, not anyone's input).
pub(crate) type FieldTable = FxHashMap<String, FxHashMap<String, FieldMeta>>;

impl PatchMeta for Registry {
    fn field(&self, definition: &str, field: &str) -> Option<&FieldMeta> {
        self.fields.get(definition)?.get(field)
    }
}
