#!/usr/bin/env bash
# Runs every parity generator (tools/parity/gen_*.py) against the reference checkout and packs the data
# into $OUT/parity.tar (the device tool returns at most 8 files). Run on the GPU machine:
#   carry: .ref/infinitetalk .ref/ftfy .ref/pydeps
#   command: python3 -c "import wcwidth" 2>/dev/null || export PYTHONPATH=$PWD/.ref/pydeps; \
#            bash scripts/device/gen_parity.sh [component ...]
# .ref/infinitetalk is the reference export (commit 0107cd9); .ref/ftfy the real ftfy 6.3.1 source, which clip,
# t5 and tokenizers import (tools/parity/harness.py refuses any other); ftfy needs the wcwidth package: where the
# machine has none, carry Debian's copy in .ref/pydeps/wcwidth. umt5 and pipeline use the machine's transformers;
# without it (the development machine) tools/parity/shims/transformers stands in and needs node and the npm
# tokenizers@0.23.2 package in .ref/node (tests/data/parity/README.md).
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
