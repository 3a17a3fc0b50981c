//! Discovery: `/api`, `/apis`, `/api/v1`, `/apis/<g>[/<v>]`, in the legacy form and as
//! aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1) chosen by the Accept header.
//! Every document is built once, at start.

use serde_json::{json, Value};
use skiff_api::resources::{group_versions, ResourceInfo, ALL_VERBS, RESOURCES};

/// The discovery format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Legacy,
    V2,
    V2Beta1,
}

impl Format {
    /// The first aggregated format listed in `accept`, else legacy.
    pub fn negotiate(accept: &str) -> Format {
        for part in accept.split(',') {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            let has = |p: &str| params.contains(&p);
            if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
                if has("v=v2") {
                    return Format::V2;
                }
                if has("v=v2beta1") {
                    return Format::V2Beta1;
                }
            }
        }
        Format::Legacy
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Legacy => "application/json",
            Format::V2 => "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            Format::V2Beta1 => "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
        }
    }
}

/// Every discovery document, pre-serialized.
pub struct Discovery {
    pub api_legacy: Vec<u8>,
    pub apis_legacy: Vec<u8>,
    pub api_v2: Vec<u8>,
    pub api_v2beta1: Vec<u8>,
    pub apis_v2: Vec<u8>,
    pub apis_v2beta1: Vec<u8>,
    /// `/api/v1` and `/apis/<g>/<v>` resource lists, keyed by (group, version).
    pub resource_lists: Vec<((String, String), Vec<u8>)>,
    /// `/apis/<g>` group documents.
    pub groups: Vec<(String, Vec<u8>)>,
}

fn resources_of<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
}

fn api_resource_list(group: &str, version: &str) -> Value {
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut resources = Vec::new();
    for r in resources_of(group, version) {
        let mut e = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ALL_VERBS,
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        resources.push(e);
        for s in r.subresources {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name), "singularName": "", "namespaced": r.namespaced,
                "kind": s.kind, "verbs": s.verbs,
            });
            if s.group != r.group || s.version != r.version {
                e["group"] = json!(s.group);
                e["version"] = json!(s.version);
            }
            resources.push(e);
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

fn aggregated_group(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = resources_of(group, v)
                .map(|r| {
                    let mut e = json!({
                        "resource": r.plural, "singularResource": r.singular,
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                        "verbs": ALL_VERBS,
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if !r.subresources.is_empty() {
                        e["subresources"] = Value::Array(
                            r.subresources
                                .iter()
                                .map(|s| {
                                    json!({"subresource": s.name,
                                           "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                                           "verbs": s.verbs})
                                })
                                .collect(),
                        );
                    }
                    e
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut item = json!({"metadata": {"creationTimestamp": null}, "versions": versions});
    if !group.is_empty() {
        item["metadata"]["name"] = json!(group);
    }
    item
}

fn list(api_version: &str, items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}),
    )
    .unwrap_or_default()
}

impl Discovery {
    /// Builds every document; `server_address` is what `/api` reports (`host:port`).
    pub fn build(server_address: &str) -> Discovery {
        let gvs = group_versions();
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (g, v) in &gvs {
            if g.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(name, _)| name == g) {
                Some((_, vs)) => vs.push(v),
                None => groups.push((g, vec![v])),
            }
        }
        let group_json = |g: &str, vs: &[&str]| {
            let versions: Vec<Value> =
                vs.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect();
            json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
        };
        let api_legacy = serde_json::to_vec(&json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }))
        .unwrap_or_default();
        let apis_legacy = serde_json::to_vec(&json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": groups.iter().map(|(g, vs)| group_json(g, vs)).collect::<Vec<_>>(),
        }))
        .unwrap_or_default();
        let core = vec![aggregated_group("", &["v1"])];
        let agg: Vec<Value> = groups.iter().map(|(g, vs)| aggregated_group(g, vs)).collect();
        Discovery {
            api_legacy,
            apis_legacy,
            api_v2: list("apidiscovery.k8s.io/v2", core.clone()),
            api_v2beta1: list("apidiscovery.k8s.io/v2beta1", core),
            apis_v2: list("apidiscovery.k8s.io/v2", agg.clone()),
            apis_v2beta1: list("apidiscovery.k8s.io/v2beta1", agg),
            resource_lists: gvs
                .iter()
                .map(|(g, v)| {
                    ((g.to_string(), v.to_string()), serde_json::to_vec(&api_resource_list(g, v)).unwrap_or_default())
                })
                .collect(),
            groups: groups
                .iter()
                .map(|(g, vs)| {
                    let mut doc = group_json(g, vs);
                    doc["kind"] = json!("APIGroup");
                    doc["apiVersion"] = json!("v1");
                    (g.to_string(), serde_json::to_vec(&doc).unwrap_or_default())
                })
                .collect(),
        }
    }

    /// `/api` (legacy) or `/apis` (legacy = false) in the negotiated format.
    pub fn root(&self, legacy: bool, format: Format) -> &[u8] {
        match (legacy, format) {
            (true, Format::Legacy) => &self.api_legacy,
            (true, Format::V2) => &self.api_v2,
            (true, Format::V2Beta1) => &self.api_v2beta1,
            (false, Format::Legacy) => &self.apis_legacy,
            (false, Format::V2) => &self.apis_v2,
            (false, Format::V2Beta1) => &self.apis_v2beta1,
        }
    }

    pub fn resource_list(&self, group: &str, version: &str) -> Option<&[u8]> {
        self.resource_lists.iter().find(|((g, v), _)| g == group && v == version).map(|(_, b)| b.as_slice())
    }

    pub fn group(&self, group: &str) -> Option<&[u8]> {
        self.groups.iter().find(|(g, _)| g == group).map(|(_, b)| b.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_client_preference() {
        let a130 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let a127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(Format::negotiate(a130), Format::V2);
        assert_eq!(Format::negotiate(a127), Format::V2Beta1);
        assert_eq!(Format::negotiate("application/json, */*"), Format::Legacy);
    }

    #[test]
    fn aggregated_lists_scale_subresource_with_response_kind() {
        let d = Discovery::build("127.0.0.1:6443");
        let v: Value = serde_json::from_slice(&d.apis_v2).unwrap();
        let apps = v["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == "apps").unwrap();
        let deps = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        let scale = deps["subresources"].as_array().unwrap().iter().find(|s| s["subresource"] == "scale").unwrap();
        assert_eq!(scale["responseKind"]["kind"], "Scale");
        assert!(d.resource_list("", "v1").is_some());
    }
}
