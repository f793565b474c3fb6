#!/bin/sh
# rebar3's pre-compile hook (and so mix's): builds the port program and the Python package
# into this app's priv/ with CMake; no tests, and no CMake configure when one was done before.
set -eu
app_dir=$(cd "$(dirname "$0")/.." && pwd -P)
build="$app_dir/build-priv"
"$app_dir/tools/install-deps.sh" lib --check
# A folder moved since it was configured (a copied checkout) is configured again.
if [ -f "$build/CMakeCache.txt" ] \
        && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$app_dir" "$build/CMakeCache.txt"; then
    rm -rf "$build"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$app_dir" -B "$build" -DCMAKE_BUILD_TYPE=Release \
        -DERLANG_PYTHON_TESTS=OFF -DERLANG_PYTHON_OTP_APP=OFF \
        -DERLANG_PYTHON_PRIV_DIR="$app_dir/priv"
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" --parallel "$jobs" --target erlang_python_port erlang_python_package_pyc
