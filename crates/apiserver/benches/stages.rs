//! Per-stage cost of a Pod create and status update, in-process (no HTTP), and what managedFields
//! add to copying and decoding a Pod: `cargo bench -p skiff-apiserver`.

use std::time::Instant;

use serde_json::{json, Value};
use skiff_api::resources;
use skiff_apiserver::object::Object;

/// The allocator of the `skiff` binary, so the figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn pod(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": format!("p-{i}"), "namespace": "default", "labels": {"app": "bench"}},
           "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}})
}

fn time<F: FnMut(usize)>(name: &str, n: usize, mut f: F) {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    println!("{name:<44} {:>8.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

fn main() {
    let res = resources::lookup("", "v1", "pods").expect("pods");
    let meta = skiff_openapi::registry();
    let n = 5000;
    let body = serde_json::to_vec(&pod(0)).expect("json");
    time("parse body", n, |_| {
        let _: Value = serde_json::from_slice(&body).expect("parse");
    });
    let mut obj = pod(0);
    time("check_fields", n, |_| {
        let _ = skiff_api::validation::check_fields(res, &obj);
    });
    time("apply_defaults + prepare_for_create", n, |_| {
        let mut o = pod(0);
        skiff_api::defaults::apply_defaults(res, &mut o);
        skiff_api::defaults::prepare_for_create(res, &mut o);
    });
    skiff_api::defaults::apply_defaults(res, &mut obj);
    skiff_api::defaults::prepare_for_create(res, &mut obj);
    time("validate_create", n, |_| {
        let _ = skiff_api::validation::validate_create(res, &obj);
    });
    let track = |obj: &serde_json::Value| {
        let mut tracked = obj.clone();
        let now = "2024-01-01T00:00:00Z";
        let reset = skiff_apiserver::managed::reset_fields(res, None);
        let writer = skiff_patch::Writer { manager: "kubectl", operation: "Update", subresource: None, reset };
        skiff_patch::track_update(None, &mut tracked, &writer, res.definition, meta, now);
        tracked
    };
    time("managed fields (create, with a copy)", n, |_| {
        let _ = track(&obj);
    });
    let tracked = track(&obj);
    // A hollow node's status update of the bound Pod: the fields it changed become its own.
    let mut bound = tracked.clone();
    bound["spec"]["nodeName"] = json!("node-1");
    bound["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True",
        "lastProbeTime": null, "lastTransitionTime": "2024-01-01T00:00:00Z"}], "qosClass": "BestEffort"});
    let mut running = bound.clone();
    let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-01-01T00:00:01Z"});
    running["status"] = json!({"phase": "Running", "qosClass": "BestEffort", "startTime": "2024-01-01T00:00:01Z",
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": true, "started": true,
            "restartCount": 0, "containerID": "hollow://c", "state": {"running": {"startedAt": "2024-01-01T00:00:01Z"}}}]});
    let track_status = || {
        let mut new = running.clone();
        let now = "2024-01-01T00:00:01Z";
        let reset = skiff_apiserver::managed::reset_fields(res, Some("status"));
        let writer = skiff_patch::Writer { manager: "hollow", operation: "Update", subresource: Some("status"), reset };
        skiff_patch::track_update(Some(&bound), &mut new, &writer, res.definition, meta, now);
        new
    };
    time("managed fields (status update, with a copy)", n, |_| {
        let _ = track_status();
    });
    // The same as the registry tracks it: the entries kept as text beside the trees.
    let bound_split = Object::from(bound.clone());
    let running_split = Object::from(running.clone());
    time("managed fields as text (status update, copy)", n, |_| {
        let new = running_split.tree().clone();
        let _ = skiff_apiserver::managed::track(res, Some(&bound_split), &new, None, "hollow", Some("status"));
    });
    time("encode for the store", n, |_| {
        let _ = skiff_apiserver::objects::encode(&tracked);
    });
    time("serialize response", n, |_| {
        let _ = serde_json::to_vec(&tracked);
    });
    time("clone object", n, |_| {
        let _ = tracked.clone();
    });
    // What an update starts from when the object it changes was not written lately.
    let stored = skiff_apiserver::objects::encode(&running);
    time("decode a stored Pod (an update's old)", n, |_| {
        let _: Value = serde_json::from_slice(&stored).expect("stored");
    });
    time("clone a running Pod", n, |_| {
        let _ = running.clone();
    });
    // What managedFields cost the trees every update copies and every reader decodes: the
    // running Pod above carries its create's entry; after its status update it carries the
    // kubelet's too, and the two are about half of its JSON.
    let mut bare = running.clone();
    bare["metadata"].as_object_mut().expect("metadata").remove("managedFields");
    let full = track_status();
    for (what, pod) in [("without managedFields", &bare), ("with both entries", &full)] {
        time(&format!("clone a running Pod {what}"), n, |_| {
            let _ = pod.clone();
        });
        let stored = skiff_apiserver::objects::encode(pod);
        time(&format!("decode a stored Pod {what}"), n, |_| {
            let _: Value = serde_json::from_slice(&stored).expect("stored");
        });
    }
    // The registry's form: the tree without them, their text a slice of the stored bytes.
    let kv = skiff_store::KeyValue {
        key: "/k".into(),
        value: skiff_apiserver::objects::encode(&full),
        create_revision: 1,
        mod_revision: 2,
    };
    time("decode it with both entries as text", n, |_| {
        let _ = Object::decode(&kv).expect("stored");
    });
    let split = Object::decode(&kv).expect("stored");
    time("encode it with both entries as text", n, |_| {
        let _ = split.encode();
    });
}
