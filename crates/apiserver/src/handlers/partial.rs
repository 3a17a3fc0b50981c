//! `as=PartialObjectMetadata` responses (metadata-only informers, as the garbage collector's):
//! each object reduced to its kind, apiVersion and metadata.

use serde_json::{json, Value};

/// True when the Accept header asks for `meta.k8s.io` PartialObjectMetadata or its List.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=PartialObjectMetadata"))
}

pub use crate::objects::partial_object as object;

pub fn list(items: &[Value], list_meta: Value) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "items": items.iter().map(object).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_metadata_is_kept() {
        assert!(wanted("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"));
        assert!(!wanted("application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadata"));
        let pod = json!({"kind": "Pod", "metadata": {"name": "p", "uid": "u"}, "spec": {"x": 1}});
        assert_eq!(
            object(&pod),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"name": "p", "uid": "u"}})
        );
        assert_eq!(list(&[pod], json!({"resourceVersion": "3"}))["items"][0]["metadata"]["name"], "p");
    }
}
