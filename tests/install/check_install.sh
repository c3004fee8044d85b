#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer through find_package(talkgen)
# and through pkg-config (talkgen, talkgen_c): the packaging a user relies on.
set -euo pipefail
build_dir=$1 source_dir=$2 scratch=$3
prefix=$scratch/install-prefix
rm -rf "$prefix" "$scratch/consumer-build"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cmake -S "$source_dir/tests/install/consumer" -B "$scratch/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/consumer-build" >/dev/null
export LD_LIBRARY_PATH=$prefix/lib
"$scratch/consumer-build/cpp_consumer" | grep -q "^cpp [0-9]*\.[0-9]*\.[0-9]* not_found$"
"$scratch/consumer-build/c_consumer" | grep -q "^c [0-9]*\.[0-9]*\.[0-9]*$"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c99 -o "$scratch/pc_c" "$source_dir/tests/install/consumer/main.c" $(pkg-config --cflags --libs talkgen_c)
"$scratch/pc_c" | grep -q "^c "
c++ -std=c++17 -o "$scratch/pc_cpp" "$source_dir/tests/install/consumer/main.cpp" $(pkg-config --cflags --libs talkgen)
"$scratch/pc_cpp" | grep -q "^cpp "
echo "install: find_package and pkg-config consumers built and ran"
