"""Creates ConfigMaps as fast as it can with several threads and prints one line per
acknowledged create: `<name> <resourceVersion>`. Runs until killed or the server dies."""
import sys
import threading

from kubernetes import client, config

config.load_kube_config(config_file=sys.argv[1])
NS = "default"
lock = threading.Lock()


def worker(t):
    api = client.CoreV1Api()
    i = 0
    while True:
        name = f"cm-{t}-{i}"
        try:
            cm = api.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"i": str(i)}))
        except Exception:
            return
        with lock:
            sys.stdout.write(f"{name} {cm.metadata.resource_version}\n")
            sys.stdout.flush()
        i += 1


threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
