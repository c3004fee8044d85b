#!/usr/bin/env bash
# One device call that does the GPU work of a session, each step bounded so the logs always come back:
#   0. (TALKGEN_PARITY="pipeline ...") run those parity generators first -> $OUT/parity.tar
#   1. build the `cuda` preset (scripts/device/build_cuda.sh, no tests)
#   2. `talkgen info` (devices as talkgen sees them)
#   3. ctest on the suites that need no ffmpeg CLI (TALKGEN_CTEST_REGEX, default: everything but media
#      fixtures made with the ffmpeg CLI, which the GPU machine lacks)
#   4. `talkgen bench dit` at 480p (and 720p with TALKGEN_BENCH_720P=1), then the reference's timing
#      harness on the same GPU (tools/parity/bench_ref.py) when .ref/infinitetalk was carried
# carry: [".devdeps/talkgen-deps.tar.xz", ".ref/infinitetalk"]; logs under $OUT.
set -uo pipefail
START=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/talkgen-device-out}
mkdir -p "$OUT"
left() { echo $((${TALKGEN_BUDGET_S:-580} - ($(date +%s) - START))); }
step() { echo "=== [$(($(date +%s) - START))s] $*"; }

if [ -n "${TALKGEN_PARITY:-}" ]; then
  step "parity generators: $TALKGEN_PARITY"
  # shellcheck disable=SC2086
  timeout 240 bash scripts/device/gen_parity.sh $TALKGEN_PARITY 2>&1 | grep -vE "FutureWarning|autocast" | tail -30
fi

step build
TALKGEN_NO_TESTS=1 bash scripts/device/build_cuda.sh || exit 1
source scripts/device/env.sh >/dev/null
step info
./build-cuda/talkgen info 2>&1 | tee "$OUT/info.txt"

if [ -n "${TALKGEN_TEST_CMD:-}" ]; then
  step "test command: $TALKGEN_TEST_CMD"
  timeout 120 bash -c "$TALKGEN_TEST_CMD" 2>&1 | tail -15
fi
if [ "${TALKGEN_SKIP_TESTS:-0}" != 1 ]; then
  step "ctest ($(left)s left)"
  timeout $(( $(left) > 200 ? 200 : $(left) - 20 )) ctest --test-dir build-cuda -j8 --timeout 120 \
    -E "${TALKGEN_CTEST_EXCLUDE:-^(media|encoder|examples|python|node|capi):}" >"$OUT/ctest.log" 2>&1
  grep -E 'tests passed|tests failed|^\s+[0-9]+ - |Errors while running' "$OUT/ctest.log" | tail -30
fi

if [ "${TALKGEN_SKIP_BENCH:-0}" != 1 ] && [ "$(left)" -gt 60 ]; then
  step "talkgen bench dit 480p ($(left)s left)"
  timeout $(( $(left) - 10 )) ./build-cuda/talkgen bench dit --random 14b --size 480p --frames 81 --reps 2 2>&1 | tee "$OUT/bench_dit_480p.txt"
  if [ "${TALKGEN_BENCH_720P:-0}" = 1 ] && [ "$(left)" -gt 90 ]; then
    step "talkgen bench dit 720p"
    timeout $(( $(left) - 10 )) ./build-cuda/talkgen bench dit --random 14b --size 720p --frames 81 --reps 1 2>&1 | tee "$OUT/bench_dit_720p.txt"
  fi
  if [ "${TALKGEN_BENCH_VAE:-0}" = 1 ]; then
    for size in 480p 720p; do
      step "talkgen bench vae $size ($(left)s left)"
      timeout $(( $(left) > 100 ? 90 : $(left) - 10 )) ./build-cuda/talkgen bench vae --size $size --latent-frames 21 2>&1 | tee "$OUT/bench_vae_$size.txt"
    done
    if [ -d .ref/infinitetalk ] && [ "$(left)" -gt 90 ]; then
      step "reference bench_ref.py --vae 480p"
      timeout 80 python3 tools/parity/bench_ref.py .ref/infinitetalk --vae --size 480x832 --frames 81 2>&1 | grep '^{' | tee "$OUT/bench_ref_vae_480p.txt"
    fi
  fi
  if [ -d .ref/infinitetalk ] && [ "${TALKGEN_SKIP_REF:-0}" != 1 ] && [ "$(left)" -gt 90 ]; then
    step "reference bench_ref.py --dit 480p ($(left)s left)"
    timeout $(( $(left) - 5 )) python3 tools/parity/bench_ref.py .ref/infinitetalk --dit --size 480x832 --frames 81 2>&1 | tail -20 | tee "$OUT/bench_ref_480p.txt"
  fi
fi
step done
