#!/bin/sh
# Runs one Common Test suite the way CTest needs it: no epmd, no cookie file,
# no clash between parallel runs, logs in the build tree.
# usage: run-ct.sh CT_DIR EBIN LOG_DIR SUITE
set -eu
ct_dir=$1 ebin=$2 logs=$3 suite=$4
mkdir -p "$logs"
export HOME="${HOME:-$logs}"
exec ct_run -noshell -sname undefined -setcookie erlang_python_ct -start_epmd false \
    -no_auto_compile -dir "$ct_dir" -suite "$suite" -logdir "$logs" -pa "$ebin" "$ct_dir"
