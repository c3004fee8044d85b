#!/usr/bin/env bash
# Full-size parity on the GPU machine: each generator writes full-size random weights + inputs + the
# reference's outputs, then our test binary (from build-cuda/) compares. Needs build-cuda/ (session.sh)
# and .ref/infinitetalk. Each component is time-boxed; the max errors are printed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source scripts/device/env.sh >/dev/null
export PYTHONUNBUFFERED=1 TALKGEN_REF_COMMIT=${TALKGEN_REF_COMMIT:-0107cd9}
ref=.ref/infinitetalk
full=/tmp/talkgen-full
mkdir -p "$full"
quiet() { grep -vE "FutureWarning|autocast|^\s*$" | tail -${1:-12}; }
components=${TALKGEN_FULL:-"wav2vec2 clip umt5 vae dit"}
for c in $components; do
  echo "=== full parity: $c"
  case $c in
    wav2vec2|clip)
      timeout 150 python3 tools/parity/gen_$c.py --ref $ref --full --device cuda --out "$full" 2>&1 | quiet 4
      TALKGEN_PARITY_FULL_DIR="$full" timeout 120 ./build-cuda/tests/test_model_encoders "[full]" -s 2>&1 \
        | grep -iE "max|error|passed|failed" | head -12 ;;
    umt5)  # umT5-XXL encoder (5.7 B params): the .pth is written in bf16 (~11 GB), compared in bf16 and fp32
      timeout 240 python3 tools/parity/gen_umt5.py --ref $ref --full --device cuda --out "$full/umt5" 2>&1 | quiet 4
      TALKGEN_UMT5_FULL_DIR="$full/umt5" timeout 200 ./build-cuda/tests/test_model_text "[full]" -s 2>&1 \
        | grep -iE "max|error|passed|failed" | head -12 ;;
    vae)
      timeout 150 python3 tools/parity/gen_vae.py --ref $ref --full --device cuda --out "$full" 2>&1 | quiet 4
      TALKGEN_PARITY_DIR="$full/vae" TALKGEN_PARITY_DEVICE=cuda timeout 120 ./build-cuda/tests/test_model_vae "[parity]" -s 2>&1 \
        | grep -iE "max|error|passed|failed" | head -12 ;;
    dit)
      timeout 200 python3 tools/parity/gen_dit.py --ref $ref --full --out "$full/dit" --layers 4 --frames 21 --size 480x832 2>&1 | quiet 4
      TALKGEN_DIT_PARITY_DIR="$full/dit" TALKGEN_DIT_PARITY_DEVICE=cuda timeout 150 ./build-cuda/tests/test_model_dit "[parity]" -s 2>&1 \
        | grep -iE "max|error|passed|failed" | head -12 ;;
  esac
done
