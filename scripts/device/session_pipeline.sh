#!/usr/bin/env bash
# One device call (~9 minutes) measuring whole generation jobs on the H100 for issues 6 (pipeline speed) and
# 8 (planner accuracy). Every step runs under `timeout`, and a step whose estimate no longer fits in the budget
# is skipped and named, so the logs always come back. Steps, most important first:
#   1. build `talkgen_cli` only (the `cuda` preset, not the tests)                  fresh ~4-5 min, warm ~10 s
#   2. calibrate: `talkgen bench dit --random 14b --size 480p --frames 81 --reps 1`  ~40 s
#                 and `talkgen bench vae --size 480p`                               ~20 s
#      (both store the planner's calibration for this GPU, driver and talkgen version)
#   3. `talkgen bench pipeline`, random 14B weights, examples/portrait.png (square: the 640x640 / 960x960
#      buckets) + examples/speech.wav, each job printing its stages next to the planner's prediction:
#        A  480p, 4 steps, text 1 / audio 2 guidance (2 forwards), 81 frames = 1 chunk     8 forwards  ~70 s
#        R  the reference pipeline (tools/parity/bench_ref_pipeline.py) on job A           ~110 s
#        B  720p, 2 steps, text 1 / audio 2 (2 forwards), 81 frames = 1 chunk              4 forwards  ~100 s
#        C  480p, 2 steps, text 5 / audio 4 (3 forwards), 153 frames = 2 chunks            12 forwards  ~90 s
#      (measured: 480p forward ~4.4 s, 720p ~15 s, VAE decode 3.0 / 7.0 s on this H100)
#   4. a summary: measured vs predicted per job, and seconds per video-second for the 40-step `quality` and
#      the 4-step `draft` settings composed from job A's (480p) and B's (720p) measured stages:
#        preparing + chunks x steps x forwards-per-step x (measured seconds per forward) + decoding + encoding,
#      for the job's own length and for a long streamed video (72 new frames per further chunk).
#
# carry: [".devdeps/talkgen-deps.tar.xz", ".ref/infinitetalk"]   (the reference run is skipped without it)
# Knobs: TALKGEN_BUDGET_S (default 540), TALKGEN_PIPELINE_JOBS (default "A R B C"; a second call on the warm
# machine can run what the first one skipped, e.g. "B C"), TALKGEN_SKIP_CALIBRATION=1 (keep the stored one),
# TALKGEN_BENCH_ARGS (default "--preset 14b --device cuda"; add "--text-encoder-device cpu" if GPU memory runs
# out: umT5-XXL is 11 GB of the ~52 GB of weights).
# Logs and JSON: $OUT/{build.log,bench_dit.txt,bench_vae.txt,pipeline_<job>.{txt,json},ref_pipeline_A.{txt,json},
# summary.txt}.
set -uo pipefail
START=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/talkgen-device-out}
mkdir -p "$OUT"
BUDGET=${TALKGEN_BUDGET_S:-540}
JOBS=${TALKGEN_PIPELINE_JOBS:-"A R B C"}
# shellcheck source=scripts/device/steps.sh
source scripts/device/steps.sh

# ---- 1. build the CLI only ----
build_cli 180 || exit 1

# ---- 2. calibration ----
if [ "${TALKGEN_SKIP_CALIBRATION:-0}" != 1 ]; then
  run_step "calibrate: bench dit 480p" 45 90 "$OUT/bench_dit.txt" \
    $TALKGEN bench dit --random 14b --size 480p --frames 81 --reps 1
  run_step "calibrate: bench vae 480p" 20 60 "$OUT/bench_vae.txt" $TALKGEN bench vae --size 480p --latent-frames 21
fi

# ---- 3. the jobs ----
bench_job() {  # NAME ESTIMATE LIMIT ARGS...
  local name=$1 estimate=$2 limit=$3; shift 3
  # shellcheck disable=SC2086  # TALKGEN_BENCH_ARGS is a list of arguments
  run_step "bench pipeline $name: $*" "$estimate" "$limit" "$OUT/pipeline_$name.txt" $TALKGEN bench pipeline \
    ${TALKGEN_BENCH_ARGS:---preset 14b --device cuda} --image examples/portrait.png --audio examples/speech.wav \
    --json-out "$OUT/pipeline_$name.json" "$@"
}
SKIPPED=()
for job in $JOBS; do
  LAST_SKIPPED=0
  case $job in
    A) bench_job A 70 150 --resolution 480p --frames 81 --steps 4 --text-guidance 1 --audio-guidance 2 ;;
    B) bench_job B 100 180 --resolution 720p --frames 81 --steps 2 --text-guidance 1 --audio-guidance 2 ;;
    C) bench_job C 90 170 --resolution 480p --frames 153 --steps 2 --text-guidance 5 --audio-guidance 4 ;;
    R)
      if [ ! -d .ref/infinitetalk ]; then step "SKIP reference: .ref/infinitetalk was not carried"; continue; fi
      run_step "reference pipeline on job A" 110 200 "$OUT/ref_pipeline_A.txt" python3 tools/parity/bench_ref_pipeline.py \
        --ref .ref/infinitetalk --resolution 480p --frames 81 --steps 4 --text-guidance 1 --audio-guidance 2 \
        --json-out "$OUT/ref_pipeline_A.json" ;;
    *) echo "unknown job '$job' in TALKGEN_PIPELINE_JOBS (A R B C)" ;;
  esac
  [ "$LAST_SKIPPED" = 1 ] && SKIPPED+=("$job")
done

# ---- 4. summary ----
step "summary"
echo "Planner accuracy (issue 8): measured wall time of Pipeline::run vs the planner's warm estimate" | tee "$OUT/summary.txt"
python3 scripts/device/summarize_jobs.py "$OUT" A B C | tee -a "$OUT/summary.txt"
python3 - "$OUT" <<'EOF' | tee -a "$OUT/summary.txt"
import json, os, sys
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
def compose(sec, job, steps, fpp):
    """preparing + chunks x steps x fpp x per-forward + decoding + encoding; and per video-second of a long
    streamed video (each further chunk: 72 new frames = 2.88 s, one chunk's sampling, decode and encode)."""
    chunk = steps * fpp * sec["per_forward"]
    enc = sec["encoding"] or 0.0
    total = sec["preparing"] + job["chunks"] * chunk + sec["decoding"] + enc
    stream = (chunk + sec["decoding"] / job["chunks"] + enc / job["frames"] * 72) / 2.88
    return total / job["video_seconds"], stream
print()
print("Seconds per video-second (issue 6), composed from measured stages; talkgen vs reference, same GPU:")
ref = load("ref_pipeline_A.json")
for name, label in (("A", "480p"), ("B", "720p")):
    r = load(f"pipeline_{name}.json")
    if not r:
        continue
    for prof, steps, fpp in (("quality 40 steps x 3", 40, 3), ("draft    4 steps x 2", 4, 2)):
        clip_s, stream = compose(r["seconds"], r["job"], steps, fpp)
        line = f"  {label} {prof}: talkgen {clip_s:7.2f} s/s for a 3.24 s clip, {stream:7.2f} s/s streamed"
        if ref and name == "A":
            rc, rs = compose(ref["seconds"], ref["job"], steps, fpp)
            line += f" | reference {rc:7.2f} s/s clip, {rs:7.2f} s/s streamed"
        print(line)
    s = r["seconds"]
    print(f"    stages ({label}, measured job): preparing {s['preparing']:.2f}, sampling {s['sampling']:.2f} "
          f"({s['per_forward']:.3f} s/forward), VAE decode {s['decoding']:.2f}, encoding {s['encoding']:.2f}, "
          f"total {s['total']:.2f} s; peak {r['peak_gpu_gib']} GiB")
if ref:
    s = ref["seconds"]
    print(f"    reference stages (480p, job A): preparing {s['preparing']:.2f}, sampling {s['sampling']:.2f} "
          f"({s['per_forward']:.3f} s/forward), decoding {s['decoding']:.2f}, encoding "
          f"{'n/a' if s['encoding'] is None else round(s['encoding'], 2)} "
          f"({ref['encoding_note']}); peak {ref['peak_gpu_gib']} GiB")
EOF
[ ${#SKIPPED[@]} -gt 0 ] && echo "skipped for time: ${SKIPPED[*]}; run them on the warm machine with" \
  "TALKGEN_SKIP_CALIBRATION=1 TALKGEN_PIPELINE_JOBS=\"${SKIPPED[*]}\" bash scripts/device/session_pipeline.sh"
step "done"
