#!/usr/bin/env bash
# Runs every parity generator (tools/parity/gen_*.py) against the reference checkout and packs the data
# into $OUT/parity.tar (the device tool returns at most 8 files). Run on the GPU machine:
#   carry: .ref/infinitetalk    command: bash scripts/device/gen_parity.sh [component ...]
# Locally unpack with: tar -xf parity.tar -C tests/data/parity
set -uo pipefail
cd "$(dirname "$0")/../.."
ref=${TALKGEN_REF:-.ref/infinitetalk}
out=${OUT:-/tmp/talkgen-parity-out}
stage=$(mktemp -d)
export PYTHONUNBUFFERED=1 TALKGEN_REF_COMMIT=${TALKGEN_REF_COMMIT:-0107cd9}
components=("$@")
if [ ${#components[@]} -eq 0 ]; then
  for g in tools/parity/gen_*.py; do components+=("$(basename "$g" .py | sed 's/^gen_//')"); done
fi
status=0
for c in "${components[@]}"; do
  echo "=== $c"
  if ! python3 "tools/parity/gen_$c.py" --ref "$ref" --out "$stage" --device cpu 2>&1 | tee "$stage/gen_$c.log"; then
    echo "!!! gen_$c failed"; status=1
  fi
done
mkdir -p "$out"
tar -cf "$out/parity.tar" -C "$stage" .
ls -laR "$stage" | head -100
exit $status
