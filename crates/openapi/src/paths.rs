//! The `paths` of a group-version document, laid out like kube-apiserver's: collection, item,
//! all-namespaces list, watch paths and subresources, with the operation ids, actions, parameters,
//! request bodies and responses kube-apiserver documents.

use serde_json::{json, Map, Value};
use skiff_api::resources::{ResourceInfo, SubresourceInfo, RESOURCES};

use crate::defs::{list_name, META_DELETE_OPTIONS, META_PATCH, META_STATUS, META_WATCH_EVENT, REF_PREFIX};
use crate::extensions::GVK;

/// The four PATCH media types kube-apiserver accepts for built-in types.
pub const PATCH_CONTENT_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
const OBJECT_TYPES: [&str; 3] = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
const STREAM_TYPES: [&str; 2] = ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"];

/// The paths of every resource of `group`/`version` whose definition `known` accepts.
pub(crate) fn paths(group: &str, version: &str, known: impl Fn(&str) -> bool) -> Map<String, Value> {
    let mut out = Map::new();
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version && known(r.definition)) {
        resource_paths(r, &mut out);
    }
    out
}

/// Names used in one resource's operations.
struct Names<'a> {
    r: &'a ResourceInfo,
    /// `CoreV1`, `AppsV1`, `CoordinationV1`.
    gv: String,
    /// `NamespacedPod` or `Node`.
    scoped: String,
    tag: String,
}

impl Names<'_> {
    fn gvk(&self) -> Value {
        json!({"group": self.r.group, "kind": self.r.kind, "version": self.r.version})
    }
    fn op(&self, action: &str, verb: &str, id: String, extra: Map<String, Value>, gvk: Value) -> Value {
        let mut op = Map::new();
        op.insert("tags".into(), json!([self.tag]));
        op.insert("description".into(), json!(format!("{verb} {}", self.r.kind)));
        op.insert("operationId".into(), json!(id));
        op.extend(extra);
        op.insert("x-kubernetes-action".into(), json!(action));
        op.insert(GVK.into(), gvk);
        Value::Object(op)
    }
}

fn resource_paths(r: &ResourceInfo, out: &mut Map<String, Value>) {
    let base =
        if r.group.is_empty() { format!("/api/{}", r.version) } else { format!("/apis/{}/{}", r.group, r.version) };
    let n = Names {
        r,
        gv: gv_ident(r.group, r.version),
        scoped: if r.namespaced { format!("Namespaced{}", r.kind) } else { r.kind.to_string() },
        tag: format!("{}_{}", group_tag(r.group), r.version),
    };
    let (ns_seg, mut scope_params) = if r.namespaced {
        (
            "namespaces/{namespace}/",
            vec![path_param("namespace", "object name and auth scope, such as for teams and projects")],
        )
    } else {
        ("", Vec::new())
    };
    scope_params.push(pretty());
    let obj = format!("{REF_PREFIX}{}", r.definition);
    let list = format!("{REF_PREFIX}{}", list_name(r));
    let (gv, scoped, kind) = (&n.gv, &n.scoped, r.kind);

    // Collection: list, create, deletecollection.
    let mut coll = Map::new();
    coll.insert(
        "get".into(),
        n.op(
            "list",
            "list or watch objects of kind",
            format!("list{gv}{scoped}"),
            members([("parameters", json!(list_params())), ("responses", ok_list(&list))]),
            n.gvk(),
        ),
    );
    coll.insert(
        "post".into(),
        n.op(
            "post",
            "create a",
            format!("create{gv}{scoped}"),
            members([
                ("parameters", json!(write_params(false))),
                ("requestBody", body(&obj, &["*/*"])),
                ("responses", responses(&obj, &["200", "201", "202"])),
            ]),
            n.gvk(),
        ),
    );
    let mut dc_params = delete_params();
    dc_params.extend(list_params());
    coll.insert(
        "delete".into(),
        n.op(
            "deletecollection",
            "delete collection of",
            format!("delete{gv}Collection{scoped}"),
            members([
                ("parameters", json!(dc_params)),
                ("requestBody", body(&format!("{REF_PREFIX}{META_DELETE_OPTIONS}"), &["*/*"])),
                ("responses", responses(&format!("{REF_PREFIX}{META_STATUS}"), &["200"])),
            ]),
            n.gvk(),
        ),
    );
    coll.insert("parameters".into(), json!(scope_params.clone()));
    out.insert(format!("{base}/{ns_seg}{}", r.plural), Value::Object(coll));

    // Item: read, replace, patch, delete.
    let mut item_params = vec![path_param("name", &format!("name of the {kind}"))];
    item_params.extend(scope_params.iter().cloned());
    let mut item = Map::new();
    item.insert(
        "get".into(),
        n.op(
            "get",
            "read the specified",
            format!("read{gv}{scoped}"),
            members([("responses", responses(&obj, &["200"]))]),
            n.gvk(),
        ),
    );
    item.insert(
        "put".into(),
        n.op(
            "put",
            "replace the specified",
            format!("replace{gv}{scoped}"),
            members([
                ("parameters", json!(write_params(false))),
                ("requestBody", body(&obj, &["*/*"])),
                ("responses", responses(&obj, &["200", "201"])),
            ]),
            n.gvk(),
        ),
    );
    item.insert(
        "delete".into(),
        n.op(
            "delete",
            "delete a",
            format!("delete{gv}{scoped}"),
            members([
                ("parameters", json!(delete_params())),
                ("requestBody", body(&format!("{REF_PREFIX}{META_DELETE_OPTIONS}"), &["*/*"])),
                ("responses", responses(&obj, &["200", "202"])),
            ]),
            n.gvk(),
        ),
    );
    item.insert(
        "patch".into(),
        patch_op(&n, format!("patch{gv}{scoped}"), "partially update the specified", &obj, n.gvk()),
    );
    item.insert("parameters".into(), json!(item_params.clone()));
    let item_path = format!("{base}/{ns_seg}{}/{{name}}", r.plural);
    out.insert(item_path.clone(), Value::Object(item));

    // Watch paths (deprecated upstream, still documented).
    let watch = format!("{REF_PREFIX}{META_WATCH_EVENT}");
    let mut wl = Map::new();
    wl.insert(
        "get".into(),
        n.op(
            "watchlist",
            "watch individual changes to a list of",
            format!("watch{gv}{scoped}List"),
            members([("responses", ok_list(&watch))]),
            n.gvk(),
        ),
    );
    let mut wl_params = list_params();
    wl_params.extend(scope_params.iter().cloned());
    wl.insert("parameters".into(), json!(wl_params));
    out.insert(format!("{base}/watch/{ns_seg}{}", r.plural), Value::Object(wl));
    let mut wi = Map::new();
    wi.insert(
        "get".into(),
        n.op(
            "watch",
            "watch changes to an object of kind",
            format!("watch{gv}{scoped}"),
            members([("responses", ok_list(&watch))]),
            n.gvk(),
        ),
    );
    let mut wi_params = list_params();
    wi_params.extend(item_params.iter().cloned());
    wi.insert("parameters".into(), json!(wi_params));
    out.insert(format!("{base}/watch/{ns_seg}{}/{{name}}", r.plural), Value::Object(wi));

    if r.namespaced {
        let mut all = Map::new();
        all.insert(
            "get".into(),
            n.op(
                "list",
                "list or watch objects of kind",
                format!("list{gv}{kind}ForAllNamespaces"),
                members([("responses", ok_list(&list))]),
                n.gvk(),
            ),
        );
        let mut p = list_params();
        p.push(pretty());
        all.insert("parameters".into(), json!(p.clone()));
        out.insert(format!("{base}/{}", r.plural), Value::Object(all));
        let mut wall = Map::new();
        wall.insert(
            "get".into(),
            n.op(
                "watchlist",
                "watch individual changes to a list of",
                format!("watch{gv}{kind}ListForAllNamespaces"),
                members([("responses", ok_list(&watch))]),
                n.gvk(),
            ),
        );
        wall.insert("parameters".into(), json!(p));
        out.insert(format!("{base}/watch/{}", r.plural), Value::Object(wall));
    }

    for sub in r.subresources {
        if let Some(path) = subresource_path(&n, sub, &item_params) {
            out.insert(format!("{item_path}/{}", sub.name), path);
        }
    }
}

fn subresource_path(n: &Names<'_>, sub: &SubresourceInfo, item_params: &[Value]) -> Option<Value> {
    let (gv, scoped) = (&n.gv, &n.scoped);
    let suffix = capitalize(sub.name);
    let sub_def = if sub.group == n.r.group && sub.version == n.r.version && sub.kind == n.r.kind {
        n.r.definition.to_string()
    } else {
        match (sub.group, sub.kind) {
            ("autoscaling", "Scale") => "io.k8s.api.autoscaling.v1.Scale".to_string(),
            ("policy", "Eviction") => "io.k8s.api.policy.v1.Eviction".to_string(),
            ("", "Binding") => "io.k8s.api.core.v1.Binding".to_string(),
            _ => return None,
        }
    };
    let obj = format!("{REF_PREFIX}{sub_def}");
    let gvk = json!({"group": sub.group, "kind": sub.kind, "version": sub.version});
    let mut path = Map::new();
    if sub.name == "log" {
        path.insert(
            "get".into(),
            n.op(
                "get",
                "read log of the specified",
                format!("read{gv}{scoped}Log"),
                members([
                    ("parameters", json!(log_params())),
                    (
                        "responses",
                        json!({
                            "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
                            "401": {"description": "Unauthorized"},
                        }),
                    ),
                ]),
                gvk,
            ),
        );
    } else {
        for verb in sub.verbs {
            let (method, op) = match *verb {
                "get" => (
                    "get",
                    n.op(
                        "get",
                        &format!("read {} of the specified", sub.name),
                        format!("read{gv}{scoped}{suffix}"),
                        members([("responses", responses(&obj, &["200"]))]),
                        gvk.clone(),
                    ),
                ),
                "update" => (
                    "put",
                    n.op(
                        "put",
                        &format!("replace {} of the specified", sub.name),
                        format!("replace{gv}{scoped}{suffix}"),
                        members([
                            ("parameters", json!(write_params(false))),
                            ("requestBody", body(&obj, &["*/*"])),
                            ("responses", responses(&obj, &["200", "201"])),
                        ]),
                        gvk.clone(),
                    ),
                ),
                "patch" => (
                    "patch",
                    patch_op(
                        n,
                        format!("patch{gv}{scoped}{suffix}"),
                        &format!("partially update {} of the specified", sub.name),
                        &obj,
                        gvk.clone(),
                    ),
                ),
                "create" => (
                    "post",
                    n.op(
                        "post",
                        &format!("create {} of a", sub.name),
                        format!("create{gv}{scoped}{suffix}"),
                        members([
                            ("parameters", json!(write_params(false))),
                            ("requestBody", body(&obj, &["*/*"])),
                            ("responses", responses(&obj, &["200", "201", "202"])),
                        ]),
                        gvk.clone(),
                    ),
                ),
                _ => continue,
            };
            path.insert(method.into(), op);
        }
    }
    let mut params = vec![path_param("name", &format!("name of the {}", sub.kind))];
    params.extend(item_params.iter().skip(1).cloned());
    path.insert("parameters".into(), json!(params));
    Some(Value::Object(path))
}

fn patch_op(n: &Names<'_>, id: String, verb: &str, obj: &str, gvk: Value) -> Value {
    let mut content = Map::new();
    for ct in PATCH_CONTENT_TYPES {
        content.insert(ct.into(), json!({"schema": {"$ref": format!("{REF_PREFIX}{META_PATCH}")}}));
    }
    n.op(
        "patch",
        verb,
        id,
        members([
            ("parameters", json!(write_params(true))),
            ("requestBody", json!({"content": content, "required": true})),
            ("responses", responses(obj, &["200", "201"])),
        ]),
        gvk,
    )
}

fn members<const N: usize>(items: [(&str, Value); N]) -> Map<String, Value> {
    items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn body(schema_ref: &str, types: &[&str]) -> Value {
    let content: Map<String, Value> =
        types.iter().map(|t| (t.to_string(), json!({"schema": {"$ref": schema_ref}}))).collect();
    json!({"content": content, "required": true})
}

fn content(schema_ref: &str, types: &[&str]) -> Value {
    let c: Map<String, Value> =
        types.iter().map(|t| (t.to_string(), json!({"schema": {"$ref": schema_ref}}))).collect();
    Value::Object(c)
}

fn responses(schema_ref: &str, codes: &[&str]) -> Value {
    let mut out = Map::new();
    for code in codes {
        let description = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        out.insert(
            code.to_string(),
            json!({"description": description, "content": content(schema_ref, &OBJECT_TYPES)}),
        );
    }
    out.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(out)
}

/// A 200 response that may also be a watch stream.
fn ok_list(schema_ref: &str) -> Value {
    let mut types: Vec<&str> = OBJECT_TYPES.to_vec();
    types.extend(STREAM_TYPES);
    json!({"200": {"description": "OK", "content": content(schema_ref, &types)}, "401": {"description": "Unauthorized"}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "description": description, "required": true,
           "schema": {"type": "string", "uniqueItems": true}})
}

fn query(name: &str, description: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn pretty() -> Value {
    query("pretty", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).", "string")
}

fn dry_run() -> Value {
    query("dryRun", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed", "string")
}

/// Query parameters of create/update (`patch` adds `force`).
fn write_params(patch: bool) -> Vec<Value> {
    let mut out = vec![
        dry_run(),
        query("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.", "string"),
        query("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.", "string"),
    ];
    if patch {
        out.push(query("force", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.", "boolean"));
    }
    out
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run(),
        query("gracePeriodSeconds", "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.", "integer"),
        query("ignoreStoreReadErrorWithClusterBreakingPotential", "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.", "boolean"),
        query("orphanDependents", "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.", "boolean"),
        query("propagationPolicy", "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.", "string"),
    ]
}

fn list_params() -> Vec<Value> {
    vec![
        query("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.", "boolean"),
        query("continue", "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue).", "string"),
        query("fieldSelector", "A selector to restrict the list of returned objects by their fields. Defaults to everything.", "string"),
        query("labelSelector", "A selector to restrict the list of returned objects by their labels. Defaults to everything.", "string"),
        query("limit", "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.", "integer"),
        query("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset", "string"),
        query("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset", "string"),
        query("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection.", "boolean"),
        query("timeoutSeconds", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.", "integer"),
        query("watch", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.", "boolean"),
    ]
}

fn log_params() -> Vec<Value> {
    vec![
        query("container", "The container for which to stream logs. Defaults to only container if there is one container in the pod.", "string"),
        query("follow", "Follow the log stream of the pod. Defaults to false.", "boolean"),
        query("insecureSkipTLSVerifyBackend", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.", "boolean"),
        query("limitBytes", "If set, the number of bytes to read from the server before terminating the log output. This may not display a complete final line of logging, and may return slightly more or slightly less than the specified limit.", "integer"),
        query("previous", "Return previous terminated container logs. Defaults to false.", "boolean"),
        query("sinceSeconds", "A relative time in seconds before the current time from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned. Only one of sinceSeconds or sinceTime may be specified.", "integer"),
        query("stream", "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". If not specified, \"All\" is used, and both stdout and stderr are returned interleaved.", "string"),
        query("tailLines", "If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime", "integer"),
        query("timestamps", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false.", "boolean"),
    ]
}

/// `CoreV1`, `AppsV1`, `CoordinationV1` (kube-apiserver's operation id infix).
fn gv_ident(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group.trim_end_matches(".k8s.io") };
    let mut out: String = group.split(['.', '-']).map(capitalize).collect();
    out.push_str(&capitalize(version));
    out
}

/// `core`, `apps`, `coordination` (the operation tag prefix).
fn group_tag(group: &str) -> String {
    if group.is_empty() {
        "core".into()
    } else {
        group.trim_end_matches(".k8s.io").replace(['.', '-'], "_")
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
