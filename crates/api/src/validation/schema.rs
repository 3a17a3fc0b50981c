//! The OpenAPI schemas of the served kinds (from k8s-openapi's types via `schemars`), each
//! compiled once into the tree the decode-time walk ([`super::fields`]) follows: `$ref`s
//! resolved, each node's kind and its fields' names ready to look up. Walking the JSON
//! schema itself cost a dozen map lookups per value of every request body.

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::api::{apps, batch, coordination, core, events, scheduling};
use rustc_hash::FxHashMap;
use schemars::{generate::SchemaSettings, JsonSchema};
use serde_json::{Map, Value};

const QUANTITY_DEF: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// What a value must be.
#[derive(Debug)]
pub(super) enum Kind {
    /// Anything (no `type`).
    Any,
    Quantity,
    /// `x-kubernetes-int-or-string`.
    IntOrString,
    String(StringFormat),
    Integer {
        int32: bool,
    },
    Number,
    Boolean,
    Array(usize),
    /// An object with `properties`: field name → node.
    Struct(FxHashMap<&'static str, usize>),
    /// An object with `additionalProperties`: every value's node.
    Map(usize),
    /// An object with neither.
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StringFormat {
    Plain,
    DateTime,
    Byte,
}

/// One node: its kind, the schema it came from (error messages name its Go type) and the
/// name of the definition it resolved to, if a named one.
#[derive(Debug)]
pub(super) struct Node {
    pub kind: Kind,
    pub schema: &'static Value,
    /// The definition's short name (`PodSpec`), if a named one.
    pub short: Option<&'static str>,
}

/// A kind's compiled schema: node 0 is the root.
#[derive(Debug)]
pub(super) struct Compiled {
    pub nodes: Vec<Node>,
    /// The root schema's `$defs`.
    pub defs: Option<&'static Map<String, Value>>,
}

fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12().into_generator().root_schema_for::<T>().to_value()
}

/// The root schemas (with their `$defs`) of the served kinds, by OpenAPI definition name.
fn schemas() -> &'static HashMap<&'static str, Value> {
    static SCHEMAS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut m = HashMap::new();
        macro_rules! add {
            ($($name:literal => $ty:ty),* $(,)?) => { $( m.insert($name, schema_for::<$ty>()); )* };
        }
        add! {
            "io.k8s.api.core.v1.Namespace" => core::v1::Namespace,
            "io.k8s.api.core.v1.Pod" => core::v1::Pod,
            "io.k8s.api.core.v1.Node" => core::v1::Node,
            "io.k8s.api.core.v1.Event" => core::v1::Event,
            "io.k8s.api.core.v1.ConfigMap" => core::v1::ConfigMap,
            "io.k8s.api.core.v1.Secret" => core::v1::Secret,
            "io.k8s.api.core.v1.Service" => core::v1::Service,
            "io.k8s.api.core.v1.Endpoints" => core::v1::Endpoints,
            "io.k8s.api.core.v1.ServiceAccount" => core::v1::ServiceAccount,
            "io.k8s.api.apps.v1.Deployment" => apps::v1::Deployment,
            "io.k8s.api.apps.v1.ReplicaSet" => apps::v1::ReplicaSet,
            "io.k8s.api.apps.v1.ControllerRevision" => apps::v1::ControllerRevision,
            "io.k8s.api.core.v1.ReplicationController" => core::v1::ReplicationController,
            "io.k8s.api.apps.v1.StatefulSet" => apps::v1::StatefulSet,
            "io.k8s.api.apps.v1.DaemonSet" => apps::v1::DaemonSet,
            "io.k8s.api.batch.v1.Job" => batch::v1::Job,
            "io.k8s.api.batch.v1.CronJob" => batch::v1::CronJob,
            "io.k8s.api.coordination.v1.Lease" => coordination::v1::Lease,
            "io.k8s.api.scheduling.v1.PriorityClass" => scheduling::v1::PriorityClass,
            "io.k8s.api.events.v1.Event" => events::v1::Event,
        }
        m
    })
}

/// The compiled schema of a served kind, by OpenAPI definition name.
pub(super) fn compiled(definition: &str) -> Option<&'static Compiled> {
    static COMPILED: OnceLock<HashMap<&'static str, Compiled>> = OnceLock::new();
    COMPILED.get_or_init(|| schemas().iter().map(|(name, root)| (*name, Compiled::new(root))).collect()).get(definition)
}

/// Follows `$ref`s within `defs`: the schema and, if it was a named definition, its name.
pub(super) fn resolve<'s>(defs: Option<&'s Map<String, Value>>, mut schema: &'s Value) -> (&'s Value, Option<&'s str>) {
    let mut name = None;
    for _ in 0..8 {
        let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let key = r.trim_start_matches("#/$defs/").trim_start_matches("#/definitions/");
        match defs.and_then(|d| d.get_key_value(key)) {
            Some((k, s)) => {
                name = Some(k.as_str());
                schema = s;
            }
            None => break,
        }
    }
    (schema, name)
}

impl Compiled {
    fn new(root: &'static Value) -> Compiled {
        let defs = root.get("$defs").and_then(Value::as_object);
        let mut c = Compiled { nodes: Vec::new(), defs };
        let mut named = HashMap::new();
        c.add(root, &mut named);
        c
    }

    /// Compiles `schema`, once per named definition (which also ends recursion), returning
    /// its node.
    fn add(&mut self, schema: &'static Value, named: &mut HashMap<&'static str, usize>) -> usize {
        static NULL: Value = Value::Null;
        let (resolved, def) = resolve(self.defs, schema);
        if let Some(id) = def.and_then(|d| named.get(d)) {
            return *id;
        }
        let id = self.nodes.len();
        let short = def.map(|d| d.rsplit('.').next().unwrap_or(d));
        self.nodes.push(Node { kind: Kind::Any, schema, short });
        if let Some(d) = def {
            named.insert(d, id);
        }
        let format = || resolved.get("format").and_then(Value::as_str);
        let kind = if def == Some(QUANTITY_DEF) {
            Kind::Quantity
        } else if resolved.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            Kind::IntOrString
        } else {
            match resolved.get("type").and_then(Value::as_str) {
                Some("string") => Kind::String(match format() {
                    Some("date-time") => StringFormat::DateTime,
                    Some("byte") => StringFormat::Byte,
                    _ => StringFormat::Plain,
                }),
                Some("integer") => Kind::Integer { int32: format() == Some("int32") },
                Some("number") => Kind::Number,
                Some("boolean") => Kind::Boolean,
                Some("array") => Kind::Array(self.add(resolved.get("items").unwrap_or(&NULL), named)),
                Some("object") => {
                    if let Some(props) = resolved.get("properties").and_then(Value::as_object) {
                        let fields = props.iter().map(|(k, s)| (k.as_str(), self.add(s, named))).collect();
                        Kind::Struct(fields)
                    } else if let Some(ap) = resolved.get("additionalProperties").filter(|a| a.is_object()) {
                        Kind::Map(self.add(ap, named))
                    } else {
                        Kind::Object
                    }
                }
                _ => Kind::Any,
            }
        };
        self.nodes[id].kind = kind;
        id
    }
}
