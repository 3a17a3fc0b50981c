#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, unit and integration tests
# (integration tests start real `skiff server`s on loopback and drive them with kubectl and
# the Python client). Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
export SKIFF_DEBIAN_KUBECTL="$PWD/target/tools/debian-kubectl/usr/bin/kubectl"
# No incremental caches: CI builds once, and they would double the size of target/.
export CARGO_INCREMENTAL=0
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
log=target/test-output.log
mkdir -p target
set +e
cargo test --workspace --lib --bins --tests --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (the last test binary alone may have no tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
