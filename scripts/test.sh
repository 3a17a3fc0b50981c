#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, unit and integration tests
# (integration tests start real `skiff server`s on loopback and drive them with kubectl and
# the Python client). Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
export SKIFF_DEBIAN_KUBECTL="$PWD/target/tools/debian-kubectl/usr/bin/kubectl"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --no-fail-fast
