//! `as=Table` responses: the columns kube-apiserver prints, one row per object.

use serde_json::{json, Value};
use skiff_api::{table, ResourceInfo};

/// True when the Accept header asks for a `meta.k8s.io` Table.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=Table"))
}

/// What each row carries as `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(v: Option<&str>) -> Include {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

fn row(res: &ResourceInfo, obj: &Value, include: Include, now: chrono::DateTime<chrono::Utc>) -> Value {
    let cells = table::row(res, obj, now);
    let mut r = json!({"cells": cells});
    match include {
        Include::None => {}
        Include::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
            })
        }
        Include::Object => r["object"] = obj.clone(),
    }
    r
}

/// A Table of `objs`; `headers` = false leaves the column definitions out (watch events
/// after the first).
pub fn build(res: &ResourceInfo, objs: &[Value], include: Include, headers: bool, list_meta: Value) -> Value {
    let now = chrono::Utc::now();
    let rows: Vec<Value> = objs.iter().map(|o| row(res, o, include, now)).collect();
    let columns = if headers { table::column_definitions_json(res) } else { Value::Null };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}
