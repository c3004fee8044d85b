# shellcheck shell=bash
# Source this on the GPU machine (`source scripts/device/env.sh`), never run it: it unpacks the
# dependency bundle made by make_deps.sh and exports what the `cuda` preset and the tests need.
#
#   TALKGEN_DEPS_TARBALL  bundle to use (default: <repo>/.devdeps/talkgen-deps.tar.xz, sent with `carry`)
#   TALKGEN_DEPS_DIR      where it is unpacked (default /opt/talkgen-deps); unpacked again only when the
#                         bundle's checksum changes, so a warm machine reuses it
#   .devdeps/flash-attention3-src.tar.xz (make_fa3_bundle.sh), if carried too, is unpacked the same way to
#                         /opt/talkgen-fa3 and exported as TALKGEN_FLASH_ATTENTION3_DIR, which the `cuda`
#                         preset passes to cmake: the build then has FlashAttention-3
#
# Exports PKG_CONFIG_PATH, CMAKE_PREFIX_PATH (bundle + python3's torch), LD_LIBRARY_PATH, PATH (bundle
# tools appended, never shadowing the system's), ESPEAK_DATA_PATH and the NVLink-multicast switches the
# device rules require.
#
# LD_LIBRARY_PATH names $TALKGEN_DEPS_DIR/runtime-lib: links to the bundled libraries whose soname the
# system does NOT already provide. Where the system has the soname (libssl, libzstd, libexpat, ...), its
# own copy is used by everything, so the compiler, cmake and python3 never load an older Debian copy.
# A bundled library that needs a newer symbol version than the system's copy has gets its bundled copy
# linked in after all (checked with `ldd -r`), and is reported.

_talkgen_env() {
  local arch=x86_64-linux-gnu repo tar dir sum manifest
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tar=${TALKGEN_DEPS_TARBALL:-$repo/.devdeps/talkgen-deps.tar.xz}
  dir=${TALKGEN_DEPS_DIR:-/opt/talkgen-deps}
  if [ ! -f "$tar" ]; then
    echo "env.sh: no dependency bundle at $tar. Make it on Debian 12 with scripts/device/make_deps.sh and" \
         "name .devdeps/talkgen-deps.tar.xz in the device run's carry list." >&2
    return 1
  fi

  sum=$(sha256sum "$tar" | cut -d' ' -f1)
  if [ "$(cat "$dir/.bundle-sha256" 2>/dev/null)" != "$sum" ]; then
    rm -rf "$dir" && mkdir -p "$dir" && tar -xJf "$tar" -C "$dir" || {
      echo "env.sh: could not unpack $tar into $dir (set TALKGEN_DEPS_DIR to a writable folder)" >&2; return 1; }
    echo "$sum" >"$dir/.bundle-sha256"
  fi
  manifest=$dir/usr/share/talkgen-deps/MANIFEST
  local libdir=$dir/usr/lib/$arch rt=$dir/runtime-lib

  # The bundle is Debian 12: it needs glibc >= 2.36 and a libstdc++ from GCC >= 12.
  local need have
  need=$(sed -n 's/^glibc_required=//p' "$manifest")
  have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
    echo "env.sh: the bundle's libraries need glibc >= $need, this system has '${have:-unknown}'." \
         "Rebuild the bundle from an older distribution's packages, or use an image with a newer glibc." >&2
    return 1
  fi
  local cxx_need libstdcxx
  cxx_need=$(sed -n 's/^glibcxx_required=//p' "$manifest")
  libstdcxx=$(ldconfig -p 2>/dev/null | awk '$1 == "libstdc++.so.6" && /x86-64/ {print $NF; exit}')
  [ -n "$libstdcxx" ] || libstdcxx=$(g++ -print-file-name=libstdc++.so.6 2>/dev/null)
  if [ -n "$cxx_need" ] && ! grep -qa "$cxx_need" "$(readlink -f "$libstdcxx")" 2>/dev/null; then
    echo "env.sh: the bundle needs $cxx_need but the system's libstdc++ ($libstdcxx) lacks it; install GCC >= 12's libstdc++." >&2
    return 1
  fi

  # runtime-lib: the bundled sonames the system lacks (rebuilt on each source; it takes a second).
  local soname shadowed=() used=0
  rm -rf "$rt" && mkdir -p "$rt"
  local sysnames
  sysnames=" $(ldconfig -p 2>/dev/null | awk '/x86-64/ {print $1}' | tr '\n' ' ') "
  for soname in $(sed -n 's/^sonames=//p' "$manifest"); do
    if [[ $sysnames == *" $soname "* ]] || [ -e "/usr/lib/$arch/$soname" ] || [ -e "/lib/$arch/$soname" ]; then
      shadowed+=("$soname")
    else
      ln -s "$libdir/$soname" "$rt/$soname"; used=$((used + 1))
    fi
  done

  # Check what we link and run binds fully against runtime-lib + system; take back the bundled copy of
  # any system library that is too old for it.
  local entries=() out lib sym s added
  for s in libavformat.so.59 libavcodec.so.59 libavutil.so.57 libswscale.so.6 libswresample.so.4 \
           libebur128.so.1 libespeak-ng.so.1 libsentencepiece_train.so.0 libfmt.so.9 libsqlite3.so.0 \
           libcpp-httplib.so.0.11; do
    entries+=("$libdir/$s")
  done
  entries+=("$dir"/usr/bin/espeak-ng "$dir"/usr/bin/spm_train "$dir"/usr/bin/pkgconf)
  for _ in 1 2 3 4 5; do
    out=$(for s in "${entries[@]}"; do LD_LIBRARY_PATH=$rt ldd -r "$s" 2>&1; done |
          grep -E 'not found|undefined symbol' | sort -u)
    [ -z "$out" ] && break
    added=0
    # "libfoo.so.1: version `FOO_2' not found" names the library; an undefined symbol is looked up.
    for lib in $(grep -oE '[^/ ]+\.so[.0-9]*: version' <<<"$out" | sed 's/: version//' | sort -u); do
      [ -e "$rt/$lib" ] || { [ -e "$libdir/$lib" ] && ln -s "$libdir/$lib" "$rt/$lib" && added=1 && echo "env.sh: the system's $lib is too old for the bundle; using the bundled copy" >&2; }
    done
    for sym in $(grep -oE 'undefined symbol: [^ ]+' <<<"$out" | awk '{print $3}' | sort -u); do
      for s in "${shadowed[@]}"; do
        [ -e "$rt/$s" ] && continue
        if objdump -T "$libdir/$s" 2>/dev/null | awk '$2 != "*UND*" && $4 != "*UND*"' | grep -qw -- "$sym"; then
          ln -s "$libdir/$s" "$rt/$s"; added=1
          echo "env.sh: the system's $s lacks $sym; using the bundled copy" >&2
        fi
      done
    done
    if [ $added = 0 ]; then
      echo "env.sh: bundled libraries do not load on this system:" >&2; echo "$out" >&2; return 1
    fi
  done

  local fa3_tar=$repo/.devdeps/flash-attention3-src.tar.xz fa3_dir=/opt/talkgen-fa3
  if [ -f "$fa3_tar" ]; then
    sum=$(sha256sum "$fa3_tar" | cut -d' ' -f1)
    if [ "$(cat "$fa3_dir/.bundle-sha256" 2>/dev/null)" != "$sum" ]; then
      rm -rf "$fa3_dir" && mkdir -p "$fa3_dir" && tar -xJf "$fa3_tar" -C "$fa3_dir" || {
        echo "env.sh: could not unpack $fa3_tar into $fa3_dir" >&2; return 1; }
      echo "$sum" >"$fa3_dir/.bundle-sha256"
    fi
    export TALKGEN_FLASH_ATTENTION3_DIR=$fa3_dir/flash-attention
    echo "env.sh: FlashAttention-3 sources at $TALKGEN_FLASH_ATTENTION3_DIR ($(tr '\n' ' ' <"$TALKGEN_FLASH_ATTENTION3_DIR/BUNDLE"))"
  fi

  local torch_prefix
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || torch_prefix=
  [ -n "$torch_prefix" ] || echo "env.sh: warning: python3 cannot import torch; the cuda preset will fail to find Torch" >&2

  export TALKGEN_DEPS_DIR=$dir
  export PKG_CONFIG_PATH=$libdir/pkgconfig:$dir/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export CMAKE_PREFIX_PATH=$dir/usr${torch_prefix:+:$torch_prefix}${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export LD_LIBRARY_PATH=$rt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PATH=${PATH:+$PATH:}$dir/usr/bin
  # espeak-ng's built-in data path is /usr/lib/x86_64-linux-gnu/espeak-ng-data; the library reads this
  # variable when espeak_Initialize gets path == NULL (a folder holding espeak-ng-data/, or that folder).
  export ESPEAK_DATA_PATH=$libdir
  # Device rules: NVLink multicast stays off in NCCL, PyTorch and NVSHMEM.
  export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1

  echo "env.sh: deps at $dir ($used bundled libraries in use, ${#shadowed[@]} taken from the system), glibc $have, torch cmake prefix ${torch_prefix:-none}"
}
_talkgen_env || { unset -f _talkgen_env; return 1 2>/dev/null || exit 1; }
unset -f _talkgen_env
