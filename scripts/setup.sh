#!/usr/bin/env bash
# Installs everything talkgen needs from Debian 12 packages, builds the `cpu` preset and makes the
# example speech. Safe to run again. Usage: bash scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libtorch-dev                                   # libtorch 1.13 (CPU)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  ffmpeg                                         # ffprobe/ffmpeg CLIs for tests and the encode benchmark
  libfmt-dev catch2 libcli11-dev nlohmann-json3-dev
  libebur128-dev libespeak-ng-dev espeak-ng espeak-ng-data
  libsentencepiece-dev sentencepiece             # umT5 tokenizer; spm_train for test vocabularies
  libcpp-httplib-dev libsqlite3-dev sqlite3      # talkgen serve (sqlite3: to inspect its jobs.db)
  libboost-dev                                   # talkgen serve: Boost.Beast/Asio HTTP (headers only)
  libicu-dev                                     # prompt cleaning (ftfy.fix_text): Unicode normalisation
  chromium chromium-driver python3-selenium      # the web page's browser test (headless Chromium)
  python3 python3-torch python3-numpy            # parity fixtures' makers and the Python binding tests
  clang libclang-rt-14-dev                       # libFuzzer harnesses
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Node and npm for the Node addon (any Node >= 18; Debian's nodejs if none is installed).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
# node-addon-api (headers only) from the npm registry, pinned by package-lock.json.
if [ ! -f bindings/node/node_modules/node-addon-api/napi.h ]; then
  (cd bindings/node && npm ci --ignore-scripts --no-audit --no-fund)
fi
[ "${1:-}" = "--deps-only" ] && exit 0

cmake --preset cpu
cmake --build --preset cpu -j"$(nproc)"

# The example speech: made here (not committed) with espeak-ng.
if [ ! -s examples/speech.wav ]; then
  espeak-ng -v en-us -s 150 -w examples/speech.wav \
    "Hello. This is talkgen, turning a portrait and a voice into a talking head video."
fi
echo "setup: done. Try: ./build/talkgen --help"
