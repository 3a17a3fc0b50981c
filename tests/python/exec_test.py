"""Exec through the official Python client (WebSocket, channel protocol): output, stdin,
and the exit code from the error channel."""
import sys

from kubernetes import client, config
from kubernetes.stream import stream

config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()

out = stream(v1.connect_get_namespaced_pod_exec, "web", "default",
             command=["cat", "/www/index.html"], stderr=True, stdin=False, stdout=True, tty=False)
assert out == "<p>local only</p>\n", repr(out)

resp = stream(v1.connect_get_namespaced_pod_exec, "web", "default",
              command=["sh", "-c", "read line; echo got $line; exit 4"],
              stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
resp.write_stdin("hello\n")
resp.run_forever(timeout=10)
out = resp.read_stdout()
assert out.strip() == "got hello", repr(out)
assert resp.returncode == 4, resp.returncode
resp.close()
print("ok")
