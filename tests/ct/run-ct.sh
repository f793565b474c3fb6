#!/bin/sh
# Runs one Common Test suite the way CTest needs it: no epmd, no cookie file,
# no clash between parallel runs, logs in the build tree.
# usage: run-ct.sh CT_DIR EBIN LOG_DIR SUITE
# EP_CT_SKIP="Suite:case Suite:case ..." skips those cases (a user skip, with the
# reason in EP_CT_SKIP_WHY): the sanitizer run uses it for what its tool cannot run.
set -eu
ct_dir=$1 ebin=$2 logs=$3 suite=$4
mkdir -p "$logs"
export HOME="${HOME:-$logs}"
select="-dir $ct_dir -suite $suite"
skips=""
for entry in ${EP_CT_SKIP:-}; do
    case "$entry" in
        "$suite":*) skips="$skips${skips:+,}${entry#*:}" ;;
    esac
done
if [ -n "$skips" ]; then
    spec="$logs/$suite.skip.spec"
    printf '{suites, "%s", %s}.\n{skip_cases, "%s", %s, [%s], "%s"}.\n' \
        "$ct_dir" "$suite" "$ct_dir" "$suite" "$skips" "${EP_CT_SKIP_WHY:-skipped}" > "$spec"
    select="-spec $spec"
fi
# A suite named *_dist_SUITE starts peer nodes that connect back to this one:
# it gets a real node name, still without epmd (py_dist_epmd_helper: a node
# named NAME_PORT listens on PORT).
node="-sname undefined"
case "$suite" in
    *_dist_SUITE)
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        node="-name ${suite}_$port@127.0.0.1 -epmd_module py_dist_epmd_helper -kernel epmd_module py_dist_epmd_helper"
        ;;
esac
exec ct_run -noshell $node -setcookie erlang_python_ct -start_epmd false \
    -no_auto_compile $select -logdir "$logs" -pa "$ebin" "$ct_dir"
