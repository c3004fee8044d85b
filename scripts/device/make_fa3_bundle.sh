#!/usr/bin/env bash
# Packs what a FlashAttention-3 build needs from a flash-attention checkout (hopper/'s headers and its
# CUTLASS's include/) into .devdeps/flash-attention3-src.tar.xz (git-ignored, ~1.2 MiB), for the GPU
# machine, which cannot fetch anything. env.sh unpacks it there and exports TALKGEN_FLASH_ATTENTION3_DIR,
# which the `cuda` preset passes to cmake (cmake/TalkgenFlashAttention3.cmake).
#
# Usage: bash scripts/device/make_fa3_bundle.sh <flash-attention checkout> [<CUTLASS checkout>]
#   The CUTLASS default is the checkout's csrc/cutlass submodule (`git submodule update --init csrc/cutlass`).
set -euo pipefail
FA=${1:?usage: make_fa3_bundle.sh <flash-attention checkout> [<CUTLASS checkout>]}
CUTLASS=${2:-$FA/csrc/cutlass}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$FA/hopper/flash_fwd_launch_template.h" ] || { echo "no hopper/flash_fwd_launch_template.h in $FA" >&2; exit 1; }
[ -f "$CUTLASS/include/cute/tensor.hpp" ] || { echo "no include/cute/tensor.hpp in $CUTLASS" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/flash-attention/hopper" "$STAGE/flash-attention/csrc/cutlass/include"
cp "$FA"/hopper/*.h "$FA"/hopper/*.hpp "$STAGE/flash-attention/hopper/"
cp -r "$CUTLASS/include/cute" "$CUTLASS/include/cutlass" "$STAGE/flash-attention/csrc/cutlass/include/"
{ echo "flash-attention: $(git -C "$FA" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "cutlass: $(git -C "$CUTLASS" rev-parse HEAD 2>/dev/null || echo unknown)"; } >"$STAGE/flash-attention/BUNDLE"

mkdir -p "$REPO/.devdeps"
OUTFILE=$REPO/.devdeps/flash-attention3-src.tar.xz
tar -C "$STAGE" -cJf "$OUTFILE.tmp" flash-attention && mv "$OUTFILE.tmp" "$OUTFILE"
echo "wrote $OUTFILE ($(du -h "$OUTFILE" | cut -f1)); carry it with the device run"
