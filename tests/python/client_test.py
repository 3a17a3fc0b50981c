"""The official Python client against skiff: create, list with selectors, watch, patch in all
four types, delete — for Pods and Deployments. Exits non-zero on the first failure."""
import sys
import threading

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
NS = "pyclient"

core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))


def pod(name, labels):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36", command=["sleep", "3600"])]),
    )


# Watch in the background from the current resourceVersion.
rv = core.list_namespaced_pod(NS).metadata.resource_version
events = []
def watcher():
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_pod, NS, resource_version=rv, timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED" and ev["object"].metadata.name == "p1":
            w.stop()
t = threading.Thread(target=watcher)
t.start()

created = core.create_namespaced_pod(NS, pod("p1", {"app": "a", "tier": "web"}))
assert created.metadata.uid and created.metadata.resource_version
assert created.spec.restart_policy == "Always"
core.create_namespaced_pod(NS, pod("p2", {"app": "b"}))
core.create_namespaced_pod(NS, pod("p3", {"app": "a", "tier": "db"}))

names = lambda lst: sorted(p.metadata.name for p in lst.items)
assert names(core.list_namespaced_pod(NS, label_selector="app=a")) == ["p1", "p3"]
assert names(core.list_namespaced_pod(NS, label_selector="app in (a,b),tier!=db")) == ["p1", "p2"]
assert names(core.list_namespaced_pod(NS, label_selector="!tier")) == ["p2"]
assert names(core.list_namespaced_pod(NS, field_selector="metadata.name=p2")) == ["p2"]
assert names(core.list_namespaced_pod(NS, field_selector="spec.nodeName=")) == ["p1", "p2", "p3"]
page = core.list_namespaced_pod(NS, limit=2)
assert len(page.items) == 2 and page.metadata._continue
rest = core.list_namespaced_pod(NS, limit=2, _continue=page.metadata._continue)
assert names(rest) == ["p3"] and not rest.metadata._continue

# Patches: strategic (default for dicts), merge, json, apply.
p = core.patch_namespaced_pod("p1", NS, {"metadata": {"labels": {"patched": "smp"}},
                                           "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}})
assert p.metadata.labels["patched"] == "smp" and p.spec.containers[0].image == "busybox:1.37"
assert p.spec.containers[0].command == ["sleep", "3600"], "strategic merge must keep other container fields"
def patch(name, body, content_type, **query):
    if content_type == "application/apply-patch+yaml":
        return core.patch_namespaced_pod(name, NS, body, _content_type=content_type, **query)
    return core.patch_namespaced_pod(name, NS, body, _content_type=content_type)
p = patch("p1", {"metadata": {"labels": {"merged": "yes"}}}, "application/merge-patch+json")
assert p.metadata.labels["merged"] == "yes" and p.metadata.labels["patched"] == "smp"
p = patch("p1", [{"op": "add", "path": "/metadata/annotations", "value": {"j": "p"}}], "application/json-patch+json")
assert p.metadata.annotations == {"j": "p"}
apply_body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p4", "labels": {"app": "applied"}},
              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
p = patch("p4", apply_body, "application/apply-patch+yaml", field_manager="pytest")
assert p.metadata.labels["app"] == "applied"
assert any(m.manager == "pytest" and m.operation == "Apply" for m in p.metadata.managed_fields)

# Conflicts: a stale resourceVersion on update.
cur = core.read_namespaced_pod("p2", NS)
cur.metadata.labels["x"] = "1"
core.replace_namespaced_pod("p2", NS, cur)
cur.metadata.labels["x"] = "2"
try:
    core.replace_namespaced_pod("p2", NS, cur)
    raise AssertionError("stale update succeeded")
except ApiException as e:
    assert e.status == 409 and "Conflict" in e.body, e.body

core.delete_namespaced_pod("p1", NS)
t.join(timeout=15)
kinds = [e for e in events if e[1] == "p1"]
assert ("ADDED", "p1") in kinds and ("MODIFIED", "p1") in kinds and ("DELETED", "p1") in kinds, events

# Deployments.
dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="web", labels={"app": "web"}),
    spec=client.V1DeploymentSpec(
        replicas=2,
        selector=client.V1LabelSelector(match_labels={"app": "web"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "web"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="busybox")]))))
d = apps.create_namespaced_deployment(NS, dep)
assert d.spec.strategy.type == "RollingUpdate" and d.spec.revision_history_limit == 10
assert d.metadata.generation == 1
d = apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 4}})
assert d.spec.replicas == 4 and d.metadata.generation == 2
d = apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"extra": "1"}}})
assert d.metadata.generation == 2, "metadata changes must not bump generation"
s = apps.read_namespaced_deployment_scale("web", NS)
assert s.spec.replicas == 4
assert [x.metadata.name for x in apps.list_namespaced_deployment(NS, label_selector="app=web").items] == ["web"]
apps.delete_namespaced_deployment("web", NS)
try:
    apps.read_namespaced_deployment("web", NS)
    raise AssertionError("deployment still there")
except ApiException as e:
    assert e.status == 404

for n in ["p2", "p3", "p4"]:
    core.delete_namespaced_pod(n, NS)
# The Deployment's own Pods go with it, through the garbage collector, a moment later.
assert [p.metadata.name for p in core.list_namespaced_pod(NS).items if not p.metadata.owner_references] == []
print("python client: ok")
