#!/usr/bin/env bash
# Builds .devdeps/talkgen-deps.tar.xz: the Debian 12 packages talkgen needs to BUILD and RUN on the GPU
# machine (which has a compiler, CMake, CUDA and PyTorch but none of our C/C++ dependencies and no
# network), unpacked into one relocatable prefix. Runs on Debian 12 (bookworm) with apt access and the
# dependencies installed (scripts/setup.sh --deps-only): the host's dpkg database maps each missing
# shared library to the package that ships it.
#
# What goes in:
#   - the -dev packages (headers, .so links, pkg-config files, CMake configs) listed in DEV_PKGS;
#   - of every other package only the shared libraries that something in the bundle really loads: the
#     closure follows the ELF DT_NEEDED entries of what is bundled, not apt's Depends (which pull
#     tesseract, flite, 30 MB of ICU data, X11 clients, ...);
#   - a few command-line tools (espeak-ng, spm_*, pkgconf) and the English part of espeak-ng-data.
# What stays out:
#   - EXCLUDED_SONAMES: glibc, libstdc++ and libgcc_s (must be the target system's own: they are tied to
#     its dynamic loader and compiler) and zlib (present on every glibc distribution; its ABI has not
#     changed since 1.2.0). A -dev link to one of them becomes a linker script naming the soname;
#   - docs, man pages, locales, static archives (*.a, *.la);
#   - the ffmpeg/ffprobe CLIs: they need libavfilter + libavdevice, whose closure (flite voices,
#     pocketsphinx, rubberband, placebo, SDL2, jack, ...) adds about 26 MiB compressed and does not fit.
#   - libicudata.so.72's 30 MB of data: replaced by ICU's own "stubdata" layout (an empty table of
#     contents; ICU then looks for data files and reports U_FILE_ACCESS_ERROR). What we use of ICU does
#     not read it: ftfy's NFC (src/model/umt5) uses the NFC tables, character ages and property names that
#     libicuuc carries built in (checked: unorm2_getNFCInstance, uset_openPattern("[:age=14.0:]") and
#     unorm2_openFiltered succeed and normalise with the stub); libxml2 (libavformat's DASH/IMF demuxers)
#     converts the common charsets itself or through glibc's iconv before it ever asks ICU.
#
# Usage: bash scripts/device/make_deps.sh [--keep-work] [--no-check]
#   Env: TALKGEN_DEPS_WORK (scratch folder, default /tmp/talkgen-deps-build).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT_TAR=$REPO/.devdeps/talkgen-deps.tar.xz
WORK=${TALKGEN_DEPS_WORK:-/tmp/talkgen-deps-build}
LIMIT_MIB=45
ARCH=x86_64-linux-gnu
KEEP_WORK=0
CHECK=1
for a in "$@"; do
  case $a in
    --keep-work) KEEP_WORK=1 ;;
    --no-check) CHECK=0 ;;
    *) echo "make_deps: unknown argument '$a' (expected --keep-work or --no-check)" >&2; exit 2 ;;
  esac
done

# Packages unpacked whole (minus docs/static archives): what talkgen compiles and links against.
DEV_PKGS=(
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
  libfmt-dev catch2 libcli11-dev nlohmann-json3-dev
  libebur128-dev libespeak-ng-dev libsentencepiece-dev
  libsqlite3-dev libcpp-httplib-dev
  libssl-dev zlib1g-dev libbrotli-dev   # cpp-httplib.pc Requires.private: openssl zlib libbrotli*
  libicu-dev                            # ftfy's NFC (src/model/umt5): icu-uc
)
# Header-only Boost (Beast + Asio for the server's transport): libboost1.74-dev is ~14,000 headers, about
# 12 MiB packed, so only the Boost libraries our sources reach are kept (see add_boost_subset).
BOOST_PKG=libboost1.74-dev
# Packages of which only the named files are kept (their libraries come through the closure).
declare -A TOOL_FILES=(
  [espeak-ng]="usr/bin/espeak-ng"
  [sentencepiece]="usr/bin/spm_train usr/bin/spm_encode usr/bin/spm_decode usr/bin/spm_export_vocab usr/bin/spm_normalize"
  [pkgconf-bin]="usr/bin/pkgconf"
  [espeak-ng-data]="usr/lib/$ARCH/espeak-ng-data"
)
# The target system's own libraries (see the header comment). Matched against DT_NEEDED sonames.
EXCLUDED_SONAMES=(
  libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1 libanl.so.1
  libnsl.so.1 libmvec.so.1 ld-linux-x86-64.so.2 linux-vdso.so.1
  libstdc++.so.6 libgcc_s.so.1
  libz.so.1
)
# Sonames replaced by a generated stub instead of the package's file (see make_stub_*).
declare -A STUBBED=([libicudata.so.72]=make_stub_icudata)

log() { echo "make_deps: $*" >&2; }
die() { echo "make_deps: ERROR: $*" >&2; exit 1; }

[ -r /etc/debian_version ] && [[ $(cat /etc/debian_version) == 12* ]] ||
  die "expected Debian 12 (bookworm), found '$(cat /etc/debian_version 2>/dev/null || echo unknown)'; the bundle must match the GPU image's glibc >= 2.36, so build it on bookworm"
for t in apt-get dpkg dpkg-query objdump gcc xz tar realpath; do
  command -v $t >/dev/null || die "'$t' is missing; install it (apt-get install binutils gcc xz-utils ...)"
done

rm -rf "$WORK"
mkdir -p "$WORK/debs" "$WORK/x" "$WORK/root"
ROOT=$WORK/root
LIBDIR=$ROOT/usr/lib/$ARCH
mkdir -p "$LIBDIR"
declare -A FETCHED=()      # package -> 1 once downloaded and unpacked
declare -A PKG_OF=()       # package -> version (for the manifest)

is_excluded() { local s; for s in "${EXCLUDED_SONAMES[@]}"; do [ "$1" = "$s" ] && return 0; done; return 1; }

# Downloads and unpacks packages into $WORK/x/<pkg>, merging /lib, /bin into /usr (Debian 12 is usrmerged).
fetch() {
  local todo=() p
  for p in "$@"; do [ -n "${FETCHED[$p]:-}" ] || todo+=("$p"); done
  ((${#todo[@]})) || return 0
  log "downloading ${todo[*]}"
  (cd "$WORK/debs" && apt-get download -q -o APT::Sandbox::User=root "${todo[@]}" >/dev/null) ||
    die "apt-get download ${todo[*]} failed; run 'apt-get update' and check the names exist in bookworm"
  for p in "${todo[@]}"; do
    local deb
    deb=$(ls "$WORK/debs/${p}_"*.deb | head -1)
    local d=$WORK/x/$p
    mkdir -p "$d"
    dpkg -x "$deb" "$d"
    local top
    for top in lib bin sbin; do
      if [ -d "$d/$top" ] && [ ! -L "$d/$top" ]; then
        mkdir -p "$d/usr/$top"; cp -a "$d/$top/." "$d/usr/$top/"; rm -rf "${d:?}/$top"
      fi
    done
    rm -rf "${d:?}"/lib64 "${d:?}"/etc "${d:?}"/usr/share/{doc,man,info,lintian,bug,locale,gtk-doc,doc-base,aclocal}
    # Static archives go when a shared library stands beside them; a lone one (Catch2WithMain) is
    # named by its package's CMake config and stays.
    find "$d" -name '*.la' -delete
    local a
    while read -r a; do
      if [ -e "${a%.a}.so" ] || [ -L "${a%.a}.so" ]; then rm -f "$a"; fi   # the .so link dangles until its library is in
    done < <(find "$d" -name 'lib*.a')
    PKG_OF[$p]=$(dpkg-deb -f "$deb" Version)
    FETCHED[$p]=1
  done
}

# Copies <pkg>'s library file named $2 (a soname or a real file name) flat into $LIBDIR, following its
# symlink chain inside the package, and adds the soname link of the real file.
copy_lib() {
  local pkg=$1 name=$2 d=$WORK/x/$1 src
  src=$(find "$d/usr/lib" -name "$name" \( -type f -o -type l \) | head -1)
  [ -n "$src" ] || die "package $pkg does not contain $name"
  local hops=0
  while [ -L "$src" ]; do
    local t; t=$(readlink "$src")
    case $t in /*) src=$d${t/#\/lib\//\/usr\/lib\/} ;; *) src=$(dirname "$src")/$t ;; esac
    hops=$((hops + 1)); [ $hops -lt 8 ] || die "symlink loop for $name in $pkg"
  done
  [ -f "$src" ] || die "$name in $pkg resolves to a missing file ($src)"
  local real; real=$(basename "$src")
  cp -a "$src" "$LIBDIR/$real"
  [ "$name" = "$real" ] || ln -sfn "$real" "$LIBDIR/$name"
  local soname
  soname=$(objdump -p "$src" 2>/dev/null | awk '/SONAME/{print $2}')
  if [ -n "$soname" ] && [ "$soname" != "$real" ] && [ ! -e "$LIBDIR/$soname" ]; then
    ln -sfn "$real" "$LIBDIR/$soname"
  fi
}

# The package that ships library $1 (a soname or file name) on this host, found through ldconfig and dpkg.
host_package_of() {
  local name=$1 path cand p
  path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ {print $NF; exit}')
  for cand in /usr/lib/$ARCH /lib/$ARCH /usr/lib/$ARCH/*/; do
    [ -n "$path" ] && break
    [ -e "${cand%/}/$name" ] && path=${cand%/}/$name
  done
  [ -n "$path" ] || return 1
  for p in "$path" "${path/#\/lib\//\/usr\/lib\/}" "${path/#\/usr\/lib\//\/lib\/}" "$(readlink -f "$path")" \
           "$(readlink -f "$path" | sed 's#^/usr/lib/#/lib/#')"; do
    local owner
    owner=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) || true
    if [ -n "$owner" ]; then echo "$owner"; return 0; fi
  done
  return 1
}

host_soname_of() {   # the SONAME of the host's copy of library file $1, for excluded -dev links
  local f
  for f in /usr/lib/$ARCH/$1 /lib/$ARCH/$1; do
    [ -e "$f" ] && { objdump -p "$(readlink -f "$f")" | awk '/SONAME/{print $2}'; return; }
  done
}

fix_abs_links() {   # absolute links (Debian ships some, e.g. into /lib) become relative inside the bundle
  local l t
  while read -r l; do
    t=$(readlink "$l")
    t=${t/#\/lib\//\/usr\/lib\/}; t=${t/#\/bin\//\/usr\/bin\/}
    ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$ROOT$t")" "$l"
  done < <(find "$ROOT" -type l -lname '/*')
}

elf_files() {   # every ELF object in the bundle that the loader may open
  local f
  find "$ROOT/usr/lib" "$ROOT/usr/bin" -type f 2>/dev/null | while read -r f; do
    [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && echo "$f"
  done
}

make_stub_icudata() {   # $1 = soname, $2 = output file. ICU's stubdata: a common-data header, no entries.
  local ver=${1#libicudata.so.}
  cat >"$WORK/icudata_stub.c" <<EOF
/* Same layout as ICU's source/stubdata/stubdata.cpp: a valid "ToCP" common-data header with count 0,
 * so ICU finds no built-in data and falls back to data files (absent here): lookups fail cleanly. */
#include <stdint.h>
typedef struct {
  uint16_t size, reservedWord; uint8_t isBigEndian, charsetFamily, sizeofUChar, reservedByte;
  uint8_t dataFormat[4], formatVersion[4], dataVersion[4];
} UDataInfo;
typedef struct { uint16_t headerSize; uint8_t magic1, magic2; UDataInfo info;
                 char padding[8]; uint32_t count, reserved; const void *toc[4]; } ICU_Data_Header;
__attribute__((visibility("default"))) const ICU_Data_Header icudt${ver}_dat = {
  32, 0xda, 0x27, {sizeof(UDataInfo), 0, 0, 0 /* ASCII family */, 2, 0, {0x54, 0x6f, 0x43, 0x50},
  {1, 0, 0, 0}, {0, 0, 0, 0}}, {0}, 0, 0, {0, 0, 0, 0}};
EOF
  gcc -shared -fPIC -O2 -Wl,-soname,"$1" -o "$2" "$WORK/icudata_stub.c"
}

# --- 1. the -dev packages and the tools ---------------------------------------------------------------
fetch "${DEV_PKGS[@]}" "${!TOOL_FILES[@]}"
for p in "${DEV_PKGS[@]}"; do
  # -dev packages hold only headers, links and build metadata: take them whole.
  cp -a "$WORK/x/$p/." "$ROOT/"
done
for p in "${!TOOL_FILES[@]}"; do
  for f in ${TOOL_FILES[$p]}; do
    mkdir -p "$ROOT/$(dirname "$f")"; cp -a "$WORK/x/$p/$f" "$ROOT/$f"
  done
done
ln -sfn pkgconf "$ROOT/usr/bin/pkg-config"

# espeak-ng-data: only what the en / en-us voices read (phoneme tables, intonation, the English
# dictionary, the en* language files and the voice variants). Other voices fail with "voice not found".
ED=$LIBDIR/espeak-ng-data
find "$ED" -maxdepth 1 -name '*_dict' ! -name en_dict -delete
rm -rf "$ED/voices/mb" "$ED/phondata-manifest"
find "$ED/lang" -type f ! -path '*/gmw/en*' -delete
find "$ED/lang" -type d -empty -delete

# Boost: the headers on the include closure of our Boost-including sources, file by file, except the
# libraries whose headers pick configuration branches by compiler and standard library (Asio, Beast,
# Config, System): those whole, so that the GPU machine's compiler taking another branch still finds them.
BOOST_WHOLE=(asio beast config system)
add_boost_subset() {
  fetch "$BOOST_PKG"
  local inc=$WORK/x/$BOOST_PKG/usr/include f lib
  [ -d "$inc/boost" ] || die "$BOOST_PKG has no usr/include/boost"
  mkdir -p "$ROOT/usr/include/boost"
  (cd "$REPO" && grep -rl --include='*.cpp' --include='*.hpp' '#include <boost/' src tests capi |
    while read -r f; do g++ -std=c++17 -M -MG -Iinclude -Isrc -I"$inc" "$f"; done) |
    tr ' \\' '\n\n' | grep "^$inc/boost/" | sort -u | sed "s#^$inc/##" >"$WORK/boost_files"
  [ -s "$WORK/boost_files" ] || die "no Boost headers found on the include closure (is $BOOST_PKG unpacked?)"
  (cd "$inc" && tar -cf - -T "$WORK/boost_files") | tar -xf - -C "$ROOT/usr/include"
  for lib in "${BOOST_WHOLE[@]}"; do
    cp -a "$inc/boost/$lib" "$ROOT/usr/include/boost/"
    [ -f "$inc/boost/$lib.hpp" ] && cp -a "$inc/boost/$lib.hpp" "$ROOT/usr/include/boost/"
  done
  # find_package(Boost CONFIG) reads BoostConfig.cmake and the headers' target (boost_headers).
  mkdir -p "$ROOT/usr/lib/$ARCH/cmake"
  cp -a "$WORK/x/$BOOST_PKG/usr/lib/$ARCH/cmake/"{Boost-,boost_headers-,BoostDetectToolset-}* "$ROOT/usr/lib/$ARCH/cmake/" ||
    die "$BOOST_PKG lacks its CMake package files (usr/lib/$ARCH/cmake/Boost-*)"
  log "Boost subset: $(wc -l <"$WORK/boost_files") headers on the closure + ${BOOST_WHOLE[*]} whole, $(du -sh "$ROOT/usr/include/boost" | cut -f1)"
}
add_boost_subset
# ICU: only icu-uc is used (src/model/umt5); the other libraries' -dev links and .pc files would pull them in.
rm -f "$LIBDIR"/libicu{io,test,tu,i18n}.so "$LIBDIR"/pkgconfig/icu-{io,i18n}.pc

# --- 2. the runtime closure over DT_NEEDED ------------------------------------------------------------
for round in $(seq 1 20); do
  fix_abs_links
  declare -A want=()   # package -> space-separated names to copy from it
  missing=0
  # (a) dangling links of -dev packages (libavcodec.so -> libavcodec.so.59.37.100)
  while read -r l; do
    t=$(basename "$(readlink "$l")")
    s=$(host_soname_of "$t")
    if [ -n "$s" ] && [ -n "${STUBBED[$s]:-}" ]; then   # e.g. libicudata.so -> the stub, not 30 MB of data
      [ -e "$LIBDIR/$s" ] || { log "stubbing $s"; ${STUBBED[$s]} "$s" "$LIBDIR/$s"; }
      ln -sfn "$s" "$l"; continue
    fi
    if [ -n "$s" ] && is_excluded "$s"; then
      rm -f "$l"; echo "INPUT($s)" >"$l"    # ld finds the system's copy through its default path
      continue
    fi
    pkg=$(host_package_of "$t") || die "no installed package ships $t (needed by $(basename "$l")); install the bookworm package that does"
    want[$pkg]+=" $t"; missing=1
  done < <(find "$LIBDIR" -maxdepth 1 -xtype l)
  # (b) DT_NEEDED of every ELF in the bundle
  declare -A seen=()
  while read -r f; do
    for s in $(objdump -p "$f" | awk '/NEEDED/{print $2}'); do
      [ -n "${seen[$s]:-}" ] && continue; seen[$s]=1
      is_excluded "$s" && continue
      [ -e "$LIBDIR/$s" ] && continue
      if [ -n "${STUBBED[$s]:-}" ]; then
        log "stubbing $s"; ${STUBBED[$s]} "$s" "$LIBDIR/$s"; continue
      fi
      pkg=$(host_package_of "$s") || die "no installed package ships $s (NEEDED by ${f#$ROOT/}); install the bookworm package that does"
      want[$pkg]+=" $s"; missing=1
    done
  done < <(elf_files)
  unset seen
  [ $missing = 1 ] || break
  fetch "${!want[@]}"
  for pkg in "${!want[@]}"; do
    for n in ${want[$pkg]}; do copy_lib "$pkg" "$n"; done
  done
  unset want
  [ "$round" -lt 20 ] || die "the closure did not settle after 20 rounds"
done

# --- 3. relocatable links and pkg-config files --------------------------------------------------------
fix_abs_links
dangling=$(find "$ROOT" -xtype l | sed "s#^$ROOT/##")
[ -z "$dangling" ] || die "dangling links left in the bundle: $dangling"

while read -r pc; do
  rel=$(realpath --relative-to="$(dirname "$pc")" "$ROOT/usr")
  # ICU's .pc files write "prefix = /usr": spaces around '=' are allowed; make them plain first.
  sed -i -E 's/^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]+=[[:space:]]*/\1=/' "$pc"
  grep -q '^prefix=' "$pc" || sed -i '1i prefix=/usr' "$pc"   # nlohmann_json.pc names /usr bare
  # prefix follows the .pc file; every other absolute /usr becomes ${prefix}.
  sed -i -E -e '/^prefix=/!s#(^|[=[:space:]]|-I|-L)/usr(/|$|[[:space:]])#\1${prefix}\2#g' \
            -e "s#^prefix=.*#prefix=\${pcfiledir}/$rel#" "$pc"
  if grep -n '/usr' "$pc"; then die "$pc still names /usr"; fi
done < <(find "$ROOT" -name '*.pc')
for c in $(grep -rlE '/usr/(lib|include|share)' "$ROOT"/usr/lib/cmake "$ROOT"/usr/lib/$ARCH/cmake "$ROOT"/usr/share/cmake 2>/dev/null || true); do
  # Only the "/usr move" guard of CMake's generated configs may name /usr: it compares real paths
  # (Boost's configs have their own guard, naming the Debian build tree: used only if it exists).
  if grep -vE '_realOrig|PACKAGE_PREFIX_DIR "/usr"|_IMPORT_PREFIX "/usr|^ *#|"/build/boost[^"]*/debian/tmp/usr/' "$c" | grep -qE '/usr/(lib|include|share)'; then
    die "$c hard-codes /usr outside CMake's relocation guard"
  fi
done

# --- 4. manifest: what is inside and what the target system must provide ------------------------------
mkdir -p "$ROOT/usr/share/talkgen-deps"
M=$ROOT/usr/share/talkgen-deps/MANIFEST
{
  echo "# talkgen-deps: Debian 12 packages for building talkgen; made by scripts/device/make_deps.sh"
  echo "made=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  versions=$(elf_files | xargs objdump -T 2>/dev/null | grep -oE '\b(GLIBC|GLIBCXX|CXXABI)_[0-9.]+' | sort -u)
  echo "glibc_required=$(grep '^GLIBC_' <<<"$versions" | sed 's/GLIBC_//' | sort -V | tail -1)"
  echo "glibcxx_required=$(grep '^GLIBCXX_' <<<"$versions" | sort -V | tail -1)"
  echo "cxxabi_required=$(grep '^CXXABI_' <<<"$versions" | sort -V | tail -1)"
  echo "excluded=${EXCLUDED_SONAMES[*]}"
  echo "stubbed=${!STUBBED[*]}"
  echo "sonames=$(find "$LIBDIR" -maxdepth 1 -name 'lib*.so*' -printf '%f\n' | while read -r n; do
    s=$(objdump -p "$(readlink -f "$LIBDIR/$n")" 2>/dev/null | awk '/SONAME/{print $2}'); [ "$s" = "$n" ] && echo "$n"
  done | sort | tr '\n' ' ')"
  for p in $(printf '%s\n' "${!PKG_OF[@]}" | sort); do echo "package $p ${PKG_OF[$p]}"; done
} >"$M"

# --- 5. pack -------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT_TAR")"
log "packing $(du -sh "$ROOT" | cut -f1) with xz -9e (x86 filter); this takes a couple of minutes"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$ROOT" -cf - . |
  xz --x86 --lzma2=preset=9e -T0 >"$OUT_TAR.tmp"
size=$(stat -c %s "$OUT_TAR.tmp")
mib=$(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}')
if awk -v s="$size" -v l="$LIMIT_MIB" 'BEGIN{exit !(s > l*1048576)}'; then
  rm -f "$OUT_TAR.tmp"
  die "bundle is $mib MiB, over the $LIMIT_MIB MiB budget (the working tree sent to the device is 64 MiB in all); $OUT_TAR was left as it was"
fi
mv "$OUT_TAR.tmp" "$OUT_TAR"
log "bundle: $OUT_TAR = $mib MiB ($(grep -c '^package ' "$M") packages)"

[ $CHECK = 1 ] && bash "$(dirname "${BASH_SOURCE[0]}")/check_deps.sh" "$OUT_TAR"
[ $KEEP_WORK = 1 ] || rm -rf "$WORK"
echo "$OUT_TAR $mib MiB"
