use serde_json::json;

use super::*;
use crate::resources::{lookup, ResourceInfo};

fn res(group: &str, plural: &str) -> &'static ResourceInfo {
    lookup(group, "v1", plural).expect("resource")
}

fn sel(s: &str) -> FieldSelector {
    FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn parses_and_prints_like_fields_parse_selector() {
    let s = sel("b=2,a==1,c!=3");
    assert_eq!(s.to_string(), "a=1,b=2,c!=3");
    assert_eq!(s.terms().len(), 3);
    assert!(s.terms()[2].negate);
    assert_eq!(sel("").to_string(), "");
    assert!(sel("").is_empty());
    assert!(sel(",,").is_empty());
    assert_eq!(sel("a=x\\,y\\=z\\\\").terms()[0].value, "x,y=z\\");
    assert_eq!(sel("a=x\\,y\\=z\\\\").to_string(), "a=x\\,y\\=z\\\\");
    assert_eq!(sel("a=").terms()[0].value, "");
    // "!=" is found first, leaving an unescaped '=' in the value.
    assert!(FieldSelector::parse("a!==b").is_err());
}

#[test]
fn parse_errors_match_kubernetes() {
    let e = FieldSelector::parse("abc").unwrap_err();
    assert_eq!((e.code, e.reason), (400, "BadRequest"));
    assert_eq!(e.message, "invalid selector: 'abc'; can't understand 'abc'");
    assert_eq!(
        FieldSelector::parse("a=b=c").unwrap_err().message,
        "invalid field selector: unescaped character in value: 61"
    );
    assert_eq!(
        FieldSelector::parse("a=b\\x").unwrap_err().message,
        "invalid field selector: invalid escape sequence: \\x"
    );
    assert_eq!(
        FieldSelector::parse("a=b\\").unwrap_err().message,
        "invalid field selector: invalid escape sequence: \\"
    );
}

#[test]
fn validates_labels_per_resource() {
    let pods = res("", "pods");
    for ok in [
        "metadata.name=a",
        "metadata.namespace=b",
        "spec.nodeName=n",
        "spec.host=n",
        "status.phase=Running",
        "spec.hostNetwork=true",
        "status.podIP=1.2.3.4",
        "status.podIPs=x",
        "status.nominatedNodeName=n",
        "spec.restartPolicy=Always,spec.schedulerName=s,spec.serviceAccountName=d",
    ] {
        sel(ok).validate_for(pods).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let e = sel("spec.foo=1").validate_for(pods).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (400, "field label not supported: spec.foo"));

    let events = res("", "events");
    sel("involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u,involvedObject.kind=Pod")
        .validate_for(events)
        .unwrap();
    sel("reason=x,type=Normal,source=kubelet,reportingComponent=k").validate_for(events).unwrap();
    assert_eq!(sel("message=whatever").validate_for(events).unwrap_err().message, "field label not supported: message");

    let ev1 = res("events.k8s.io", "events");
    sel("regarding.name=web,reportingController=k,reason=r,type=t").validate_for(ev1).unwrap();
    assert!(sel("involvedObject.name=web").validate_for(ev1).is_err());

    let nodes = res("", "nodes");
    sel("spec.unschedulable=false,metadata.name=n").validate_for(nodes).unwrap();
    assert_eq!(
        sel("metadata.namespace=x").validate_for(nodes).unwrap_err().message,
        "field label not supported: metadata.namespace"
    );
    sel("status.phase=Active").validate_for(res("", "namespaces")).unwrap();
    sel("type=Opaque").validate_for(res("", "secrets")).unwrap();
    sel("spec.type=ClusterIP,spec.clusterIP=None").validate_for(res("", "services")).unwrap();
    sel("status.successful=1").validate_for(res("batch", "jobs")).unwrap();
    assert_eq!(
        sel("status.succeeded=1").validate_for(res("batch", "jobs")).unwrap_err().message,
        "field label \"status.succeeded\" not supported for batchv1.Job"
    );
    let deploy = res("apps", "deployments");
    sel("metadata.name=a,metadata.namespace=b").validate_for(deploy).unwrap();
    assert_eq!(
        sel("status.replicas=1").validate_for(deploy).unwrap_err().message,
        "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
    sel("metadata.name=a").validate_for(res("", "configmaps")).unwrap();
}

#[test]
fn matches_pods_with_kubernetes_defaults() {
    let pods = res("", "pods");
    let pending =
        json!({"metadata": {"name": "a", "namespace": "default"}, "spec": {}, "status": {"phase": "Pending"}});
    let running = json!({
        "metadata": {"name": "b", "namespace": "default"},
        "spec": {"nodeName": "node-1", "hostNetwork": true, "restartPolicy": "Always"},
        "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}
    });
    let m = |s: &str, o: &serde_json::Value| sel(s).matches(o, pods);
    assert!(m("spec.nodeName=", &pending));
    assert!(!m("spec.nodeName=", &running));
    assert!(m("spec.nodeName=node-1", &running));
    assert!(m("spec.host=node-1", &running));
    assert!(m("spec.nodeName!=node-1", &pending));
    assert!(m("spec.hostNetwork=false", &pending));
    assert!(m("spec.hostNetwork=true", &running));
    assert!(m("status.phase=Running,metadata.namespace=default", &running));
    assert!(!m("status.phase=Running,metadata.namespace=other", &running));
    assert!(m("status.podIP=10.0.0.5", &running));
    assert!(m("status.podIP=", &pending));
    assert!(m("status.podIPs=", &running));
    assert!(m("metadata.name=b", &running));
    assert!(m("", &running));
    assert!(!m("spec.unknown=x", &running));
    assert!(m("spec.unknown!=x", &running));
}

#[test]
fn matches_events_as_describe_queries_them() {
    let events = res("", "events");
    let ev = json!({
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u-1"},
        "reason": "Scheduled", "type": "Normal", "reportingComponent": "default-scheduler",
        "source": {}
    });
    let q = "involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u-1";
    assert!(sel(q).matches(&ev, events));
    assert!(!sel("involvedObject.name=db").matches(&ev, events));
    assert!(sel("source=default-scheduler").matches(&ev, events));
    assert!(sel("type=Normal,reason=Scheduled,involvedObject.kind=Pod").matches(&ev, events));

    let ev1 = res("events.k8s.io", "events");
    let e1 = json!({
        "metadata": {"name": "x", "namespace": "default"},
        "regarding": {"kind": "Pod", "name": "web"},
        "reportingController": "kubelet", "deprecatedSource": {"component": ""}, "type": "Warning"
    });
    assert!(sel("regarding.name=web,regarding.kind=Pod,type=Warning").matches(&e1, ev1));
    assert!(sel("reportingController=kubelet,source=kubelet").matches(&e1, ev1));
    assert!(!sel("regarding.name=db").matches(&e1, ev1));
}

#[test]
fn matches_other_kinds() {
    let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}});
    assert!(sel("status.successful=2").matches(&job, res("batch", "jobs")));
    assert!(sel("status.successful=0").matches(&json!({}), res("batch", "jobs")));
    let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
    assert!(sel("spec.unschedulable=true").matches(&node, res("", "nodes")));
    assert!(sel("spec.unschedulable=false").matches(&json!({"metadata": {"name": "m"}}), res("", "nodes")));
    let secret = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"});
    assert!(sel("type=Opaque").matches(&secret, res("", "secrets")));
    let ns = json!({"metadata": {"name": "d"}, "status": {"phase": "Terminating"}});
    assert!(sel("status.phase=Terminating").matches(&ns, res("", "namespaces")));
}

#[test]
fn exact_match() {
    let s = sel("metadata.name=web,spec.nodeName!=x");
    assert_eq!(s.requires_exact_match("metadata.name"), Some("web"));
    assert_eq!(s.requires_exact_match("spec.nodeName"), None);
    assert_eq!(FieldSelector::one_term_equal("metadata.name", "a").to_string(), "metadata.name=a");
}
