//! Server-side apply and managedFields tracking over the fake Pod/Deployment schema.

use serde_json::{json, Value};

use super::{apply, fields_v1, managed, ApplyError};
use crate::meta::PatchMeta;

/// [`super::track_update`] on a copy of `new`, returned; [`super::track_update_text`], given
/// the same objects with their managedFields taken out as text, must write the same list.
#[allow(clippy::too_many_arguments)]
fn track_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
    definition: &str,
    meta: &dyn PatchMeta,
    now: &str,
) -> Value {
    let mut out = new.clone();
    let reset = super::FieldSet::new();
    let writer = super::Writer { manager, operation, subresource, reset: &reset };
    super::track_update(old, &mut out, &writer, definition, meta, now);

    let well_formed =
        old.is_none_or(|o| o.pointer("/metadata/managedFields").is_none() || managed::decode(o).is_some());
    let split = |v: &Value| {
        let mut tree = v.clone();
        let list = managed::take_managed_fields(&mut tree);
        (tree, list)
    };
    let old = old.map(|o| {
        let (tree, list) = split(o);
        (tree, list.map(|l| serde_json::to_vec(&l).unwrap()))
    });
    let (tree, sent) = split(new);
    let old = old.as_ref().map(|(tree, text)| (tree, text.as_deref()));
    let text = super::track_update_text(old, &tree, sent, &writer, definition, meta, now);
    let written = split(&out).1.map(|l| serde_json::to_vec(&l).unwrap());
    // Text is only ever what this crate wrote: a malformed live list is read lazily there.
    if well_formed {
        assert_eq!(text.map(String::from_utf8), written.map(String::from_utf8), "as text");
    }
    out
}
use crate::testmeta::{FakeMeta, DEPLOYMENT, POD};

const T1: &str = "2024-01-01T00:00:00Z";
const T2: &str = "2024-01-02T00:00:00Z";

fn pod(image: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "myapp", "labels": {"app": "myapp"}},
        "spec": {"containers": [{"name": "myapp-container", "image": image}]}
    })
}

fn ssa(live: Option<&Value>, cfg: &Value, mgr: &str, force: bool) -> Result<Value, ApplyError> {
    apply(live, cfg, mgr, force, POD, &FakeMeta::new(), T1)
}

fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no entry for {manager} in {obj}"))
}

#[test]
fn fields_v1_of_a_pod() {
    let fs = fields_v1(&pod("nginx"), POD, &FakeMeta::new());
    assert_eq!(
        fs,
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
               "f:spec": {"f:containers": {"k:{\"name\":\"myapp-container\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
    );
    assert_eq!(
        serde_json::to_string(&fs["f:spec"]).unwrap(),
        r#"{"f:containers":{"k:{\"name\":\"myapp-container\"}":{".":{},"f:image":{},"f:name":{}}}}"#
    );
}

#[test]
fn fields_v1_sets_list_maps_and_atomics() {
    let obj = json!({
        "metadata": {"name": "d", "finalizers": ["b", "a"]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"spec": {
                "containers": [{"name": "c", "args": ["-v"], "ports": [{"containerPort": 80}], "resources": {}}],
                "tolerations": [{"key": "k"}]
            }}
        },
        "unknown": {"a": {"b": 1}, "l": [1]}
    });
    let fs = fields_v1(&obj, DEPLOYMENT, &FakeMeta::new());
    assert_eq!(
        fs,
        json!({
            "f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {"f:spec": {
                    "f:containers": {"k:{\"name\":\"c\"}": {
                        ".": {}, "f:args": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                        "f:resources": {}
                    }},
                    "f:tolerations": {}
                }}
            },
            "f:unknown": {".": {}, "f:a": {".": {}, "f:b": {}}, "f:l": {}}
        })
    );
}

#[test]
fn apply_creates_with_an_apply_entry() {
    let out = ssa(None, &pod("nginx:1"), "kubectl", false).unwrap();
    let mf = entries(&out);
    assert_eq!(mf.len(), 1);
    assert_eq!(
        mf[0],
        json!({
            "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                         "f:spec": {"f:containers": {"k:{\"name\":\"myapp-container\"}": {".": {}, "f:image": {}, "f:name": {}}}}}
        })
    );
    let mut expected = pod("nginx:1");
    expected["metadata"]["managedFields"] = json!(mf);
    assert_eq!(out, expected);
}

#[test]
fn reapply_removes_fields_no_longer_applied() {
    let mut cfg = pod("nginx:1");
    cfg["metadata"]["labels"]["tier"] = json!("web");
    cfg["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "side", "image": "busybox"}));
    let live = ssa(None, &cfg, "kubectl", false).unwrap();
    // A controller also sets an annotation: it stays.
    let mut updated = live.clone();
    updated["metadata"]["annotations"] = json!({"note": "x"});
    let live = track_update(Some(&live), &updated, "controller", "Update", None, POD, &FakeMeta::new(), T1);

    let out = apply(Some(&live), &pod("nginx:1"), "kubectl", false, POD, &FakeMeta::new(), T2).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "myapp"}));
    assert_eq!(out["metadata"]["annotations"], json!({"note": "x"}));
    assert_eq!(out["spec"]["containers"], json!([{"name": "myapp-container", "image": "nginx:1"}]));
    assert_eq!(entry(&out, "kubectl")["fieldsV1"], fields_v1(&pod("x"), POD, &FakeMeta::new()));
    assert_eq!(entry(&out, "kubectl")["time"], T2);
}

#[test]
fn fields_shared_with_another_manager_survive_reapply() {
    let mut cfg = pod("nginx:1");
    cfg["metadata"]["labels"]["tier"] = json!("web");
    let live = ssa(None, &cfg, "a", false).unwrap();
    // Manager b applies the same label value: shared ownership, no conflict.
    let shared = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "myapp", "labels": {"tier": "web"}}});
    let live = ssa(Some(&live), &shared, "b", false).unwrap();
    let out = ssa(Some(&live), &pod("nginx:1"), "a", false).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "myapp", "tier": "web"}));
}

#[test]
fn two_appliers_conflict_and_force_takes_over() {
    let live = ssa(None, &pod("nginx:1"), "a", false).unwrap();
    let err = ssa(Some(&live), &pod("nginx:2"), "b", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "a": .spec.containers[name="myapp-container"].image"#
    );
    let ApplyError::Conflicts(c) = &err else { panic!() };
    assert_eq!(c[0].cause_message(), r#"conflict with "a""#);

    let out = ssa(Some(&live), &pod("nginx:2"), "b", true).unwrap();
    assert_eq!(out["spec"]["containers"][0]["image"], "nginx:2");
    let a = &entry(&out, "a")["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"myapp-container\"}"];
    assert!(a.get("f:image").is_none(), "{a}");
    assert!(a.get("f:name").is_some());
    let b = &entry(&out, "b")["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"myapp-container\"}"];
    assert!(b.get("f:image").is_some());
    // Now a re-applying its old image conflicts with b.
    let err = ssa(Some(&out), &pod("nginx:1"), "a", false).unwrap_err();
    assert!(err.to_string().contains(r#"conflict with "b""#), "{err}");
}

#[test]
fn kubectl_client_side_apply_then_server_side_apply_conflicts() {
    let meta = FakeMeta::new();
    let created = track_update(None, &pod("nginx:1"), "kubectl-client-side-apply", "Update", None, POD, &meta, T1);
    let e = entry(&created, "kubectl-client-side-apply");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "v1");
    assert_eq!(
        e["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
               "f:spec": {"f:containers": {"k:{\"name\":\"myapp-container\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
    );
    let err = apply(Some(&created), &pod("nginx:2"), "kubectl", false, POD, &meta, T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="myapp-container"].image"#
    );
    // Same values: no conflict, kubectl co-owns them.
    let out = apply(Some(&created), &pod("nginx:1"), "kubectl", false, POD, &meta, T2).unwrap();
    assert_eq!(entries(&out).len(), 2);
    assert_eq!(entries(&out)[0]["manager"], "kubectl", "Apply entries sort first");
}

#[test]
fn multiple_conflicts_message() {
    let meta = FakeMeta::new();
    let mut cfg = pod("nginx:1");
    cfg["spec"]["restartPolicy"] = json!("Always");
    let live = track_update(None, &cfg, "x", "Update", None, POD, &meta, T1);
    let mut cfg2 = pod("nginx:2");
    cfg2["spec"]["restartPolicy"] = json!("Never");
    let err = apply(Some(&live), &cfg2, "kubectl", false, POD, &meta, T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"x\" using v1:\n- .spec.restartPolicy\n- .spec.containers[name=\"myapp-container\"].image"
    );
}

#[test]
fn before_first_apply_owns_legacy_objects() {
    let live = pod("nginx:1");
    let err = ssa(Some(&live), &pod("nginx:2"), "kubectl", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .spec.containers[name="myapp-container"].image"#
    );
}

#[test]
fn noop_apply_keeps_time() {
    let live = ssa(None, &pod("nginx:1"), "kubectl", false).unwrap();
    let out = apply(Some(&live), &pod("nginx:1"), "kubectl", false, POD, &FakeMeta::new(), T2).unwrap();
    assert_eq!(out, live);
}

#[test]
fn apply_merges_lists_and_keeps_other_fields() {
    let meta = FakeMeta::new();
    let mut obj = pod("nginx:1");
    obj["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    obj["status"] = json!({"phase": "Running"});
    obj["metadata"]["finalizers"] = json!(["a"]);
    let live = track_update(None, &obj, "creator", "Update", None, POD, &meta, T1);
    let cfg = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "myapp", "finalizers": ["b"]},
        "spec": {"containers": [
            {"name": "new", "image": "busybox"},
            {"name": "myapp-container", "image": "nginx:1", "ports": [{"containerPort": 80}, {"containerPort": 443}]}
        ]}
    });
    let out = apply(Some(&live), &cfg, "kubectl", false, POD, &meta, T2).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
    assert_eq!(out["status"], json!({"phase": "Running"}));
    assert_eq!(
        out["spec"]["containers"],
        json!([
            {"name": "new", "image": "busybox"},
            {"name": "myapp-container", "image": "nginx:1", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]}
        ])
    );
}

#[test]
fn apply_rejects_list_items_without_keys() {
    let cfg =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"image": "x"}]}});
    let err = ssa(None, &cfg, "kubectl", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        ".spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
    );
    assert!(matches!(ssa(None, &json!([1]), "m", false), Err(ApplyError::Invalid(_))));
}

#[test]
fn track_update_moves_ownership_and_ignores_meta() {
    let meta = FakeMeta::new();
    let live = ssa(None, &pod("nginx:1"), "kubectl", false).unwrap();
    let mut new = live.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:3");
    new["metadata"]["resourceVersion"] = json!("42");
    new["metadata"]["generation"] = json!(2);
    let out = track_update(Some(&live), &new, "kubectl-edit", "Update", None, POD, &meta, T2);
    assert_eq!(
        entry(&out, "kubectl-edit")["fieldsV1"],
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"myapp-container\"}": {"f:image": {}}}}})
    );
    let k = &entry(&out, "kubectl")["fieldsV1"]["f:spec"]["f:containers"]["k:{\"name\":\"myapp-container\"}"];
    assert!(k.get("f:image").is_none());

    // An update changing nothing tracked adds no entry.
    let mut same = out.clone();
    same["metadata"]["resourceVersion"] = json!("43");
    let out2 = track_update(Some(&out), &same, "other", "Update", None, POD, &meta, T2);
    assert_eq!(entries(&out2), entries(&out));

    // A second update by the same manager merges into its entry.
    let mut more = out.clone();
    more["metadata"]["labels"]["x"] = json!("y");
    let out3 = track_update(Some(&out), &more, "kubectl-edit", "Update", None, POD, &meta, T2);
    assert_eq!(
        entry(&out3, "kubectl-edit")["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:x": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"myapp-container\"}": {"f:image": {}}}}})
    );

    // Removing a field releases it from its owners.
    let mut fewer = out3.clone();
    fewer["metadata"]["labels"].as_object_mut().unwrap().remove("app");
    let out4 = track_update(Some(&out3), &fewer, "labeler", "Update", None, POD, &meta, T2);
    assert!(entry(&out4, "kubectl")["fieldsV1"]["f:metadata"].is_null());
    assert!(entries(&out4).iter().all(|e| e["manager"] != "labeler"));
}

#[test]
fn track_update_honours_sent_managed_fields() {
    let meta = FakeMeta::new();
    let live = ssa(None, &pod("nginx:1"), "kubectl", false).unwrap();
    let mut reset = live.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let out = track_update(Some(&live), &reset, "m", "Update", None, POD, &meta, T2);
    assert!(out["metadata"].get("managedFields").is_none());

    // A client that drops managedFields keeps the live ones.
    let mut dropped = live.clone();
    dropped["metadata"].as_object_mut().unwrap().remove("managedFields");
    let out = track_update(Some(&live), &dropped, "m", "Update", None, POD, &meta, T2);
    assert_eq!(entries(&out), entries(&live));

    // Subresource entries are separate.
    let mut st = live.clone();
    st["status"] = json!({"phase": "Running"});
    let out = track_update(Some(&live), &st, "kubelet", "Update", Some("status"), POD, &meta, T2);
    let e = entry(&out, "kubelet");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:phase": {}}}));
}

#[test]
fn malformed_managed_fields_do_not_panic() {
    let meta = FakeMeta::new();
    for mf in [
        json!("x"),
        json!([1]),
        json!([{"fieldsV1": {"bad": {}}}]),
        json!([{"fieldsV1": {"f:a": 1}}]),
        json!([{"fieldsType": "X"}]),
    ] {
        let mut live = pod("nginx:1");
        live["metadata"]["managedFields"] = mf;
        let _ = track_update(Some(&live), &pod("nginx:2"), "m", "Update", None, POD, &meta, T1);
        let _ = ssa(Some(&live), &pod("nginx:2"), "m", false);
        let _ = fields_v1(&live, POD, &meta);
    }
    for cfg in [
        json!({}),
        json!({"spec": 1}),
        json!({"spec": {"containers": {}}}),
        json!({"spec": {"containers": [1, [2], null]}}),
        json!({"metadata": {"finalizers": [{}, []]}}),
    ] {
        let _ = ssa(Some(&pod("a")), &cfg, "m", false);
        let _ = track_update(Some(&pod("a")), &cfg, "m", "Update", None, POD, &meta, T1);
    }
}

#[test]
fn subtracting_in_place_is_the_difference() {
    use super::fieldset::{FieldSet, PathElement};
    let f = |s: &str| PathElement::Field(s.into());
    let mut a = FieldSet::new();
    for p in
        [&[f("spec"), f("x")][..], &[f("spec"), f("y")], &[f("metadata")], &[f("metadata"), f("name")], &[f("kind")]]
    {
        a.insert(p);
    }
    let mut b = FieldSet::new();
    for p in [&[f("spec"), f("x")][..], &[f("metadata"), f("name")], &[f("kind")], &[f("status")]] {
        b.insert(p);
    }
    let mut c = a.clone();
    c.subtract(&b);
    assert_eq!(c, a.difference(&b));
    assert!(c.has(&[f("spec"), f("y")]) && c.has(&[f("metadata")]) && !c.has(&[f("kind")]));
}

/// A create is tracked in one walk ([`super::created`]); an update from an empty object goes
/// the general way (compare, field sets). Both must record the same fields.
#[test]
fn creates_record_what_an_update_from_nothing_records() {
    let meta = FakeMeta::new();
    let mut reset = super::FieldSet::new();
    reset.insert(&[super::PathElement::Field("status".into())]);
    let objects = [
        pod("nginx"),
        json!({}),
        json!({"apiVersion": "v1", "kind": "Pod"}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d", "uid": "u",
            "resourceVersion": "1", "generation": 1, "creationTimestamp": null, "labels": {}, "annotations": {"a": "b"},
            "finalizers": ["x", "y", "x"], "ownerReferences": [{"uid": "1", "name": "o", "kind": "K"}, {"uid": "1"}]},
            "spec": {"containers": [
                {"name": "a", "image": "i", "args": [], "command": ["sh"], "ports": [{"containerPort": 80},
                    {"containerPort": 80, "protocol": "UDP"}, {"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "E", "value": "1"}, {"name": "E", "value": "2"}], "resources": {}},
                {"name": "b", "image": null, "resources": {"limits": {"cpu": "1"}, "requests": null}},
                {"image": "no-name"}, "not-an-object"],
                "initContainers": [], "volumes": null, "tolerations": [{"key": "k"}],
                "nodeSelector": {"a": "b"}, "securityContext": {}, "hostNetwork": false, "unknown": {"deep": [1, {}]},
                "restartPolicy": null},
            "status": {"phase": "Running"}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": null, "spec": [], "status": null}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": null, "ownerReferences": []},
            "spec": {"containers": {"a": 1}, "securityContext": "x", "volumes": [{"name": "v", "emptyDir": {}},
                {"name": "w", "hostPath": {"path": "/"}}]}}),
    ];
    for def in [POD, DEPLOYMENT] {
        for (i, obj) in objects.iter().enumerate() {
            for (reset, sub) in [(&super::FieldSet::new(), None), (&reset, None), (&reset, Some("status"))] {
                let writer = super::Writer { manager: "m", operation: "Update", subresource: sub, reset };
                let (mut created, mut updated) = (obj.clone(), obj.clone());
                super::track_update(None, &mut created, &writer, def, &meta, T1);
                super::track_update(Some(&json!({})), &mut updated, &writer, def, &meta, T1);
                assert_eq!(created, updated, "object {i} as {def}");
            }
        }
    }
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "x"}}, "strategy": {"rollingUpdate": {}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    let writer = super::Writer { manager: "m", operation: "Update", subresource: None, reset: &reset };
    let (mut created, mut updated) = (deployment.clone(), deployment);
    super::track_update(None, &mut created, &writer, DEPLOYMENT, &meta, T1);
    super::track_update(Some(&json!({})), &mut updated, &writer, DEPLOYMENT, &meta, T1);
    assert_eq!(created, updated);
    assert!(created["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"].is_object(), "{created}");
}

#[test]
fn entries_read_lazily_record_what_entries_read_at_once_record() {
    // Each step changes `live` as one manager; its managedFields are either the stored ones
    // (kept, as by a patch: read lazily) or absent (taken from the live object, read at once).
    let meta = FakeMeta::new();
    let mut live = ssa(None, &pod("nginx:1"), "kubectl", false).unwrap();
    type Step = (&'static str, Option<&'static str>, fn(&mut Value));
    let steps: Vec<Step> = vec![
        ("kubelet", Some("status"), |o| o["status"] = json!({"phase": "Running", "podIP": "10.0.0.1"})),
        ("labeler", None, |o| o["metadata"]["labels"]["tier"] = json!("web")),
        ("kubelet", Some("status"), |o| o["status"]["phase"] = json!("Succeeded")),
        ("editor", None, |o| o["spec"]["containers"][0]["image"] = json!("nginx:2")),
        ("labeler", None, |o| {
            o["metadata"]["labels"].as_object_mut().unwrap().remove("app");
        }),
        ("editor", None, |o| o["spec"]["containers"][0]["image"] = json!("nginx:3")),
        ("other", None, |o| o["metadata"]["annotations"] = json!({"a": "b"})),
        ("kubelet", Some("status"), |o| {
            o["status"].as_object_mut().unwrap().remove("podIP");
        }),
    ];
    for (i, (manager, sub, change)) in steps.into_iter().enumerate() {
        let mut kept = live.clone();
        change(&mut kept);
        let mut dropped = kept.clone();
        dropped["metadata"].as_object_mut().unwrap().remove("managedFields");
        let lazy = track_update(Some(&live), &kept, manager, "Update", sub, POD, &meta, T2);
        let eager = track_update(Some(&live), &dropped, manager, "Update", sub, POD, &meta, T2);
        assert_eq!(lazy, eager, "step {i} by {manager}");
        live = lazy;
    }
    assert_eq!(entries(&live).len(), 5, "{live}");
}

#[test]
fn field_sets_are_written_as_text_as_their_maps_are_encoded() {
    let sets = [
        json!({}),
        json!({"f:a": {}}),
        json!({"f:metadata": {"f:labels": {"f:app": {}, "f:b\"q": {}, "f:\\": {}}}, "f:z": {".": {}, "f:y": {}}}),
        json!({"f:l": {"i:2": {}, "i:10": {".": {}, "f:x": {}}, "v:\"b\"": {}, "v:1": {}, "v:\"a\"": {},
                       "k:{\"name\":\"b\",\"port\":80}": {}, "k:{\"name\":\"a\"}": {".": {}, "f:image": {}},
                       "k:{\"port\":9}": {}}, "f:Ab": {}, "f:a": {}, "f:aB": {}}),
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:resources": {"f:limits": {}}}}}}),
    ];
    for v in sets {
        let set = super::FieldSet::from_fields_v1(&v).unwrap_or_else(|| panic!("{v} parses"));
        let mut text = Vec::new();
        set.write_fields_v1(&mut text);
        let want = serde_json::to_vec(&set.to_fields_v1()).unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), String::from_utf8(want).unwrap(), "for {v}");
    }
}
