#!/usr/bin/env bash
# Checks a talkgen-deps bundle in isolation: unpacked into a temporary folder and used through
# environments that name only it, everything we build against must resolve inside the bundle and every
# bundled ELF must load with nothing from the host but the excluded base libraries (glibc, libstdc++,
# libgcc_s, zlib). Run by make_deps.sh; also usable alone on any glibc >= 2.36 machine with gcc.
# Usage: bash scripts/device/check_deps.sh [.devdeps/talkgen-deps.tar.xz]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TAR=${1:-$REPO/.devdeps/talkgen-deps.tar.xz}
ARCH=x86_64-linux-gnu
[ -f "$TAR" ] || { echo "check_deps: no bundle at $TAR; run scripts/device/make_deps.sh" >&2; exit 1; }

T=$(mktemp -d /tmp/talkgen-deps-check.XXXXXX)
trap 'rm -rf "$T"' EXIT
B=$T/prefix
mkdir -p "$B"
tar -xJf "$TAR" -C "$B"
LIB=$B/usr/lib/$ARCH
PCDIRS=$LIB/pkgconfig:$B/usr/share/pkgconfig
excluded=$(sed -n 's/^excluded=//p' "$B/usr/share/talkgen-deps/MANIFEST")
fails=0
fail() { echo "check_deps: FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "check_deps: ok: $*"; }
clean_env() { env -i PATH=/usr/bin:/bin HOME="$T" LANG=C "$@"; }

# 1. pkg-config resolves inside the bundle (system .pc files are out of reach through PKG_CONFIG_LIBDIR),
#    with the host's pkg-config and with the bundled pkgconf.
MODS="libavcodec libavformat libavutil libswscale libswresample libebur128 espeak-ng sentencepiece fmt sqlite3 cpp-httplib nlohmann_json CLI11"
for pc in /usr/bin/pkg-config "$B/usr/bin/pkg-config"; do
  if ! flags=$(clean_env PKG_CONFIG_LIBDIR="$PCDIRS" LD_LIBRARY_PATH="$LIB" "$pc" --cflags --libs $MODS 2>&1); then
    fail "$pc --cflags --libs $MODS: $flags"; continue
  fi
  outside=$(tr ' ' '\n' <<<"$flags" | grep -E '^-[IL]' | grep -v "^-[IL]$B/" || true)
  [ -z "$outside" ] && ok "$(basename "$pc") resolves $MODS inside the bundle" || fail "$pc points outside the bundle: $outside"
done

# 2. every bundled ELF loads from the bundle + the excluded base libraries. What we link or run (the
#    libraries with a -dev link, the tools) must also have every symbol bound (ldd -r); a dependency
#    alone may lean on a sibling its consumer loads (libtheoraenc uses libtheoradec's th_comment_*).
entry=" $(find "$LIB" -maxdepth 1 -name 'lib*.so' -type l -exec readlink -f {} \; | tr '\n' ' ') "
n=0
while read -r f; do
  [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || continue
  n=$((n + 1))
  out=$(clean_env LD_LIBRARY_PATH="$LIB" ldd -r "$f" 2>&1) || { fail "ldd ${f#$B/}: $out"; continue; }
  pattern='not found'
  [[ $entry == *" $f "* || $f == "$B/usr/bin/"* ]] && pattern='not found|undefined symbol'
  bad=$(grep -E "$pattern" <<<"$out" || true)
  [ -z "$bad" ] || { fail "${f#$B/}: $bad"; continue; }
  while read -r soname _ path _; do
    case $path in "$B"/*) ;; *) grep -qw -- "$soname" <<<"$excluded" || fail "${f#$B/} loads $soname from the host ($path)";; esac
  done < <(grep '=>' <<<"$out")
done < <(find "$LIB" "$B/usr/bin" -maxdepth 1 -type f)
ok "ldd -r of $n bundled ELF files (libraries and tools)"

# 3. a program built only from bundle flags: every codec/format's static init runs (av_codec_iterate
#    calls e.g. libaom's caps query), espeak-ng synthesises English from the bundled data, libebur128 and
#    ICU (the stubbed data) answer, sentencepiece + fmt link.
cat >"$T/smoke.c" <<'EOF'
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <ebur128.h>
#include <espeak-ng/speak_lib.h>
#include <stdio.h>
#include <dlfcn.h>
static int samples;
static int on_synth(short *wav, int n, espeak_EVENT *ev) { (void)wav; (void)ev; samples += n; return 0; }
int main(void) {
  void *it = NULL; int codecs = 0, muxers = 0;
  while (av_codec_iterate(&it)) codecs++;
  it = NULL; while (av_muxer_iterate(&it)) muxers++;
  if (!avcodec_find_encoder_by_name("libx264") || !avcodec_find_encoder(AV_CODEC_ID_AAC)) return 10;
  ebur128_state *st = ebur128_init(1, 16000, EBUR128_MODE_I); if (!st) return 11; ebur128_destroy(&st);
  if (espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, 0) <= 0) return 12;
  if (espeak_SetVoiceByName("en-us") != EE_OK) return 13;
  espeak_SetSynthCallback(on_synth);
  if (espeak_Synth("hello world", 12, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL) != EE_OK) return 14;
  if (espeak_SetVoiceByName("de") == EE_OK) return 15;   /* pruned: must not be found */
  /* ICU with the stub data: opening a converter fails cleanly (no crash). */
  void *icu = dlopen("libicuuc.so.72", RTLD_NOW); if (!icu) return 16;
  void *(*ucnv_open)(const char *, int *) = (void *(*)(const char *, int *))dlsym(icu, "ucnv_open_72");
  int err = 0; void *cnv = ucnv_open ? ucnv_open("Shift_JIS", &err) : NULL;
  if (!ucnv_open || cnv || err <= 0) return 17;
  printf("codecs=%d muxers=%d espeak_samples=%d icu_err=%d sws=%u swr=%u\n", codecs, muxers, samples, err,
         swscale_version(), swresample_version());
  return samples > 1000 ? 0 : 18;
}
EOF
cat >"$T/smoke.cpp" <<'EOF'
#include <sentencepiece_processor.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <CLI/CLI.hpp>
#include <sqlite3.h>
int main() {
  sentencepiece::SentencePieceProcessor sp;
  auto st = sp.Load("/nonexistent.model");            // must fail cleanly, not crash
  nlohmann::json j = {{"ok", !st.ok()}};
  fmt::print("sentencepiece_load_failed={} sqlite={}\n", j["ok"].get<bool>(), sqlite3_libversion());
  return st.ok() ? 1 : 0;
}
EOF
pcflags() { clean_env PKG_CONFIG_LIBDIR="$PCDIRS" pkg-config "$@"; }
# shellcheck disable=SC2046  # the pkg-config flags are meant to split
if gcc -o "$T/smoke" "$T/smoke.c" $(pcflags --cflags --libs libavformat libavcodec libavutil libswscale libswresample libebur128 espeak-ng) -ldl \
     -Wl,-rpath-link,"$LIB" 2>"$T/cc.log"; then
  if out=$(clean_env LD_LIBRARY_PATH="$LIB" ESPEAK_DATA_PATH="$LIB" "$T/smoke" 2>&1); then ok "C smoke: $out"
  else fail "C smoke exited $?: $out"; fi
else fail "C smoke did not build: $(cat "$T/cc.log")"; fi
# shellcheck disable=SC2046
if g++ -std=c++17 -o "$T/smoke_cpp" "$T/smoke.cpp" $(pcflags --cflags --libs sentencepiece fmt sqlite3 nlohmann_json CLI11) \
     -Wl,-rpath-link,"$LIB" 2>"$T/cxx.log"; then
  if out=$(clean_env LD_LIBRARY_PATH="$LIB" "$T/smoke_cpp" 2>&1); then ok "C++ smoke: $out"
  else fail "C++ smoke exited $?: $out"; fi
else fail "C++ smoke did not build: $(cat "$T/cxx.log")"; fi

# ICU from the bundle (stub data): ftfy's filtered NFC normaliser works (src/model/umt5/ftfy_fix_text.cpp).
cat >"$T/icu.c" <<'EOF'
#include <unicode/unorm2.h>
#include <unicode/uset.h>
#include <stdio.h>
int main(void) {
  UErrorCode e = U_ZERO_ERROR;
  const UNormalizer2 *nfc = unorm2_getNFCInstance(&e);
  USet *assigned = uset_openPattern(u"[:age=14.0:]", -1, &e);
  const UNormalizer2 *f = unorm2_openFiltered(nfc, assigned, &e);
  UChar in[] = {0x65, 0x301}, out[4];
  int n = unorm2_normalize(f, in, 2, out, 4, &e);
  printf("nfc=%s len=%d first=U+%04X\n", u_errorName(e), n, out[0]);
  return U_FAILURE(e) || n != 1 || out[0] != 0xE9;
}
EOF
# shellcheck disable=SC2046
if gcc -o "$T/icu" "$T/icu.c" $(pcflags --cflags --libs icu-uc) -Wl,-rpath-link,"$LIB" 2>"$T/icu.log"; then
  if out=$(clean_env LD_LIBRARY_PATH="$LIB" "$T/icu" 2>&1); then ok "ICU smoke: $out"
  else fail "ICU smoke exited $?: $out"; fi
else fail "ICU smoke did not build: $(cat "$T/icu.log")"; fi
# Boost: the server's transport includes resolve inside the bundle only (it carries a subset of Boost).
boost_outside=$(cd "$REPO" && grep -rl --include='*.cpp' --include='*.hpp' '#include <boost/' src tests capi |
  while read -r f; do g++ -std=c++17 -M -MG -Iinclude -Isrc -I"$B/usr/include" "$f"; done |
  tr ' \\' '\n\n' | grep '/boost/' | { grep -v "^$B/" || true; } | sort -u | head -5)
[ -z "$boost_outside" ] && ok "Boost: every header our sources reach is in the bundle" ||
  fail "Boost headers our sources reach are missing from the bundle: $boost_outside"

# 4. espeak-ng reads the bundled data through ESPEAK_DATA_PATH (its built-in path is /usr/lib/...).
v=$(clean_env LD_LIBRARY_PATH="$LIB" ESPEAK_DATA_PATH="$LIB" "$B/usr/bin/espeak-ng" --version 2>&1 || true)
grep -q "Data at: $LIB/espeak-ng-data" <<<"$v" && ok "espeak-ng: $v" || fail "espeak-ng does not use the bundled data: $v"
clean_env LD_LIBRARY_PATH="$LIB" ESPEAK_DATA_PATH="$LIB" "$B/usr/bin/espeak-ng" -v en-us -w "$T/s.wav" "Hello there" &&
  [ "$(stat -c %s "$T/s.wav")" -gt 10000 ] && ok "espeak-ng -v en-us wrote $(stat -c %s "$T/s.wav") bytes" ||
  fail "espeak-ng -v en-us could not speak from the bundle"

# 5. CMake finds the config-file packages and pkg-config modules in the bundle only.
if command -v cmake >/dev/null; then
  mkdir -p "$T/cm"
  cat >"$T/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.22)
project(probe CXX)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Catch2 REQUIRED)
include(Catch)
find_package(Boost 1.74 REQUIRED CONFIG)
get_target_property(_boost Boost::headers INTERFACE_INCLUDE_DIRECTORIES)
find_package(PkgConfig REQUIRED)
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswscale libswresample)
pkg_check_modules(ESPEAK REQUIRED IMPORTED_TARGET espeak-ng)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(EBUR128 REQUIRED IMPORTED_TARGET libebur128)
pkg_check_modules(ICU_UC REQUIRED IMPORTED_TARGET icu-uc)
get_target_property(_fmt fmt::fmt IMPORTED_LOCATION_NONE)
get_target_property(_catch Catch2::Catch2 INTERFACE_INCLUDE_DIRECTORIES)
message(STATUS "PROBE ${fmt_DIR};${nlohmann_json_DIR};${CLI11_DIR};${Catch2_DIR};${_fmt};${_catch};${FFMPEG_LINK_LIBRARIES};${ESPEAK_LINK_LIBRARIES};${SENTENCEPIECE_LINK_LIBRARIES};${EBUR128_LINK_LIBRARIES};${_boost};${Boost_DIR};${ICU_UC_LINK_LIBRARIES}")
EOF
  if out=$(clean_env CMAKE_PREFIX_PATH="$B/usr" PKG_CONFIG_LIBDIR="$PCDIRS" cmake -S "$T/cm" -B "$T/cm/b" 2>&1); then
    probe=$(sed -n 's/.*PROBE //p' <<<"$out")
    outside=$(tr ';' '\n' <<<"$probe" | grep -v "^$B/" || true)
    [ -z "$outside" ] && ok "CMake finds fmt, nlohmann_json, CLI11, Catch2, Boost and the pkg-config modules in the bundle" ||
      fail "CMake found these outside the bundle: $outside"
  else fail "CMake probe failed: $out"; fi
fi

if [ $fails -gt 0 ]; then echo "check_deps: $fails check(s) failed" >&2; exit 1; fi
echo "check_deps: all checks passed for $TAR"
