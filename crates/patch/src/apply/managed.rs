//! `metadata.managedFields`: decoding, encoding and Kubernetes' entry order.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};

/// One managedFields entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub set: FieldSet,
    /// The `fieldsV1` this entry was decoded from, while `set` is still what it says:
    /// encoding reuses it instead of writing the set out again.
    pub raw: Option<Fields>,
    /// `set` is not read from `raw` yet (and is empty meanwhile): [`decode_owned_lazy`].
    pub unparsed: bool,
}

impl Entry {
    /// Whether this entry is the one of (manager, operation, apiVersion, subresource); the
    /// apiVersion only distinguishes Update entries (Kubernetes' manager identifier).
    pub fn is(&self, manager: &str, operation: &str, api_version: &str, sub: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == sub
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// Reads `set` from `raw` if not done yet (a malformed `raw` leaves the entry as it is).
    pub fn parse(&mut self) {
        if let Some(set) = self.raw.as_ref().filter(|_| self.unparsed).and_then(Fields::to_set) {
            self.set = set;
            self.unparsed = false;
        }
    }

    /// Whether this entry's set may hold a path of `set`: its fieldsV1 are read only when
    /// some top-level field is in both.
    pub fn may_meet(&self, set: &FieldSet) -> bool {
        match (&self.raw, self.unparsed) {
            (Some(raw), true) => raw.any_key(|k| match k.strip_prefix("f:") {
                Some(name) => set.has_top_field(name),
                None => k != ".",
            }),
            _ => true,
        }
    }
}

/// An entry's `fieldsV1` as it was read: a tree (from an object's `managedFields`), or JSON
/// text (from a list kept as text beside its object, [`super::track_update_text`]).
#[derive(Debug, Clone)]
pub(crate) enum Fields {
    Tree(Value),
    Text(Box<RawValue>),
}

impl Fields {
    /// The set these fields name; None when malformed.
    pub fn to_set(&self) -> Option<FieldSet> {
        match self {
            Fields::Tree(v) => FieldSet::from_fields_v1(v),
            Fields::Text(t) => FieldSet::from_fields_v1(&serde_json::from_str(t.get()).ok()?),
        }
    }

    /// Whether a top-level key satisfies `f` (true when the fields are not an object).
    fn any_key(&self, f: impl Fn(&str) -> bool) -> bool {
        match self {
            Fields::Tree(Value::Object(m)) => m.keys().any(|k| f(k)),
            Fields::Tree(_) => true,
            Fields::Text(t) => {
                serde_json::from_str::<BTreeMap<String, IgnoredAny>>(t.get()).map_or(true, |m| m.keys().any(|k| f(k)))
            }
        }
    }

    pub fn into_value(self) -> Value {
        match self {
            Fields::Tree(v) => v,
            // Text is valid JSON (a RawValue is checked when read).
            Fields::Text(t) => serde_json::from_str(t.get()).unwrap_or_default(),
        }
    }
}

/// The managedFields of `obj`: None when absent or malformed, `Some(vec![])` for the
/// "reset" form `[{}]`.
pub(crate) fn decode(obj: &Value) -> Option<Vec<Entry>> {
    decode_list(obj.get("metadata")?.get("managedFields")?)
}

/// A managedFields list, as [`decode`] reads it.
pub(crate) fn decode_list(list: &Value) -> Option<Vec<Entry>> {
    decode_owned(list.clone())
}

/// A managedFields list taken out of its object: the entries' strings and `fieldsV1` are
/// moved, not copied.
pub(crate) fn decode_owned(list: Value) -> Option<Vec<Entry>> {
    decode_entries(list, false)
}

/// As [`decode_owned`], for a list known to be well formed (the stored object's own), with
/// every `fieldsV1` left unread until [`Entry::parse`]: most writes touch few managers' fields.
pub(crate) fn decode_owned_lazy(list: Value) -> Option<Vec<Entry>> {
    decode_entries(list, true)
}

fn decode_entries(list: Value, lazy: bool) -> Option<Vec<Entry>> {
    let Value::Array(list) = list else { return None };
    if list.len() == 1 && list[0].as_object().is_some_and(Map::is_empty) {
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let Value::Object(mut m) = e else { return None };
        let mut s = |k: &str| match m.remove(k) {
            Some(Value::String(v)) => Some(v),
            _ => None,
        };
        if s("fieldsType").is_some_and(|t| t != "FieldsV1") {
            return None;
        }
        let (manager, operation, api_version) = (s("manager"), s("operation"), s("apiVersion"));
        let (time, subresource) = (s("time"), s("subresource"));
        let raw = m.remove("fieldsV1");
        // Sets that are empty (or not objects) are read at once, as eagerly.
        let unparsed = lazy && raw.as_ref().and_then(Value::as_object).is_some_and(|m| m.keys().any(|k| k != "."));
        let set = match &raw {
            Some(v) if !unparsed => FieldSet::from_fields_v1(v)?,
            _ => FieldSet::new(),
        };
        let raw = raw.map(Fields::Tree);
        out.push(Entry {
            manager: manager.unwrap_or_default(),
            operation: operation.unwrap_or_default(),
            api_version: api_version.unwrap_or_default(),
            time,
            subresource: subresource.filter(|s| !s.is_empty()),
            set,
            raw,
            unparsed,
        });
    }
    Some(out)
}

/// Puts entries in Kubernetes' order (operation, time, manager, apiVersion, subresource).
pub(crate) fn sort(entries: &mut [Entry]) {
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| p.time.as_deref().unwrap_or("").cmp(q.time.as_deref().unwrap_or("")))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
}

/// Encodes entries in Kubernetes' order.
pub(crate) fn encode(mut entries: Vec<Entry>) -> Value {
    sort(&mut entries);
    Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), Value::String(e.manager));
                m.insert("operation".into(), Value::String(e.operation));
                m.insert("apiVersion".into(), Value::String(e.api_version));
                if let Some(t) = e.time {
                    m.insert("time".into(), Value::String(t));
                }
                m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
                m.insert("fieldsV1".into(), e.raw.map_or_else(|| e.set.to_fields_v1(), Fields::into_value));
                if let Some(s) = e.subresource {
                    m.insert("subresource".into(), Value::String(s));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// Sets (or, when empty, removes) `metadata.managedFields` of `obj`.
pub(crate) fn store(obj: &mut Value, entries: Vec<Entry>) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(Value::Object(md)) = root.get_mut("metadata") {
            md.remove("managedFields");
        }
        return;
    }
    let md = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !md.is_object() {
        *md = Value::Object(Map::new());
    }
    if let Value::Object(md) = md {
        md.insert("managedFields".into(), encode(entries));
    }
}

/// Takes `metadata.managedFields` out of `obj`.
pub(crate) fn take_managed_fields(obj: &mut Value) -> Option<Value> {
    match obj.get_mut("metadata") {
        Some(Value::Object(md)) => md.remove("managedFields"),
        _ => None,
    }
}

/// `obj` without `metadata.managedFields`.
pub(crate) fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(Value::Object(md)) = out.get_mut("metadata") {
        md.remove("managedFields");
    }
    out
}

/// The fields the fieldmanager never tracks (its `stripSet`): removed as exact paths.
pub(crate) fn strip_set() -> &'static FieldSet {
    static STRIP: std::sync::LazyLock<FieldSet> = std::sync::LazyLock::new(build_strip_set);
    &STRIP
}

fn build_strip_set() -> FieldSet {
    let f = |s: &str| PathElement::Field(s.to_string());
    let mut set = FieldSet::new();
    set.insert(&[f("apiVersion")]);
    set.insert(&[f("kind")]);
    set.insert(&[f("metadata")]);
    for field in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[f("metadata"), f(field)]);
    }
    set
}
