#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: Debian's kubectl (extracted
# next to the build, since the kubectl package may own /usr/bin/kubectl), the official Python
# client, and tools. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/tools"
mkdir -p "$tools"

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
command -v curl >/dev/null || need_apt+=(curl)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v nft >/dev/null || need_apt+=(nftables)
command -v script >/dev/null || need_apt+=(bsdutils)
command -v podman >/dev/null || need_apt+=(podman runc)   # the kube play comparison
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)   # the CNI network driver
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x "$tools/debian-kubectl/usr/bin/kubectl" ]; then
  tmp=$(mktemp -d)
  ( cd "$tmp" && (apt-get download kubernetes-client >/dev/null 2>&1 || { apt-get update -qq && apt-get download kubernetes-client; }) )
  dpkg -x "$tmp"/kubernetes-client_*.deb "$tools/debian-kubectl"
  rm -rf "$tmp"
fi
"$tools/debian-kubectl/usr/bin/kubectl" version --client >/dev/null

if ! python3 -c 'import kubernetes' 2>/dev/null; then
  python3 -m pip install -q kubernetes
fi
python3 -c 'import kubernetes; print("python kubernetes client", kubernetes.__version__)'
