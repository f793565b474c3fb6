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
exec ct_run -noshell -sname undefined -setcookie erlang_python_ct -start_epmd false \
    -no_auto_compile $select -logdir "$logs" -pa "$ebin" "$ct_dir"
