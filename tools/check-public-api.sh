#!/bin/sh
# Fails when the port's C++ uses CPython or pybind11 internals: `_Py*` names,
# fields of object structs other than the documented type-object slots, or
# `py::detail`. They change between Python releases (_PyLong_AsByteArray's
# signature in 3.13, dict version tags gone in 3.12); the port must build on
# any CPython >= 3.11 through the public C API.
# usage: check-public-api.sh [PORT_SOURCE_DIR]
set -eu
dir=${1:-"$(dirname "$0")/../port"}
pattern='(^|[^A-Za-z0-9_])_Py[A-Za-z_]|py::detail|(->|\.)(ma_[a-z_]+|ob_refcnt|ob_type|ob_size|ob_digit|ob_item|ob_sval)([^A-Za-z0-9_]|$)'
if found=$(grep -rnE "$pattern" "$dir" --include='*.cpp' --include='*.hpp' --include='*.h'); then
    echo "private CPython or pybind11 API in $dir (use the public C API):" >&2
    echo "$found" >&2
    exit 1
fi
echo "public API only: $(find "$dir" -name '*.[ch]pp' | wc -l) files of $dir checked"
