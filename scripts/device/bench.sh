#!/usr/bin/env bash
# The GPU machine's benchmarks in one device call (10 minutes). Every step runs under `timeout`, and a step
# whose estimate no longer fits in the budget is skipped and named, so the logs always come back:
#   build     `talkgen_cli` only (the `cuda` preset; fresh ~4-5 min, warm ~10 s)
#   dit       `talkgen bench dit --random 14b` at TALKGEN_BENCH_SIZE, on 1 GPU, or on 1, 2, 4, 8 GPUs (as
#             many as there are) for the scaling; stores the planner's calibration for this GPU   ~40-120 s
#   vae       `talkgen bench vae` at TALKGEN_BENCH_SIZE (the VAE's part of the calibration)        ~20 s
#   pipeline  `talkgen bench pipeline`: one job through Pipeline::run on random 14B weights (81 frames,
#             4 steps x 2 forwards), its stages next to the planner's estimate; with several GPUs the job
#             runs sequence-parallel on all of them after running on GPU 0 alone (--compare-single)  ~70-200 s
#   ref       the reference's DiT forward on the same GPU (tools/parity/bench_ref.py), when .ref/infinitetalk
#             (the reference checkout, commit 0107cd9) was carried                                 ~110 s
# Usage (the device tool's `run`; kind nvidia-h100-x2 or larger for the multi-GPU figures):
#   command: bash scripts/device/bench.sh
#   carry:   [".devdeps/talkgen-deps.tar.xz"] (+ ".ref/infinitetalk"; + ".devdeps/flash-attention3-src.tar.xz"
#            for a FlashAttention-3 build)
# Knobs: TALKGEN_BENCH_STEPS (default "dit vae pipeline ref"; a second call on the warm machine can run what
# the first skipped), TALKGEN_BENCH_SIZE (480p or 720p, default 480p), TALKGEN_GPUS (default: every visible
# GPU), TALKGEN_BUDGET_S (default 570). Logs and JSON under $OUT.
set -uo pipefail
START=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/talkgen-device-out}
mkdir -p "$OUT"
BUDGET=${TALKGEN_BUDGET_S:-570}
SIZE=${TALKGEN_BENCH_SIZE:-480p}
case $SIZE in
  480p) REF_SIZE=480x832 ;;
  720p) REF_SIZE=720x1280 ;;
  *) echo "TALKGEN_BENCH_SIZE=$SIZE: expected 480p or 720p"; exit 2 ;;
esac
# shellcheck source=scripts/device/steps.sh
source scripts/device/steps.sh

build_cli 240 || exit 1
GPUS=${TALKGEN_GPUS:-$(nvidia-smi -L | wc -l)}
WORLD_SIZES=1
for n in 2 4 8; do [ "$n" -le "$GPUS" ] && WORLD_SIZES="$WORLD_SIZES,$n"; done
step "$GPUS GPU(s); DiT world sizes $WORLD_SIZES"
# The job's speech, as scripts/setup.sh makes it (espeak-ng comes with the dependency bundle).
[ -s examples/speech.wav ] || espeak-ng -v en-us -s 150 -w examples/speech.wav \
  "Hello. This is talkgen, turning a portrait and a voice into a talking head video."

for what in ${TALKGEN_BENCH_STEPS:-dit vae pipeline ref}; do
  case $what in
    dit)
      scaling=()  # one GPU: the one-device benchmark (forward, step, phases); several: the scaling table
      [ "$GPUS" -gt 1 ] && scaling=(--gpus "$WORLD_SIZES")
      run_step "bench dit $SIZE ${scaling[*]}" 60 240 "$OUT/bench_dit_$SIZE.txt" \
        "$TALKGEN" bench dit --random 14b --size "$SIZE" --frames 81 --reps 2 "${scaling[@]}" \
        --json-out "$OUT/bench_dit_$SIZE.json" ;;
    vae)
      run_step "bench vae $SIZE" 20 90 "$OUT/bench_vae_$SIZE.txt" \
        "$TALKGEN" bench vae --size "$SIZE" --latent-frames 21 ;;
    pipeline)
      multi=()
      [ "$GPUS" -gt 1 ] && multi=(--gpus "$GPUS" --compare-single)
      run_step "bench pipeline $SIZE ${multi[*]}" 90 300 "$OUT/bench_pipeline_$SIZE.txt" \
        "$TALKGEN" bench pipeline --preset 14b --device cuda "${multi[@]}" --image examples/portrait.png \
        --audio examples/speech.wav --resolution "$SIZE" --frames 81 --steps 4 --text-guidance 1 \
        --audio-guidance 2 --json-out "$OUT/bench_pipeline_$SIZE.json" ;;
    ref)
      if [ ! -d .ref/infinitetalk ]; then step "SKIP ref: .ref/infinitetalk was not carried"; continue; fi
      run_step "reference DiT forward $SIZE" 110 200 "$OUT/bench_ref_$SIZE.txt" \
        python3 tools/parity/bench_ref.py .ref/infinitetalk --dit --size "$REF_SIZE" --frames 81 ;;
    *) echo "unknown step '$what' in TALKGEN_BENCH_STEPS (dit vae pipeline ref)" ;;
  esac
done
step finished
