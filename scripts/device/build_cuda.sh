#!/usr/bin/env bash
# Configures, builds and tests the `cuda` preset on the GPU machine, inside one device call (10 minutes).
# Logs go to $OUT (the device tool brings that folder back) or, without $OUT, to build-cuda/logs/.
#
# Usage: bash scripts/device/build_cuda.sh [extra cmake configure args...]
#   TALKGEN_JOBS=N        build parallelism (default: nproc)
#   TALKGEN_CTEST_ARGS=…  extra ctest arguments, e.g. "-R 'media|model_io'" or "-L model_dit"
#   TALKGEN_NO_TESTS=1    configure and build only
#   TALKGEN_DEADLINE_S=N  stop ctest this many seconds after the start (default 570: the device call's
#                         limit is 600 and what is under $OUT must still come back)
set -uo pipefail
START=$(date +%s)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 1
LOGS=${OUT:-$REPO/build-cuda/logs}
mkdir -p "$LOGS"
DEADLINE=${TALKGEN_DEADLINE_S:-570}
elapsed() { echo $(($(date +%s) - START)); }
say() { echo "build_cuda [$(elapsed)s]: $*"; }

# shellcheck source=env.sh
source scripts/device/env.sh || { say "environment setup failed"; exit 1; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version 2>&1 | tail -1; cmake --version | head -1; g++ --version | head -1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1; } | sed 's/^/  /'

say "configure (log: $LOGS/build.log)"
if ! cmake --preset cuda "$@" >"$LOGS/build.log" 2>&1; then
  tail -40 "$LOGS/build.log"; say "configure FAILED"; exit 1
fi
grep -E '^-- talkgen' "$LOGS/build.log" | sed 's/^/  /'

say "build with ${TALKGEN_JOBS:-$(nproc)} jobs"
if ! cmake --build --preset cuda -j"${TALKGEN_JOBS:-$(nproc)}" -- -k 0 >>"$LOGS/build.log" 2>&1; then
  # Ninja prints the failing command then the compiler's output: show the first errors, not the tail.
  grep -nE 'error|FAILED|undefined reference' "$LOGS/build.log" | head -40
  say "build FAILED (full log: $LOGS/build.log)"; exit 1
fi
say "build done"
[ "${TALKGEN_NO_TESTS:-0}" = 1 ] && { say "tests skipped (TALKGEN_NO_TESTS=1)"; exit 0; }

left=$((DEADLINE - $(elapsed)))
[ $left -gt 30 ] || { say "no time left for ctest (deadline ${DEADLINE}s)"; exit 1; }
say "ctest (${left}s left; log: $LOGS/ctest.log)"
# shellcheck disable=SC2086
eval "timeout --signal=INT $left ctest --preset cuda --timeout 300 ${TALKGEN_CTEST_ARGS:-}" >"$LOGS/ctest.log" 2>&1
rc=$?
[ $rc = 124 ] && echo "build_cuda: ctest stopped at the ${DEADLINE}s deadline" >>"$LOGS/ctest.log"
# Summary: the totals line and the failures (ctest lists them at the end).
grep -E 'tests passed|tests failed|^\s+[0-9]+ - |Errors while running|No tests were found|deadline' "$LOGS/ctest.log" | tail -40
say "done, ctest exit status $rc"
exit $rc
