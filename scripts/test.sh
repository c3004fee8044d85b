#!/usr/bin/env bash
# Builds the `cpu` preset from scratch if needed and runs every CPU test (ctest over Catch2 and the
# bindings' own runners). This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --deps-only
cmake --preset cpu
cmake --build --preset cpu -j"$(nproc)"
ctest --preset cpu -j"$(nproc)" --timeout 900 "$@"
