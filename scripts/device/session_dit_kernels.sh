#!/usr/bin/env bash
# Issue 5 on one GPU: the DiT's CUDA kernels (row kernels: src/model/dit/dit_row_kernels.cu; FlashAttention-3
# when .devdeps/flash-attention3-src.tar.xz is carried: src/model/layers/flash_attention3/) checked and timed.
#   1. build `talkgen_cli` and `test_model_dit` (cuda preset; the kernels are compiled for sm_90)
#   2. test_model_dit "[cuda]" (kernels vs the libtorch forms on the GPU) and the rest of test_model_dit
#   3. `talkgen bench dit --random 14b` at 480p with variants cudnn/fused (libtorch forms, the previous
#      default) and cudnn/default (with the row kernels), in one process on the same weights, plus the
#      phase profile of the default; then 720p (TALKGEN_BENCH_720P=1, default on)
#   4. the reference's own timing on the same GPU (tools/parity/bench_ref.py), if .ref/infinitetalk came
# carry: [".devdeps/talkgen-deps.tar.xz", ".ref/infinitetalk"] (+ ".devdeps/flash-attention3-src.tar.xz";
# then e.g. TALKGEN_BENCH_VARIANTS=cudnn/default,fa3/default). Knobs: TALKGEN_BUDGET_S (default 570),
# TALKGEN_BENCH_VARIANTS (default "cudnn/fused,cudnn/default"), TALKGEN_SKIP_REF=1, TALKGEN_REF_FA3=1 (time the
# reference a second time with FA3 as its attention: tools/parity/fa3_shim/). Logs under $OUT.
set -uo pipefail
START=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/talkgen-device-out}
mkdir -p "$OUT"
BUDGET=${TALKGEN_BUDGET_S:-570}
# shellcheck source=scripts/device/steps.sh
source scripts/device/steps.sh

build_cli 330 || exit 1
run_step "build test_model_dit" 60 200 "$OUT/build_tests.log" \
  cmake --build --preset cuda --target test_model_dit -j"$(nproc)"
tail -3 "$OUT/build_tests.log"
run_step "test_model_dit [cuda]" 20 90 "$OUT/test_cuda.txt" env OMP_NUM_THREADS=4 ./build-cuda/tests/test_model_dit "[cuda]" -s
grep -E "max \|diff\||share of|passed|failed" "$OUT/test_cuda.txt" | tail -20
run_step "test_model_dit (all)" 30 120 "$OUT/test_model_dit.txt" env OMP_NUM_THREADS=4 ./build-cuda/tests/test_model_dit
tail -4 "$OUT/test_model_dit.txt"

run_step "bench dit 480p, variants + profile" 100 200 "$OUT/bench_dit_480p.txt" \
  env TALKGEN_BENCH_DIT_VARIANTS="${TALKGEN_BENCH_VARIANTS:-cudnn/fused,cudnn/default}" TALKGEN_BENCH_DIT_PROFILE=1 \
  $TALKGEN bench dit --random 14b --size 480p --frames 81 --reps 2 --json-out "$OUT/bench_dit_480p.json"
if [ "${TALKGEN_BENCH_720P:-1}" = 1 ]; then
  run_step "bench dit 720p" 110 200 "$OUT/bench_dit_720p.txt" \
    $TALKGEN bench dit --random 14b --size 720p --frames 81 --reps 1 --json-out "$OUT/bench_dit_720p.json"
fi
if [ -d .ref/infinitetalk ] && [ "${TALKGEN_SKIP_REF:-0}" != 1 ]; then
  run_step "reference bench_ref.py --dit 480p" 110 200 "$OUT/bench_ref_480p.txt" \
    python3 tools/parity/bench_ref.py .ref/infinitetalk --dit --size 480x832 --frames 81
  # The reference again with FA3 as its attention, as where flash_attn_3 is installed (TALKGEN_REF_FA3=1).
  if [ "${TALKGEN_REF_FA3:-0}" = 1 ] && run_step "build talkgen_fa3_c" 20 120 "$OUT/build_fa3_c.log" \
       cmake --build --preset cuda --target talkgen_fa3_c -j"$(nproc)"; then
    run_step "reference bench_ref.py --dit 480p --fa3-lib" 110 200 "$OUT/bench_ref_480p_fa3.txt" \
      python3 tools/parity/bench_ref.py .ref/infinitetalk --dit --size 480x832 --frames 81 \
      --fa3-lib build-cuda/src/libtalkgen_fa3_c.so
  fi
fi
step done
