//! Cases ported from strategicpatch/patch_test.go, over the fake Pod/Deployment schema.

use serde_json::{json, Value};

use super::strategic_merge;
use crate::testmeta::{FakeMeta, DEPLOYMENT, POD};

fn smp(orig: Value, patch: Value) -> Value {
    strategic_merge(&orig, &patch, POD, &FakeMeta::new()).unwrap()
}
fn smp_err(orig: Value, patch: Value) -> String {
    strategic_merge(&orig, &patch, POD, &FakeMeta::new()).unwrap_err().to_string()
}
fn containers(names_images: &[(&str, &str)]) -> Value {
    json!({"spec": {"containers": names_images.iter().map(|(n, i)| json!({"name": n, "image": i})).collect::<Vec<_>>()}})
}

#[test]
fn merges_containers_by_name() {
    let orig = containers(&[("a", "a:1"), ("b", "b:1")]);
    let out = smp(orig, json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}));
    assert_eq!(out, containers(&[("a", "a:1"), ("b", "b:2")]));
}

#[test]
fn new_list_item_without_order_directive_goes_first() {
    // Kubernetes' mergeSortedSlice puts patch items absent from the live list first.
    let orig = containers(&[("a", "a:1")]);
    let out = smp(orig, json!({"spec": {"containers": [{"name": "b", "image": "b:1"}]}}));
    assert_eq!(out, containers(&[("b", "b:1"), ("a", "a:1")]));
}

#[test]
fn delete_directive_removes_list_item() {
    let orig = containers(&[("a", "a:1"), ("b", "b:1"), ("c", "c:1")]);
    let out = smp(orig, json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}));
    assert_eq!(out, containers(&[("a", "a:1"), ("c", "c:1")]));
}

#[test]
fn replace_directive_in_list_replaces_it() {
    let orig = containers(&[("a", "a:1"), ("b", "b:1")]);
    let out = smp(orig, json!({"spec": {"containers": [{"name": "c", "image": "c:1"}, {"$patch": "replace"}]}}));
    assert_eq!(out, containers(&[("c", "c:1")]));
}

#[test]
fn replace_and_delete_directives_on_maps() {
    let orig = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"hostNetwork": true}});
    let out = smp(orig.clone(), json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}));
    assert_eq!(out["metadata"]["labels"], json!({"c": "3"}));
    let out = smp(orig.clone(), json!({"metadata": {"labels": {"$patch": "delete"}}}));
    assert_eq!(out["metadata"]["labels"], json!({}));
    let out = smp(orig, json!({"$patch": "replace", "spec": {"restartPolicy": "Never"}}));
    assert_eq!(out, json!({"spec": {"restartPolicy": "Never"}}));
    let e = smp_err(json!({"a": {}}), json!({"a": {"$patch": "merge"}}));
    assert_eq!(e, "unknown patch type: merge in map: map[$patch:merge]");
    let e = smp_err(json!({}), json!({"$patch": "frob"}));
    assert_eq!(e, "unknown patch type: frob in map: map[$patch:frob]");
}

#[test]
fn merge_directive_in_list_is_rejected() {
    let e = smp_err(containers(&[("a", "1")]), json!({"spec": {"containers": [{"$patch": "merge"}]}}));
    assert_eq!(e, "merging lists cannot yet be specified in the patch");
}

#[test]
fn set_element_order_orders_list() {
    let orig = containers(&[("a", "1"), ("b", "1"), ("c", "1")]);
    let out = smp(
        orig.clone(),
        json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}),
    );
    assert_eq!(out, containers(&[("c", "1"), ("a", "1"), ("b", "1")]));

    // kubectl apply adding `d` between `a` and `b`.
    let out = smp(
        orig,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "d"}, {"name": "b"}, {"name": "c"}],
            "containers": [{"name": "d", "image": "1"}]
        }}),
    );
    assert_eq!(out, containers(&[("a", "1"), ("d", "1"), ("b", "1"), ("c", "1")]));
}

#[test]
fn set_element_order_with_deletion_and_change() {
    // CreateThreeWayMergePatch output for: remove b, change c, order [c, a].
    let orig = containers(&[("a", "1"), ("b", "1"), ("c", "1")]);
    let out = smp(
        orig,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "2"}, {"name": "b", "$patch": "delete"}]
        }}),
    );
    assert_eq!(out, containers(&[("c", "2"), ("a", "1")]));
}

#[test]
fn set_element_order_keeps_server_only_items() {
    // Items only on the server keep their relative place (Go's mergeSortedSlice: `server`
    // comes before `b` in the live list, so it goes first).
    let orig = containers(&[("a", "1"), ("server", "1"), ("b", "1")]);
    let out = smp(orig, json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}));
    let names: Vec<_> =
        out["spec"]["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, vec!["server", "b", "a"]);
}

#[test]
fn set_element_order_mismatch_is_an_error() {
    let orig = containers(&[("a", "1"), ("b", "1")]);
    let e = smp_err(
        orig,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [{"name": "b", "image": "2"}]
        }}),
    );
    assert!(e.starts_with("The order in patch list:"), "{e}");
}

#[test]
fn primitive_set_order_directive() {
    let orig = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let out =
        smp(orig, json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a", "d"], "finalizers": ["d"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "b", "a", "d"]));
}

#[test]
fn finalizers_merge_as_a_set() {
    let orig = json!({"metadata": {"finalizers": ["a", "b"]}});
    let out = smp(orig.clone(), json!({"metadata": {"finalizers": ["b", "c"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let out = smp(orig, json!({"metadata": {"finalizers": ["c"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn delete_from_primitive_list() {
    let orig = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let out = smp(orig.clone(), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}));
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    // Absent list: nothing to delete from, and the directive never lands in the object.
    let out = smp(json!({"metadata": {}}), json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}));
    assert_eq!(out, json!({"metadata": {}}));
    let e = smp_err(orig, json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["b"]}}));
    assert_eq!(e, "invalid patch format of primitive list");
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    let orig = json!({"spec": {"volumes": [{"name": "v", "hostPath": {"path": "/x"}}]}});
    let out = smp(
        orig.clone(),
        json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}, "$retainKeys": ["emptyDir", "name"]}]}}),
    );
    assert_eq!(out, json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}));

    let dep = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let out = strategic_merge(
        &dep,
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        DEPLOYMENT,
        &FakeMeta::new(),
    )
    .unwrap();
    assert_eq!(out, json!({"spec": {"strategy": {"type": "Recreate"}}}));

    let e =
        smp_err(orig.clone(), json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}, "$retainKeys": ["name"]}]}}));
    assert_eq!(e, "invalid patch format of retainKeys");
    let e = smp_err(orig, json!({"spec": {"$retainKeys": "x"}}));
    assert_eq!(e, "invalid patch format of retainKeys");
}

#[test]
fn null_deletes_fields() {
    let orig = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"hostNetwork": true}});
    let out = smp(orig, json!({"metadata": {"labels": {"a": null}}, "spec": {"hostNetwork": null, "x": null}}));
    assert_eq!(out, json!({"metadata": {"labels": {"b": "2"}}, "spec": {}}));
}

#[test]
fn new_values_are_stripped_of_nulls_and_directives() {
    let out = smp(
        json!({"spec": {}}),
        json!({"spec": {
            "initContainers": [{"name": "x", "image": "1", "args": null}, {"name": "y", "$patch": "delete"}],
            "securityContext": {"runAsUser": null, "$retainKeys": []}
        }}),
    );
    assert_eq!(out, json!({"spec": {"initContainers": [{"name": "x", "image": "1"}], "securityContext": {}}}));
}

#[test]
fn non_merge_lists_and_unknown_fields_replace() {
    let orig = json!({"spec": {"tolerations": [{"key": "a"}], "containers": [{"name": "c", "args": ["1", "2"]}]}, "extra": {"list": [1, 2], "m": {"a": 1}}});
    let out = smp(
        orig,
        json!({"spec": {"tolerations": [{"key": "b"}], "containers": [{"name": "c", "args": ["3"]}]}, "extra": {"list": [3], "m": {"b": 2}}}),
    );
    assert_eq!(
        out,
        json!({"spec": {"tolerations": [{"key": "b"}], "containers": [{"name": "c", "args": ["3"]}]}, "extra": {"list": [3], "m": {"a": 1, "b": 2}}})
    );
}

#[test]
fn nested_merge_lists() {
    let orig = json!({"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 80}]}]}});
    let out = smp(
        orig,
        json!({"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "3"}, {"name": "A", "$patch": "delete"}], "ports": [{"containerPort": 443}]}]}}),
    );
    assert_eq!(
        out,
        json!({"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "3"}], "ports": [{"containerPort": 443}, {"containerPort": 80}]}]}})
    );
}

#[test]
fn kubectl_apply_patch() {
    // What `kubectl apply` sends after changing an image and a label.
    let live = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app": "a"}, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"containers": [{"name": "x", "image": "nginx:1", "imagePullPolicy": "Always"}, {"name": "y", "image": "busybox"}]}
    });
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}"}, "labels": {"app": "b"}},
        "spec": {"$setElementOrder/containers": [{"name": "x"}, {"name": "y"}], "containers": [{"image": "nginx:2", "name": "x"}]}
    });
    let out = smp(live, patch);
    assert_eq!(
        out,
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "b"}, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}"}},
            "spec": {"containers": [{"name": "x", "image": "nginx:2", "imagePullPolicy": "Always"}, {"name": "y", "image": "busybox"}]}
        })
    );
}

#[test]
fn errors_for_malformed_patches() {
    assert_eq!(smp_err(json!({}), json!([1])), "invalid JSON document");
    assert_eq!(
        smp_err(containers(&[("a", "1")]), json!({"spec": {"containers": [{"image": "x"}]}})),
        "map: map[image:x] does not contain declared merge key: name"
    );
    assert_eq!(
        smp_err(containers(&[("a", "1")]), json!({"spec": {"containers": [["x"]]}})),
        "lists of lists are not supported"
    );
    let e = smp_err(containers(&[("a", "1")]), json!({"spec": {"containers": ["x"]}}));
    assert!(e.starts_with("list element types are not identical"), "{e}");
    assert_eq!(
        smp_err(json!({"metadata": {"finalizers": ["a"]}}), json!({"metadata": {"$setElementOrder/finalizers": "a"}})),
        "expected a []interface {}, but received a string"
    );
    assert_eq!(
        smp_err(json!({"metadata": {}}), json!({"metadata": {"$setElementOrderfinalizers": []}})),
        "invalid patch format of setElementOrder list"
    );
}

#[test]
fn type_changes_replace() {
    let out = smp(json!({"spec": {"containers": "x"}}), json!({"spec": {"containers": [{"name": "a"}]}}));
    assert_eq!(out, json!({"spec": {"containers": [{"name": "a"}]}}));
}

#[test]
fn never_panics_on_hostile_input() {
    let meta = FakeMeta::new();
    let origs = [
        json!({}),
        containers(&[("a", "1"), ("b", "2")]),
        json!({"spec": {"containers": [1, 2]}, "metadata": {"finalizers": [{"a": 1}], "labels": []}}),
        json!({"spec": {"containers": [{"image": "no-name"}]}}),
    ];
    let values = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!({}),
        json!([null, 1]),
        json!([{"name": null}]),
        json!([{"$patch": "delete"}]),
        json!([{"$patch": 7, "name": "a"}]),
        json!([{"$patch": "replace"}, 1]),
        json!({"$patch": null}),
        json!({"$retainKeys": [1, null]}),
        json!([[1]]),
    ];
    let keys = [
        "containers",
        "$setElementOrder/containers",
        "$deleteFromPrimitiveList/containers",
        "finalizers",
        "$setElementOrder/finalizers",
        "$deleteFromPrimitiveList/finalizers",
        "$retainKeys",
        "$patch",
        "labels",
    ];
    for orig in &origs {
        for k in keys {
            for v in &values {
                for k2 in keys {
                    let p = json!({"spec": {k: v.clone(), k2: v.clone()}, "metadata": {k: v.clone(), k2: v.clone()}});
                    let _ = strategic_merge(orig, &p, POD, &meta);
                }
            }
        }
    }
    // Deep nesting (beyond serde_json's own parse limit of 128) gives an error.
    let mut patch = json!("x");
    for _ in 0..300 {
        patch = json!({"a": patch});
    }
    let mut orig = json!("y");
    for _ in 0..300 {
        orig = json!({"a": orig});
    }
    assert!(strategic_merge(&orig, &patch, POD, &meta).is_err());
}
