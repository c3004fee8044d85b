#!/usr/bin/env bash
# Full-size parity on the GPU machine: each generator writes full-size random weights + inputs + the
# reference's outputs, then our test binary (from build-cuda/) compares. Needs build-cuda/ (build_cuda.sh)
# and .ref/infinitetalk. Each component is time-boxed; the max errors are printed.
#
# dit: the InfiniteTalk DiT at the 14B config, all TALKGEN_DIT_LAYERS blocks (default 40: 18.88 B
# parameters), fp32 on one 80 GB GPU (weights 70.3 GiB), 21 frames at 480x832 (8,190 tokens). The weights
# go to disk in bf16 (37.8 GB for 40 blocks; the reference computes from the same bf16-rounded values);
# the folder is deleted afterwards. Prints each step's time, peak host RSS and peak GPU memory (nvidia-smi,
# whole GPU). TALKGEN_DIT_FRAMES / TALKGEN_DIT_SIZE override the input size, TALKGEN_DIT_GEN_TIMEOUT /
# TALKGEN_DIT_TEST_TIMEOUT (seconds) the time boxes (300 + 240: ~2-4 minutes expected in all).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source scripts/device/env.sh >/dev/null
export PYTHONUNBUFFERED=1 TALKGEN_REF_COMMIT=${TALKGEN_REF_COMMIT:-0107cd9}
ref=.ref/infinitetalk
full=/tmp/talkgen-full
mkdir -p "$full"
quiet() { grep -vE "FutureWarning|autocast|warnings.warn|^\s*$" | tail -${1:-12}; }
# measured LABEL CMD...: runs CMD, then prints its exit code, wall time and peak host RSS (the largest
# process under it, from getrusage).
measured() {
  python3 -c 'import resource, subprocess, sys, time
t = time.time(); rc = subprocess.call(sys.argv[2:])
print(f"{sys.argv[1]}: exit {rc}, {time.time() - t:.1f} s, peak host RSS "
      f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20:.2f} GiB", flush=True)
sys.exit(rc)' "$@"
}
# gpu_watch_start / gpu_watch_stop LABEL: samples the GPU's memory in use (nvidia-smi, every 200 ms) in
# between and prints the peak.
gpu_watch_start() {
  gpu_log=$(mktemp) gpu_pid=
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$gpu_log" 2>/dev/null &
    gpu_pid=$!
  fi
}
gpu_watch_stop() {
  if [ -n "$gpu_pid" ]; then
    kill "$gpu_pid" 2>/dev/null
    wait "$gpu_pid" 2>/dev/null
    echo "$1: peak GPU memory in use $(sort -n "$gpu_log" | tail -1) MiB (nvidia-smi)"
  fi
  rm -f "$gpu_log"
}
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
      layers=${TALKGEN_DIT_LAYERS:-40}
      rm -rf "$full/dit"
      # bf16 weights: 315.6 M parameters outside the blocks + 464.2 M per block, 2 bytes each; +2 GB slack
      need_gb=$(( (315554624 + 464162304 * layers) * 2 / 1000000000 + 2 ))
      free_gb=$(df -P -B1000000000 "$full" | awk 'NR == 2 {print $4}')
      echo "dit: $layers blocks, ~$need_gb GB of files; $free_gb GB free under $full"
      if [ "${free_gb:-0}" -lt "$need_gb" ]; then
        echo "dit: SKIPPED, not enough disk (delete other components' folders under $full or lower TALKGEN_DIT_LAYERS)"
        continue
      fi
      # Expandable segments: the reference frees and re-allocates ~1 GB speaker-map buffers in every block
      # next to 70 GiB of weights (and empties the cache each time); this keeps cache fragmentation from
      # adding reserved-but-unused memory on top of the ~75 GiB it needs.
      alloc=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}
      gpu_watch_start
      PYTORCH_CUDA_ALLOC_CONF=$alloc measured "dit generator" timeout "${TALKGEN_DIT_GEN_TIMEOUT:-300}" \
        python3 tools/parity/gen_dit.py --ref $ref --full --out "$full/dit" --layers "$layers" \
        --frames "${TALKGEN_DIT_FRAMES:-21}" --size "${TALKGEN_DIT_SIZE:-480x832}" 2>&1 | quiet 30
      gpu_watch_stop "dit generator"
      du -sh "$full/dit" 2>/dev/null
      # [speakers] is left out: its test loads the model on the CPU, and --full writes no io_2p.safetensors.
      gpu_watch_start
      PYTORCH_CUDA_ALLOC_CONF=$alloc TALKGEN_DIT_PARITY_DIR="$full/dit" TALKGEN_DIT_PARITY_DEVICE=cuda \
        measured "dit test" timeout "${TALKGEN_DIT_TEST_TIMEOUT:-240}" ./build-cuda/tests/test_model_dit \
        "[parity]~[speakers]" 2>&1 | grep -iE "max|error|passed|failed|load|forward|exit" | head -30
      gpu_watch_stop "dit test"
      rm -rf "$full/dit" ;;
  esac
done
