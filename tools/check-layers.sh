#!/bin/sh
# Fails when an #include in the port points up the layer order or across to
# a sibling that is not below it: wire < python < terms < runtime < app
# (port/README.md). A file may include its own layer and the layers below.
# usage: check-layers.sh [PORT_SOURCE_DIR]
set -eu
dir=${1:-"$(dirname "$0")/../port"}
rank() {
    case $1 in
        wire) echo 0 ;; python) echo 1 ;; terms) echo 2 ;; runtime) echo 3 ;; app) echo 4 ;;
        *) echo "unknown layer '$1'" >&2; exit 2 ;;
    esac
}
bad=0
files=0
for f in $(cd "$dir" && find . -mindepth 2 -name '*.[ch]pp' | sed 's|^\./||' | sort); do
    files=$((files + 1))
    from=${f%%/*}
    r_from=$(rank "$from")
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[^"]*"$/\1/p' "$dir/$f"); do
        if [ "$(rank "$inc")" -gt "$r_from" ]; then
            echo "$f includes $inc/: $from must not depend on a layer above it" >&2
            bad=1
        fi
    done
    if grep -qE '^#include "[^/"]*"$' "$dir/$f"; then
        echo "$f includes a port header without its layer folder" >&2
        bad=1
    fi
done
stray=$(find "$dir" -maxdepth 1 -name '*.[ch]pp')
if [ -n "$stray" ]; then
    echo "sources outside a layer folder: $stray" >&2
    bad=1
fi
[ $bad -eq 0 ] || exit 1
echo "layers one way (wire < python < terms < runtime < app): $files files of $dir checked"
