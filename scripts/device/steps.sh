# Helpers for bench.sh (and any time-boxed device script), `source`d after START, OUT and BUDGET are set: every step runs
# under `timeout`, and a step whose estimate no longer fits in the budget is skipped and named, so the
# logs always come back within the device call.
left() { echo $((BUDGET - ($(date +%s) - START))); }
step() { echo "=== [$(($(date +%s) - START))s, $(left)s left] $*"; }
# run_step NAME ESTIMATE_S LIMIT_S LOG COMMAND...: runs when the estimate fits in what is left, output to the
# terminal and LOG; the timeout is the smaller of LIMIT_S and what is left (less 10 s for the logs to come back).
run_step() {
  local name=$1 estimate=$2 limit=$3 log=$4; shift 4
  if [ "$(left)" -lt $((estimate + 10)) ]; then
    step "SKIP $name: needs ~${estimate}s, $(left)s left"; return 1
  fi
  local t=$(( $(left) - 10 < limit ? $(left) - 10 : limit ))
  step "$name (estimate ${estimate}s, limit ${t}s)"
  timeout --signal=INT "$t" "$@" 2>&1 | grep -vE "FutureWarning|UserWarning|warnings.warn|autocast" | tee "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "$name: stopped at its ${t}s limit"
  return "$rc"
}
# build_cli: env.sh, configure the `cuda` preset and build `talkgen_cli` only, leaving `reserve` seconds
# for the measurements (an unfinished build resumes on the next call of a warm machine). Sets TALKGEN.
build_cli() {
  local reserve=${1:-180}
  step "build talkgen_cli (cuda preset)"
  # shellcheck source=scripts/device/env.sh
  source scripts/device/env.sh || return 1
  { nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader 2>&1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1; } | sed 's/^/  /'
  if ! cmake --preset cuda >"$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log"; step "configure FAILED"; return 1
  fi
  if ! timeout $(( $(left) - reserve )) cmake --build --preset cuda --target talkgen_cli -j"$(nproc)" >>"$OUT/build.log" 2>&1; then
    grep -nE 'error|FAILED|undefined reference' "$OUT/build.log" | head -30
    step "build FAILED or out of time (log: build.log); on the warm machine the next call resumes it"; return 1
  fi
  TALKGEN=./build-cuda/talkgen
  step "build done"
}
