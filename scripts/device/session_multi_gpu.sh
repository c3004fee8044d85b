#!/usr/bin/env bash
# Issue 10 (several GPUs of one host) on the largest lent multi-GPU kind, in two device calls on one warm
# machine (random 14B weights everywhere; NCCL with NVLink multicast off, as env.sh sets):
# (TALKGEN_MULTI_PART="dit pipeline" runs both in one call, as far as the budget goes.)
#   TALKGEN_MULTI_PART=dit       build `talkgen_cli`; `nvidia-smi topo -m`; `talkgen bench dit --gpus 1,2,..,N`
#                                at 720p and 480p: forward and 3-forward step per GPU
#                                count on the same weights, speed-up, efficiency, all-to-all GB/s and the
#                                max |diff| against the 1-GPU output; this stores the planner's calibration
#                                (DiT rate + all-to-all rate); then `bench vae 480p` (VAE rates)   ~6-8 min fresh
#   TALKGEN_MULTI_PART=pipeline  `talkgen bench pipeline --gpus N` jobs (real Pipeline::run, rank 0 decodes):
#      S  480p, 81 frames, 4 steps x 2 forwards, --compare-single: the job on GPU 0 alone first, same
#         weights and seed, then on N GPUs; the frames' max/mean |diff| and the speed-up          ~90 s
#      L  20 s of speech (500 frames, 7 streamed chunks), 4 steps x 2 forwards on N GPUs; seconds per
#         video-second, and the 40-step figure composed from its measured stages                 ~160 s
#      H  720p, 81 frames, 2 steps x 2 forwards on N GPUs                                           ~70 s
#      then summary.txt: the planner's prediction (calibrated on this machine) vs measured, per job.
# carry: [".devdeps/talkgen-deps.tar.xz"] (+ ".devcache" holding the first call's calibration, if the machine
# went cold between the calls). Knobs: TALKGEN_BUDGET_S (default 560), TALKGEN_GPUS (default: all visible),
# TALKGEN_MULTI_JOBS (default "S L H"), TALKGEN_DIT_SIZES (default "720p 480p"), TALKGEN_DIT_REPS (default 2).
# Logs and JSON under $OUT.
set -uo pipefail
START=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/talkgen-device-out}
mkdir -p "$OUT"
BUDGET=${TALKGEN_BUDGET_S:-560}
PART=${TALKGEN_MULTI_PART:-dit}
# The planner's calibration store: here, so the second call finds the first call's figures.
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$PWD/.devcache}
mkdir -p "$XDG_CACHE_HOME"
# shellcheck source=scripts/device/steps.sh
source scripts/device/steps.sh

build_cli 150 || exit 1
GPUS=${TALKGEN_GPUS:-$(nvidia-smi -L | wc -l)}
SIZES=1
for n in 2 4 8; do [ "$n" -le "$GPUS" ] && SIZES="$SIZES,$n"; done
step "$GPUS GPU(s); world sizes $SIZES"

for part in $PART; do
case $part in
  dit)
    nvidia-smi topo -m 2>&1 | tee "$OUT/topology.txt"
    # The last size measured is the planner's DiT rate: list 480p last to calibrate on the common case.
    for size in ${TALKGEN_DIT_SIZES:-720p 480p}; do
      est=$([ "$size" = 720p ] && echo 120 || echo 90)
      run_step "bench dit $size --gpus $SIZES" "$est" 200 "$OUT/bench_dit_$size.txt" \
        $TALKGEN bench dit --random 14b --size "$size" --frames 81 --reps "${TALKGEN_DIT_REPS:-2}" --gpus "$SIZES" \
        --json-out "$OUT/bench_dit_$size.json"
    done
    run_step "bench vae 480p (calibration)" 20 60 "$OUT/bench_vae.txt" $TALKGEN bench vae --size 480p --latent-frames 21
    cp -r "$XDG_CACHE_HOME/talkgen" "$OUT/calibration" 2>/dev/null
    ;;
  pipeline)
    ls "$XDG_CACHE_HOME/talkgen" >/dev/null 2>&1 || step "no calibration in $XDG_CACHE_HOME: the planner uses built-in figures"
    bench_job() {  # NAME ESTIMATE LIMIT ARGS...
      local name=$1 estimate=$2 limit=$3; shift 3
      run_step "bench pipeline $name: $*" "$estimate" "$limit" "$OUT/pipeline_$name.txt" $TALKGEN bench pipeline \
        --preset 14b --device cuda --gpus "$GPUS" --image examples/portrait.png --audio examples/speech.wav \
        --json-out "$OUT/pipeline_$name.json" "$@"
    }
    for job in ${TALKGEN_MULTI_JOBS:-S L H}; do
      case $job in
        S) bench_job S 100 200 --resolution 480p --frames 81 --steps 4 --text-guidance 1 --audio-guidance 2 --compare-single ;;
        L) bench_job L 170 300 --resolution 480p --audio-seconds 20 --steps 4 --text-guidance 1 --audio-guidance 2 ;;
        H) bench_job H 80 180 --resolution 720p --frames 81 --steps 2 --text-guidance 1 --audio-guidance 2 ;;
        *) echo "unknown job '$job' in TALKGEN_MULTI_JOBS (S L H)" ;;
      esac
    done
    step "summary"
    python3 scripts/device/summarize_jobs.py "$OUT" ${TALKGEN_MULTI_JOBS:-S L H} | tee "$OUT/summary.txt"
    ;;
  *) echo "TALKGEN_MULTI_PART=$PART: expected dit and/or pipeline"; exit 2 ;;
esac
done
step done
