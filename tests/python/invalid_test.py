"""Bad input gets the Kubernetes error and status code, never a 500, and nothing is stored."""
import json
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
api = client.ApiClient()
core = client.CoreV1Api()


def raw(method, path, body, content_type="application/json", query=None):
    """Sends a raw body; returns (status, parsed body)."""
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    url = api.configuration.host + path
    if query:
        url += "?" + query
    r = api.rest_client.pool_manager.request(method, url, body=body, headers=headers, preload_content=True)
    try:
        return r.status, json.loads(r.data)
    except ValueError:
        return r.status, r.data


def expect(status, reason, method, path, body, **kw):
    code, out = raw(method, path, body, **kw)
    assert code == status, (method, path, code, out)
    assert isinstance(out, dict) and out.get("kind") == "Status" and out.get("reason") == reason, out
    return out


PODS = "/api/v1/namespaces/default/pods"
def pod(name="ok", containers=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers if containers is not None else [{"name": "c", "image": "busybox"}]}}

out = expect(422, "Invalid", "POST", PODS, json.dumps(pod("Bad_Name")))
assert out["details"]["causes"][0]["field"] == "metadata.name", out
out = expect(422, "Invalid", "POST", PODS, json.dumps(pod("noimage", [{"name": "c"}])))
assert any(c["field"] == "spec.containers[0].image" for c in out["details"]["causes"]), out
out = expect(422, "Invalid", "POST", PODS, json.dumps(pod("dup", [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}])))
assert any(c["reason"] == "FieldValueDuplicate" for c in out["details"]["causes"]), out
bad = pod("strict")
bad["spec"]["bogus"] = 1
out = expect(400, "BadRequest", "POST", PODS, json.dumps(bad), query="fieldValidation=Strict")
assert 'unknown field "spec.bogus"' in out["message"], out
expect(400, "BadRequest", "POST", PODS, "{not json")
expect(400, "BadRequest", "POST", PODS, "a: [b", content_type="application/yaml")
big = pod("big")
big["metadata"]["annotations"] = {"x": "y" * (3 * 1024 * 1024 + 10)}
expect(413, "RequestEntityTooLarge", "POST", PODS, json.dumps(big))
expect(404, "NotFound", "GET", PODS + "/nope", None)
expect(404, "NotFound", "POST", "/api/v1/namespaces/nope/pods", json.dumps(pod("x")))

# Stale resourceVersion on update: 409 Conflict.
created = core.create_namespaced_pod("default", pod("stale"))
rv = created.metadata.resource_version
core.patch_namespaced_pod("stale", "default", {"metadata": {"labels": {"a": "b"}}})
obj = pod("stale")
obj["metadata"]["resourceVersion"] = rv
expect(409, "Conflict", "PUT", PODS + "/stale", json.dumps(obj))
expect(409, "AlreadyExists", "POST", PODS, json.dumps(pod("stale")))
core.delete_namespaced_pod("stale", "default")

names = [p.metadata.name for p in core.list_namespaced_pod("default").items]
assert names == [], f"nothing may be stored by failed requests: {names}"
print("invalid input: ok")
